"""Phone codes (网络身份码) into the visit, wired to Qt.

Whatever the scanner is, its codes reach :meth:`Flow.code_scanned` on the GUI thread:

- a serial engine: the driver's own thread reads it;
- a USB keyboard wedge: :class:`ScannerKeyFilter`, an application-wide event filter, takes
  the scanner's fast burst of keys ending in Enter before any widget sees it (so a code never
  lands in a search box or a form field), while a person's slower typing is handed on to the
  focused widget, each key a few tens of milliseconds late;
- the camera as the fallback scanner: while the place-card screen of a service that takes
  codes is up, frames are decoded by :class:`kiosk.visit.qr_scan.QrScanner`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QWindow
from PySide6.QtWidgets import QApplication

from drivers.qr_scanner import KeyBurst
from kiosk.visit.steps import Step

if TYPE_CHECKING:
    from drivers.camera import Camera
    from drivers.qr_scanner import QrScanner
    from kiosk.app.bridge import Bridge
    from kiosk.visit.flow import Flow

_ENTER = (Qt.Key_Return, Qt.Key_Enter)
_MODIFIERS = (Qt.Key_Shift, Qt.Key_Control, Qt.Key_Alt, Qt.Key_Meta, Qt.Key_AltGr)
_KEY_PRESS = QEvent.KeyPress  # looked up once: the filter sees every event of the application


class ScannerKeyFilter(QObject):
    """Looks at every key press once, where it first arrives (the window the platform hands
    it to), and asks :class:`KeyBurst` whether it belongs to a scanner's burst. Held keys go
    on to their window, in order, as soon as the burst turns out to be a person's."""

    def __init__(self, on_code: Callable[[str], None], *, burst: KeyBurst | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.on_code = on_code
        self.burst = burst or KeyBurst()
        self.clock = clock
        self._held: list[tuple[QObject, QKeyEvent]] = []
        self._replaying = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(self.burst.max_gap * 1000) + 10)
        self._timer.timeout.connect(self._burst_over)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (self._replaying or event.type() is not _KEY_PRESS  # a constant: every event
                or not isinstance(obj, QWindow)):  # widgets see it next: once is enough
            return False
        key_event: Any = event
        if key_event.key() in _MODIFIERS:  # Shift for an upper-case letter: part of the burst
            return False
        verdict, released, code = self.burst.key(key_event.text(), self.clock(),
                                                 enter=key_event.key() in _ENTER)
        self._hand_on(len(released))
        if verdict == "held":
            self._held.append((obj, QKeyEvent(QEvent.KeyPress, key_event.key(),
                                              key_event.modifiers(), key_event.text())))
            self._timer.start()
            return True
        if verdict == "code":
            self._timer.stop()
            self._held.clear()
            self.on_code(code)
            return True
        return False

    def _burst_over(self) -> None:
        """No key for ``max_gap``: whatever is held was typed by a person."""
        self._hand_on(len(self.burst.expire(float("inf"))))

    def _hand_on(self, count: int) -> None:
        events, self._held = self._held[:count], self._held[count:]
        self._replaying = True
        try:
            for receiver, event in events:
                QApplication.sendEvent(receiver, event)
        finally:
            self._replaying = False


class CodeScanning:
    """Connects the scanner to the flow; owns the wedge filter or the camera tap if any."""

    def __init__(self, scanner: QrScanner, flow: Flow, bridge: Bridge,
                 camera: Camera | None = None) -> None:
        self.scanner, self.flow = scanner, flow
        self.key_filter: ScannerKeyFilter | None = None
        self.camera_tap: Any = None
        by = "camera" if scanner.mode == "camera" else "scanner"
        scanner.on_code(bridge.on_gui(lambda code: flow.code_scanned(code, by)))
        if scanner.mode == "hid-wedge":
            self.key_filter = ScannerKeyFilter(scanner.feed)
            app = QApplication.instance()
            if app is not None:
                app.installEventFilter(self.key_filter)
        if scanner.mode == "camera":
            if camera is None:
                return  # qr_scanner = "camera" without a camera: nothing reads codes
            from kiosk.visit.qr_scan import QrScanner as CameraQr
            from kiosk.visit.qr_scan import phone_code_in

            self.camera_tap = CameraQr(camera, bridge.on_gui(scanner.feed), extract=phone_code_in)
            flow.on_change(self._follow)
        flow.can_scan_code = True

    def _follow(self, flow: Flow) -> None:
        service = flow.service
        wanted = (flow.step is Step.PLACE_CARD and service is not None
                  and service.accepts_app_code and flow.session is not None
                  and flow.session.identity is None and flow.code_checking_for is None)
        if wanted and not self.camera_tap.active:
            self.camera_tap.start()
        elif not wanted and self.camera_tap.active:
            self.camera_tap.stop()

    def close(self) -> None:
        app = QApplication.instance()
        if self.key_filter is not None and app is not None:
            app.removeEventFilter(self.key_filter)
        if self.camera_tap is not None:
            self.camera_tap.stop()
