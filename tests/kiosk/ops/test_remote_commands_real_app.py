"""Remote commands from central operations' fleet service and signed updates against the real
running app (KioskApp with its real flow, outbox, sync worker and update client): a real
``kiosk-fleet serve`` (one for the module; each app enrols as its own terminal, and commands
are queued through ``fleet.store`` as an operator's button queues them), the central
simulator as a process for the government services, and a TUF repository published with
``kiosk-ops`` and served over HTTP on 127.0.0.1."""

from __future__ import annotations

import functools
import shutil
import threading
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from fleet.repository_cli import main as kiosk_ops
from kiosk.app.kiosk_app import KioskApp
from kiosk.config import load_config
from kiosk.demo.rig import DemoRig
from kiosk.i18n import LANGUAGES
from kiosk.paths import SERVICES_DIR
from tests.fixtures.fleet import FleetService
from tests.fixtures.kiosk_config import TEST_MODE

NEW_SERVICE = "hall_new_from_central"


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[DemoRig]:
    rig = DemoRig(tmp_path_factory.mktemp("rig"), mode="test").start(devices=False, camera=None)
    yield rig
    rig.stop()


@pytest.fixture(autouse=True)
def _fresh_central(rig) -> None:
    admin(rig, "reset", reset=True)


def admin(rig: DemoRig, path: str, **body: Any) -> Any:
    url = f"{rig.central.address}/_admin/{path}"
    reply = requests.post(url, json=body, timeout=5) if body else requests.get(url, timeout=5)
    reply.raise_for_status()
    return reply.json()


def command(app: KioskApp, name: str) -> str:
    """Queue ``name`` for the app's terminal in its fleet, as the console's button does."""
    return app.fleet_service.queue(app.config.fleet["terminal_id"], name)  # type: ignore[attr-defined]


def ack_of(app: KioskApp, cid: str) -> dict | None:
    fleet: FleetService = app.fleet_service  # type: ignore[attr-defined]
    return fleet.ack(app.config.fleet["terminal_id"], cid)


def wait_ack(app: KioskApp, qtbot, cid: str, timeout: int = 20000) -> dict:
    qtbot.waitUntil(lambda: ack_of(app, cid) is not None, timeout=timeout)
    ack = ack_of(app, cid)
    assert ack is not None
    return ack


@pytest.fixture
def fleet(fleet_module: FleetService) -> FleetService:
    return fleet_module


def make_app(rig: DemoRig, tmp_path: Path, base=None, *, fleet: FleetService,
             **ops: Any) -> KioskApp:
    """The real app, enrolled with ``fleet`` as a terminal of its own (the fleet's id and
    key are kept under ``tmp_path``: a restarted app there is the same terminal)."""
    key_file = tmp_path / "fleet.key"
    config = rig.config(base, ops={"heartbeat_interval": 0.2, "update_interval": 3600.0,
                                   "updates_dir": str(tmp_path / "updates"),
                                   "technician_state": str(tmp_path / "technician.json"), **ops},
                        outbox={"path": str(tmp_path / "outbox.sqlite"),
                                "key_file": str(tmp_path / "outbox.key")})
    enrolled = tmp_path / "fleet-terminal-id"
    if enrolled.exists():
        config = config.replace(fleet={"url": fleet.url, "key_file": str(key_file),
                                       "terminal_id": enrolled.read_text()})
    else:
        config = fleet.enrol(config, key_file)
        enrolled.write_text(config.fleet["terminal_id"])
    app = KioskApp(config, tick_ms=100)
    app.fleet_service = fleet  # type: ignore[attr-defined]
    app.start(show=False)
    return app


@pytest.fixture
def updating(tuf_repo, tmp_path) -> dict[str, str]:
    root = tmp_path / "root.json"
    root.write_bytes(tuf_repo.root)
    return {"updates_url": tuf_repo.url, "trusted_root": str(root)}


def publish(repo, kind: str, source: Path, version: str) -> None:
    assert kiosk_ops(["add", str(repo.path), kind, str(source), "--version", version]) == 0
    assert kiosk_ops(["publish", str(repo.path)]) == 0


