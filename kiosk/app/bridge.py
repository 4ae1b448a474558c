"""The one bridge between threads and Qt: device events and worker results hop to the GUI
thread through a queued signal, and blocking work runs on a small thread pool.

Devices call back on their own threads (pyserial poll thread, pyscard monitor, capture
thread); nothing there may touch a widget or the flow, so every callback is wrapped with
:meth:`Bridge.on_gui`.

A callback that raises is logged and the kiosk carries on; it is also handed to every hook
added with :func:`on_callback_error`, so that tests fail on it instead of passing over a
line in a log nobody reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)

CallbackErrorHook = Callable[[BaseException], None]
_error_hooks: list[CallbackErrorHook] = []


def on_callback_error(hook: CallbackErrorHook) -> Callable[[], None]:
    """Call ``hook`` with every exception a GUI callback raises; returns the remover."""
    _error_hooks.append(hook)
    return lambda: _error_hooks.remove(hook) if hook in _error_hooks else None


class Bridge(QObject):
    _call = Signal(object)

    def __init__(self, workers: int = 3) -> None:
        super().__init__()
        self._call.connect(self._run, Qt.QueuedConnection)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kiosk-worker")

    def post(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the GUI thread soon (safe to call from any thread)."""
        self._call.emit(fn)

    def on_gui(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """Wrap a device callback so it runs on the GUI thread."""
        return lambda *args: self.post(lambda: fn(*args))

    def run_async(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
                  on_error: Callable[[BaseException], None]) -> None:
        """Run blocking ``fn`` on a worker; deliver its value or exception on the GUI thread."""
        future = self._pool.submit(fn)

        def finished(f: Future) -> None:
            exc = f.exception()
            if exc is not None:
                self.post(lambda: on_error(exc))
            else:
                value = f.result()
                self.post(lambda: on_done(value))

        future.add_done_callback(finished)

    @staticmethod
    def _run(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception as exc:  # a kiosk must never crash on one bad callback
            log.exception("GUI callback failed")
            for hook in list(_error_hooks):
                hook(exc)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
