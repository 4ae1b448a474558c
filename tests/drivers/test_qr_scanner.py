"""The code scanner: a serial engine on a real pty (``kiosk-sim qr-scanner``), and the
keyboard-wedge burst detector fed at scanner and at human speed."""

from __future__ import annotations

import pathlib
import queue
import time

import pytest

from drivers.base import DeviceState
from drivers.qr_scanner import KeyBurst, QrScanner, ScanError
from tests.fixtures.procs import start_sim

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
CODE = "KSIM1.eyJwIjoicmVzaWRlbnQifQ.0123456789abcdef01234567"


class ScannerSim:
    def __init__(self, link: pathlib.Path) -> None:
        self.link = link
        self.proc = start_sim(["qr-scanner", "--link", str(link)])

    def control(self, line: str) -> None:
        seen = len(self.proc.lines)
        self.proc.send(line)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for answer in self.proc.lines[seen:]:
                if answer == f"ok {line}":
                    return
                if answer.startswith("error"):
                    raise RuntimeError(answer)
            time.sleep(0.01)
        raise RuntimeError(f"no answer to {line!r}")

    def stop(self) -> None:
        self.proc.stop()


@pytest.fixture
def scanner_sim(tmp_path):
    sim = ScannerSim(tmp_path / "ttySCAN")
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def scanner(scanner_sim):
    device = QrScanner(f"serial://{scanner_sim.link}?baud=9600", reconnect_interval=0.1)
    events: queue.Queue = queue.Queue()
    device.on_code(lambda code: events.put(("code", code)))
    device.on_scan_error(lambda exc: events.put(("error", exc)))
    ready = queue.Queue()
    device.on_status(lambda status: ready.put(status.state))
    device.open()
    while ready.get(timeout=10) is not DeviceState.READY:
        pass
    try:
        yield device, events
    finally:
        device.close()


@pytest.mark.parametrize("suffix", ["cr", "crlf", "lf"])
def test_a_scanned_code_arrives_once_whatever_the_terminator(scanner_sim, scanner, suffix):
    device, events = scanner
    scanner_sim.control(f"suffix {suffix}")
    scanner_sim.control(f"scan {CODE}")
    scanner_sim.control("scan SECOND-CODE-0001")
    assert events.get(timeout=10) == ("code", CODE)
    assert events.get(timeout=10) == ("code", "SECOND-CODE-0001")
    assert events.empty()


def test_line_noise_is_a_typed_scan_error_and_the_next_code_still_arrives(scanner_sim, scanner):
    device, events = scanner
    scanner_sim.control("noise")
    scanner_sim.control(f"scan {CODE}")
    kind, exc = events.get(timeout=10)
    assert kind == "error" and isinstance(exc, ScanError) and exc.fault == "unreadable"
    assert events.get(timeout=10) == ("code", CODE)


def test_a_png_code_scanned_by_the_engine(scanner_sim, scanner, tmp_path):
    from simulators.app_code import write_png

    device, events = scanner
    write_png(CODE, str(tmp_path / "code.png"))
    scanner_sim.control(f"scan-png {tmp_path / 'code.png'}")
    assert events.get(timeout=10) == ("code", CODE)


def test_unplugged_scanner_goes_offline_and_comes_back(tmp_path):
    link = tmp_path / "ttySCAN"
    device = QrScanner(f"serial://{link}?baud=9600", reconnect_interval=0.05)
    states: queue.Queue = queue.Queue()
    codes: queue.Queue = queue.Queue()
    device.on_status(lambda status: states.put((status.state, status.fault)))
    device.on_code(codes.put)
    device.open()
    try:
        assert states.get(timeout=10) == (DeviceState.STARTING, None)
        assert states.get(timeout=10) == (DeviceState.OFFLINE, "disconnected")
        sim = ScannerSim(link)
        try:
            while states.get(timeout=10)[0] is not DeviceState.READY:
                pass
            sim.control(f"scan {CODE}")
            assert codes.get(timeout=10) == CODE
        finally:
            sim.stop()
        while states.get(timeout=10) != (DeviceState.OFFLINE, "disconnected"):
            pass
    finally:
        device.close()


def test_wedge_and_camera_codes_are_checked_like_serial_ones():
    got, refused = [], []
    device = QrScanner("hid-wedge://")
    device.on_code(got.append)
    device.on_scan_error(refused.append)
    device.open()
    device.feed(CODE)
    device.feed("码\x07")
    device.feed("x" * 3000)
    assert got == [CODE]
    assert [e.fault for e in refused] == ["unreadable", "too_long"]
    assert QrScanner("camera").mode == "camera"
    with pytest.raises(ValueError):
        QrScanner("tcp://127.0.0.1:1")


def _type(burst: KeyBurst, text: str, start: float, gap: float) -> tuple[list[str], list[str]]:
    """Feed ``text`` + Enter; returns (keys delivered to the widget, codes)."""
    delivered, codes, t = [], [], start
    for ch in text:
        verdict, released, _ = burst.key(ch, t)
        delivered += released
        if verdict == "pass":
            delivered.append(ch)
        t += gap
    delivered += burst.expire(t)
    verdict, released, code = burst.key("\r", t, enter=True)
    delivered += released
    if verdict == "code":
        codes.append(code)
    else:
        delivered.append("\r")
    return delivered, codes


def test_a_burst_at_scanner_speed_is_a_code_and_reaches_no_widget():
    delivered, codes = _type(KeyBurst(), CODE, 100.0, gap=0.004)
    assert codes == [CODE] and delivered == []


def test_a_person_typing_slowly_reaches_the_widget_key_by_key():
    delivered, codes = _type(KeyBurst(), "13800138000", 100.0, gap=0.25)
    assert codes == [] and delivered == list("13800138000") + ["\r"]


def test_a_short_fast_run_then_enter_is_typing_not_a_code():
    delivered, codes = _type(KeyBurst(), "ab12", 100.0, gap=0.004)
    assert codes == [] and delivered == list("ab12") + ["\r"]