def catalog_with_new_service(tmp_path: Path) -> Path:
    out = tmp_path / "catalog-src"
    shutil.copytree(SERVICES_DIR, out)
    hall = (out / "hall.toml").read_text(encoding="utf-8")
    first = hall.index("[[services]]")
    block = hall[first:hall.index("[[services]]", first + 1)]
    (out / "hall.toml").write_text(hall + "\n" + block.replace('id = "hall_qh"', f'id = "{NEW_SERVICE}"'),
                                   encoding="utf-8")
    return out


def config_target(tmp_path: Path, name: str, text: str) -> Path:
    out = tmp_path / name
    out.mkdir()
    (out / "kiosk.toml").write_text(text, encoding="utf-8")
    return out


def service_ids(catalog) -> set[str]:
    return {s.id for s in catalog.services}


# -- reload_catalog, reload_config ----------------------------------------------------------

def test_reload_catalog_keeps_the_applied_signed_catalog(rig, fleet, tmp_path, qtbot, tuf_repo,
                                                         updating):
    publish(tuf_repo, "catalog", catalog_with_new_service(tmp_path), "2026.12.1")
    app = make_app(rig, tmp_path, fleet=fleet, **updating)
    try:
        assert wait_ack(app, qtbot, command(app, "check_updates"))["ok"]
        qtbot.waitUntil(lambda: NEW_SERVICE in service_ids(app.flow.catalog), timeout=10000)
        ack = wait_ack(app, qtbot, command(app, "reload_catalog"))
        assert ack["ok"], ack
        assert NEW_SERVICE in service_ids(app.ops.catalog)  # what the reload loaded
        qtbot.wait(50)  # the swap posted to the GUI thread, before the ack was sent
        assert NEW_SERVICE in service_ids(app.flow.catalog)
    finally:
        app.stop()


def test_reload_config_rereads_the_override_it_was_started_with_even_named_kiosk_toml(
        rig, fleet, tmp_path, qtbot):
    override = tmp_path / "etc" / "kiosk.toml"  # the usual name of a terminal's override
    override.parent.mkdir()
    override.write_text(TEST_MODE + "[session]\nidle_timeout = 77.0\n", encoding="utf-8")
    app = make_app(rig, tmp_path, fleet=fleet, base=load_config(override))
    try:
        assert app.flow.idle_timeout == 77.0
        override.write_text(TEST_MODE + "[session]\nidle_timeout = 88.0\n", encoding="utf-8")
        ack = wait_ack(app, qtbot, command(app, "reload_config"))
        assert ack["ok"], ack
        qtbot.waitUntil(lambda: app.flow.idle_timeout == 88.0, timeout=5000)
    finally:
        app.stop()


def test_reload_config_with_a_broken_override_fails_and_keeps_the_timings(rig, fleet, tmp_path, qtbot):
    override = tmp_path / "kiosk.toml"
    override.write_text(TEST_MODE + "[session]\nidle_timeout = 77.0\n", encoding="utf-8")
    app = make_app(rig, tmp_path, fleet=fleet, base=load_config(override))
    try:
        override.write_text(TEST_MODE + "[session]\nidle_timeout = -5.0\n", encoding="utf-8")
        ack = wait_ack(app, qtbot, command(app, "reload_config"))
        assert not ack["ok"] and "idle_timeout" in ack["detail"]
        assert app.flow.idle_timeout == 77.0
    finally:
        app.stop()


# -- sync_outbox: one drain per outbox ------------------------------------------------------

def uploads_of(rig: DemoRig, key: str) -> int:
    received = admin(rig, "received?path=transactions:batch")["requests"]
    return sum(1 for r in received if any(t.get("key") == key for t in (r.get("body") or {}).get("transactions", [])))


