"""Heartbeat and remote commands against a real fleet service (``kiosk-fleet serve`` on
SQLite, one for the module; each test enrols its own terminal with a one-time code). What the
fleet recorded is read from its database, as the console reads it."""

from __future__ import annotations

import io
import json
import tarfile
import threading
from pathlib import Path

import pytest

from drivers.identity import id_number_check_digit
from drivers.receipt_printer import ReceiptPrinter, load_profile
from kiosk.central.client import CentralClient
from kiosk.central.fleet_client import FleetClient
from kiosk.config import load_config
from kiosk.ops.diagnostics import collect_diagnostics, outbox_uploader, standard_handlers
from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
from kiosk.ops.remote_commands import CommandRunner
from kiosk.parts import fleet_client
from offline_queue import Outbox
from tests.fixtures.fleet import FleetService


class Terminal:
    """The bits of an app the runner acts on, with an idle switch a test flips."""

    def __init__(self) -> None:
        self.idle = threading.Event()
        self.maintenance = False
        self.reloads: list[str] = []

    def set_maintenance(self, on: bool) -> None:
        self.maintenance = on


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox.sqlite") as box:
        yield box


@pytest.fixture
def enrolled(fleet_module: FleetService, tmp_path: Path):
    """A fresh terminal enrolled with the module's fleet: its client and fleet id."""
    config = fleet_module.enrol(load_config(), tmp_path / "fleet.key")
    client = fleet_client(config)
    assert client is not None
    with client:
        yield client, config.fleet["terminal_id"]


def commands(fleet: FleetService, terminal: str) -> dict[str, dict]:
    """The terminal's commands as the console shows them: status and result by id."""
    from fleet import store

    rows = fleet.read(lambda c: store.list_commands(c, terminal, now=store.now()))
    return {r["id"]: dict(r) for r in rows}


def detail(fleet: FleetService, terminal: str) -> dict:
    from fleet import store

    return dict(fleet.read(lambda c: store.terminal_detail(c, terminal, now=store.now())))


@pytest.fixture
def rig(enrolled, outbox, tmp_path):
    client, _ = enrolled
    term = Terminal()
    results: list = []
    done = threading.Event()

    def on_result(cmd, ack):
        results.append((cmd, ack))
        done.set()

    handlers = standard_handlers(
        restart=lambda: None, set_maintenance=term.set_maintenance,
        reload_catalog=lambda: term.reloads.append("catalog"),
        reload_config=lambda: term.reloads.append("config"),
        sync_outbox=lambda: "3 sent", diagnostics=lambda: b"", upload=outbox_uploader(outbox))
    runner = CommandRunner(handlers, term.idle.is_set, idle_poll=0.02, on_result=on_result)
    printer = ReceiptPrinter("sim", profile=load_profile("80mm-cjk"))
    printer.open()
    facts = TerminalFacts(devices={"receipt_printer": printer}, outbox=outbox,
                          versions=lambda: {"catalog": "2026.11.1", "config": "local"},
                          counters=lambda: {"visits": 7}, maintenance=lambda: term.maintenance)
    beat = Heartbeat(client, facts, runner=runner, interval=3600)
    try:
        yield term, runner, beat, results, done
    finally:
        runner.stop()
        beat.stop()
        printer.close()


def test_heartbeat_reports_devices_outbox_and_versions(rig, enrolled, fleet_module, outbox):
    _, _, beat, _, _ = rig
    _, terminal = enrolled
    outbox.put("evaluation", {"rating": 4})
    assert beat.beat().sent
    row = detail(fleet_module, terminal)
    assert row["devices"]["receipt_printer"]["state"] == "ready"
    assert row["outbox_depth"] == 1 and row["outbox_oldest_s"] >= 0
    assert (row["software_version"], row["catalog_version"], row["config_version"]) == (
        "0.1.0", "2026.11.1", "local")
    assert row["uptime_s"] >= 0 and row["status"] == "online"


def test_queued_command_waits_for_idle_runs_and_is_acknowledged(rig, enrolled, fleet_module):
    term, runner, beat, results, done = rig
    _, terminal = enrolled
    cid = fleet_module.queue(terminal, "maintenance_on")
    assert beat.beat().commands == 1
    # a resident is mid-visit: nothing runs
    assert runner.run_pending() == 0 and runner.pending == 1 and not term.maintenance
    runner.start()
    term.idle.set()
    assert done.wait(5)
    assert term.maintenance
    assert beat.beat().sent
    acked = commands(fleet_module, terminal)[cid]
    assert acked["status"] == "done" and "maintenance on" in json.dumps(acked["result"])
    # acknowledged once only: nothing left to post, nothing delivered again
    assert runner.take_acks() == [] and beat.beat().commands == 0


