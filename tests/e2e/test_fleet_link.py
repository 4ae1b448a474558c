"""A terminal and central operations, as real processes: ``kiosk-fleet serve`` on an SQLite
file and on a real PostgreSQL server, ``kiosk run`` (offscreen) against the simulators, enrolled with a code from
``kiosk-fleet enrol-code`` through ``kiosk enroll``.

The fleet sees the terminal's heartbeats, versions and devices; a maintenance command queued
in the fleet reaches the terminal, which shows its out-of-service screen and acknowledges;
the printer simulator running out of paper opens a paper-out alert; the kiosk process
stopping makes the fleet mark it late, then offline. The test reads the fleet's database
with ``fleet.store`` (what the console shows), never the kiosk's memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet import store
from kiosk.demo.rig import DemoRig
from tests.fixtures.fleet import FleetService, poll, terminal_override

pytestmark = pytest.mark.e2e
KIOSK = [sys.executable, "-m", "kiosk.cli"]


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FleetService]:
    """The service on its embedded SQLite default, and on a real PostgreSQL server
    (tests/fixtures/postgres.py; skipped where Debian's postgresql is not installed)."""
    db = (f"sqlite:///{tmp_path / 'fleet.sqlite3'}" if request.param == "sqlite"
          else request.getfixturevalue("postgres").create_database())
    f = FleetService(tmp_path, db).start()
    yield f
    f.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[DemoRig]:
    rig = DemoRig(tmp_path / "rig", mode="test").start(camera=None)
    yield rig
    rig.stop()


def _override(rig: DemoRig, tmp_path: Path, fleet_url: str) -> Path:
    """The terminal's override file, pointed at the simulators and the fleet."""
    return terminal_override(tmp_path / "kiosk.toml", rig, fleet_url, work=rig.work_dir,
                             fleet_key=tmp_path / "fleet.key")


def test_terminal_heartbeats_obeys_and_goes_silent_in_the_fleet(fleet: FleetService,
                                                               rig: DemoRig,
                                                               tmp_path: Path) -> None:
    code = fleet.cli("enrol-code", "--district", "越秀区", "--hall", "示例大厅")
    override = _override(rig, tmp_path, fleet.url)
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    enrolled = subprocess.run([*KIOSK, "enroll", code, "--config", str(override)],
                              capture_output=True, text=True, timeout=120, env=env)
    assert enrolled.returncode == 0, enrolled.stderr
    terminal = enrolled.stdout.split("enrolled with the fleet as ")[1].split(";")[0]

    kiosk = subprocess.Popen([*KIOSK, "run", "--config", str(override)], env=env,
                             stdout=(tmp_path / "kiosk.out").open("wb"), stderr=subprocess.STDOUT)
    try:
        def detail() -> dict:
            return fleet.read(lambda c: store.terminal_detail(c, terminal, now=store.now()))

        def alive() -> None:
            assert kiosk.poll() is None, (tmp_path / "kiosk.out").read_text(errors="replace")

        def beating() -> bool:
            alive()
            row = detail()
            return bool(row["last_heartbeat_at"] and row["software_version"]
                        and "receipt_printer" in (row["devices"] or {}))

        poll(beating, "the kiosk's first heartbeat with versions and devices", 120)
        row = detail()
        assert row["status"] == "online" and row["catalog_version"]
        assert row["devices"]["receipt_printer"]["state"] == "ready"

        # maintenance on, queued in the fleet: the kiosk closes and acknowledges
        cid = fleet.read(lambda c: store.queue_command(c, terminal, "maintenance_on",
                                                       actor="test", now=store.now(),
                                                       ttl_s=600))

        def done() -> bool:
            alive()
            row = detail()
            cmd = {c["id"]: c for c in row["commands"]}[cid]
            return cmd["status"] == "done" and row["screen"] == "out_of_service"

        poll(done, "maintenance_on acknowledged and the out-of-service screen")

        # the printer runs out of paper: an alert appears in the fleet
        assert rig.printer is not None
        rig.printer.send("paper out")

        def paper_alert() -> bool:
            alive()
            return any(a["code"] == "paper_out" for a in detail()["alerts"])

        poll(paper_alert, "a paper_out alert in the fleet")
    finally:
        kiosk.terminate()
        kiosk.wait(timeout=60)

    def state() -> str:
        rows, _ = fleet.read(lambda c: store.list_terminals(c, now=store.now()))
        return next(r["status"] for r in rows if r["id"] == terminal)

    poll(lambda: state() == "late", "the fleet to mark the silent terminal late", 30)
    poll(lambda: state() == "offline", "the fleet to mark it offline", 30)

    def offline_alert() -> bool:  # the replica's sweep opens it (every 0.5 s here)
        alerts = fleet.read(lambda c: store.list_alerts(c, now=store.now(), terminal_id=terminal,
                                                        state="unresolved"))
        return any(a["kind"] == "offline" for a in alerts)

    poll(offline_alert, "an offline alert for the silent terminal", 30)


def test_usage_telemetry_arrives_after_a_fleet_outage(fleet: FleetService, rig: DemoRig,
                                                      tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    """The fleet is down while a resident uses a service: the visit's usage batch waits in
    the outbox and reaches the fleet's usage table once ``kiosk-fleet serve`` is back."""
    from kiosk.app.kiosk_app import KioskApp
    from kiosk.ops.enrolment import write_key
    from kiosk.parts import fleet_client

    config = rig.config(ops={"heartbeat_interval": 0.3},
                        fleet={"url": fleet.url, "key_file": str(tmp_path / "fleet.key"),
                               "telemetry_interval": 0.3})
    with fleet_client(config, enrolling=True) as enrolling:  # type: ignore[union-attr]
        got = enrolling.enroll(fleet.cli("enrol-code", "--hall", "示例大厅"))
    write_key(tmp_path / "fleet.key", bytes.fromhex(got["key"]))
    terminal = got["terminal_id"]
    app = KioskApp(config.replace(fleet={"terminal_id": terminal}), tick_ms=100)
    app.start(show=True)
    try:
        qtbot.waitUntil(lambda: app.ops.heartbeat.last is not None
                        and app.ops.heartbeat.last.sent, timeout=30000)
        fleet.stop()
        service = app.catalog.services[0].id
        app.flow.start()
        app.flow.choose_service(service)
        app.flow.cancel()
        qtbot.waitUntil(lambda: app.outbox is not None
                        and app.outbox.stats()["by_stream"]["telemetry"]["ready"] >= 1,
                        timeout=10000)

        def usage() -> list:
            return [r for r in fleet.read(store.usage) if r["service"] == service]

        assert usage() == []  # nothing reached the fleet while it was down
        fleet.start()
        qtbot.waitUntil(lambda: bool(usage()), timeout=60000)
        assert usage()[0]["visits"] == 1

        # a screenshot asked for while a resident is at the screen waits for the visit's end
        app.flow.start()
        cid = fleet.read(lambda c: store.queue_command(c, terminal, "take_screenshot",
                                                       actor="test", now=store.now(),
                                                       ttl_s=600))

        def detail() -> dict:
            return fleet.read(lambda c: store.terminal_detail(c, terminal, now=store.now()))

        def status() -> str:
            return {c["id"]: c for c in detail()["commands"]}[cid]["status"]

        qtbot.waitUntil(lambda: status() == "delivered", timeout=30000)
        seen = detail()["last_heartbeat_at"]
        for _ in range(3):  # three more heartbeats: the runner had its chances, and held it
            qtbot.waitUntil(lambda before=seen: detail()["last_heartbeat_at"] > before,
                            timeout=30000)
            seen = detail()["last_heartbeat_at"]
        assert status() == "delivered" and detail()["screenshot_at"] is None
        app.flow.cancel()
        qtbot.waitUntil(lambda: status() == "done", timeout=30000)
        assert detail()["screenshot_at"] is not None
    finally:
        app.stop()