def test_sync_outbox_beside_the_running_sync_worker_uploads_nothing_twice(rig, fleet, tmp_path, qtbot):
    app = make_app(rig, tmp_path, fleet=fleet)
    try:
        admin(rig, "faults", latency=3.0)  # the worker's upload stays in flight a while
        key = app.outbox.put("telemetry", {"event": "test", "n": 1}, key=f"k-{uuid.uuid4().hex}")
        qtbot.waitUntil(lambda: uploads_of(rig, key) == 1, timeout=10000)  # arrived, unanswered
        app.ops.runner.submit([{"id": "sync-1", "command": "sync_outbox"}])
        qtbot.waitUntil(lambda: "sync-1" in app.ops.runner._done, timeout=20000)
        admin(rig, "faults", latency=0)
        qtbot.waitUntil(lambda: app.outbox.stats()["pending"] == 0, timeout=20000)
        ack = app.ops.runner._done["sync-1"]
        assert ack.ok, ack
        assert uploads_of(rig, key) == 1  # never re-readied and sent again beside the first
    finally:
        admin(rig, "faults", latency=0)
        app.stop()


# -- check_updates: single flight -----------------------------------------------------------

class _GatedRepo(SimpleHTTPRequestHandler):
    """A static TUF server whose target downloads wait until the test opens the gate."""

    gate: threading.Event
    target_requests: list[str]

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/targets/"):
            self.target_requests.append(self.path)
            self.gate.wait(30)
        super().do_GET()


