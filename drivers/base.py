"""The device model every driver shares (after CEN/XFS, UnifiedPOS and Odoo's IoT drivers).

A device is opened and closed, reports a typed :class:`DeviceStatus`, and tells listeners
about status changes and its own events through plain callbacks. Callbacks run on the
device's own thread; the Qt bridge in ``kiosk.app`` hops them to the GUI thread.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

log = logging.getLogger(__name__)


class DeviceState(enum.StrEnum):
    OFFLINE = "offline"
    STARTING = "starting"
    READY = "ready"
    BUSY = "busy"
    ERROR = "error"


@dataclass(frozen=True)
class DeviceStatus:
    """What a device is doing now: for screens, the technician and the heartbeat."""

    state: DeviceState
    fault: str | None = None  # machine-readable: paper_out, paper_low, cover_open, no_sam, timeout…
    detail: str = ""  # for technicians; never personal data
    since: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, object]:
        return {"state": str(self.state), "fault": self.fault, "detail": self.detail,
                "since": self.since}


class DeviceError(Exception):
    """A device failed. ``fault`` is machine-readable; ``native`` keeps the device's own code
    (errno, SW1SW2, SAM status byte, PC/SC hresult) so technicians see the cause."""

    fault = "error"

    def __init__(self, detail: str, *, fault: str | None = None, native: object = None):
        super().__init__(detail)
        self.detail = detail
        if fault is not None:
            self.fault = fault
        self.native = native

    def __str__(self) -> str:
        if self.native is None:
            return self.detail
        return f"{self.detail} (native: {self.native})"


Listener = Callable[..., None]


class Device:
    """Base for every device: status bookkeeping and listener lists.

    Subclasses implement :meth:`open` and :meth:`close` and call :meth:`_set_status` and
    :meth:`_emit`. A listener that raises is logged and never breaks the device thread.
    """

    kind = "device"

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.kind
        self._status = DeviceStatus(DeviceState.OFFLINE)
        self._listeners: dict[str, list[Listener]] = {}
        self._status_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- status ----------------------------------------------------------------------------
    def status(self) -> DeviceStatus:
        return self._status

    def on_status(self, callback: Callable[[DeviceStatus], None]) -> None:
        self.subscribe("status", callback)

    def _set_status(self, state: DeviceState, fault: str | None = None, detail: str = "") -> None:
        with self._status_lock:
            old = self._status
            if old.state == state and old.fault == fault and old.detail == detail:
                return
            self._status = DeviceStatus(state, fault, detail)
            new = self._status
        log.info("%s: %s%s %s", self.name, new.state, f" ({fault})" if fault else "", detail)
        self._emit("status", new)

    # -- events ----------------------------------------------------------------------------
    def subscribe(self, event: str, callback: Listener) -> None:
        self._listeners.setdefault(event, []).append(callback)

    def _emit(self, event: str, *args: object) -> None:
        for callback in list(self._listeners.get(event, ())):
            try:
                callback(*args)
            except Exception:  # a broken listener must not kill the device thread
                log.exception("%s: listener for %r failed", self.name, event)
