"""The terminal's operations side, wired in one place: the outbox sync worker, the heartbeat
with central's remote commands, the systemd watchdog, and technician mode.

Workers here run on their own threads; anything that touches the flow or a widget hops to
the GUI thread through the bridge. Commands only run when no resident is mid-visit.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from kiosk.central.errors import CentralUnavailable, RateLimited, Unauthorized
from kiosk.ops import watchdog
from kiosk.ops.console import TechnicianConsole
from kiosk.ops.diagnostics import collect_diagnostics, outbox_uploader, standard_handlers
from kiosk.ops.doctor import run_doctor
from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
from kiosk.ops.remote_commands import CommandFailed, CommandRunner
from kiosk.ops.technician import TechnicianAccess
from kiosk.parts import build_updates, central_client

if TYPE_CHECKING:
    from kiosk.app.kiosk_app import KioskApp

log = logging.getLogger(__name__)
RESTART_EXIT_CODE = 75  # systemd's Restart=always brings the kiosk back on the attract screen
EXIT_TO_DESKTOP = 64  # deploy/kiosk.service: RestartPreventExitStatus=64 leaves it stopped


class Operations:
    def __init__(self, app: KioskApp) -> None:
        self.app = app
        self.counters: Counter[str] = Counter()
        self._restart_requested = False
        self._exit_armed = 0.0
        app.flow.on_session_end(lambda reason: self.counters.update([f"visits_{reason}"]))
        self.sync = self._build_sync()
        self.updates = build_updates(app.config)
        self._stop = threading.Event()
        self.runner = CommandRunner(self._handlers(), is_idle=lambda: app.flow.idle)
        facts = TerminalFacts(devices=app.devices.all(), outbox=app.outbox,
                              versions=self._versions, counters=lambda: dict(self.counters),
                              maintenance=lambda: app.flow.maintenance)
        self.heartbeat = Heartbeat(app.client, facts, runner=self.runner,
                                   interval=app.config.ops["heartbeat_interval"],
                                   on_sent=self._acks_sent)
        self.technician = TechnicianConsole(
            access=TechnicianAccess(app.config.path("ops", "technician_state"), audit=app.outbox,
                                    terminal_id=app.config.terminal["id"]),
            checks=lambda: run_doctor(app.config, devices=app.devices.all(), client=app.client,
                                      settle=1.0, live=True),
            actions=self._test_actions())

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.sync is not None:
            self.sync.start()
        self.runner.start()
        self.heartbeat.start()
        if self.updates is not None:
            self._updater = threading.Thread(target=self._update_loop, name="updates", daemon=True)
            self._updater.start()
        watchdog.notify_ready()
        interval = watchdog.Notifier().ping_interval()
        if interval:
            from PySide6.QtCore import QTimer

            self._ping = QTimer()
            self._ping.setInterval(int(interval * 1000))
            self._ping.timeout.connect(watchdog.ping)  # from the main loop: a hang stops pings
            self._ping.start()

    def stop(self) -> None:
        self._stop.set()
        self.heartbeat.stop()
        self.runner.stop()
        if self.sync is not None:
            self.sync.stop()

    # -- pieces ------------------------------------------------------------------------------
    def _build_sync(self) -> Any:
        if self.app.outbox is None:
            return None
        from offline_queue.sync import SyncWorker

        # Its own client without retries: the worker backs off itself, and stop() stays quick.
        # A wrong key or rate limit is central refusing for now, never an item's fault.
        self.sync_client = central_client(self.app.config, retries=0)
        return SyncWorker(self.app.outbox, self.sync_client.upload_transactions,
                          batch_size=self.app.config.outbox["batch_size"],
                          unavailable=(CentralUnavailable, RateLimited, Unauthorized))

    def _versions(self) -> dict[str, str]:
        return {"catalog": str(len(self.app.catalog)), "config": str(self.app.config.source)}

    def _on_gui(self, fn) -> None:
        self.app.bridge.post(fn)

    def _handlers(self) -> dict:
        app = self.app

        def reload_catalog() -> str:
            from kiosk.catalog.services import Catalog

            catalog = Catalog.load()  # raises CatalogError: the old catalog stays
            self._on_gui(lambda: setattr(app.flow, "catalog", catalog))
            return f"catalog reloaded: {len(catalog)} services"

        def reload_config() -> str:
            from kiosk.config import load_config

            config = load_config(app.config.source if app.config.source.name != "kiosk.toml"
                                 else None)
            session = config.session

            def apply() -> None:
                app.flow.idle_timeout = session["idle_timeout"]
                app.flow.countdown = session["countdown"]
                app.flow.take_documents_timeout = session["take_documents_timeout"]
            self._on_gui(apply)
            return "config reloaded (session timings applied; devices on restart)"

        def sync_outbox() -> str:
            if self.sync is None:
                raise CommandFailed("this terminal has no outbox")
            report = self.sync.sync_once(force=True)
            return f"outbox synced: {report}"

        def diagnostics() -> bytes:
            return collect_diagnostics(log_dir=app.config.path("logging", "dir"),
                                       config=app.config, snapshot=self.heartbeat.payload())

        upload = outbox_uploader(app.outbox) if app.outbox is not None else None

        def upload_bundle(bundle: bytes, meta: dict) -> str:
            if upload is None:
                raise CommandFailed("this terminal has no outbox to send diagnostics through")
            return upload(bundle, meta)

        handlers = standard_handlers(
            restart=self._request_restart,
            set_maintenance=lambda on: self._on_gui(lambda: app.flow.set_maintenance(on)),
            reload_catalog=reload_catalog, reload_config=reload_config, sync_outbox=sync_outbox,
            diagnostics=diagnostics, upload=upload_bundle)
        handlers["check_updates"] = lambda args: self.check_updates()
        return handlers

    def check_updates(self) -> str:
        """Verify and apply a newer catalog; the new one replaces the old between visits."""
        if self.updates is None:
            raise CommandFailed("updates are not configured (ops.updates_url, ops.trusted_root)")
        result = self.updates.check("catalog")
        self.heartbeat.report({"update": result.to_json()})
        if result.outcome == "applied":
            from kiosk.catalog.services import Catalog

            catalog = Catalog.load(self.updates.current_dir("catalog"))
            self._on_gui(lambda: setattr(self.app.flow, "catalog", catalog))
        if not result.ok:
            raise CommandFailed(f"catalog update {result.outcome}: {result.reason} {result.detail}")
        return f"catalog {result.outcome} {result.version or ''}".strip()

    def _update_loop(self) -> None:
        interval = self.app.config.ops["update_interval"]
        while not self._stop.wait(interval):
            while not self.app.flow.idle and not self._stop.wait(1.0):
                pass  # never swap the catalog under a resident
            try:
                log.info(self.check_updates())
            except Exception as exc:  # reported through the heartbeat; the old catalog stays
                log.warning("update check: %s", exc)

    def _request_restart(self) -> None:
        self._restart_requested = True

    def _acks_sent(self, acks: list[dict]) -> None:
        """Central has the acks: a requested restart may happen now (never mid-visit)."""
        if self._restart_requested and any(a.get("ok") for a in acks):
            log.warning("restarting on central's command")
            self._on_gui(lambda: self.app.qt.exit(RESTART_EXIT_CODE))

    def _test_actions(self) -> dict:
        """What a technician can try on site; each returns one line (masked) for the screen."""
        app = self.app
        actions: dict = {}
        printer = app.devices.receipt_printer
        if printer is not None:
            def test_receipt() -> str:
                from kiosk.documents.receipts import render_receipt, sample_context

                doc = render_receipt("service_receipt", sample_context("service_receipt"), "zh_CN")
                return f"printed ({printer.print_job(f'tech-{uuid.uuid4().hex[:8]}', doc).status})"
            actions["测试打印凭条 Test receipt"] = test_receipt
        a4 = app.devices.document_printer
        if a4 is not None:
            def test_page() -> str:
                from kiosk.cli.print import test_page_context
                from kiosk.documents.a4 import render_a4

                pdf = render_a4("printer_test", test_page_context(a4.name), "zh_CN")
                return f"printed ({a4.print_job(f'tech-{uuid.uuid4().hex[:8]}', pdf).status})"
            actions["测试 A4 打印 Test A4 page"] = test_page
        for name, label in (("idcard", "读身份证 Read ID card"), ("sscard", "读社保卡 Read SS card")):
            reader = getattr(app.devices, name)
            if reader is not None:
                actions[label] = lambda r=reader: f"read: {r.read_once(15)!r}"  # repr is masked
        if app.devices.camera is not None:
            actions["摄像头 Camera"] = lambda: str(app.devices.camera.status().to_json())
        if app.voice is not None:
            def speaker() -> str:
                app.voice.say("这是扬声器测试。 This is a speaker test.", "zh_CN")
                return "speaking"
            actions["扬声器 Speaker"] = speaker
        actions["中心连通 Central"] = lambda: str(app.client.update_metadata())
        if app.outbox is not None:
            def outbox() -> str:
                stats = app.outbox.stats()
                dead = app.outbox.dead_items(limit=3)
                reasons = "; ".join(f"{d['stream']}: {d['reason']}" for d in dead) or "none"
                return (f"pending {stats['pending']}, dead {stats['by_state'].get('dead', 0)} "
                        f"({reasons})")
            actions["离线队列 Outbox"] = outbox
            actions["重发失败项 Retry dead"] = lambda: f"{app.outbox.retry_dead()} back in the queue"
        actions["最近日志 Recent log"] = self._log_tail
        actions["退出到桌面 Exit to desktop"] = self._exit_to_desktop
        return actions

    def _log_tail(self, lines: int = 8) -> str:
        path = self.app.config.path("logging", "dir") / "kiosk.jsonl"
        try:
            tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        except OSError as exc:
            return f"no log: {exc}"
        from kiosk.logs import mask_text

        return "\n".join(mask_text(line)[:160] for line in tail)  # masked when written; again here

    def _exit_to_desktop(self) -> str:
        """Two presses within ten seconds: the kiosk stops and systemd leaves it stopped."""
        now = time.monotonic()
        if now - self._exit_armed > 10:
            self._exit_armed = now
            return "再按一次确认退出 Press again within 10 s to exit to the desktop"
        self._on_gui(lambda: self.app.qt.exit(EXIT_TO_DESKTOP))
        return "exiting"
