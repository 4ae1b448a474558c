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
from typing import Any

import kiosk
from kiosk.ops.worker import LoopWorker

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

    devices: dict[str, Any] = field(default_factory=dict)
    outbox: Any = None
    versions: Callable[[], dict[str, str]] = dict
    counters: Callable[[], dict[str, int]] = dict
    maintenance: Callable[[], bool] = lambda: False
    started_at: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, Any]:
        devices = {}
        for name, device in self.devices.items():
            try:
                devices[name] = device.status().to_json()
            except Exception as exc:  # noqa: BLE001 - one broken driver must not silence the rest
                devices[name] = {"state": "error", "fault": "status_failed", "detail": str(exc)}
        outbox: dict[str, Any] = {}
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

    def __init__(self, client: Any, facts: TerminalFacts, *, runner: Any = None,
                 interval: float = 60.0, terminal_id: str | None = None,
                 on_sent: Callable[[list[dict[str, Any]]], None] | None = None):
        super().__init__()
        self._client = client
        self._facts = facts
        self._runner = runner
        self.interval = interval
        self._terminal = terminal_id or getattr(client, "terminal_id", "")
        self._reports: list[dict[str, Any]] = []
        self._on_sent = on_sent  # called with the acks central now has (e.g. restart after it)
        self._lock = threading.Lock()
        self._beat_lock = threading.Lock()
        self.last: BeatResult | None = None

    def report(self, item: dict[str, Any]) -> None:
        """Something for central in the next heartbeat (an update result, a rejection)."""
        with self._lock:
            self._reports.append(item)

    def payload(self) -> dict[str, Any]:
        body = {"terminal_id": self._terminal, **self._facts.snapshot()}
        body["acks"] = self._runner.take_acks() if self._runner is not None else []
        with self._lock:
            body["reports"], self._reports = self._reports, []
        return body

    def beat(self) -> BeatResult:
        """One heartbeat; never raises for central's or the outbox's failures."""
        from kiosk.central.errors import CentralError

        with self._beat_lock:
            body = self.payload()
            try:
                reply = self._client.heartbeat(body)
            except CentralError as exc:
                self.last = self._not_sent(body, exc)
                return self.last
            commands = reply.get("commands", [])
            if commands and self._runner is not None:
                self._runner.submit(commands)
            if self._on_sent is not None and body["acks"]:
                try:
                    self._on_sent(body["acks"])
                except Exception:  # noqa: BLE001 - the app's listener; the beat itself went fine
                    log.exception("heartbeat on_sent listener failed")
            self.last = BeatResult(True, len(commands))
            return self.last

    def _not_sent(self, body: dict[str, Any], exc: Exception) -> BeatResult:
        log.warning("heartbeat not sent: %s", exc)
        if self._runner is not None and body["acks"]:
            self._runner.restore_acks(body["acks"])
        with self._lock:
            self._reports[:0] = body["reports"]
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
