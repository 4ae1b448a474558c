"""The kiosk's side of the fleet service: ``FleetClient`` (``kiosk.central.fleet_client``),
the fleet heartbeat, usage telemetry through the outbox, diagnostics and screenshots.

The fleet here is the real thing: ``fleet.app.create_app`` served by uvicorn on 127.0.0.1
over a real SQLite file, enrolled with a real single-use code. A second real HTTP server
plays a fleet that answers what the document does not allow (a redirect, a reply of the
wrong shape). The test reads the fleet's database with ``fleet.store`` to see what central
operations would see; the kiosk code under test never imports ``fleet``.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from fleet import store
from fleet.app import create_app
from fleet.db import make_engine, migrate
from fleet.settings import Settings
from kiosk.central.fleet_client import (
    FleetBadResponse,
    FleetClient,
    FleetRefused,
    FleetUnauthorized,
    FleetUnavailable,
    split_upload,
)
from kiosk.config import load_config
from kiosk.ops.diagnostics import collect_diagnostics, fleet_uploader
from kiosk.ops.enrolment import write_key
from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
from kiosk.ops.remote_commands import CommandRunner
from kiosk.parts import fleet_client
from kiosk.secret_store import load_or_create_key
from offline_queue import Outbox
from offline_queue.sync import SyncWorker

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Fleet:
    """A real fleet service on 127.0.0.1 over an SQLite file; ``start``/``stop`` at will
    (the same port and file: an outage and the service coming back)."""

    def __init__(self, db: Path, **settings: float) -> None:
        self.settings = Settings(database_url=f"sqlite:///{db}", sweep_every_s=0,
                                 **settings)  # type: ignore[arg-type]
        self.engine = make_engine(self.settings.database_url)
        migrate(self.engine)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None

    def start(self) -> None:
        self.server = uvicorn.Server(uvicorn.Config(create_app(self.settings), host="127.0.0.1",
                                                    port=self.port, log_level="warning",
                                                    lifespan="on"))
        thread = threading.Thread(target=self.server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "fleet did not start"
            time.sleep(0.02)
        self._thread = thread

    def stop(self) -> None:
        assert self.server is not None
        self.server.should_exit = True
        self._thread.join(timeout=30)

    def code(self, **kw: str) -> str:
        with self.engine.begin() as conn:
            return store.create_enrol_code(conn, actor="test", now=store.now(), ttl_s=600, **kw)

    def queue(self, terminal: str, command: str) -> str:
        with self.engine.begin() as conn:
            return store.queue_command(conn, terminal, command, actor="test", now=store.now(),
                                       ttl_s=600)

    def detail(self, terminal: str) -> dict:
        with self.engine.begin() as conn:
            return store.terminal_detail(conn, terminal, now=store.now())

    def usage(self) -> list[dict]:
        with self.engine.begin() as conn:
            return store.usage(conn)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path / "fleet.sqlite3")
    f.start()
    yield f
    if f.server is not None and not f.server.should_exit:
        f.stop()


def _config(tmp_path: Path, url: str, terminal_id: str = "", key_file: str = ""):
    override = tmp_path / "kiosk.toml"
    override.write_text(
        f'[terminal]\nmode = "test"\n[fleet]\nurl = "{url}"\nterminal_id = "{terminal_id}"\n'
        f'key_file = "{key_file or tmp_path / "fleet.key"}"\n'
        f'[outbox]\npath = "{tmp_path / "outbox.sqlite3"}"\n'
        f'key_file = "{tmp_path / "outbox.key"}"\n', encoding="utf-8")
    return load_config(override)


def _enrolled(fleet: Fleet, tmp_path: Path) -> tuple[FleetClient, str]:
    """Enrol as ``kiosk enroll`` does, then build the client the app builds."""
    with fleet_client(_config(tmp_path, fleet.url), enrolling=True) as enrolling:
        got = enrolling.enroll(fleet.code(district="越秀区", hall="示例大厅"))
    write_key(tmp_path / "fleet.key", bytes.fromhex(got["key"]))
    client = fleet_client(_config(tmp_path, fleet.url, got["terminal_id"]))
    assert client is not None
    return client, got["terminal_id"]


class FakePrinter:
    """A device whose status the test sets: the heartbeat reads ``status()`` as from a driver."""

    def __init__(self, fault: str | None = None) -> None:
        self.fault = fault

    def status(self):  # noqa: ANN201 - drivers.base.DeviceStatus
        from drivers.base import DeviceState, DeviceStatus

        if self.fault:
            return DeviceStatus(DeviceState.ERROR, self.fault, "paper out", since=1.0)
        return DeviceStatus(DeviceState.READY, since=1.0)


def test_no_fleet_url_means_no_fleet_client(tmp_path: Path) -> None:
    assert fleet_client(_config(tmp_path, "")) is None


def test_fleet_url_without_enrolment_is_a_config_error_naming_the_fix(tmp_path: Path) -> None:
    from kiosk.config import ConfigError

    with pytest.raises(ConfigError, match="kiosk enroll CODE"):
        fleet_client(_config(tmp_path, "http://127.0.0.1:9"))


def test_enrolment_code_works_once(fleet: Fleet, tmp_path: Path) -> None:
    code = fleet.code()
    with fleet_client(_config(tmp_path, fleet.url), enrolling=True) as client:
        got = client.enroll(code)
        assert got["terminal_id"] and len(bytes.fromhex(got["key"])) >= 16
        with pytest.raises(FleetRefused) as refused:
            client.enroll(code)
    assert refused.value.code == "bad_code"


def test_heartbeat_reaches_the_fleet_with_devices_versions_and_screen(fleet: Fleet,
                                                                      tmp_path: Path) -> None:
    """What the kiosk's heartbeat carries (warnings, left-behind cards, acks in the body) is
    not what the fleet's closed schema takes: the beat is shaped to it, and the fleet sees
    the printer's paper-out fault, the versions, the screen and opens an alert."""
    client, tid = _enrolled(fleet, tmp_path)
    facts = TerminalFacts(devices={"receipt_printer": FakePrinter("paper_out")},  # type: ignore[dict-item]
                          versions=lambda: {"catalog": "12", "config": "x" * 200},
                          left_behind=lambda: ["id_card"], screen=lambda: "attract")
    beat = Heartbeat(client, facts, interval=60).beat()
    assert beat.sent, beat.error
    row = fleet.detail(tid)
    assert row["catalog_version"] == "12" and row["software_version"]
    assert row["screen"] == "attract"
    assert "paper_out" in (row["faults"] or "")
    assert any(a["code"] == "paper_out" for a in row["alerts"])


