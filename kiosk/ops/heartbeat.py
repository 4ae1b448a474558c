"""Heartbeat: every N seconds tell central operations' fleet service how this terminal is, and
take its commands.

The payload says what a fleet operator needs to decide whether to send someone: each device's
status, the outbox backlog and its oldest item, versions (software, catalog, config), uptime,
usage counters, and results of updates. It goes to the fleet service (``[fleet] url``) only,
shaped to the fleet document's closed ``Heartbeat`` schema (:func:`fleet_body`); the
government platform (``[central]``) hears nothing of it. Acks of remote commands are posted
one by one to the fleet's acknowledgement endpoint before the beat (an ack the fleet does not
know is dropped, never allowed to block every later heartbeat); the reply's commands go to the
:class:`~kiosk.ops.remote_commands.CommandRunner`, its rollout ``targets`` to ``on_targets``
(the TUF update check) and its ``next_heartbeat_s`` becomes the interval, so the fleet's
late/offline judgement and the terminal agree.

Heartbeats are not retried (the next one comes anyway); a payload that could not be sent goes
to the outbox ``telemetry`` stream so the history survives an outage, and unsent acks and
update reports ride the next heartbeat. A terminal without a fleet sends no heartbeats (one
WARNING at start says so).

Each round also asks the government platform whether it is there (``central_probe``, a signed
read): the resident's "offline" banner follows central, whose services residents use, not the
fleet; without a fleet the thread runs for that probe alone.
"""

from __future__ import annotations

import dataclasses
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


def standing(body: JSON) -> JSON:
    """What stays true from beat to beat and the hall must know: warnings and what a resident
    left behind."""
    out: JSON = {}
    for key in ("warnings", "left_behind"):
        given = body.get(key)
        out[key] = [str(v) for v in given] if isinstance(given, (list, tuple, set)) else []
    return out


def fleet_body(body: JSON, *, with_standing: bool = True) -> JSON:
    """The heartbeat as the fleet document's closed schema takes it: only its keys, versions
    and faults cut to 64 characters, device details to 2000, warnings and what a resident
    left behind carried as a report. ``with_standing=False`` leaves that report out: the
    heartbeat sends it only when it changed, because a beat carrying a report takes the
    fleet's slower transaction path and the fleet keeps the last one it was told."""
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
    given_reports = body.get("reports")
    reports = list(given_reports) if isinstance(given_reports, list) else []
    if with_standing:
        reports.append(standing(body))
    out["reports"] = [r for r in reports if isinstance(r, dict)][:50]
    return out


@dataclass(frozen=True)
class BeatResult:
    """What one heartbeat did: sent or not, how many commands came, the error if any."""

    sent: bool
    commands: int = 0
    error: str | None = None
    queued_as_telemetry: bool = False
    central_ok: bool | None = None  # the government platform answered the probe (None: none)