@pytest.fixture
def gated_repo(tuf_repo) -> Iterator[tuple[str, threading.Event, list[str]]]:
    gate, seen = threading.Event(), []
    handler = type("Handler", (_GatedRepo,), {"gate": gate, "target_requests": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(handler, directory=str(tuf_repo.www)))
    thread = threading.Thread(target=server.serve_forever, name="gated-tuf", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gate, seen
    finally:
        gate.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_check_updates_while_a_check_runs_is_answered_already_checking(
        rig, fleet, tmp_path, qtbot, tuf_repo, updating, gated_repo):
    url, gate, target_requests = gated_repo
    publish(tuf_repo, "catalog", catalog_with_new_service(tmp_path), "2026.12.1")
    app = make_app(rig, tmp_path, fleet=fleet, **{**updating, "updates_url": url})
    try:
        first: list[str] = []
        checker = threading.Thread(target=lambda: first.append(app.ops.check_updates()),
                                   name="update-loop-stand-in")
        checker.start()  # the periodic check, now downloading (held at the gate)
        qtbot.waitUntil(lambda: len(target_requests) == 1, timeout=10000)
        cid = command(app, "check_updates")
        qtbot.waitUntil(lambda: ack_of(app, cid) is not None or len(target_requests) > 1,
                        timeout=20000)
        assert len(target_requests) == 1  # no second download beside the first
        ack = ack_of(app, cid)
        assert ack is not None and ack["ok"] and "already checking" in ack["detail"], ack
        gate.set()
        checker.join(30)
        assert first and "catalog applied 2026.12.1" in first[0]
        qtbot.waitUntil(lambda: NEW_SERVICE in service_ids(app.flow.catalog), timeout=10000)
        staging = list((tmp_path / "updates").glob("*/versions/.*"))
        assert staging == []  # nothing left half-staged
    finally:
        gate.set()
        app.stop()


# -- config and announcements targets -------------------------------------------------------

def test_published_config_target_is_applied_and_kept_across_a_restart(
        rig, fleet, tmp_path, qtbot, tuf_repo, updating):
    publish(tuf_repo, "config", config_target(tmp_path, "cfg1", "[session]\nidle_timeout = 45.0\n"),
            "2026.12.1")
    app = make_app(rig, tmp_path, fleet=fleet, **updating)
    try:
        assert app.flow.idle_timeout != 45.0
        ack = wait_ack(app, qtbot, command(app, "check_updates"))
        assert ack["ok"] and "config applied 2026.12.1" in ack["detail"], ack
        qtbot.waitUntil(lambda: app.flow.idle_timeout == 45.0, timeout=5000)
    finally:
        app.stop()
    restarted = make_app(rig, tmp_path, fleet=fleet, **updating)
    try:
        assert restarted.flow.idle_timeout == 45.0
    finally:
        restarted.stop()


@pytest.mark.expected_errors(r"config update rolled_back", r"update config: rolled_back")
def test_a_bad_config_target_is_refused_reported_and_the_old_config_stays(
        rig, fleet, tmp_path, qtbot, tuf_repo, updating, monkeypatch):
    publish(tuf_repo, "config", config_target(tmp_path, "cfg1", "[session]\nidle_timeout = 45.0\n"),
            "2026.12.1")
    app = make_app(rig, tmp_path, fleet=fleet, **updating)
    try:
        assert wait_ack(app, qtbot, command(app, "check_updates"))["ok"]
        qtbot.waitUntil(lambda: app.flow.idle_timeout == 45.0, timeout=5000)
        # a signing tool that does not check content (an older kiosk-ops) lets a bad one out
        monkeypatch.setattr("fleet.repository.check_content", lambda kind, source: None)
        publish(tuf_repo, "config", config_target(tmp_path, "cfg2", "[session]\nidle_timeout = -1.0\n"),
                "2026.12.2")
        ack = wait_ack(app, qtbot, command(app, "check_updates"))
        assert not ack["ok"], ack
        assert "config update rolled_back" in ack["detail"] and "idle_timeout" in ack["detail"]
        assert app.updates.current_version("config") == "2026.12.1"
        qtbot.wait(50)
        assert app.flow.idle_timeout == 45.0
    finally:
        app.stop()


def test_a_config_target_may_not_rename_the_terminal(rig, fleet, tmp_path, qtbot, tuf_repo, updating):
    publish(tuf_repo, "config", config_target(tmp_path, "cfg", '[terminal]\nid = "GZ-OTHER-0002"\n'),
            "2026.12.1")
    app = make_app(rig, tmp_path, fleet=fleet, **updating)
    try:
        ack = wait_ack(app, qtbot, command(app, "check_updates"))
        assert not ack["ok"] and "[terminal]" in ack["detail"], ack
        assert app.updates.current_version("config") is None
    finally:
        app.stop()


def announcements_target(tmp_path: Path, texts: list[str]) -> Path:
    out = tmp_path / "ann"
    out.mkdir()
    body = "".join("[[announcement]]\n" + "".join(f'{lang} = "{text} ({lang})"\n' for lang in LANGUAGES)
                   for text in texts)
    (out / "announcements.toml").write_text(body, encoding="utf-8")
    return out


def test_published_announcements_replace_the_attract_screens(rig, fleet, tmp_path, qtbot, tuf_repo,
                                                             updating):
    publish(tuf_repo, "announcements", announcements_target(tmp_path, ["本周六办证大厅延时服务"]),
            "2026.12.1")
    app = make_app(rig, tmp_path, fleet=fleet, **updating)
    try:
        ack = wait_ack(app, qtbot, command(app, "check_updates"))
        assert ack["ok"] and "announcements applied 2026.12.1" in ack["detail"], ack
        qtbot.waitUntil(lambda: [a["zh_CN"] for a in app.flow.announcements]
                        == ["本周六办证大厅延时服务 (zh_CN)"], timeout=5000)
        app.window.show_state()
        assert app.window.current_screen().news.text() == "本周六办证大厅延时服务 (zh_CN)"
    finally:
        app.stop()


# -- the other handlers on the real app -----------------------------------------------------

def test_collect_diagnostics_reaches_the_fleet(rig, fleet, tmp_path, qtbot):
    from fleet import store

    app = make_app(rig, tmp_path, fleet=fleet)
    try:
        ack = wait_ack(app, qtbot, command(app, "collect_diagnostics"))
        assert ack["ok"] and "diagnostics sent" in ack["detail"], ack
        terminal = app.config.fleet["terminal_id"]
        assert fleet.read(lambda c: store.list_diagnostics(c, terminal))
    finally:
        app.stop()


def test_maintenance_on_and_off_between_visits(rig, fleet, tmp_path, qtbot):
    app = make_app(rig, tmp_path, fleet=fleet)
    try:
        assert wait_ack(app, qtbot, command(app, "maintenance_on"))["ok"]
        qtbot.waitUntil(lambda: app.flow.maintenance, timeout=5000)
        assert wait_ack(app, qtbot, command(app, "maintenance_off"))["ok"]
        qtbot.waitUntil(lambda: not app.flow.maintenance, timeout=5000)
    finally:
        app.stop()
