"""The one shape of a terminal-side background worker: a daemon thread that does a round of
work, then waits until its period passes or something wakes it, until it is stopped.

Stopping is instant (the wait is an Event, as pyscard's monitors do), a second ``start`` is a
no-op, and a round that raises is logged and never ends the thread.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class LoopWorker:
    """Subclasses set ``thread_name`` and implement :meth:`_round`, which returns how many
    seconds to wait before the next round (None: until :meth:`wake`)."""

    thread_name = "worker"
    retry_after = 5.0  # seconds before the next round after one that raised

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def _round(self) -> float | None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self._round()
            except Exception:  # noqa: BLE001 - a bug in one round must not stop the next
                log.exception("%s round failed", self.thread_name)
                wait = self.retry_after
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Start the next round now instead of after the wait."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
