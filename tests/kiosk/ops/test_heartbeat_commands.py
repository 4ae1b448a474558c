"""Heartbeat and remote commands against the real central simulator process."""

from __future__ import annotations

import io
import json
import tarfile
import threading

import pytest

from drivers.identity import id_number_check_digit
from drivers.receipt_printer import ReceiptPrinter, load_profile
from kiosk.central.client import CentralClient
from kiosk.ops.diagnostics import collect_diagnostics, outbox_uploader, standard_handlers
from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
from kiosk.ops.remote_commands import CommandRunner
from offline_queue import Outbox
from tests.fixtures.central import DEMO_TERMINAL

TERMINAL_PATH = f"/_admin/terminals/{DEMO_TERMINAL}"


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
def rig(central_client, central_sim, outbox, tmp_path):
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
    beat = Heartbeat(central_client, facts, runner=runner, interval=3600)
    try:
        yield term, runner, beat, results, done
    finally:
        runner.stop()
        beat.stop()
        printer.close()


def heartbeats(central_sim) -> list[dict]:
    return central_sim.admin(f"{TERMINAL_PATH}/heartbeats")["heartbeats"]


def test_heartbeat_reports_devices_outbox_versions_and_counters(rig, central_sim, outbox):
    _, _, beat, _, _ = rig
    outbox.put("evaluation", {"rating": 4})
    assert beat.beat().sent
    body = heartbeats(central_sim)[-1]
    assert body["terminal_id"] == DEMO_TERMINAL
    assert body["devices"]["receipt_printer"]["state"] == "ready"
    assert body["outbox"]["pending"] == 1 and body["outbox"]["oldest_ready_age_s"] >= 0
    assert body["versions"] == {"software": "0.1.0", "catalog": "2026.11.1", "config": "local"}
    assert body["counters"] == {"visits": 7} and body["uptime_s"] >= 0
    assert body["acks"] == []


def test_queued_command_waits_for_idle_runs_and_is_acknowledged(rig, central_sim):
    term, runner, beat, results, done = rig
    queued = central_sim.admin(f"{TERMINAL_PATH}/commands", {"command": "maintenance_on"})
    assert beat.beat().commands == 1
    # a resident is mid-visit: nothing runs
    assert runner.run_pending() == 0 and runner.pending == 1 and not term.maintenance
    runner.start()
    term.idle.set()
    assert done.wait(5)
    assert term.maintenance
    beat.beat()
    assert heartbeats(central_sim)[-1]["acks"] == [
        {"id": queued["id"], "ok": True, "detail": "maintenance on"}]
    # acknowledged once only
    beat.beat()
    assert heartbeats(central_sim)[-1]["acks"] == []


def test_commands_run_in_order_unknown_ones_fail_and_repeats_do_not_rerun(rig, central_sim):
    term, runner, beat, results, _ = rig
    term.idle.set()
    for name in ("reload_catalog", "self_destruct", "reload_config"):
        central_sim.admin(f"{TERMINAL_PATH}/commands", {"command": name, "id": f"c-{name}"})
    beat.beat()
    assert runner.run_pending() == 3
    assert term.reloads == ["catalog", "config"]
    # central resends one whose ack it never got: acked again, not run again
    runner.submit([{"id": "c-reload_catalog", "command": "reload_catalog"}])
    assert runner.run_pending() == 0 and term.reloads == ["catalog", "config"]
    beat.beat()
    acks = {a["id"]: a for a in heartbeats(central_sim)[-1]["acks"]}
    assert acks["c-self_destruct"] == {"id": "c-self_destruct", "ok": False,
                                       "detail": "unknown command 'self_destruct'"}
    assert acks["c-reload_catalog"]["ok"] and acks["c-reload_config"]["detail"] == "config reloaded"


def test_failing_handler_is_acked_as_failed(rig, central_sim):
    term, runner, beat, _, _ = rig
    term.idle.set()
    central_sim.admin(f"{TERMINAL_PATH}/commands", {"command": "collect_diagnostics", "id": "d1"})
    beat.beat()
    runner.run_pending()
    beat.beat()
    assert heartbeats(central_sim)[-1]["acks"] == [
        {"id": "d1", "ok": False, "detail": "empty diagnostics bundle"}]


def test_central_down_queues_telemetry_and_keeps_acks_for_later(outbox):
    runner = CommandRunner({"sync_outbox": lambda args: "ok"}, lambda: True)
    runner.submit([{"id": "x1", "command": "sync_outbox"}])
    runner.run_pending()
    with CentralClient("http://127.0.0.1:9", DEMO_TERMINAL, b"k" * 32, timeout=(0.5, 0.5)) as down:
        beat = Heartbeat(down, TerminalFacts(outbox=outbox), runner=runner)
        beat.report({"kind": "update", "outcome": "applied"})
        result = beat.beat()
    assert not result.sent and result.queued_as_telemetry and "CentralUnavailable" in result.error
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


def test_restart_happens_only_after_central_has_its_ack(central_sim, central_client):
    restart_wanted, restarted = [], []
    runner = CommandRunner({"restart_app": lambda args: restart_wanted.append(1) or "restart requested"},
                           lambda: True)

    def on_sent(acks):  # what the app does: exit once central has the restart's ack
        if restart_wanted and any(a["ok"] and a["id"] == "r1" for a in acks):
            restarted.append(True)

    beat = Heartbeat(central_client, TerminalFacts(), runner=runner, on_sent=on_sent)
    central_sim.admin(f"{TERMINAL_PATH}/commands", {"command": "restart_app", "id": "r1"})
    beat.beat()
    runner.run_pending()
    assert restart_wanted and not restarted
    beat.beat()
    assert restarted == [True]
    assert heartbeats(central_sim)[-1]["acks"][0]["id"] == "r1"