def test_command_from_the_fleet_runs_and_is_acknowledged_with_its_result(fleet: Fleet,
                                                                         tmp_path: Path) -> None:
    client, tid = _enrolled(fleet, tmp_path)
    cid = fleet.queue(tid, "maintenance_on")
    ran: list[str] = []
    runner = CommandRunner({"maintenance_on": lambda args: ran.append("on") or "maintenance on"},
                           is_idle=lambda: True)
    hb = Heartbeat(client, TerminalFacts(), runner=runner)
    assert hb.beat().commands == 1
    runner.run_pending()
    assert ran == ["on"]
    assert hb.beat().sent  # carries the ack to the fleet's acknowledgement endpoint
    done = {c["id"]: c for c in fleet.detail(tid)["commands"]}
    assert done[cid]["status"] == "done"
    assert "maintenance on" in json.dumps(done[cid]["result"], ensure_ascii=False)


def test_a_command_the_fleet_delivers_again_runs_once_and_is_acked_again_alike(
        tmp_path: Path) -> None:
    """The terminal ran ``maintenance_on`` but restarted before its ack went out; after the
    command's lease the fleet delivers it again. Before: the ids run lived in memory only, so
    the restarted terminal ran it a second time (a second restart, a second maintenance)."""
    from tests.fixtures.fleet import poll

    fleet = Fleet(tmp_path / "fleet.sqlite3", heartbeat_interval_s=1, command_lease_min_s=0.0)
    fleet.start()
    try:
        client, tid = _enrolled(fleet, tmp_path)
        cid = fleet.queue(tid, "maintenance_on")
        ran: list[int] = []
        state = tmp_path / "var" / "secrets" / "commands-run.json"

        def booted() -> tuple[CommandRunner, Heartbeat]:  # what each start of the app builds
            runner = CommandRunner(
                {"maintenance_on": lambda args: ran.append(1) or f"maintenance on #{len(ran)}"},
                is_idle=lambda: True, state_file=state)
            return runner, Heartbeat(client, TerminalFacts(), runner=runner)

        runner, hb = booted()
        assert hb.beat().commands == 1
        runner.run_pending()
        first = runner.take_acks()  # ... and the process restarts before the ack is posted
        runner, hb = booted()
        poll(lambda: hb.beat().commands == 1, "the fleet to deliver the command again")
        runner.run_pending()
        assert ran == [1]  # not run again
        again = runner.take_acks()
        assert again == first == [{"id": cid, "ok": True, "detail": "maintenance on #1"}]
        runner.restore_acks(again)
        assert hb.beat().sent
        done = {c["id"]: c for c in fleet.detail(tid)["commands"]}
        assert done[cid]["status"] == "done"
        assert "maintenance on #1" in json.dumps(done[cid]["result"], ensure_ascii=False)
        assert state.stat().st_mode & 0o777 == 0o600
    finally:
        fleet.stop()


def test_an_ack_the_fleet_does_not_know_is_dropped_not_resent_forever(fleet: Fleet,
                                                                      tmp_path: Path) -> None:
    client, tid = _enrolled(fleet, tmp_path)
    runner = CommandRunner({}, is_idle=lambda: True)
    runner.restore_acks([{"id": "0" * 32, "ok": True, "detail": "x"}])
    hb = Heartbeat(client, TerminalFacts(), runner=runner)
    assert hb.beat().sent
    assert runner.take_acks() == []


