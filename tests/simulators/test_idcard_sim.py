"""The simulator's side of the wire, byte for byte, with a bare pyserial port (no driver)."""

from __future__ import annotations

import time

import pytest
import serial

from tests.fixtures.idcard import IdCardSim


def ask(port: serial.Serial, request_hex: str, timeout: float = 2) -> bytes:
    port.reset_input_buffer()
    port.write(bytes.fromhex(request_hex))
    reply = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply += port.read(4096)
        if len(reply) >= 7 and len(reply) >= 7 + int.from_bytes(reply[5:7], "big"):
            break
    return reply


@pytest.fixture
def port(idcard_sim: IdCardSim):
    with serial.Serial(str(idcard_sim.link), 115200, timeout=0.05) as p:
        yield p


def test_sam_status_and_find_without_card(port):
    assert ask(port, "AAAAAA9669 0003 11FF ED") == bytes.fromhex("AAAAAA9669 0004 000090 94")
    assert ask(port, "AAAAAA9669 0003 2001 22") == bytes.fromhex("AAAAAA9669 0004 000080 84")


def test_find_select_read_with_a_card(idcard_sim, port):
    idcard_sim.place("resident")
    assert ask(port, "AAAAAA9669 0003 2001 22") == bytes.fromhex(
        "AAAAAA9669 0008 00009F 00000000 97")
    assert ask(port, "AAAAAA9669 0003 2002 21")[7:10] == b"\x00\x00\x90"
    reply = ask(port, "AAAAAA9669 0003 3001 32")
    assert reply[5:7] == (3 + 4 + 256 + 1024 + 1).to_bytes(2, "big")
    assert reply[10:14] == bytes.fromhex("0100 0400")
    assert reply[14:20] == "林晓梅".encode("utf-16-le")
    assert reply[14 + 122:14 + 158].decode("utf-16-le").strip() == "440104198503120020"


def test_read_with_fingerprint_carries_three_lengths(idcard_sim, port):
    idcard_sim.place("resident")
    reply = ask(port, "AAAAAA9669 0003 3010 23")
    assert reply[10:16] == bytes.fromhex("0100 0400 0400")
    assert len(reply) == 7 + 3 + 6 + 256 + 1024 + 1024 + 1


def test_bad_request_checksum_and_unknown_command(port):
    assert ask(port, "AAAAAA9669 0003 2001 23")[7:10] == b"\x00\x00\x10"
    assert ask(port, "AAAAAA9669 0003 7777 03")[7:10] == b"\x00\x00\x21"


def test_unknown_control_line_is_refused(idcard_sim):
    with pytest.raises(RuntimeError, match="refused"):
        idcard_sim.fault("melt")


def test_host_closing_the_port_is_reported_as_hangup_and_the_port_reopens(idcard_sim):
    """After a host has spoken, its close shows as ``hangup`` (what lets a test prove a client
    let go of the line); the next host opens the same path and is answered."""
    with serial.Serial(str(idcard_sim.link), 115200, timeout=0.05) as first:
        assert ask(first, "AAAAAA9669 0003 11FF ED")[9] == 0x90
    deadline = time.monotonic() + 10
    while "hangup" not in idcard_sim.proc.lines and time.monotonic() < deadline:
        time.sleep(0.02)
    assert idcard_sim.proc.lines.count("hangup") == 1
    with serial.Serial(str(idcard_sim.link), 115200, timeout=0.05) as second:
        assert ask(second, "AAAAAA9669 0003 11FF ED")[9] == 0x90
