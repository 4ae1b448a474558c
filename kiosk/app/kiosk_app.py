"""Construct and wire the terminal in one place: config → catalog, central client, devices,
outbox → flow → window. Device callbacks reach the flow only through the bridge.

Nothing here runs at import; ``KioskApp(config).start()`` does the work.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from kiosk.app.bridge import Bridge
from kiosk.config import Config
from kiosk.parts import Devices, build_devices, central_client, load_catalog, open_outbox
from kiosk.visit.effects import VisitEffects
from kiosk.visit.flow import Flow

log = logging.getLogger(__name__)

# What a card problem means to a resident: the place-card screen's sentence.
_CARD_PROBLEM_KEYS = {"card_expired": "card.expired", "check_digit": "card.invalid",
                      "card_data": "card.invalid"}


def card_problem_key(error: BaseException) -> str:
    return _CARD_PROBLEM_KEYS.get(getattr(error, "fault", ""), "card.unreadable")


def qt_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, with the CJK font every screen uses."""
    app = QApplication.instance() or QApplication(argv or ["kiosk"])
    from screens.theme import FONT_FAMILY

    app.setFont(QFont(FONT_FAMILY, 16))
    return app


class KioskApp:
    """The running terminal. ``tick_ms`` is the flow clock's period (tests shorten it)."""

    def __init__(self, config: Config, *, catalog: Any = None, devices: Devices | None = None,
                 tick_ms: int = 1000) -> None:

        self.config = config
        self.qt = qt_application()
        self.catalog = catalog or load_catalog(config)
        self.client = central_client(config)
        self.devices = devices if devices is not None else build_devices(config)
        self.outbox = open_outbox(config)
        self.bridge = Bridge()
        self.effects = VisitEffects(self.client, terminal_id=config.terminal["id"],
                                    receipt_printer=self.devices.receipt_printer,
                                    document_printer=self.devices.document_printer,
                                    outbox=self.outbox, sscard=self.devices.sscard)
        session = config.session
        self.flow = Flow(self.catalog, self.effects, run_async=self.bridge.run_async,
                         language=config.ui["language"], elderly=config.ui["elderly_mode"],
                         idle_timeout=session["idle_timeout"], countdown=session["countdown"],
                         take_documents_timeout=session["take_documents_timeout"])
        from kiosk.announcements import load_announcements

        self.flow.announcements = load_announcements()
        from screens.window import KioskWindow

        self.window = KioskWindow(self.flow, config.screen["width"], config.screen["height"])
        self.timer = QTimer()
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self._tick)
        self._last_beat: Any = None
        self.face_step = None
        self._wire_devices()
        self.voice = self._build_voice()
        self._spoken_key: tuple | None = None
        self.flow.on_change(self._speak)
        self.window.topbar.on_repeat = self._repeat
        self.window.topbar.on_voice = self._toggle_voice
        from kiosk.app.operations import Operations

        self.ops = Operations(self)
        self.window.on_technician = self.open_technician

    def _tick(self) -> None:
        if (self.window.technician is not None and time.monotonic() - self.window.last_input
                > self.config.ops["technician_idle_timeout"]):
            self.close_technician("idle")
        beat = self.ops.heartbeat.last  # a new heartbeat says whether central is reachable
        if beat is not None and beat is not self._last_beat:
            self._last_beat = beat
            self.flow.set_network(beat.sent)
        self.flow.tick()

    def _build_voice(self) -> Any:
        """Spoken guidance; ``KIOSK_VOICE_SINK`` may name a sink (``wav:/dir`` in tests)."""
        from kiosk.voice.speaker import Voice

        try:
            voice = Voice(os.environ.get("KIOSK_VOICE_SINK", "auto"),
                          enabled=self.config.ui["voice"])
        except Exception as exc:  # no voice is better than no kiosk
            log.error("voice guidance unavailable: %s", exc)
            return None
        self.window.topbar.voice_on = voice.enabled
        return voice

    def _speak(self, flow: Flow) -> None:
        """Say the new screen's sentence once, interrupting the last one."""
        if self.voice is None:
            return
        key = (flow.step, flow.language, flow.service and flow.service.id, flow.card_problem,
               flow.pin_problem, flow.face_problem, flow.error_key,
               flow.countdown_remaining is not None, id(flow.result))
        if key == self._spoken_key:
            return
        self._spoken_key = key
        from kiosk.voice.guidance import spoken_text

        text = spoken_text(flow, self.window.t)
        if text:
            self.voice.say(text, flow.language, slow=flow.elderly)
        else:
            self.voice.stop()

    def _repeat(self) -> None:
        if self.voice is not None:
            self.voice.repeat()

    def _toggle_voice(self) -> None:
        if self.voice is None:
            return
        self.voice.set_enabled(not self.voice.enabled)
        self.window.topbar.voice_on = self.voice.enabled
        self.window.show_state()

    def _wire_devices(self) -> None:
        gui = self.bridge.on_gui
        for reader in (self.devices.idcard, self.devices.sscard):
            if reader is None:
                continue
            reader.on_card(gui(self.flow.card_read))
            reader.on_card_removed(gui(self.flow.card_removed))
            reader.on_card_error(gui(self._card_error))
        if self.devices.camera is not None:
            self._wire_face_step()

    def _card_error(self, error: BaseException) -> None:
        if getattr(error, "fault", "") == "pin_required":
            self.flow.card_needs_pin()
        else:
            self.flow.card_error(card_problem_key(error), str(error))

    def _wire_face_step(self) -> None:
        """Camera frames run through the face gate on the camera thread while the flow is on
        the face step; the screen gets the newest frame only (stale ones are dropped)."""
        from PySide6.QtGui import QImage

        from kiosk.visit.face_step import FaceStep
        from kiosk.visit.flow import Step

        screen = self.window.screens[Step.FACE]
        latest: dict[str, Any] = {}
        spoken = {"code": None, "at": 0.0}

        def say_prompt(code: str) -> None:
            """Speak a prompt that has changed, at most every 2.5 s (no chatter)."""
            now = time.monotonic()
            if self.voice is None or code == spoken["code"] or now - spoken["at"] < 2.5:
                return
            if code in ("ok", "hold_still", "done"):
                return
            spoken.update(code=code, at=now)
            self.voice.say(self.window.t.t(f"face.prompt.{code}"), self.flow.language,
                           slow=self.flow.elderly)

        def show_latest() -> None:
            frame, state = latest.pop("frame", None), latest.pop("state", None)
            if frame is None or self.flow.step is not Step.FACE:
                return
            h, w = frame.shape[:2]
            image = QImage(frame.data, w, h, 3 * w, QImage.Format_BGR888).copy()
            screen.show_frame(image, state.prompt_code, state.progress)
            say_prompt(state.prompt_code)

        def on_update(frame, state) -> None:  # camera thread
            pending = "frame" in latest
            latest["frame"], latest["state"] = frame, state
            if not pending:
                self.bridge.post(show_latest)

        self.face_step = FaceStep(self.devices.camera, on_update,
                                  self.bridge.on_gui(self.flow.face_captured))
        from kiosk.visit.qr_scan import QrScanner

        self.qr_scanner = QrScanner(self.devices.camera, self.bridge.on_gui(self.flow.qr_found))
        self.flow.can_scan = True

        def follow(flow) -> None:
            wanted = flow.step is Step.FACE and flow.face_problem is None
            if wanted and not self.face_step.active:
                self.face_step.start()
            elif not wanted and self.face_step.active:
                self.face_step.stop()
            scanning = flow.scan_field is not None
            if scanning and not self.qr_scanner.active:
                self.qr_scanner.start()
            elif not scanning and self.qr_scanner.active:
                self.qr_scanner.stop()

        self.flow.on_change(follow)

    def start(self, show: bool = True) -> None:
        """Open devices (a device that fails stays in error; the kiosk still serves)."""
        for name, device in self.devices.all().items():
            try:
                device.open()
            except Exception as exc:
                self.devices.problems[name] = str(exc)
                log.error("device %s did not open: %s", name, exc)
        self.timer.start()
        self.ops.start()
        if show:
            if self.config.screen["fullscreen"]:
                self.window.setWindowFlag(Qt.FramelessWindowHint, True)
                self.window.showFullScreen()
            else:
                self.window.show()

    def open_technician(self) -> None:
        """The hidden gesture was made on an idle terminal: the PIN pad, then the tools."""
        if not self.flow.idle:
            return
        from screens.technician import TechnicianScreen

        self.window.show_technician(TechnicianScreen(self.ops.technician,
                                                     on_exit=self.close_technician))

    def close_technician(self, reason: str = "done") -> None:
        """Leave technician mode (the technician pressed exit, or walked away)."""
        self.ops.technician.leave(reason)
        self.window.close_technician()

    def stop(self) -> None:
        self.ops.stop()
        if self.voice is not None:
            self.voice.close()
        self.timer.stop()
        if self.flow.session is not None:
            self.flow.end_session("shutdown", say_goodbye=False)
        for name, device in self.devices.all().items():
            try:
                device.close()
            except Exception as exc:
                log.warning("device %s did not close cleanly: %s", name, exc)
        if self.outbox is not None:
            try:
                self.outbox.close()
            except Exception as exc:
                log.warning("outbox did not close cleanly: %s", exc)
        self.bridge.shutdown()
        self.window.close()
        self.window.deleteLater()


def wait_until(predicate, timeout: float, step_ms: int = 20) -> bool:
    """Process Qt events until ``predicate()`` is true (used by the demo's scripted visit)."""
    deadline = time.monotonic() + timeout
    app = QApplication.instance()
    while time.monotonic() < deadline:
        app.processEvents()
        # outside exec() Qt never runs deleteLater by itself: without this, every rebuilt
        # tile list of a scripted visit or a screenshot run would stay alive
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        if predicate():
            return True
        time.sleep(step_ms / 1000)
    app.processEvents()
    return predicate()
