"""Remote commands from central operations' fleet service, carried out when no resident is
mid-visit, then acknowledged.

An operator queues a command in the fleet console (restart, maintenance on/off, reload
catalog/config, sync the outbox, collect diagnostics, take a screenshot, check for updates);
the next heartbeat reply carries it. The runner holds it until
``is_idle()`` says nobody is at the screen — a restart must never cut a resident's print in
half — runs it on its own thread, and keeps ``{id, ok, detail}`` for the next heartbeat.
A command id runs at most once: the fleet redelivers a command whose ack it did not get (a
lost reply, a restart before the ack went out), so the ids run — with their outcome — are kept
in a small private file (``state_file``, the last ``remember`` ids) that survives a
``restart_app``; a repeat is not run again but acknowledged again with the first outcome.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, cast

from kiosk.json_types import JSON
from kiosk.ops.worker import LoopWorker

log = logging.getLogger(__name__)

KNOWN_COMMANDS = ("restart_app", "maintenance_on", "maintenance_off", "reload_catalog",
                  "reload_config", "sync_outbox", "collect_diagnostics", "take_screenshot")
Handler = Callable[[JSON], str | None]


class CommandFailed(Exception):
    """A handler's way to say "did not work" with a detail for the fleet's operator."""


class AckJSON(TypedDict):
    """An :class:`Ack` as it is posted to the fleet's acknowledgement endpoint."""

    id: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Ack:
    id: str
    ok: bool
    detail: str

    def to_json(self) -> AckJSON:
        return {"id": self.id, "ok": self.ok, "detail": self.detail}


class CommandRunner(LoopWorker):
    """Queue of remote commands, run one by one on a worker thread when the terminal is idle.

    ``handlers`` maps a command name to ``handler(args) -> detail``; raising means failure.
    ``on_result(command, ack)`` (optional) is called on the worker thread: the app hops it to Qt.
    ``state_file`` (optional) keeps the ids already run and their acks across restarts.
    """

    thread_name = "remote-commands"

    def __init__(self, handlers: dict[str, Handler], is_idle: Callable[[], bool], *,
                 idle_poll: float = 0.5, on_result: Callable[[JSON, Ack], None] | None = None,
                 remember: int = 500, state_file: str | os.PathLike[str] | None = None):
        super().__init__()
        self._handlers = dict(handlers)
        self._is_idle = is_idle
        self._idle_poll = idle_poll
        self._on_result = on_result
        self._lock = threading.Lock()
        self._pending: collections.deque[JSON] = collections.deque()
        self._acks: list[Ack] = []
        self._done: collections.OrderedDict[str, Ack] = collections.OrderedDict()
        self._remember = remember
        self._state_file = Path(state_file) if state_file is not None else None
        self._load_done()

    def _load_done(self) -> None:
        """The ids run before this process started; a damaged file is set aside, logged (a
        repeat may then run again — better than a terminal that takes no commands)."""
        path = self._state_file
        if path is None or not path.exists():
            return
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            for row in rows[-self._remember:]:
                self._done[str(row["id"])] = Ack(str(row["id"]), bool(row["ok"]),
                                                 str(row["detail"]))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("remote commands already run: %s unreadable (%s); set aside", path, exc)
            self._done.clear()
            try:
                path.replace(path.with_name(path.name + ".damaged"))
            except OSError:
                pass

    def _save_done(self) -> None:
        """Write the ids run (caller holds the lock): 0600, atomically, before the ack goes."""
        path = self._state_file
        if path is None:
            return
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, json.dumps([a.to_json() for a in self._done.values()],
                                        ensure_ascii=False).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:  # the command ran; only its memory across a restart is lost
            log.warning("remote commands already run: cannot write %s: %s", path, exc)

    # -- feeding and draining --------------------------------------------------------------
    def submit(self, commands: list[JSON]) -> None:
        """Commands from a heartbeat reply (each ``{id, command, args?}``)."""
        with self._lock:
            queued = {c["id"] for c in self._pending}
            for cmd in commands:
                cid = str(cmd.get("id", ""))
                if cid in self._done:  # already run: just acknowledge again
                    self._acks.append(self._done[cid])
                elif cid and cid not in queued:
                    self._pending.append(dict(cmd))
                    queued.add(cid)
        self._wake.set()

    def take_acks(self) -> list[AckJSON]:
        """Acks for the next heartbeat; give them back with :meth:`restore_acks` if it fails."""
        with self._lock:
            acks, self._acks = self._acks, []
        return [a.to_json() for a in acks]

    def restore_acks(self, acks: list[AckJSON]) -> None:
        with self._lock:
            self._acks[:0] = [Ack(a["id"], a["ok"], a["detail"]) for a in acks]

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    # -- running ---------------------------------------------------------------------------
    def run_pending(self) -> int:
        """Run every queued command now if idle (the worker's body; tests may call it)."""
        ran = 0
        while True:
            if not self._is_idle():
                return ran
            with self._lock:
                if not self._pending:
                    return ran
                cmd = self._pending.popleft()
            self._run_one(cmd)
            ran += 1

    def _run_one(self, cmd: JSON) -> None:
        name, cid = str(cmd.get("command")), str(cmd["id"])
        handler = self._handlers.get(name)
        if handler is None:
            ack = Ack(cid, False, f"unknown command {name!r}")
        else:
            # The fleet sends ``args`` as a JSON object; each handler looks at the keys it takes.
            args = cast(JSON, cmd.get("args") or {})
            try:
                ack = Ack(cid, True, handler(args) or "done")
            except CommandFailed as exc:
                ack = Ack(cid, False, str(exc))
            except Exception as exc:  # noqa: BLE001 - a handler bug must not kill the runner
                log.exception("remote command %s (%s) failed", name, cid)
                ack = Ack(cid, False, f"{type(exc).__name__}: {exc}")
        log.info("remote command %s (%s): %s %s", name, cid, "ok" if ack.ok else "failed", ack.detail)
        with self._lock:
            self._acks.append(ack)
            self._done[cid] = ack
            while len(self._done) > self._remember:
                self._done.popitem(last=False)
            self._save_done()
        if self._on_result is not None:
            try:
                self._on_result(cmd, ack)
            except Exception:  # noqa: BLE001 - a listener's bug is logged, the runner goes on
                log.exception("on_result listener failed")

    def _round(self) -> float | None:
        self.run_pending()
        # Wait for new commands; while some wait for idle, look again every idle_poll.
        return self._idle_poll if self.pending else None

    def notify_idle(self) -> None:
        """The app may call this when a visit ends, so waiting commands run at once."""
        self.wake()