class Heartbeat(LoopWorker):
    """Sends heartbeats to the fleet on a thread every ``interval`` seconds; :meth:`beat`
    sends one now. ``client`` None (no ``[fleet] url``): nothing is sent, ever."""

    thread_name = "heartbeat"

    def __init__(self, client: FleetClient | None, facts: TerminalFacts, *,
                 runner: CommandRunner | None = None, interval: float = 60.0,
                 terminal_id: str | None = None,
                 on_sent: Callable[[list[AckJSON]], None] | None = None,
                 on_targets: Callable[[dict[str, JSON]], None] | None = None,
                 central_url: str = "", central_probe: Callable[[], object] | None = None):
        super().__init__()
        self._client = client
        self._facts = facts
        self._runner = runner
        self.interval = interval
        self._terminal = terminal_id or getattr(client, "terminal_id", "")
        self._reports: list[JSON] = []
        self._standing_sent: JSON | None = None  # the fleet has this one (None: not yet told)
        self._on_sent = on_sent  # called with the acks the fleet now has (e.g. restart after it)
        self._on_targets = on_targets  # rollout targets from the fleet's reply
        self._central_url = central_url  # the government platform's, for the plain-http warning
        self._central_probe = central_probe  # a cheap signed read of the platform
        self._lock = threading.Lock()
        self._beat_lock = threading.Lock()
        self.last: BeatResult | None = None
        self._warned = False

    def start(self) -> None:
        """The heartbeat thread; without a fleet one WARNING saying so, and the thread only
        for the central probe (none without one either)."""
        if self._client is None:
            if not self._warned:
                self._warned = True
                log.warning("no fleet service configured ([fleet] url is empty): this terminal "
                            "sends no heartbeats and takes no remote commands")
            if self._central_probe is None:
                return
        super().start()

    def report(self, item: JSON) -> None:
        """Something for the fleet in the next heartbeat (an update result, a rejection)."""
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
        talks to central or to the fleet over plain http:// (no TLS; production refuses it)."""
        fleet_url = str(getattr(self._client, "base_url", ""))
        return [name for name, url in (("central_plain_http", self._central_url),
                                       ("fleet_plain_http", fleet_url))
                if url.lower().startswith("http://")]

    def beat(self) -> BeatResult:
        """One heartbeat; never raises for the fleet's or the outbox's failures."""
        with self._beat_lock:
            central_ok = self._probe_central()
            if self._client is None:
                if central_ok:  # no fleet to hear it: a version that reaches central is sound
                    slot_guard.after_heartbeat(kiosk.__version__, 0)
                self.last = BeatResult(False, 0, "no fleet service configured",
                                       central_ok=central_ok)
                return self.last
            body, acks, reports = self._payload()
            slot_reports = slot_guard.reports_from_env()  # software rollbacks the guard did
            if slot_reports:
                body["reports"] = [*reports, *slot_reports]
            result = self._fleet_beat(self._client, body, acks, reports, slot_reports)
            self.last = dataclasses.replace(result, central_ok=central_ok)
            return self.last

    def _probe_central(self) -> bool | None:
        """Is the government platform there? None without a probe."""
        from kiosk.central.errors import CentralError

        if self._central_probe is None:
            return None
        try:
            self._central_probe()
        except CentralError as exc:
            log.info("central probe: %s", exc)
            return False
        return True

    def _fleet_acks(self, client: FleetClient, acks: list[AckJSON]) -> list[AckJSON]:
        """Post each ack to the fleet; the ones it has now. Unsent ones (fleet down) are
        given back for the next beat; one it refuses (not its command) is dropped, logged."""
        from kiosk.central.errors import CentralError
        from kiosk.central.fleet_client import FleetRefused

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

    def _fleet_beat(self, client: FleetClient, body: JSON, acks: list[AckJSON],
                    reports: list[JSON], slot_reports: list[JSON]) -> BeatResult:
        """One heartbeat to the fleet service (the caller holds the beat lock)."""
        from kiosk.central.errors import CentralError

        sent_acks = self._fleet_acks(client, acks) if acks else []
        if sent_acks and self._on_sent is not None:
            try:
                self._on_sent(sent_acks)
            except Exception:  # noqa: BLE001 - the app's listener; the acks went fine
                log.exception("heartbeat on_sent listener failed")
        now_standing = standing(body)
        changed = now_standing != self._standing_sent
        try:
            reply = client.heartbeat(fleet_body(body, with_standing=changed))
        except CentralError as exc:
            return self._not_sent(body, reports, exc)
        self._standing_sent = now_standing
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
        # sent: confirms a pending software version (the app starts the heartbeat only
        # once the attract screen is painted) and drops the rollbacks the fleet now has
        slot_guard.after_heartbeat(kiosk.__version__, len(slot_reports))
        return BeatResult(True, len(commands))

    def _not_sent(self, body: JSON, reports: list[JSON], exc: Exception) -> BeatResult:
        """The fleet did not take it: reports wait for the next beat, the snapshot goes to
        the outbox's telemetry stream (acks were given back by :meth:`_fleet_acks`)."""
        log.warning("fleet heartbeat not sent: %s", exc)
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
