"""Technician PIN: hashed at rest, five wrong PINs lock for 15 minutes, every try audited."""

from __future__ import annotations

import json
import stat

import pytest

from kiosk.ops.technician import TechnicianAccess, TechnicianError
from offline_queue import Outbox


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox.sqlite") as box:
        yield box


def audit_events(outbox: Outbox) -> list[dict]:
    items = outbox.claim(1000, force=True)
    return [outbox.open_payload(i) for i in items if i.stream == "audit"]


def test_pin_is_stored_only_as_scrypt_hash_in_a_0600_file(tmp_path):
    path = tmp_path / "tech" / "state.json"
    TechnicianAccess(path).set_pin("246813")
    text = path.read_text()
    assert "246813" not in text
    stored = json.loads(text)["pin"]
    assert stored["alg"] == "scrypt" and len(stored["hash"]) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_right_pin_enters_and_is_audited(tmp_path, outbox):
    access = TechnicianAccess(tmp_path / "s.json", audit=outbox, terminal_id="GZ-T-1")
    access.set_pin("246813")
    result = access.attempt("246813")
    assert result.ok and result.reason == "ok"
    access.exit(reason="idle")
    events = audit_events(outbox)
    assert [e["event"] for e in events] == ["technician.pin_set", "technician.enter",
                                             "technician.exit"]
    assert all(e["terminal"] == "GZ-T-1" for e in events)
    assert all("246813" not in json.dumps(e) for e in events)


def test_five_wrong_pins_lock_for_15_minutes_even_across_restart(tmp_path, outbox):
    clock = Clock()
    path = tmp_path / "s.json"
    access = TechnicianAccess(path, audit=outbox, clock=clock)
    access.set_pin("246813")
    lefts = [access.attempt("000000").attempts_left for _ in range(4)]
    assert lefts == [4, 3, 2, 1]
    fifth = access.attempt("111111")
    assert fifth.reason == "locked" and fifth.locked_until == clock.now + 900

    # a restart (new object over the same file) is still locked; the right PIN is refused
    again = TechnicianAccess(path, audit=outbox, clock=clock)
    clock.now += 899
    refused = again.attempt("246813")
    assert not refused.ok and refused.reason == "locked" and refused.seconds_locked(clock.now) == 1

    clock.now += 2
    assert again.locked_until() is None
    assert again.attempt("246813").ok
    reasons = [(e["event"], e.get("reason")) for e in audit_events(outbox)]
    assert reasons.count(("technician.attempt", "wrong_pin")) == 5
    assert ("technician.locked", None) in reasons
    assert ("technician.attempt", "locked") in reasons
    assert reasons[-1] == ("technician.enter", None)


def test_lock_runs_out_then_counter_starts_fresh(tmp_path):
    clock = Clock()
    access = TechnicianAccess(tmp_path / "s.json", clock=clock)
    access.set_pin("246813")
    for _ in range(5):
        access.attempt("999999")
    clock.now += 901
    assert access.attempt("999999").attempts_left == 4


def test_no_pin_set_never_lets_anyone_in(tmp_path):
    result = TechnicianAccess(tmp_path / "s.json").attempt("")
    assert not result.ok and result.reason == "no_pin_set"


@pytest.mark.parametrize("pin", ["12345", "1234567890123", "12a456", "１２３４５６"])
def test_bad_pin_format_is_refused(tmp_path, pin):
    with pytest.raises(TechnicianError, match="6 to 12 digits"):
        TechnicianAccess(tmp_path / "s.json").set_pin(pin)


def test_damaged_state_file_is_a_typed_error_not_an_open_door(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(TechnicianError, match="damaged"):
        TechnicianAccess(path)
