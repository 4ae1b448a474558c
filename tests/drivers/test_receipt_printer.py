"""ReceiptPrinter: exact ESC/POS bytes per profile, and jobs against the printer simulator
(a real subprocess on a real TCP port) with paper, cover and duplicate-id situations."""

from __future__ import annotations

import time

import pytest

from drivers.base import DeviceState
from drivers.escpos_elements import Barcode, Pair, QrCode, ReceiptDoc, Table, Text
from drivers.escpos_encoder import encode_receipt
from drivers.escpos_layout import text_cells, wrap
from drivers.receipt_printer import PrinterError, ReceiptPrinter, decode_status, load_profile

CJK80 = load_profile("80mm-cjk")
CJK58 = load_profile("58mm-cjk")
LATIN80 = load_profile("80mm-latin")
LATIN58 = load_profile("58mm-latin")
DOC = ReceiptDoc((Text("排隊 A023", "center", True), Pair("號碼", "A023"),
                  QrCode("https://example.gov.cn/p/1")), title="t")


# -- bytes ------------------------------------------------------------------------------------
def test_cjk_text_goes_as_gb18030_in_chinese_mode_then_partial_cut():
    doc = ReceiptDoc((Text("排隊 A023", "center", True),))
    assert encode_receipt(doc, CJK80) == bytes.fromhex(
        "1b40 1c26"            # ESC @, FS & (Chinese character mode)
        "1b6101 1b4501"        # centre, bold
        "c5c5 eaa0 2041303233 0a"  # 排隊 A023 in GB18030 (traditional 隊 included), LF
        "1b6100 1b4500"        # back to left, not bold
        "1b6404 1d5601")       # feed 4 lines, partial cut


def test_native_qr_is_gs_paren_k_model2_size_from_profile_ec_m():
    doc = ReceiptDoc((QrCode("AB"),), cut=False)
    assert encode_receipt(doc, CJK80) == bytes.fromhex(
        "1b40 1c26 1b6101"
        "1d286b 0400 3141 3200"     # model 2
        "1d286b 0300 3143 06"       # module size 6 dots (profile)
        "1d286b 0300 3145 31"       # error correction M
        "1d286b 0500 3150 30 4142"  # store "AB"
        "1d286b 0300 3151 30"       # print
        "0a 1b6100")


def test_pair_is_padded_to_the_58mm_width_and_barcode_is_code128_set_b():
    doc = ReceiptDoc((Pair("号码", "A1"), Barcode("GZ1")), cut=False)
    out = encode_receipt(doc, CJK58)
    assert out == bytes.fromhex(
        "1b40 1c26"
        "bac5 c2eb" + "20" * 26 + "4131 0a"      # 号码 (4 cells) + 26 spaces + A1 = 32 cells
        "1b6101 1d6850 1d7702 1d4802 1d6600"     # centre, height 80, width 2, HRI below, font A
        "1d6b49 05 7b42 475a31 0a"                # GS k 73 len {B GZ1
        "1b6100")
    assert b"\x1dV" not in out  # 58mm-cjk has no cutter


def test_cjk_punctuation_only_and_extension_b_characters_survive():
    out = encode_receipt(ReceiptDoc((Text("，。！"), Text("\U00020000")), cut=False), CJK80)
    assert bytes.fromhex("a3aca1a3a3a1 0a") in out  # full-width punctuation, not "?"
    assert bytes.fromhex("95328236 0a") in out  # four-byte GB18030 for CJK extension B


