"""IdCardReader against the simulator subprocess over a real pty (pyserial on both ends)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from drivers.base import DeviceState
from drivers.idcard import (
    CardExpired,
    CardTimeout,
    ChecksumError,
    IdCardError,
    IdCardReader,
    InvalidIdNumber,
    NoResponse,
    PortError,
    SamError,
    TruncatedFrame,
)
from tests.fixtures.idcard import card_path

# A dying poll thread must fail the test, not just warn (the reconnect bug was one).
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

WAIT = 10  # generous upper bound for events; tests never assert on speed


class Recorder:
    """Collects a reader's events; ``wait_for`` blocks until a condition holds."""

    def __init__(self, reader: IdCardReader) -> None:
        self.events: list[tuple[str, object]] = []
        self._cond = threading.Condition()
        reader.on_card(lambda identity: self._add("card", identity))
        reader.on_card_removed(lambda: self._add("removed", None))
        reader.on_card_error(lambda err: self._add("error", err))
        reader.on_status(lambda status: self._add("status", status))

    def _add(self, kind: str, payload: object) -> None:
        with self._cond:
            self.events.append((kind, payload))
            self._cond.notify_all()

    def of(self, kind: str) -> list:
        with self._cond:
            return [p for k, p in self.events if k == kind]

    def wait_for(self, predicate, timeout: float = WAIT) -> None:
        with self._cond:
            assert self._cond.wait_for(predicate, timeout), f"timed out; events: {self.kinds()}"

    def wait_status(self, state: DeviceState, fault: str | None = None) -> None:
        self.wait_for(lambda: any(s.state == state and (fault is None or s.fault == fault)
                                  for s in self.of("status")))

    def kinds(self) -> list[str]:
        return [k if k != "status" else f"status:{p.state}/{p.fault}" for k, p in self.events]


def expected(card: str) -> dict:
    return json.loads(card_path(card).read_text(encoding="utf-8"))


@pytest.mark.parametrize("card", ["resident", "resident_longterm", "hmt_residence",
                                  "foreign_permanent"])
def test_read_once_returns_the_placed_card(idcard_sim, card):
    idcard_sim.place(card)
    identity = IdCardReader(idcard_sim.uri).read_once(timeout=5)
    want = expected(card)
    got = identity.to_json()
    for key in ("card_type", "name", "name_en", "sex", "nation", "nationality", "birth_date",
                "address", "id_number", "authority", "valid_from", "valid_until",
                "pass_number", "issue_count"):
        assert got[key] == want[key], key
    assert len(identity.photo_wlt) == 1024
    assert identity.source == "id_card"


@pytest.mark.parametrize("fault", ["garbage", "slow"])
def test_noisy_or_slow_line_still_reads(idcard_sim, fault):
    idcard_sim.place("resident")
    idcard_sim.fault(fault)
    assert IdCardReader(idcard_sim.uri).read_once(timeout=5).name == "林晓梅"


@pytest.mark.parametrize(("fault", "error", "native"), [
    ("bad_checksum", ChecksumError, None),
    ("truncate", TruncatedFrame, None),
    ("silent", NoResponse, None),
    ("sam_error", SamError, "000060"),
])
def test_wire_faults_become_typed_errors(idcard_sim, fault, error, native):
    idcard_sim.place("resident")
    idcard_sim.fault(fault)
    with pytest.raises(error) as info:
        IdCardReader(idcard_sim.uri).read_once(timeout=2)
    if native:
        assert info.value.native == native
        assert "0x60" in str(info.value)


def test_no_card_before_timeout(idcard_sim):
    idcard_sim.place("resident")
    idcard_sim.fault("no_card")
    with pytest.raises(CardTimeout):
        IdCardReader(idcard_sim.uri, poll_interval=0.05).read_once(timeout=0.5)


def test_expired_card_raises_with_its_date(idcard_sim):
    idcard_sim.place("resident_expired")
    with pytest.raises(CardExpired) as info:
        IdCardReader(idcard_sim.uri).read_once(timeout=5)
    assert info.value.valid_until == "2024-06-01"


def test_bad_check_digit_never_becomes_an_identity(idcard_sim):
    idcard_sim.place("bad_check_digit")
    with pytest.raises(InvalidIdNumber):
        IdCardReader(idcard_sim.uri).read_once(timeout=5)


def test_missing_port_is_a_port_error(tmp_path):
    with pytest.raises(PortError) as info:
        IdCardReader(f"serial://{tmp_path}/nothing?baud=115200").read_once(timeout=1)
    assert info.value.native == 2  # ENOENT


def test_not_a_serial_uri_is_refused():
    with pytest.raises(ValueError):
        IdCardReader("tcp://127.0.0.1:9100")


@pytest.fixture
def reader(idcard_sim):
    device = IdCardReader(idcard_sim.uri, poll_interval=0.05, reconnect_interval=0.1)
    yield device
    device.close()


def test_card_placed_and_removed_events_once_per_placement(idcard_sim, reader):
    rec = Recorder(reader)
    reader.open()
    rec.wait_status(DeviceState.READY)
    idcard_sim.place("resident")
    rec.wait_for(lambda: rec.of("card"))
    assert rec.of("card")[0].name == "林晓梅"
    # the card stays: more polls, no second event (the removal proves those polls ran)
    idcard_sim.remove()
    rec.wait_for(lambda: rec.of("removed"))
    assert len(rec.of("card")) == 1
    idcard_sim.place("hmt_residence")
    rec.wait_for(lambda: len(rec.of("card")) == 2)
    assert rec.of("card")[1].card_type == "hmt_residence"
    assert rec.of("error") == []
    assert [k for k in rec.kinds() if k in ("card", "removed")] == ["card", "removed", "card"]


