"""Heartbeat: every N seconds tell central how this terminal is, and take its commands.

The payload says what a fleet operator needs to decide whether to send someone: each device's
status, the outbox backlog and its oldest item, versions (software, catalog, config), uptime,
usage counters, acks of remote commands and results of updates. The reply's commands go to the
:class:`~kiosk.ops.remote_commands.CommandRunner`. Heartbeats are not retried (the next one
comes anyway); a payload that could not be sent goes to the outbox ``telemetry`` stream so
the history survives an outage, and unsent acks and update reports ride the next heartbeat.

With a fleet service (``[fleet] url``) the heartbeat goes there instead, shaped to the fleet
document's closed ``Heartbeat`` schema (:func:`fleet_body`): acks are posted one by one to
the fleet's acknowledgement endpoint before the beat (an ack the fleet does not know is
dropped, never allowed to block every later heartbeat), the reply's rollout ``targets`` go to
``on_targets`` (the TUF update check) and its ``next_heartbeat_s`` becomes the interval, so
the fleet's late/offline judgement and the terminal agree.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import kiosk
from kiosk.json_types import JSON
from kiosk.ops import slot_guard
from kiosk.ops.worker import LoopWorker

if TYPE_CHECKING:
    from drivers.base import Device
    from kiosk.central.client import CentralClient
    from kiosk.central.fleet_client import FleetClient
    from kiosk.ops.remote_commands import AckJSON, CommandRunner
    from offline_queue import Outbox

log = logging.getLogger(__name__)


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class TerminalFacts:
    """Where the heartbeat reads the terminal's state from; every part is optional.

    ``devices`` is ``name -> Device``; ``outbox`` an :class:`offline_queue.Outbox`;
    ``versions`` returns ``{"catalog": ..., "config": ...}``; ``counters`` returns usage counts
    (visits, prints, services run) since start; ``maintenance`` says if the terminal is closed.
    """

    devices: dict[str, Device] = field(default_factory=dict)
    outbox: Outbox | None = None
    outbox_path: Path | None = None  # where the outbox should be: its damage is read there
    versions: Callable[[], dict[str, str]] = dict
    counters: Callable[[], dict[str, int]] = dict
    maintenance: Callable[[], bool] = lambda: False
    # what a resident left at the terminal ("id_card", "ss_card"), for the hall's staff
    left_behind: Callable[[], list[str]] = list
    screen: Callable[[], str | None] = lambda: None  # attract, home, out_of_service …
    started_at: float = field(default_factory=time.monotonic)

    def snapshot(self) -> JSON:
        devices: dict[str, JSON] = {}
        for name, device in self.devices.items():
            try:
                devices[name] = device.status().to_json()
            except Exception as exc:  # noqa: BLE001 - one broken driver must not silence the rest
                devices[name] = {"state": "error", "fault": "status_failed", "detail": str(exc)}
        outbox = self._outbox()
        return {
            "sent_at": _now_iso(),
            "versions": {"software": kiosk.__version__, **self.versions()},
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "devices": devices,
            "outbox": outbox,
            "counters": dict(self.counters()),
            "maintenance": bool(self.maintenance()),
            "left_behind": list(self.left_behind()),
            "screen": self.screen(),
        }

    def _outbox(self) -> JSON:
        """The backlog; ``{"state": "damaged", …}`` when the file was found damaged (kept
        aside at start, or no outbox at all: the terminal then takes no offline submissions)."""
        from offline_queue.damage import damage_reports
        from offline_queue.errors import OutboxCorrupt, OutboxDamaged

        reports = damage_reports(self.outbox_path) if self.outbox_path is not None else []
        last: JSON = {**reports[-1], "copies": len(reports)} if reports else {}
        if self.outbox is None:
            if last:
                return {**last, "state": "damaged", "durable": False}
            return {"state": "unavailable", "durable": False} if self.outbox_path else {}
        try:
            stats = self.outbox.stats()
        except OutboxCorrupt as exc:  # a page went bad while running
            return exc.to_json() if isinstance(exc, OutboxDamaged) else {
                "state": "damaged", "reason": str(exc), "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - OutboxError: report it instead of the numbers
            return {"error": str(exc)}
        outbox: JSON = {"pending": stats["pending"], "oldest_ready_age_s": stats["oldest_ready_age_s"],
                        "dead": stats["by_state"].get("dead", 0), "bytes": stats["bytes"]}
        if last:
            outbox.update(state="damaged", durable=True, damage=last)
        return outbox


FLEET_KEYS = ("terminal_id", "sent_at", "versions", "uptime_s", "screen", "devices", "outbox",
              "counters", "maintenance", "reports")
_FLEET_STATES = frozenset({"offline", "starting", "ready", "busy", "error", "absent", "disabled",
                           "unknown"})


def fleet_body(body: JSON) -> JSON:
    """The heartbeat as the fleet document's closed schema takes it: only its keys, versions
    and faults cut to 64 characters, device details to 2000, warnings and what a resident
    left behind carried as a report (the schema has no field of their own)."""
    out: JSON = {k: body[k] for k in FLEET_KEYS if k in body and body[k] is not None}
    versions = body.get("versions") or {}
    out["versions"] = {str(k)[:64]: (None if v is None else str(v)[-64:])
                       for k, v in versions.items()} if isinstance(versions, dict) else {}
    devices: JSON = {}
    given = body.get("devices")
    for name, raw in (given.items() if isinstance(given, dict) else ()):
        status: JSON = dict(raw) if isinstance(raw, dict) else {}
        state = str(status.get("state") or "unknown")
        fault = status.get("fault")
        devices[str(name)[:64]] = {
            "state": state if state in _FLEET_STATES else "unknown",
            "fault": None if fault is None else str(fault)[:64],
            "detail": str(status.get("detail") or "")[:2000],
            "since": status.get("since") if isinstance(status.get("since"), (int, float, str))
            else None}
    out["devices"] = dict(list(devices.items())[:32])
    counters = body.get("counters")
    out["counters"] = {k: v for k, v in (counters.items() if isinstance(counters, dict) else ())
                       if isinstance(v, (int, float)) and not isinstance(v, bool)}
    screen = out.get("screen")
    if isinstance(screen, str):
        out["screen"] = screen[:64]
    extra: JSON = {k: body[k] for k in ("warnings", "left_behind") if body.get(k)}
    given_reports = body.get("reports")
    reports = list(given_reports) if isinstance(given_reports, list) else []
    if extra:
        reports.append(extra)
    out["reports"] = [r for r in reports if isinstance(r, dict)][:50]
    return out


@dataclass(frozen=True)
class BeatResult:
    """What one heartbeat did: sent or not, how many commands came, the error if any."""

    sent: bool
    commands: int = 0
    error: str | None = None
    queued_as_telemetry: bool = False


class Heartbeat(LoopWorker):
    """Sends heartbeats on a thread every ``interval`` seconds; :meth:`beat` sends one now."""

    thread_name = "heartbeat"

    def __init__(self, client: CentralClient | FleetClient, facts: TerminalFacts, *,
                 runner: CommandRunner | None = None, interval: float = 60.0,
                 terminal_id: str | None = None,
                 on_sent: Callable[[list[AckJSON]], None] | None = None,
                 fleet: bool = False,
                 on_targets: Callable[[dict[str, JSON]], None] | None = None):
        super().__init__()
        self._client = client
        self._facts = facts
        self._runner = runner
        self.interval = interval
        self._terminal = terminal_id or getattr(client, "terminal_id", "")
        self._reports: list[JSON] = []
        self._on_sent = on_sent  # called with the acks central now has (e.g. restart after it)
        self.fleet = fleet  # client is a FleetClient: the fleet document's shapes
        self._on_targets = on_targets  # rollout targets from the fleet's reply
        self._lock = threading.Lock()
        self._beat_lock = threading.Lock()
        self.last: BeatResult | None = None

    def report(self, item: JSON) -> None:
        """Something for central in the next heartbeat (an update result, a rejection)."""
        with self._lock:
            self._reports.append(item)

    def payload(self) -> JSON:
        return self._payload()[0]

    def _payload(self) -> tuple[JSON, list[AckJSON], list[JSON]]:
        """The body, and the acks and reports it carries (taken: give them back if unsent)."""
        body: JSON = {"terminal_id": self._terminal, **self._facts.snapshot()}
        body["warnings"] = self._warnings()
        acks: list[AckJSON] = self._runner.take_acks() if self._runner is not None else []
        body["acks"] = acks
        with self._lock:
            reports, self._reports = self._reports, []
        body["reports"] = reports
        return body, acks, reports

    def _warnings(self) -> list[str]:
        """What a fleet operator must see even when all devices are fine: a terminal that
        talks to central over plain http:// (no TLS; production refuses to start with it)."""
        url = str(getattr(self._client, "base_url", ""))
        return ["central_plain_http"] if url.lower().startswith("http://") else []

    def beat(self) -> BeatResult:
        """One heartbeat; never raises for central's or the outbox's failures."""
        from kiosk.central.errors import CentralError

        with self._beat_lock:
            body, acks, reports = self._payload()
            slot_reports = slot_guard.reports_from_env()  # software rollbacks the guard did
            if slot_reports:
                body["reports"] = [*reports, *slot_reports]
            if self.fleet:
                return self._fleet_beat(body, acks, reports, slot_reports)
            try:
                reply = self._client.heartbeat(body)
            except CentralError as exc:
                self.last = self._not_sent(body, acks, reports, exc)
                return self.last
            commands = reply.get("commands", [])
            if commands and self._runner is not None:
                self._runner.submit(commands)
            if self._on_sent is not None and acks:
                try:
                    self._on_sent(acks)
                except Exception:  # noqa: BLE001 - the app's listener; the beat itself went fine
                    log.exception("heartbeat on_sent listener failed")
            # sent: confirms a pending software version (the app starts the heartbeat only
            # once the attract screen is painted) and drops the rollbacks central now has
            slot_guard.after_heartbeat(kiosk.__version__, len(slot_reports))
            self.last = BeatResult(True, len(commands))
            return self.last

    def _fleet_acks(self, acks: list[AckJSON]) -> list[AckJSON]:
        """Post each ack to the fleet; the ones it has now. Unsent ones (fleet down) are
        given back for the next beat; one it refuses (not its command) is dropped, logged."""
        from kiosk.central.errors import CentralError
        from kiosk.central.fleet_client import FleetClient, FleetRefused

        client = self._client
        if not isinstance(client, FleetClient):
            raise TypeError("a fleet heartbeat needs a FleetClient")
        sent: list[AckJSON] = []
        for i, ack in enumerate(acks):
            try:
                client.ack(ack["id"], ack["ok"], ack["detail"])
            except FleetRefused as exc:
                log.warning("fleet refused the ack of command %s: %s; dropped", ack["id"],
                            exc.detail)
                continue
            except CentralError as exc:  # down, or refusing this terminal: keep them
                log.warning("acks not sent: %s", exc.detail)
                if self._runner is not None:
                    self._runner.restore_acks(acks[i:])
                break
            sent.append(ack)
        return sent

    def _fleet_beat(self, body: JSON, acks: list[AckJSON], reports: list[JSON],
                    slot_reports: list[JSON]) -> BeatResult:
        """One heartbeat to the fleet service (the caller holds the beat lock)."""
        from kiosk.central.errors import CentralError

        sent_acks = self._fleet_acks(acks) if acks else []
        if sent_acks and self._on_sent is not None:
            try:
                self._on_sent(sent_acks)
            except Exception:  # noqa: BLE001 - the app's listener; the acks went fine
                log.exception("heartbeat on_sent listener failed")
        try:
            reply = self._client.heartbeat(fleet_body(body))
        except CentralError as exc:
            log.warning("fleet heartbeat not sent: %s", exc)
            with self._lock:
                self._reports[:0] = reports
            self.last = BeatResult(False, 0, f"{type(exc).__name__}: {exc}")
            return self.last
        commands = list(reply.get("commands") or [])
        if commands and self._runner is not None:
            self._runner.submit(commands)
        targets = reply.get("targets") or {}
        if targets and self._on_targets is not None:
            try:
                self._on_targets(dict(targets))
            except Exception:  # noqa: BLE001 - the update check reports itself
                log.exception("rollout targets listener failed")
        nxt = reply.get("next_heartbeat_s")
        if isinstance(nxt, int) and not isinstance(nxt, bool):
            self.interval = float(min(3600, max(1, nxt)))
        slot_guard.after_heartbeat(kiosk.__version__, len(slot_reports))
        self.last = BeatResult(True, len(commands))
        return self.last

    def _not_sent(self, body: JSON, acks: list[AckJSON], reports: list[JSON],
                  exc: Exception) -> BeatResult:
        log.warning("heartbeat not sent: %s", exc)
        if self._runner is not None and acks:
            self._runner.restore_acks(acks)
        with self._lock:
            self._reports[:0] = reports
        telemetry = {k: v for k, v in body.items() if k not in ("acks", "reports")}
        queued = False
        if self._facts.outbox is not None:
            try:
                self._facts.outbox.put("telemetry", {"kind": "heartbeat", **telemetry})
                queued = True
            except Exception as nested:  # noqa: BLE001 - OutboxError; telemetry may be lost
                log.error("heartbeat telemetry not queued either: %s", nested)
        return BeatResult(False, 0, f"{type(exc).__name__}: {exc}", queued)

    # -- thread ----------------------------------------------------------------------------
    def _round(self) -> float:
        try:
            self.beat()
        except Exception:  # noqa: BLE001 - a bug here must not stop future heartbeats
            log.exception("heartbeat failed")
        return self.interval

    def beat_soon(self) -> None:
        """Send the next heartbeat now (e.g. right after a command finished, to ack it)."""
        self.wake()