def test_commands_run_in_order_unknown_ones_fail_and_repeats_do_not_rerun(rig, enrolled,
                                                                          fleet_module):
    term, runner, beat, results, _ = rig
    _, terminal = enrolled
    term.idle.set()
    ids = {name: fleet_module.queue(terminal, name)
           for name in ("reload_catalog", "reload_config")}
    assert beat.beat().commands == 2
    runner.submit([{"id": "c-self-destruct", "command": "self_destruct"}])  # a newer fleet's
    assert runner.run_pending() == 3
    assert term.reloads == ["catalog", "config"]
    # the fleet resends one whose ack it never got: acked again, not run again
    runner.submit([{"id": ids["reload_catalog"], "command": "reload_catalog"}])
    assert runner.run_pending() == 0 and term.reloads == ["catalog", "config"]
    acks = [a for a in runner.take_acks()]
    assert [a["id"] for a in acks] == [ids["reload_catalog"], ids["reload_config"],
                                      "c-self-destruct", ids["reload_catalog"]]
    assert acks[2] == {"id": "c-self-destruct", "ok": False,
                       "detail": "unknown command 'self_destruct'"}
    assert acks[0] == acks[3] and acks[1]["detail"] == "config reloaded"
    runner.restore_acks(acks)
    assert beat.beat().sent  # the fleet drops the ack of a command it never issued
    done = commands(fleet_module, terminal)
    assert {done[i]["status"] for i in ids.values()} == {"done"}


def test_failing_handler_is_acked_as_failed(rig, enrolled, fleet_module):
    term, runner, beat, _, _ = rig
    _, terminal = enrolled
    term.idle.set()
    cid = fleet_module.queue(terminal, "collect_diagnostics")
    beat.beat()
    runner.run_pending()
    beat.beat()
    failed = commands(fleet_module, terminal)[cid]
    assert failed["status"] == "failed", failed
    assert "empty diagnostics bundle" in json.dumps(failed["result"])


def test_fleet_down_queues_telemetry_and_keeps_acks_for_later(outbox):
    runner = CommandRunner({"sync_outbox": lambda args: "ok"}, lambda: True)
    runner.submit([{"id": "x1", "command": "sync_outbox"}])
    runner.run_pending()
    down = FleetClient(CentralClient("http://127.0.0.1:9", "GZ-FLEET-0009", b"k" * 32,
                                     timeout=(0.5, 0.5), retries=0))
    with down:
        beat = Heartbeat(down, TerminalFacts(outbox=outbox), runner=runner)
        beat.report({"kind": "update", "outcome": "applied"})
        result = beat.beat()
    assert not result.sent and result.queued_as_telemetry and "FleetUnavailable" in result.error
    items = outbox.claim(10, force=True)
    assert [i.stream for i in items] == ["telemetry"]
    assert outbox.open_payload(items[0])["kind"] == "heartbeat"
    assert runner.take_acks() == [{"id": "x1", "ok": True, "detail": "ok"}]
    assert beat.payload()["reports"] == [{"kind": "update", "outcome": "applied"}]


def test_diagnostics_bundle_masks_id_numbers_and_goes_to_the_outbox(tmp_path, outbox):
    id_number = "44010619900101123"
    id_number += id_number_check_digit(id_number)
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "kiosk.log").write_text(f'{{"msg": "card read {id_number}"}}\n', encoding="utf-8")
    bundle = collect_diagnostics(log_dir=logs, snapshot={"devices": {}})
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        text = tar.extractfile("logs/kiosk.log").read().decode()
        assert json.loads(tar.extractfile("state.json").read()) == {"devices": {}}
    assert id_number not in text and id_number[:6] in text and id_number[-4:] in text
    detail = outbox_uploader(outbox)(bundle, {})
    assert detail.startswith(f"diagnostics {len(bundle)} bytes")
    assert outbox.stats()["by_stream"]["telemetry"]["ready"] == 1


def test_restart_happens_only_after_the_fleet_has_its_ack(enrolled, fleet_module):
    client, terminal = enrolled
    restart_wanted, restarted = [], []
    runner = CommandRunner({"restart_app": lambda args: restart_wanted.append(1) or "restart requested"},
                           lambda: True)
    cid = fleet_module.queue(terminal, "restart_app")

    def on_sent(acks):  # what the app does: exit once the fleet has the restart's ack
        if restart_wanted and any(a["ok"] and a["id"] == cid for a in acks):
            restarted.append(commands(fleet_module, terminal)[cid]["status"])

    beat = Heartbeat(client, TerminalFacts(), runner=runner, on_sent=on_sent)
    beat.beat()
    runner.run_pending()
    assert restart_wanted and not restarted
    beat.beat()
    assert restarted == ["done"]  # the fleet had recorded it when the app went to restart


