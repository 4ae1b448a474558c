"""Heartbeat: every N seconds tell central how this terminal is, and take its commands.

The payload says what a fleet operator needs to decide whether to send someone: each device's
status, the outbox backlog and its oldest item, versions (software, catalog, config), uptime,
usage counters, acks of remote commands and results of updates. The reply's commands go to the
:class:`~kiosk.ops.remote_commands.CommandRunner`. Heartbeats are not retried (the next one
comes anyway); a payload that could not be sent goes to the outbox ``telemetry`` stream so
the history survives an outage, and unsent acks and update reports ride the next heartbeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import kiosk
from kiosk.json_types import JSON
from kiosk.ops.worker import LoopWorker

if TYPE_CHECKING:
    from drivers.base import Device
    from kiosk.central.client import CentralClient
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
    versions: Callable[[], dict[str, str]] = dict
    counters: Callable[[], dict[str, int]] = dict
    maintenance: Callable[[], bool] = lambda: False
    started_at: float = field(default_factory=time.monotonic)

    def snapshot(self) -> JSON:
        devices: dict[str, JSON] = {}
        for name, device in self.devices.items():
            try:
                devices[name] = device.status().to_json()
            except Exception as exc:  # noqa: BLE001 - one broken driver must not silence the rest
                devices[name] = {"state": "error", "fault": "status_failed", "detail": str(exc)}
        outbox: JSON = {}
        if self.outbox is not None:
            try:
                stats = self.outbox.stats()
                outbox = {"pending": stats["pending"], "oldest_ready_age_s": stats["oldest_ready_age_s"],
                          "dead": stats["by_state"].get("dead", 0), "bytes": stats["bytes"]}
            except Exception as exc:  # noqa: BLE001 - OutboxError: report it instead of the numbers
                outbox = {"error": str(exc)}
        return {
            "sent_at": _now_iso(),
            "versions": {"software": kiosk.__version__, **self.versions()},
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "devices": devices,
            "outbox": outbox,
            "counters": dict(self.counters()),
            "maintenance": bool(self.maintenance()),
        }


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

    def __init__(self, client: CentralClient, facts: TerminalFacts, *,
                 runner: CommandRunner | None = None, interval: float = 60.0,
                 terminal_id: str | None = None,
                 on_sent: Callable[[list[AckJSON]], None] | None = None):
        super().__init__()
        self._client = client
        self._facts = facts
        self._runner = runner
        self.interval = interval
        self._terminal = terminal_id or getattr(client, "terminal_id", "")
        self._reports: list[JSON] = []
        self._on_sent = on_sent  # called with the acks central now has (e.g. restart after it)
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
        acks: list[AckJSON] = self._runner.take_acks() if self._runner is not None else []
        body["acks"] = acks
        with self._lock:
            reports, self._reports = self._reports, []
        body["reports"] = reports
        return body, acks, reports

    def beat(self) -> BeatResult:
        """One heartbeat; never raises for central's or the outbox's failures."""
        from kiosk.central.errors import CentralError

        with self._beat_lock:
            body, acks, reports = self._payload()
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