def test_printer_without_chinese_font_gets_cjk_lines_as_raster_and_ascii_as_text():
    doc = ReceiptDoc((Text("Service receipt"), Text("業務辦理回執")), cut=True)
    out = encode_receipt(doc, LATIN80)
    assert out.startswith(bytes.fromhex("1b40 1c2e 1b7400"))  # Chinese mode off, PC437
    assert b"Service receipt\n" in out
    assert "業".encode("gb18030") not in out
    raster = out.index(b"\x1dv0\x00")
    assert out[raster + 4:raster + 6] == (576 // 8).to_bytes(2, "little")  # full paper width
    assert out.endswith(bytes.fromhex("1b6404 1d5601"))


def test_image_qr_where_the_profile_has_no_native_qr():
    out = encode_receipt(ReceiptDoc((QrCode("AB"),), cut=False), CJK58)
    assert b"\x1d(k" not in out and b"\x1dv0\x00" in out


def test_layout_counts_multibyte_characters_as_two_cells():
    assert text_cells("社保A，") == 2 + 2 + 1 + 2
    assert wrap("广州市政务服务", 6) == ["广州市", "政务服", "务"]
    assert wrap("Watch the call screen now", 12) == ["Watch the", "call screen", "now"]


def test_table_fits_the_paper_and_right_aligns_the_last_column():
    doc = ReceiptDoc((Table(("月份", "金额"), (("2026-09", "412.80"),)),), cut=False)
    out = encode_receipt(doc, CJK58).decode("gb18030")
    rows = [ln for ln in out.split("\n") if "2026-09" in ln]
    assert rows and rows[0].endswith("412.80") and text_cells(rows[0].split("\x1c&")[-1]) == 32


# -- status bytes -----------------------------------------------------------------------------
@pytest.mark.parametrize(("online", "cause", "paper", "fault"), [
    (0x12, 0x12, 0x12, None),
    (0x12, 0x12, 0x1E, "paper_low"),
    (0x1A, 0x32, 0x72, "paper_out"),
    (0x1A, 0x16, 0x12, "cover_open"),
    (0x1A, 0x12, 0x12, "offline"),
    (0xFF, 0x12, 0x12, "protocol"),
])
def test_dle_eot_answers_map_to_faults(online, cause, paper, fault):
    assert decode_status(online, cause, paper)[0] == fault


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(PrinterError, match="80mm-cjk") as err:
        load_profile("no-such-printer")
    assert err.value.fault == "config"


# -- against the simulator ----------------------------------------------------------------------
def test_job_prints_and_the_simulator_receives_exactly_the_encoded_bytes(printer_sim):
    with ReceiptPrinter(printer_sim.uri, profile=CJK80) as printer:
        assert printer.status().state == DeviceState.READY
        result = printer.print_job("job-1", DOC)
    assert result.status == "ok"
    texts = printer_sim.wait_jobs(1)
    assert texts[0].splitlines()[0].strip() == "排隊 A023"
    assert "[QR:https://example.gov.cn/p/1]" in texts[0] and texts[0].rstrip().endswith("[CUT]")
    assert (printer_sim.out_dir / "job-0001.bin").read_bytes() == encode_receipt(DOC, CJK80)
    assert (printer_sim.out_dir / "job-0001.png").stat().st_size > 1000


def test_same_job_id_twice_prints_once(printer_sim):
    with ReceiptPrinter(printer_sim.uri, profile=CJK80) as printer:
        assert printer.print_job("tap-1", DOC).status == "ok"
        assert printer.print_job("tap-1", DOC).status == "duplicate"
        assert printer.print_job("tap-2", DOC).status == "ok"
    assert len(printer_sim.wait_jobs(2)) == 2
    assert len(printer_sim.job_files()) == 2


def test_journal_keeps_job_ids_across_restarts(printer_sim, tmp_path):
    journal = tmp_path / "printed.txt"
    with ReceiptPrinter(printer_sim.uri, profile=CJK80, journal=journal) as printer:
        printer.print_job("ticket-7", DOC)
    with ReceiptPrinter(printer_sim.uri, profile=CJK80, journal=journal) as printer:
        assert printer.print_job("ticket-7", DOC).status == "duplicate"
    assert len(printer_sim.wait_jobs(1)) == 1


def test_paper_out_before_a_job_refuses_it_and_nothing_prints(printer_sim_factory):
    sim = printer_sim_factory("--paper", "out")
    with ReceiptPrinter(sim.uri, profile=CJK80) as printer:
        assert printer.status().fault == "paper_out"
        with pytest.raises(PrinterError) as err:
            printer.print_job("job-1", DOC)
        assert err.value.fault == "paper_out"
        sim.set_paper("ok")  # technician loads paper: the same job id now prints
        assert printer.print_job("job-1", DOC).status == "ok"
    assert len(sim.wait_jobs(1)) == 1
    assert "[PAPER OUT]" not in sim.jobs()[0]


def test_paper_out_mid_job_is_reported_as_failed_with_the_reason(printer_sim_factory):
    sim = printer_sim_factory("--fail-after", "2")
    with ReceiptPrinter(sim.uri, profile=CJK80) as printer:
        with pytest.raises(PrinterError, match="mid-way") as err:
            printer.print_job("job-1", DOC)
        assert err.value.fault == "paper_out"
        assert printer.status().state == DeviceState.ERROR
    text = sim.wait_jobs(1)[0]
    assert "[PAPER OUT]" in text and "[QR:" not in text


def test_cover_open_refuses_the_job(printer_sim):
    printer_sim.set_cover("open")
    with ReceiptPrinter(printer_sim.uri, profile=CJK80) as printer:
        with pytest.raises(PrinterError) as err:
            printer.print_job("job-1", DOC)
    assert err.value.fault == "cover_open"


def test_paper_near_end_prints_with_a_warning(printer_sim_factory):
    sim = printer_sim_factory("--paper", "near_end")
    with ReceiptPrinter(sim.uri, profile=CJK80) as printer:
        result = printer.print_job("job-1", DOC)
    assert result.status == "ok" and result.warning == "paper_low"


def test_printer_gone_is_offline_with_the_native_cause(printer_sim):
    printer = ReceiptPrinter(printer_sim.uri, profile=CJK80)
    printer.open()
    printer_sim.stop()
    try:
        with pytest.raises(PrinterError) as err:
            printer.print_job("job-1", DOC)
        assert err.value.fault == "offline"
    finally:
        printer.close()
    with pytest.raises(PrinterError) as err:
        ReceiptPrinter(printer_sim.uri, profile=CJK80).open()
    assert err.value.fault == "offline" and "refused" in str(err.value)


def test_sim_uri_collects_bytes_in_process():
    with ReceiptPrinter("sim", profile=CJK58) as printer:
        printer.print_job("x", DOC)
    assert bytes(printer.sim_output) == encode_receipt(DOC, CJK58)


def test_raster_receipt_reaches_the_simulator_as_images(printer_sim):
    with ReceiptPrinter(printer_sim.uri, profile=LATIN58) as printer:
        printer.print_job("job-1", ReceiptDoc((Text("Queue ticket"), Text("排隊小票")), cut=True))
    # no cutter on 58mm-latin: the job ends when the connection closes
    text = printer_sim.wait_jobs(1)[0]
    assert text.splitlines()[0] == "Queue ticket"
    assert text.splitlines()[1].startswith("[IMAGE:384x")


def test_printer_comes_back_after_a_restart_on_the_same_port(printer_sim_factory):
    first = printer_sim_factory()
    port = first.uri.rsplit(":", 1)[1]
    printer = ReceiptPrinter(first.uri, profile=CJK80)
    printer.open()
    try:
        first.stop()
        assert printer.status().state == DeviceState.OFFLINE
        again = printer_sim_factory("--listen", f"127.0.0.1:{port}")
        assert again.uri == first.uri
        assert printer.status().state == DeviceState.READY
        assert printer.print_job("after-restart", DOC).status == "ok"
    finally:
        printer.close()
    assert len(again.wait_jobs(1)) == 1


def test_serial_printer_on_a_real_pty(tmp_path):
    from tests.fixtures.procs import start_sim

    sim = start_sim(["printer", "--pty", "--out", str(tmp_path)])
    try:
        uri = f"serial://{sim.address}?baud=115200"
        with ReceiptPrinter(uri, profile=CJK58) as printer:
            assert printer.status().state == DeviceState.READY
            printer.print_job("serial-1", ReceiptDoc((Text("串口打印 serial"),), cut=True))
            printer.print_job("serial-2", ReceiptDoc((Text("second"),), cut=True))
            # no cutter on 58mm: the first job ends where the second one's ESC @ begins
            sim.send("paper out")
            deadline = time.monotonic() + 5
            while "ok paper=out cover=closed" not in sim.lines and time.monotonic() < deadline:
                time.sleep(0.02)
            with pytest.raises(PrinterError) as err:
                printer.print_job("serial-3", DOC)
            assert err.value.fault == "paper_out"
        first = (tmp_path / "job-0001.txt").read_text(encoding="utf-8")
        assert first.splitlines()[0] == "串口打印 serial"
    finally:
        sim.stop()