def test_revoked_terminal_gets_unauthorized(fleet: Fleet, tmp_path: Path) -> None:
    client, tid = _enrolled(fleet, tmp_path)
    with fleet.engine.begin() as conn:
        store.revoke_terminal(conn, tid, actor="test", now=store.now())
    with pytest.raises(FleetUnauthorized):
        client.heartbeat({})
    beat = Heartbeat(client, TerminalFacts()).beat()
    assert not beat.sent and "FleetUnauthorized" in (beat.error or "")


def test_usage_telemetry_survives_a_fleet_outage_and_counts_once(fleet: Fleet,
                                                                 tmp_path: Path) -> None:
    """A visit's usage batch waits in the outbox while the fleet is down, arrives when it
    is back, and a resend of the same outbox item is not counted twice."""
    client, tid = _enrolled(fleet, tmp_path)
    outbox = Outbox(tmp_path / "outbox.sqlite3", key=load_or_create_key(tmp_path / "outbox.key"))
    central_calls: list[list] = []

    def central(transactions: list[dict]) -> dict:
        central_calls.append(transactions)
        return {"accepted": [t["key"] for t in transactions], "rejected": []}

    sync = SyncWorker(outbox, split_upload(central, client), unavailable=(FleetUnavailable,))
    item = [{"kind": "visit", "service": "hukou-cert", "at": "2026-12-01T09:12:00+08:00"},
            {"kind": "rating", "service": "hukou-cert", "at": "2026-12-01T09:14:00+08:00",
             "rating": 5}]
    key = outbox.put("telemetry", {"kind": "usage", "items": item})
    fleet.stop()
    report = sync.sync_once(force=True)
    assert report.unavailable and outbox.stats()["pending"] == 1
    fleet.start()
    assert sync.sync_once(force=True).sent == 1
    assert outbox.stats()["pending"] == 0 and central_calls == []
    rows = [r for r in fleet.usage() if r["service"] == "hukou-cert"]
    assert rows and rows[0]["visits"] == 1 and rows[0]["rating_5"] == 1
    # the same item again (a reply lost on the way): the fleet counts it once
    client.upload_telemetry([{"key": key, "stream": "telemetry",
                              "payload": {"kind": "usage", "items": item}}])
    assert [r["visits"] for r in fleet.usage() if r["service"] == "hukou-cert"] == [1]


def test_telemetry_with_personal_data_is_rejected_dead_not_retried(fleet: Fleet,
                                                                   tmp_path: Path) -> None:
    client, _ = _enrolled(fleet, tmp_path)
    reply = client.upload_telemetry([{"key": "k1", "stream": "telemetry", "payload": {
        "kind": "usage", "items": [{"kind": "visit", "service": "x", "at": "2026-12-01T09:00:00Z",
                                    "name": "张三"}]}}])
    assert reply["accepted"] == [] and reply["rejected"][0]["key"] == "k1"


def test_diagnostics_and_screenshot_reach_the_fleet_masked(fleet: Fleet, tmp_path: Path) -> None:
    client, tid = _enrolled(fleet, tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "kiosk.log").write_text("card read 440106199001011234 ok\nprinter ready\n",
                                    encoding="utf-8")
    bundle = collect_diagnostics(log_dir=logs, snapshot={"devices": {}})
    detail = fleet_uploader(client)(bundle, {})
    assert "diagnostics sent" in detail
    with fleet.engine.begin() as conn:
        [row] = store.list_diagnostics(conn, tid)
        body = conn.execute(store.diagnostics.select()).first().body  # type: ignore[union-attr]
    assert b"printer ready" in body and b"440106199001011234" not in body
    assert client.screenshot(PNG)["size"] == len(PNG)
    assert fleet.detail(tid)["screenshot_at"] is not None


class _Hostile(http.server.BaseHTTPRequestHandler):
    """A "fleet" answering what the document does not allow."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/heartbeat") and "redirect" in self.server.mode:  # type: ignore[attr-defined]
            self.send_response(307)
            self.send_header("Location", "http://evil.invalid/steal")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"server_time": "2026-12-01 08:00", "commands": "none",
                           "targets": {}, "next_heartbeat_s": 60}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("mode", ["redirect", "wrong_shape"])
def test_an_answer_that_is_not_the_fleets_is_a_bad_response(tmp_path: Path, mode: str) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.mode = mode  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        write_key(tmp_path / "fleet.key", b"k" * 32)
        client = fleet_client(_config(tmp_path, f"http://127.0.0.1:{server.server_port}", "T1"))
        assert client is not None
        with pytest.raises(FleetBadResponse):
            client.heartbeat({})
        assert not Heartbeat(client, TerminalFacts()).beat().sent
    finally:
        server.shutdown()
