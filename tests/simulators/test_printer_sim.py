"""The printer simulator on its own: hand-written ESC/POS bytes in, decoded jobs out.

Nothing here uses the kiosk's encoder, so a bug shared by encoder and decoder cannot hide.
"""

from __future__ import annotations

import socket
import subprocess
import sys

from PIL import Image

from simulators.printer.decoder import Bar, Cut, EscPosDecoder, Qr, Raster, TextLine
from simulators.printer.server import SimPrinter

CHINESE = b"\x1b@\x1c&"


def decode(data: bytes, chunk: int | None = None) -> list:
    dec = EscPosDecoder()
    step = chunk or len(data)
    for i in range(0, len(data), step):
        dec.feed(data[i:i + step])
    dec.flush_line()
    return [it for it in dec.take() if not type(it).__name__ == "Init"]


def test_gb18030_text_with_traditional_and_style():
    data = CHINESE + b"\x1ba\x01\x1bE\x01" + "業務辦理回執".encode("gb18030") + b"\n"
    (line,) = decode(data)
    assert line == TextLine("業務辦理回執", align=1, bold=True)


def test_code_page_text_when_chinese_mode_is_off():
    data = b"\x1b@\x1c.\x1bt\x10" + "Café".encode("cp1252") + b"\n"
    assert decode(data) == [TextLine("Café")]


def test_double_size_from_gs_exclamation():
    (line,) = decode(CHINESE + b"\x1d!\x11A023\n")
    assert (line.text, line.width, line.height) == ("A023", 2, 2)


def test_native_qr_and_code128_barcode_and_partial_cut():
    qr = (b"\x1d(k\x04\x001A2\x00" b"\x1d(k\x03\x001C\x05" b"\x1d(k\x03\x001E1"
          b"\x1d(k\x08\x001P0https" b"\x1d(k\x03\x001Q0")
    bar = b"\x1dk\x49\x05{BGZ1"
    items = decode(CHINESE + qr + bar + b"\x1bd\x04\x1dV\x01")
    assert Qr("https", module=5) in items
    assert Bar("GZ1", 73, 162) in items
    assert isinstance(items[-1], Cut) and items[-1].partial


def test_raster_image_black_bits_are_printed_dots():
    # 16 x 2 dots: first row all black, second row white
    data = b"\x1b@\x1dv0\x00\x02\x00\x02\x00" + b"\xff\xff\x00\x00"
    (img,) = decode(data)
    assert isinstance(img, Raster) and img.image.size == (16, 2)
    assert img.image.getpixel((3, 0)) == 0 and img.image.getpixel((3, 1)) == 255


def test_commands_split_across_reads_decode_the_same():
    data = CHINESE + "排隊小票".encode("gb18030") + b"\n\x1dv0\x00\x01\x00\x01\x00\x80\x1dV\x01"
    assert decode(data, chunk=1) == decode(data)


def test_status_bytes_follow_paper_and_cover(tmp_path):
    sim = SimPrinter(tmp_path)
    assert [sim.status_byte(n) for n in (1, 2, 4)] == [0x12, 0x12, 0x12]
    sim.control("paper near_end")
    assert sim.status_byte(4) == 0x1E
    sim.control("paper out")
    assert [sim.status_byte(n) for n in (1, 2, 4)] == [0x1A, 0x32, 0x72]
    sim.control("paper ok")
    sim.control("cover open")
    assert [sim.status_byte(n) for n in (1, 2)] == [0x1A, 0x16]
    assert sim.control("paper wet").startswith("error")


def test_tcp_job_files_and_status_answers(printer_sim):
    host, port = printer_sim.uri.removeprefix("tcp://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"\x10\x04\x04")
        assert conn.recv(1) == b"\x12"
        conn.sendall(CHINESE + "第一张".encode("gb18030") + b"\n\x1dV\x01"
                     + CHINESE + b"second\n\x1dV\x00")
        conn.sendall(b"\x10\x04\x01")
        assert conn.recv(1) == b"\x12"
    texts = printer_sim.wait_jobs(2)
    assert texts == ["第一张\n[CUT]\n", "second\n[CUT]\n"]
    raw = (printer_sim.out_dir / "job-0001.bin").read_bytes()
    assert raw == CHINESE + "第一张".encode("gb18030") + b"\n\x1dV\x01"  # no status queries
    png = Image.open(printer_sim.out_dir / "job-0001.png")
    assert png.width == 576 + 16 and png.convert("L").getextrema()[0] == 0  # ink on paper


def test_paper_control_over_stdin(printer_sim):
    printer_sim.set_paper("out")
    host, port = printer_sim.uri.removeprefix("tcp://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"\x10\x04\x04")
        assert conn.recv(1) == b"\x72"
        conn.sendall(CHINESE + b"lost\n\x1dV\x01")
    assert printer_sim.wait_jobs(1) == ["[PAPER OUT]\n"]


def test_file_mode_decodes_a_capture(tmp_path):
    capture = tmp_path / "capture.bin"
    capture.write_bytes(CHINESE + "離線受理".encode("gb18030") + b"\n\x1dV\x01")
    done = subprocess.run([sys.executable, "-m", "simulators.cli", "printer", "--out",
                           str(tmp_path / "out"), "--input", str(capture)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "job-0001.txt").read_text(encoding="utf-8") == "離線受理\n[CUT]\n"


def test_simulator_imports_nothing_from_the_kiosk_side():
    code = ("import sys, simulators.printer.server, simulators.printer.render; "
            "print([m for m in sys.modules if m.split('.')[0] in ('drivers', 'kiosk', 'screens')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "[]", out.stderr