def test_without_a_fleet_nothing_is_sent_and_the_log_says_so_once(caplog):
    """No ``[fleet] url``: no heartbeat thread, one WARNING (not an ERROR: residents are
    served), and a beat asked for says why it was not sent."""
    import logging

    beat = Heartbeat(None, TerminalFacts(), interval=3600)
    with caplog.at_level(logging.WARNING, logger="kiosk.ops.heartbeat"):
        beat.start()
        beat.start()
    warned = [r for r in caplog.records if "no fleet service" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert beat._thread is None
    result = beat.beat()
    assert not result.sent and result.error == "no fleet service configured"


def test_without_a_fleet_a_new_version_that_reaches_central_is_confirmed(tmp_path,
                                                                         monkeypatch):
    """Software updates come from the repository, not only through the fleet: a terminal with
    no ``[fleet] url`` that installed one must still confirm it, or the slot guard would
    switch a sound version back at its deadline. It confirms once central has answered the
    round's probe, and not while central cannot be reached."""
    import sys

    import kiosk
    from kiosk.central.errors import CentralUnavailable
    from kiosk.ops import slot_guard

    root = tmp_path / "slots"
    root.mkdir()
    (root / "b").symlink_to(Path(sys.prefix).resolve())  # this interpreter runs from slot b
    (root / "pending.json").write_text(json.dumps(
        {"slot": "b", "version": kiosk.__version__, "previous": "a", "deadline": 1e12}))
    monkeypatch.setenv(slot_guard.ENV, str(root))

    def central_down() -> None:
        raise CentralUnavailable("platform down (503)")

    Heartbeat(None, TerminalFacts(), central_probe=central_down).beat()
    assert slot_guard.pending(root) is not None  # nothing proved yet
    result = Heartbeat(None, TerminalFacts(), central_probe=lambda: None).beat()
    assert not result.sent and result.central_ok
    assert slot_guard.pending(root) is None  # confirmed: the guard keeps this version


def test_the_residents_banner_follows_central_not_the_fleet(enrolled):
    """The fleet takes the beat while the government platform is down: the round says so
    (``central_ok``), and the app's "offline" banner reads that, not ``sent``."""
    from kiosk.central.errors import CentralUnavailable

    client, _ = enrolled

    def central_down() -> None:
        raise CentralUnavailable("platform down (503)")

    result = Heartbeat(client, TerminalFacts(), central_probe=central_down).beat()
    assert result.sent and result.central_ok is False
    assert Heartbeat(client, TerminalFacts(), central_probe=lambda: None).beat().central_ok


def test_the_ids_run_are_kept_bounded_and_a_damaged_file_is_set_aside(tmp_path, caplog):
    """The memory of commands run survives a restart, keeps only the newest ``remember`` ids,
    and a file that went bad (power cut mid-write on an old disk) is set aside with a WARNING,
    not a terminal that takes no commands."""
    state = tmp_path / "secrets" / "commands-run.json"
    ran: list[str] = []
    runner = CommandRunner({"sync_outbox": lambda args: ran.append("x") or "ok"}, lambda: True,
                           remember=2, state_file=state)
    runner.submit([{"id": f"c{i}", "command": "sync_outbox"} for i in range(3)])
    assert runner.run_pending() == 3
    again = CommandRunner({"sync_outbox": lambda args: ran.append("y") or "ok"}, lambda: True,
                          remember=2, state_file=state)
    again.submit([{"id": f"c{i}", "command": "sync_outbox"} for i in range(3)])
    assert again.run_pending() == 1 and ran == ["x", "x", "x", "y"]  # c0 was forgotten
    state.write_text("{half a file")
    fresh = CommandRunner({}, lambda: True, state_file=state)
    assert fresh.pending == 0 and (tmp_path / "secrets" / "commands-run.json.damaged").exists()
    assert any("unreadable" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_standing_warnings_go_to_the_fleet_only_when_they_change(fleet_module, tmp_path):
    """A card left on the reader reaches the fleet in the next beat, and so does its removal;
    beats in between carry no report, so they stay on the fleet's fast one-statement path."""
    sent: list[dict] = []

    class Recording(FleetClient):
        def heartbeat(self, payload):  # the real call, and what it carried
            sent.append(payload)
            return super().heartbeat(payload)

    config = fleet_module.enrol(load_config(), tmp_path / "fleet.key")
    left: list[str] = ["id_card"]
    base = fleet_client(config)
    assert base is not None
    with Recording(base._transport) as client:
        beat = Heartbeat(client, TerminalFacts(left_behind=lambda: list(left)), interval=3600)
        assert beat.beat().sent and beat.beat().sent
        left.clear()
        assert beat.beat().sent and beat.beat().sent
    standing = [[r for r in body["reports"] if "left_behind" in r] for body in sent]
    assert [len(s) for s in standing] == [1, 0, 1, 0]
    assert standing[0][0]["left_behind"] == ["id_card"] and standing[2][0]["left_behind"] == []