@pytest.mark.parametrize(("card", "error"), [("resident_expired", CardExpired),
                                             ("bad_check_digit", InvalidIdNumber)])
def test_refused_card_is_one_error_event_then_removed(idcard_sim, reader, card, error):
    rec = Recorder(reader)
    reader.open()
    idcard_sim.place(card)
    rec.wait_for(lambda: rec.of("error"))
    idcard_sim.remove()
    rec.wait_for(lambda: rec.of("removed"))
    assert len(rec.of("error")) == 1
    assert isinstance(rec.of("error")[0], error)
    assert rec.of("card") == []


def test_wire_fault_while_polling_shows_in_status_and_clears(idcard_sim, reader):
    rec = Recorder(reader)
    reader.open()
    rec.wait_status(DeviceState.READY)
    idcard_sim.fault("bad_checksum")
    rec.wait_status(DeviceState.ERROR, "checksum")
    idcard_sim.fault(None)
    idcard_sim.place("resident")
    rec.wait_for(lambda: rec.of("card"))
    assert reader.status().state == DeviceState.READY


def test_reconnects_when_the_simulator_restarts(idcard_sim, reader):
    rec = Recorder(reader)
    reader.open()
    rec.wait_status(DeviceState.READY)
    idcard_sim.place("resident")
    rec.wait_for(lambda: rec.of("card"))
    idcard_sim.stop()
    rec.wait_status(DeviceState.OFFLINE, "disconnected")
    rec.wait_for(lambda: rec.of("removed"))  # an unplugged reader holds no card
    ready_before = len([s for s in rec.of("status") if s.state == DeviceState.READY])
    idcard_sim.start()
    rec.wait_for(lambda: len([s for s in rec.of("status")
                              if s.state == DeviceState.READY]) > ready_before)
    idcard_sim.place("resident_longterm")
    rec.wait_for(lambda: len(rec.of("card")) == 2)


def test_port_missing_at_open_is_offline_then_ready_when_it_appears(idcard_sim, tmp_path):
    idcard_sim.stop()
    device = IdCardReader(idcard_sim.uri, reconnect_interval=0.1)
    rec = Recorder(device)
    try:
        device.open()
        rec.wait_status(DeviceState.OFFLINE, "port_missing")
        idcard_sim.start()
        rec.wait_status(DeviceState.READY)
    finally:
        device.close()


def test_sam_fault_at_open_reports_no_sam(idcard_sim, reader):
    idcard_sim.fault("sam_error")
    rec = Recorder(reader)
    reader.open()
    rec.wait_status(DeviceState.ERROR, "no_sam")


def test_read_once_while_polling_waits_for_the_next_card(idcard_sim, reader):
    reader.open()
    result: list = []

    def read() -> None:
        try:
            result.append(reader.read_once(timeout=WAIT))
        except IdCardError as exc:  # pragma: no cover - reported below
            result.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    idcard_sim.place("foreign_permanent")
    thread.join(WAIT)
    assert result and result[0].card_type == "foreign_permanent"


def test_close_stops_the_poll_thread_and_frees_the_port(idcard_sim, reader):
    reader.open()
    thread = reader._thread
    reader.close()
    assert not thread.is_alive()
    assert reader.status().state == DeviceState.OFFLINE
    idcard_sim.place("resident")  # the port is free again for another client
    assert IdCardReader(idcard_sim.uri).read_once(timeout=5).name == "林晓梅"


def test_sam_id_for_the_technician_with_and_without_polling(idcard_sim, reader):
    standalone = IdCardReader(idcard_sim.uri).sam_id()
    assert len(standalone) == 32 and int(standalone, 16)
    reader.open()
    assert reader.sam_id() == standalone


def test_close_from_a_listener_does_not_deadlock(idcard_sim, reader):
    closed = threading.Event()
    reader.on_card(lambda identity: (reader.close(), closed.set()))
    reader.open()
    idcard_sim.place("resident")
    assert closed.wait(WAIT)
    assert reader.status().state == DeviceState.OFFLINE


def test_one_missed_find_does_not_end_the_placement(idcard_sim, reader):
    rec = Recorder(reader)
    idcard_sim.place("resident")
    idcard_sim.fault("flicker")  # every other find answers "no card"
    reader.open()
    rec.wait_for(lambda: rec.of("card"))
    time.sleep(1)  # ~20 more polls, half of them misses
    assert rec.of("removed") == []
    idcard_sim.fault(None)
    idcard_sim.remove()
    rec.wait_for(lambda: rec.of("removed"))
    assert len(rec.of("card")) == 1


def test_read_once_ends_by_its_timeout_at_a_low_baud(tmp_path):
    """At 50 baud each frame's own timeout is 13 s and more (it stretches with wire time);
    the caller's 1 s still bounds the whole read: a typed CardTimeout, then the port is let
    go, which the simulator reports as ``hangup``. (Old code: 2 x 13.1 s in the SAM check.)"""
    from tests.fixtures.idcard import IdCardSim

    sim = IdCardSim(tmp_path / "ttySLOW", ["--pace", "--baud", "50"])
    try:
        sim.place("resident")
        with pytest.raises(CardTimeout, match="timeout reached while the reader answered 11 FF"):
            IdCardReader(f"serial://{sim.link}?baud=50").read_once(timeout=1)
        deadline = time.monotonic() + WAIT
        while "hangup" not in sim.proc.lines and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "hangup" in sim.proc.lines
    finally:
        sim.stop()
