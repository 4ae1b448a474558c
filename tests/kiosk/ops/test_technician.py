"""Technician PIN: hashed at rest, five wrong PINs lock for 15 minutes, every try audited."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

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


@pytest.mark.parametrize("content", [
    b"{not json",
    b'{"pin": {"alg": "scrypt", "hash": ',  # torn write
    b'{"pin": {"alg": "scrypt", "n": 16384, "r": 8, "p": 1, "salt": "zz", "hash": "00"}}',
    b'{"pin": null, "failures": "many"}',
    b'{"pin": {"alg": "scrypt", "n": 1099511627776, "r": 8, "p": 1, "salt": "00", "hash": "00"}}',
    b"\xff\xfe",
    b"[" * 100000 + b"]" * 100000,
])
def test_damaged_state_refuses_technician_mode_and_says_why(tmp_path, outbox, content):
    path = tmp_path / "s.json"
    path.write_bytes(content)
    access = TechnicianAccess(path, audit=outbox)  # the app builds it; the kiosk still serves
    result = access.attempt("246813")
    assert not result.ok and result.reason == "unavailable" and result.attempts_left == 0
    assert "damaged technician state" in result.detail and str(path) in result.detail
    assert "damaged technician state" in access.fault()
    events = audit_events(outbox)
    assert [(e["event"], e["reason"]) for e in events] == [("technician.attempt", "unavailable")]
    assert path.read_bytes() == content  # refusing writes nothing


def test_set_pin_replaces_a_damaged_state(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{not json")
    access = TechnicianAccess(path)
    access.set_pin("246813")
    assert access.fault() is None and access.attempt("246813").ok


def test_doctor_reports_a_damaged_state(tmp_path):
    from kiosk.ops.doctor import check_technician

    path = tmp_path / "s.json"
    assert check_technician(path).ok
    path.write_text("{not json")
    check = check_technician(path)
    assert not check.ok and check.name == "technician" and "damaged technician state" in check.detail


# -- the state on disk is the truth: two objects, two processes ----------------------------
TECH = [sys.executable, "-m", "kiosk.cli", "technician"]


def technician_cli(config, *args, stdin=""):
    env = {**os.environ, "KIOSK_CONFIG": str(config)}
    return subprocess.run([*TECH, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env=env)


def test_set_pin_from_the_cli_counts_at_the_apps_next_attempt(tmp_path):
    state = tmp_path / "technician.json"
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[terminal]\nmode = "test"\n[ops]\ntechnician_state = "{state}"\n'
                      f'[logging]\ndir = "{tmp_path}/log"\n')
    app = TechnicianAccess(state)  # the running kiosk's
    app.set_pin("111111")
    assert app.attempt("000000").reason == "wrong_pin"
    done = technician_cli(config, "set-pin", "--pin-stdin", stdin="222222\n")
    assert done.returncode == 0, done.stderr
    assert app.attempt("111111").reason == "wrong_pin"  # the old PIN no longer opens it
    assert app.attempt("222222").ok
    # nothing the app wrote since carries the old hash back
    assert TechnicianAccess(state).attempt("222222").ok
    status = technician_cli(config, "status")
    assert status.returncode == 0 and status.stdout.strip() == "pin set: yes; locked: no"


def test_a_lockout_recorded_by_another_process_holds(tmp_path):
    clock = Clock()
    path = tmp_path / "s.json"
    app = TechnicianAccess(path, clock=clock)
    app.set_pin("246813")
    other = TechnicianAccess(path, clock=clock)  # e.g. a second screen process, or a restart
    for _ in range(5):
        other.attempt("999999")
    refused = app.attempt("246813")
    assert not refused.ok and refused.reason == "locked"


def test_failures_from_two_objects_add_up(tmp_path):
    path = tmp_path / "s.json"
    a, b = TechnicianAccess(path), TechnicianAccess(path)
    a.set_pin("246813")
    assert [a.attempt("0000000").attempts_left for _ in range(2)] == [4, 3]
    assert [b.attempt("0000000").attempts_left for _ in range(2)] == [2, 1]
    assert a.attempt("0000000").reason == "locked"


_GUESSER = """
import sys
from kiosk.ops.technician import TechnicianAccess
access = TechnicianAccess(sys.argv[1], max_failures=1000)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[2])):
    access.attempt("000000")
"""


def test_concurrent_attempts_in_two_processes_lose_no_failure(tmp_path):
    """Read-modify-write under the lock: 2 × 15 wrong PINs at once are 30 on disk."""
    path = tmp_path / "s.json"
    TechnicianAccess(path).set_pin("246813")
    procs = [subprocess.Popen([sys.executable, "-c", _GUESSER, str(path), "15"], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:  # both start together
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        proc.stdin.close()
        assert proc.wait(timeout=120) == 0
    assert json.loads(path.read_text())["failures"] == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.json.lock"]  # no tmp left


def test_cli_status_on_a_damaged_state_is_one_line(tmp_path):
    state = tmp_path / "technician.json"
    state.write_text("{not json")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[terminal]\nmode = "test"\n[ops]\ntechnician_state = "{state}"\n'
                      f'[logging]\ndir = "{tmp_path}/log"\n')
    status = technician_cli(config, "status")
    assert status.returncode == 1 and "Traceback" not in status.stderr
    assert "technician mode refused" in status.stderr and "damaged technician state" in status.stderr


@pytest.mark.expected_errors(r"technician mode unavailable: .*damaged technician state")
def test_a_damaged_state_leaves_operations_running_and_central_told(central_sim, fleet_module,
                                                                    tmp_path):
    from kiosk.catalog.services import Catalog
    from kiosk.config import load_config
    from kiosk.ops.operations import Operations
    from kiosk.parts import Devices, central_client, fleet_client
    from tests.kiosk.ops.test_operations import Gui, Visits

    central_sim.reset()
    state = tmp_path / "technician.json"
    state.write_text("{not json")
    config = fleet_module.enrol(load_config().replace(
        central={"url": central_sim.url},
        ops={"technician_state": str(state), "heartbeat_interval": 3600}), tmp_path / "fleet.key")
    client, fleet = central_client(config, retries=0), fleet_client(config)
    ops = Operations(config=config, devices=Devices(), client=client, outbox=None, sync=None,
                     updates=None, visits=Visits(), catalog=Catalog.load(), post=Gui().post,
                     exit_app=lambda code: None, fleet=fleet)  # once it raised TechnicianError
    try:
        ops.start()
        assert ops.heartbeat.beat().sent  # the heartbeat thread's first beat, or this one
        faults = [r for r in fleet_module.reports(config.fleet["terminal_id"])
                  if r["kind"] == "technician"]
        assert len(faults) == 1 and not faults[0]["ok"]
        assert "damaged technician state" in faults[0]["detail"]
        assert ops.technician.attempt("246813").reason == "unavailable"
    finally:
        ops.stop()
        client.close()
        if fleet is not None:
            fleet.close()
        central_sim.reset()
