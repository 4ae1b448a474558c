"""The terminal's operations side: the outbox sync worker, the heartbeat with central's remote
commands, catalog updates, and technician mode — built from explicit collaborators.

Qt-free: workers run on their own threads, and anything that changes what a resident sees
goes through ``post`` (the app's hop to the GUI thread) to the :class:`VisitPort`. Commands
and updates run only when no resident is mid-visit.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kiosk.config import Config, load_config
from kiosk.exit_codes import EXIT_RESTART, EXIT_TO_DESKTOP
from kiosk.json_types import JSON
from kiosk.ops.console import TechnicianConsole
from kiosk.ops.diagnostics import collect_diagnostics, outbox_uploader, standard_handlers
from kiosk.ops.doctor import run_doctor
from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
from kiosk.ops.remote_commands import AckJSON, CommandFailed, CommandRunner, Handler
from kiosk.ops.technician import TechnicianAccess

if TYPE_CHECKING:
    from drivers.identity import Identity
    from kiosk.catalog.services import Catalog
    from kiosk.central.client import CentralClient
    from kiosk.ops.updates import UpdateClient
    from kiosk.parts import Devices
    from kiosk.voice.speaker import Voice
    from offline_queue import Outbox
    from offline_queue.sync import SyncWorker

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]


class CardReader(Protocol):
    def read_once(self, timeout: float) -> Identity: ...


def _read_card(reader: CardReader) -> Callable[[], str]:
    """The technician's card test: one read, shown masked (an Identity's repr is masked)."""
    return lambda: f"read: {reader.read_once(15)!r}"


class VisitPort(Protocol):
    """What operations may ask of the resident side (the flow implements it). ``idle`` and
    ``maintenance`` are read from worker threads; the methods are called on the GUI thread."""

    @property
    def idle(self) -> bool: ...

    @property
    def maintenance(self) -> bool: ...

    def set_maintenance(self, on: bool) -> None: ...

    def swap_catalog(self, catalog: Catalog) -> None: ...

    def apply_session_timings(self, session: Mapping[str, float]) -> None: ...


@dataclass
class Operations:
    """Builds and runs the operations workers; ``exit_app(code)`` ends the process (the app
    quits its event loop with that code, and systemd acts on it)."""

    config: Config
    devices: Devices
    client: CentralClient
    outbox: Outbox | None
    sync: SyncWorker | None
    updates: UpdateClient | None
    visits: VisitPort
    catalog: Catalog
    post: Post
    exit_app: Callable[[int], None]
    voice: Voice | None = None

    def __post_init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self._restart_requested = False
        self._exit_armed = 0.0
        self._stop = threading.Event()
        self._updater: threading.Thread | None = None
        visits = self.visits
        self.runner = CommandRunner(self._handlers(), is_idle=lambda: visits.idle)
        facts = TerminalFacts(devices=self.devices.all(), outbox=self.outbox,
                              versions=self._versions, counters=lambda: dict(self.counters),
                              maintenance=lambda: visits.maintenance)
        self.heartbeat = Heartbeat(self.client, facts, runner=self.runner,
                                   interval=self.config.ops["heartbeat_interval"],
                                   on_sent=self._acks_sent)
        self.technician = TechnicianConsole(
            access=TechnicianAccess(self.config.path("ops", "technician_state"),
                                    audit=self.outbox, terminal_id=self.config.terminal["id"]),
            checks=lambda: run_doctor(self.config, devices=self.devices.all(),
                                      client=self.client, settle=1.0, live=True),
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

    def stop(self) -> None:
        self._stop.set()
        self.heartbeat.stop()
        self.runner.stop()
        if self.sync is not None:
            self.sync.stop()

    def visit_ended(self, reason: str) -> None:
        """Counted for the heartbeat (visits finished, cancelled, timed out …)."""
        self.counters.update([f"visits_{reason}"])

    # -- pieces ------------------------------------------------------------------------------
    def _versions(self) -> dict[str, str]:
        return {"catalog": str(len(self.catalog)), "config": str(self.config.source)}

    def _swap_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.post(lambda: self.visits.swap_catalog(catalog))

    def _handlers(self) -> dict[str, Handler]:
        def reload_catalog() -> str:
            from kiosk.catalog.services import Catalog

            catalog = Catalog.load()  # raises CatalogError: the old catalog stays
            self._swap_catalog(catalog)
            return f"catalog reloaded: {len(catalog)} services"

        def reload_config() -> str:
            source = self.config.source
            config = load_config(source if source.name != "kiosk.toml" else None)
            session = config.session
            self.post(lambda: self.visits.apply_session_timings(session))
            return "config reloaded (session timings applied; devices on restart)"

        def sync_outbox() -> str:
            if self.sync is None:
                raise CommandFailed("this terminal has no outbox")
            report = self.sync.sync_once(force=True)
            return f"outbox synced: {report}"

        def diagnostics() -> bytes:
            return collect_diagnostics(log_dir=self.config.path("logging", "dir"),
                                       config=self.config, snapshot=self.heartbeat.payload())

        upload = outbox_uploader(self.outbox) if self.outbox is not None else None

        def upload_bundle(bundle: bytes, meta: JSON) -> str:
            if upload is None:
                raise CommandFailed("this terminal has no outbox to send diagnostics through")
            return upload(bundle, meta)

        def set_maintenance(on: bool) -> None:
            self.post(lambda: self.visits.set_maintenance(on))

        handlers = standard_handlers(
            restart=self._request_restart, set_maintenance=set_maintenance,
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

            current = self.updates.current_dir("catalog")
            self._swap_catalog(Catalog.load(current) if current is not None else Catalog.load())
        if not result.ok:
            raise CommandFailed(f"catalog update {result.outcome}: {result.reason} {result.detail}")
        return f"catalog {result.outcome} {result.version or ''}".strip()

    def _update_loop(self) -> None:
        interval = self.config.ops["update_interval"]
        while not self._stop.wait(interval):
            while not self.visits.idle and not self._stop.wait(1.0):
                pass  # never swap the catalog under a resident
            try:
                log.info(self.check_updates())
            except Exception as exc:  # reported through the heartbeat; the old catalog stays
                log.warning("update check: %s", exc)

    def _request_restart(self) -> None:
        self._restart_requested = True

    def _acks_sent(self, acks: list[AckJSON]) -> None:
        """Central has the acks: a requested restart may happen now (never mid-visit)."""
        if self._restart_requested and any(a.get("ok") for a in acks):
            log.warning("restarting on central's command")
            self.post(lambda: self.exit_app(EXIT_RESTART))

    def _test_actions(self) -> dict[str, Callable[[], str]]:
        """What a technician can try on site; each returns one line (masked) for the screen."""
        actions: dict[str, Callable[[], str]] = {}
        printer = self.devices.receipt_printer
        if printer is not None:
            def test_receipt() -> str:
                from kiosk.documents.printer_tests import printer_test_receipt

                doc = printer_test_receipt(printer.profile.name, "zh_CN")
                return f"printed ({printer.print_job(f'tech-{uuid.uuid4().hex[:8]}', doc).status})"
            actions["测试打印凭条 Test receipt"] = test_receipt
        a4 = self.devices.document_printer
        if a4 is not None:
            def test_page() -> str:
                from kiosk.documents.printer_tests import printer_test_page

                pdf = printer_test_page(a4.name, "zh_CN")
                return f"printed ({a4.print_job(f'tech-{uuid.uuid4().hex[:8]}', pdf).status})"
            actions["测试 A4 打印 Test A4 page"] = test_page
        for reader, label in ((self.devices.idcard, "读身份证 Read ID card"),
                              (self.devices.sscard, "读社保卡 Read SS card")):
            if reader is not None:
                actions[label] = _read_card(reader)
        camera = self.devices.camera
        if camera is not None:
            actions["摄像头 Camera"] = lambda: str(camera.status().to_json())
        voice = self.voice
        if voice is not None:
            def speaker() -> str:
                voice.say("这是扬声器测试。 This is a speaker test.", "zh_CN")
                return "speaking"
            actions["扬声器 Speaker"] = speaker
        actions["中心连通 Central"] = lambda: str(self.client.update_metadata())
        outbox = self.outbox
        if outbox is not None:
            def outbox_state() -> str:
                stats = outbox.stats()
                dead = outbox.dead_items(limit=3)
                reasons = "; ".join(f"{d['stream']}: {d['reason']}" for d in dead) or "none"
                return (f"pending {stats['pending']}, dead {stats['by_state'].get('dead', 0)} "
                        f"({reasons})")
            actions["离线队列 Outbox"] = outbox_state
            actions["重发失败项 Retry dead"] = lambda: f"{outbox.retry_dead()} back in the queue"
        actions["最近日志 Recent log"] = self._log_tail
        actions["退出到桌面 Exit to desktop"] = self._exit_to_desktop
        return actions

    def _log_tail(self, lines: int = 8) -> str:
        path = self.config.path("logging", "dir") / "kiosk.jsonl"
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
        self.post(lambda: self.exit_app(EXIT_TO_DESKTOP))
        return "exiting"
