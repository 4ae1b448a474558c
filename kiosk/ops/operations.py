"""The terminal's operations side: the outbox sync worker, the heartbeat with central's remote
commands, signed updates (catalog, config, announcements), and technician mode — built from
explicit collaborators.

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
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kiosk.announcements import ANNOUNCEMENTS_NAME, read_announcements
from kiosk.config import Config, ConfigError, load_config
from kiosk.exit_codes import EXIT_RESTART, EXIT_TO_DESKTOP
from kiosk.json_types import JSON
from kiosk.ops.console import TechnicianConsole
from kiosk.ops.diagnostics import (
    collect_diagnostics,
    fleet_uploader,
    outbox_uploader,
    standard_handlers,
)
from kiosk.ops.doctor import run_doctor
from kiosk.ops.heartbeat import Heartbeat, TerminalFacts
from kiosk.ops.remote_commands import AckJSON, CommandFailed, CommandRunner, Handler
from kiosk.ops.technician import TechnicianAccess
from kiosk.ops.updates import (
    CONFIG_UPDATE_FILE,
    UpdateResult,
    with_config_update,
)
from offline_queue import SyncLockHeld

if TYPE_CHECKING:
    from drivers.identity import Identity
    from kiosk.catalog.services import Catalog
    from kiosk.central.client import CentralClient
    from kiosk.central.fleet_client import FleetClient
    from kiosk.ops.updates import UpdateClient
    from kiosk.parts import Devices
    from kiosk.voice.speaker import Voice
    from offline_queue import Outbox
    from offline_queue.sync import SyncWorker

log = logging.getLogger(__name__)
ALREADY_CHECKING = "already checking for updates"

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

    announcements: list[dict[str, str]]  # the attract screen's carousel; set on the GUI thread


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
    # central operations' fleet service ([fleet] url): heartbeats, commands, telemetry go there
    fleet: FleetClient | None = None
    # a PNG of the screen as it is now, grabbed on the GUI thread (the app's); None: cannot
    grab_screen: Callable[[], bytes] | None = None

    def __post_init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self._restart_requested = False
        self._exit_armed = 0.0
        self._stop = threading.Event()
        self._updater: threading.Thread | None = None
        self._checking = threading.Lock()  # one update check at a time
        self._last_targets: dict[str, str] | None = None  # rollout targets already checked
        if self.updates is not None:
            self.updates.set_health("config", self._check_config_update)
        visits = self.visits
        self.runner = CommandRunner(self._handlers(), is_idle=lambda: visits.idle,
                                    on_result=lambda cmd, ack: self.heartbeat.beat_soon(),
                                    state_file=self.config.path("outbox", "path").parent
                                    / "secrets" / "commands-run.json")
        facts = TerminalFacts(devices=self.devices.all(), outbox=self.outbox,
                              outbox_path=self.config.path("outbox", "path"),
                              versions=self._versions, counters=lambda: dict(self.counters),
                              maintenance=lambda: visits.maintenance,
                              left_behind=lambda: sorted(getattr(visits, "left_behind", ())),
                              screen=self._screen)
        self.heartbeat = Heartbeat(self.fleet, facts, runner=self.runner,
                                   interval=self.config.ops["heartbeat_interval"],
                                   on_sent=self._acks_sent, on_targets=self._rollout_targets,
                                   central_url=str(self.client.base_url),
                                   central_probe=self.client.update_metadata)
        self.technician = TechnicianConsole(
            access=TechnicianAccess(self.config.path("ops", "technician_state"),
                                    audit=self.outbox, terminal_id=self.config.terminal["id"]),
            checks=lambda: run_doctor(self.config, devices=self.devices.all(),
                                      client=self.client, settle=1.0, live=True),
            actions=self._test_actions())

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        fault = self.technician.access.fault()
        if fault is not None:  # residents are still served; central and the log learn of it
            log.error("technician mode unavailable: %s", fault)
            self.heartbeat.report({"technician": {"ok": False, "fault": fault}})
        if self.sync is not None:
            self.sync.start()
        self.runner.start()
        self.heartbeat.start()
        if self.updates is not None:
            self._updater = threading.Thread(target=self._update_loop, name="updates", daemon=True)
            self._updater.start()
        if self.fleet is not None and self.sync is not None:
            threading.Thread(target=self._telemetry_loop, name="telemetry", daemon=True).start()

    def _telemetry_loop(self) -> None:
        """Every ``[fleet] telemetry_interval``, wake the sync worker so the usage batches
        the visits left in the outbox go to the fleet (the worker backs off on its own while
        the fleet is down; the batches wait in the outbox)."""
        interval = self.config.fleet["telemetry_interval"]
        while not self._stop.wait(interval):
            if self.sync is not None:
                self.sync.wake()

    def stop(self) -> None:
        self._stop.set()
        self.heartbeat.stop()
        self.runner.stop()
        if self.sync is not None:
            self.sync.stop()

    def visit_ended(self, reason: str) -> None:
        """Counted for the heartbeat (visits finished, cancelled, timed out …) and, with a
        fleet service, one usage batch in the outbox (see :meth:`record_usage`)."""
        self.counters.update([f"visits_{reason}"])
        ended = getattr(self.visits, "ended_visit", None)
        if self.fleet is not None and isinstance(ended, dict) and ended.get("service"):
            self.record_usage(str(ended["service"]), failure=ended.get("failure"),
                              rating=ended.get("rating"))

    def record_usage(self, service: str, *, failure: object = None, rating: object = None,
                     at: float | None = None) -> str | None:
        """One visit's usage as a telemetry batch in the outbox (stream ``telemetry``, kind
        ``usage``): the service, a failure's error code, the 好差评 rating 1–5 — counts,
        never who. The outbox keeps it through an outage; the sync worker sends it to the
        fleet with its outbox key as batch id, so a resend counts once."""
        import datetime as dt
        import re

        if self.outbox is None:
            return None
        # the terminal's local time with its offset: the fleet counts per the hall's day
        when = dt.datetime.fromtimestamp(time.time() if at is None else at).astimezone() \
            .isoformat(timespec="seconds")
        svc = re.sub(r"[^A-Za-z0-9_.-]", "-", service)[:64]
        items: list[JSON] = [{"kind": "visit", "service": svc, "at": when}]
        if isinstance(failure, str) and failure:
            items.append({"kind": "failure", "service": svc, "at": when,
                          "reason": (re.sub(r"[^a-z0-9_]", "_", failure.lower()).lstrip("_0123456789")
                                     or "failed")[:64]})
        if isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5:
            items.append({"kind": "rating", "service": svc, "at": when, "rating": rating})
        try:
            return self.outbox.put("telemetry", {"kind": "usage", "items": items})
        except Exception as exc:  # noqa: BLE001 - OutboxError: usage counts may be lost, visits not
            log.error("usage telemetry not queued: %s", exc)
            return None

    def _screen(self) -> str | None:
        """The screen the terminal is on, for the fleet (a step's name, never its data)."""
        if self.visits.maintenance:
            return "out_of_service"
        step = getattr(self.visits, "step", None)
        return str(getattr(step, "value", step)) if step is not None else None

    def _rollout_targets(self, targets: dict[str, JSON]) -> None:
        """The fleet moved this terminal's rollout group to new versions: check TUF now
        (between visits, on the update thread; the check verifies and reports itself)."""
        if self.updates is None:
            log.warning("rollout targets %s but updates are not configured", sorted(targets))
            return
        wanted = {k: str(v.get("version")) for k, v in targets.items() if isinstance(v, dict)}
        if wanted == self._last_targets:
            return
        self._last_targets = wanted
        log.info("fleet rollout targets %s: checking for updates", wanted)

        def check() -> None:
            while not self.visits.idle and not self._stop.wait(1.0):
                pass
            try:
                said = self.check_updates()
            except Exception as exc:  # noqa: BLE001 - reported through the heartbeat
                log.warning("update check for rollout: %s", exc)
                said = None
            else:
                log.info(said)
            if said is None or said == ALREADY_CHECKING:
                # not done (failed, or a check that began before these targets was running):
                # the next heartbeat naming them asks again instead of being taken as seen
                self._last_targets = None

        threading.Thread(target=check, name="rollout-check", daemon=True).start()

    # -- pieces ------------------------------------------------------------------------------
    def _versions(self) -> dict[str, str]:
        """The applied signed catalog's version (what a fleet rollout targets), else the
        count of the bundled catalog's services."""
        signed = self.updates.current_version("catalog") if self.updates is not None else None
        return {"catalog": signed or str(len(self.catalog)), "config": str(self.config.source)}

    def _swap_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.post(lambda: self.visits.swap_catalog(catalog))

    def _handlers(self) -> dict[str, Handler]:
        def reload_catalog() -> str:
            catalog = self._current_catalog()  # CatalogError: the old catalog stays
            self._swap_catalog(catalog)
            return f"catalog reloaded: {len(catalog)} services"

        def sync_outbox() -> str:
            sync, outbox = self.sync, self.outbox
            if sync is None or outbox is None:
                raise CommandFailed("this terminal has no outbox")
            if sync.thread_ident is not None:
                # One drain per outbox file: a second pass beside the worker's would recover
                # (re-ready) the rows the worker has in flight and upload them twice.
                sync.wake()
                return (f"sync worker woken: {outbox.stats()['pending']} pending, "
                        f"circuit {sync.breaker.state}")
            try:
                with outbox.sync_lock():
                    report = sync.sync_once(force=True)
            except SyncLockHeld as exc:
                raise CommandFailed(str(exc)) from exc
            return f"outbox synced: {report}"

        def diagnostics() -> bytes:
            return collect_diagnostics(log_dir=self.config.path("logging", "dir"),
                                       config=self.config, snapshot=self.heartbeat.payload())

        upload = outbox_uploader(self.outbox) if self.outbox is not None else None
        fleet = self.fleet
        if fleet is not None:
            upload = fleet_uploader(fleet, self.config)

        def upload_bundle(bundle: bytes, meta: JSON) -> str:
            if upload is None:
                raise CommandFailed("this terminal has no outbox to send diagnostics through")
            return upload(bundle, meta)

        def set_maintenance(on: bool) -> None:
            self.post(lambda: self.visits.set_maintenance(on))

        handlers = standard_handlers(
            restart=self._request_restart, set_maintenance=set_maintenance,
            reload_catalog=reload_catalog, reload_config=self.reload_config, sync_outbox=sync_outbox,
            diagnostics=diagnostics, upload=upload_bundle)
        handlers["check_updates"] = lambda args: self.check_updates()
        if fleet is not None:
            handlers["take_screenshot"] = lambda args: self._take_screenshot(fleet)
        return handlers

    def _take_screenshot(self, fleet: FleetClient) -> str:
        """Grab the screen and send it to the fleet — only between visits: a resident's data
        is never on it (the runner waits for idle; this checks again right before)."""
        from kiosk.central.errors import CentralError

        if self.grab_screen is None:
            raise CommandFailed("this terminal cannot take screenshots (no screen)")
        if not self.visits.idle:
            raise CommandFailed("refused: a visit is under way (screenshots only between visits)")
        png = self.grab_screen()
        if not self.visits.idle:  # a resident touched the screen while it was grabbed
            raise CommandFailed("refused: a visit started while grabbing; not sent")
        try:
            reply = fleet.screenshot(png)
        except CentralError as exc:
            raise CommandFailed(f"screenshot not sent: {exc.detail}") from exc
        return f"screenshot {reply['size']} bytes sent (id {reply['id']})"

    def _current_catalog(self) -> Catalog:
        """The verified catalog update in use, else the shipped catalog (never undo an update)."""
        from kiosk.catalog.services import Catalog

        current = self.updates.current_dir("catalog") if self.updates is not None else None
        return Catalog.load(current) if current is not None else Catalog.load()

    def _config_update_file(self) -> Path | None:
        current = self.updates.current_dir("config") if self.updates is not None else None
        return current / CONFIG_UPDATE_FILE if current is not None else None

    def _load_config(self, update_file: Path | None) -> Config:
        """Defaults, the override file the app was started with (by path), then a signed
        config update on top. ConfigError when any of them is unusable."""
        return with_config_update(load_config(self.config.source), update_file)

    def reload_config(self) -> str:
        """Re-read the configuration; session timings apply now, devices on restart."""
        try:
            config = self._load_config(self._config_update_file())
        except ConfigError as exc:
            raise CommandFailed(f"config not reloaded: {exc}") from exc
        session = dict(config.session)
        self.post(lambda: self.visits.apply_session_timings(session))
        return "config reloaded (session timings applied; devices on restart)"

    def _check_config_update(self, directory: Path) -> None:
        """Health check of a staged config update: it must load on top of this terminal's
        own configuration before it is used."""
        self._load_config(directory / CONFIG_UPDATE_FILE)

    def _apply(self, result: UpdateResult) -> None:
        """An update was switched in: hand it to the running terminal."""
        assert self.updates is not None
        if result.kind == "catalog":
            self._swap_catalog(self._current_catalog())
        elif result.kind == "config":
            self.reload_config()
        elif result.kind == "announcements":
            current = self.updates.current_dir("announcements")
            if current is not None:
                items = read_announcements(current / ANNOUNCEMENTS_NAME)
                self.post(lambda: setattr(self.visits, "announcements", items))
        elif result.kind == "software":  # installed in the other A/B slot: restart into it
            self.heartbeat.beat()  # central hears of the install before the restart
            self.post(lambda: self.exit_app(EXIT_RESTART))

    def check_updates(self) -> str:
        """Verify and apply newer catalog, config and announcements, between visits.

        Single-flight: a second request while one check runs is answered "already checking"
        (the running check reports its results to central)."""
        if self.updates is None:
            raise CommandFailed("updates are not configured (ops.updates_url, ops.trusted_root)")
        if not self._checking.acquire(blocking=False):
            return ALREADY_CHECKING
        try:
            results = []
            for kind in self.updates.applied_kinds:
                result = self.updates.check(kind)
                self.heartbeat.report({"update": result.to_json()})
                if result.outcome == "applied":
                    self._apply(result)
                results.append(result)
        finally:
            self._checking.release()
        failed = [r for r in results if not r.ok]
        if failed:
            raise CommandFailed("; ".join(f"{r.kind} update {r.outcome}: {r.reason} {r.detail}"
                                          for r in failed))
        return "; ".join(f"{r.kind} {r.outcome} {r.version or ''}".strip() for r in results)

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
