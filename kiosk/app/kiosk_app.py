"""Construct and wire the terminal in one place: config → catalog, central client, devices,
outbox → flow → window. Device callbacks reach the flow only through the bridge.

Nothing here runs at import; ``KioskApp(config).start()`` does the work.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from kiosk.announcements import load_announcements
from kiosk.app.bridge import Bridge
from kiosk.config import Config, with_translations
from kiosk.ops import watchdog
from kiosk.parts import (
    Devices,
    build_devices,
    build_sync,
    build_updates,
    central_client,
    fleet_client,
    load_catalog,
    open_outbox,
)
from kiosk.visit.effects import VisitEffects
from kiosk.visit.flow import Flow

if TYPE_CHECKING:
    from kiosk.app.camera_steps import CameraSteps
    from kiosk.app.code_scanner import CodeScanning
    from kiosk.catalog.services import Catalog
    from kiosk.ops.heartbeat import BeatResult
    from kiosk.ops.operations import Operations
    from kiosk.voice.speaker import Voice

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

    def __init__(self, config: Config, *, catalog: Catalog | None = None,
                 devices: Devices | None = None, tick_ms: int = 1000) -> None:
        self.qt = qt_application()
        self.updates = build_updates(config)
        self.config = config = self._with_config_update(config)
        self.catalog = catalog or load_catalog(self.updates)
        self.client = central_client(config)
        self.devices = devices if devices is not None else build_devices(config)
        self.outbox = open_outbox(config)
        self.bridge = Bridge()
        self.effects = VisitEffects(self.client, terminal_id=config.terminal["id"],
                                    receipt_printer=self.devices.receipt_printer,
                                    document_printer=self.devices.document_printer,
                                    outbox=self.outbox, sscard=self.devices.sscard,
                                    hall=with_translations(config.terminal,
                                                           ("hall", "hall_address", "hotline")))
        session = config.session
        self.flow = Flow(self.catalog, self.effects, run_async=self.bridge.run_async,
                         language=config.ui["language"], elderly=config.ui["elderly_mode"],
                         idle_timeout=session["idle_timeout"], countdown=session["countdown"],
                         take_documents_timeout=session["take_documents_timeout"])
        self.flow.announcements = self._announcements()
        from screens.window import KioskWindow

        self.window = KioskWindow(self.flow, config.screen["width"], config.screen["height"],
                                  terminal=with_translations(config.terminal, (
                                      "id", "hall", "hotline", "help_window",
                                      "opening_hours", "nearest_terminal")))
        self.timer = QTimer()
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self._tick)
        self._last_beat: BeatResult | None = None
        self._presenter_asking = False  # a presenter status question is on a worker
        self.voice = self._build_voice()
        self._spoken_key: tuple[object, ...] | None = None
        self.flow.on_change(self._speak)
        self.camera_steps: CameraSteps | None = None
        self.code_scanning: CodeScanning | None = None
        self._wire_devices()
        self.window.repeat_requested.connect(self._repeat)
        self.window.voice_toggle_requested.connect(self._toggle_voice)
        self.window.volume_requested.connect(self._change_volume)
        self.window.speech_language_requested.connect(self.set_speech_language)
        self.window.technician_requested.connect(self.open_technician)
        self._ops: Operations | None = None
        self._ping: QTimer | None = None
        self._notifier = watchdog.Notifier()  # $NOTIFY_SOCKET as systemd set it for us
        self._started = False

    def _with_config_update(self, config: Config) -> Config:
        """The signed config update in use, layered on top (a bad one is left out, logged)."""
        current = self.updates.current_dir("config") if self.updates is not None else None
        if current is None:
            return config
        from kiosk.config import ConfigError
        from kiosk.ops.updates import CONFIG_UPDATE_FILE, with_config_update

        try:
            return with_config_update(config, current / CONFIG_UPDATE_FILE)
        except ConfigError as exc:
            log.error("config update unusable, running without it: %s", exc)
            return config

    def _announcements(self) -> list[dict[str, str]]:
        """The signed announcements update in use, else the shipped announcements."""
        from kiosk.announcements import ANNOUNCEMENTS_NAME

        current = self.updates.current_dir("announcements") if self.updates is not None else None
        return load_announcements(current / ANNOUNCEMENTS_NAME) if current is not None \
            else load_announcements()

    @property
    def ops(self) -> Operations:
        """Heartbeat, remote commands, updates, technician mode: built on first use, at the
        latest once the attract screen is painted (nothing of it is needed to paint it)."""
        if self._ops is None:
            from kiosk.ops.operations import Operations

            config = self.config
            self._ops = Operations(
                config=config, devices=self.devices, client=self.client, outbox=self.outbox,
                sync=build_sync(config, self.outbox), updates=self.updates,
                visits=self.flow, catalog=self.catalog, post=self.bridge.post,
                exit_app=self.qt.exit, voice=self.voice, fleet=fleet_client(config),
                grab_screen=self._grab_png)
            self.flow.on_session_end(self._ops.visit_ended)
        return self._ops

    def _grab_png(self) -> bytes:
        """The window as a PNG, grabbed on the GUI thread (called from the command runner's
        thread, which waits for it); the fleet's screenshot between visits."""
        import threading

        from PySide6.QtCore import QBuffer, QIODevice

        done, box = threading.Event(), {}

        def grab() -> None:
            try:
                buf = QBuffer()
                buf.open(QIODevice.OpenModeFlag.WriteOnly)
                self.window.grab().save(buf, "PNG")
                box["png"] = bytes(buf.data())
            finally:
                done.set()

        self.bridge.post(grab)
        if not done.wait(10) or "png" not in box:
            raise RuntimeError("the screen was not grabbed within 10 s")
        return box["png"]

    def _tick(self) -> None:
        if (self.window.technician is not None and time.monotonic() - self.window.last_input
                > self.config.ops["technician_idle_timeout"]):
            self.close_technician("idle")
        # a new heartbeat round says whether central (the government platform) is reachable
        beat = self._ops.heartbeat.last if self._ops is not None else None
        if beat is not None and beat is not self._last_beat:
            self._last_beat = beat
            self.flow.set_network(beat.sent if beat.central_ok is None else beat.central_ok)
        self._watch_presenter()
        self.flow.tick()

    def _watch_presenter(self) -> None:
        """While a receipt waits in the printer's presenter, ask the printer (off the GUI
        thread, one question at a time) until it reports the receipt taken."""
        printer = self.devices.receipt_printer
        if printer is None or not printer.receipt_waiting or self._presenter_asking:
            return
        self._presenter_asking = True

        def done(_: object) -> None:
            self._presenter_asking = False

        self.bridge.run_async(printer.status, done, done)

    def _build_voice(self) -> Voice | None:
        """Spoken guidance; ``KIOSK_VOICE_SINK`` may name a sink (``wav:/dir`` in tests)."""
        from kiosk.voice.speaker import Voice

        try:
            voice = Voice(os.environ.get("KIOSK_VOICE_SINK", "auto"),
                          enabled=self.config.ui["voice"],
                          speech_language=self.config.ui.get("speech_language") or None)
        except Exception as exc:  # no voice is better than no kiosk
            log.error("voice guidance unavailable: %s", exc)
            return None
        self.window.set_voice_on(voice.enabled)
        # the next resident starts at the default volume and spoken language
        self.flow.on_session_end(lambda _reason: voice.reset_for_next_visit())
        from screens.keypad import FocusSpeaker

        self.focus_speaker = FocusSpeaker(self._say_focus)
        self.qt.installEventFilter(self.focus_speaker)
        self.window.keep_ahead(self.focus_speaker)
        return voice

    def _say_focus(self, text: str) -> None:
        """A keypad user moved to a control: say its name in the spoken language."""
        if self.voice is not None:
            self.voice.say(text, self.voice.plan(self.flow.language)[1], slow=self.flow.elderly)

    def set_speech_language(self, speech: str | None) -> None:
        """The chooser's spoken-language entry (cmn, yue, en; None: the screen's): the
        screen's sentence is said again in it at once."""
        if self.voice is None:
            return
        self.voice.set_speech_language(speech)
        self._spoken_key = None
        self._speak(self.flow)

    def _speak(self, flow: Flow) -> None:
        """Say the new screen's sentence once, interrupting the last one."""
        if self.voice is None:
            return
        key = (flow.step, flow.language, flow.service and flow.service.id, flow.card_problem,
               flow.pin_problem, flow.face_problem, flow.error_key,
               flow.countdown_remaining is not None, id(flow.result), flow.take_reminders,
               bool(flow.left_behind), self.voice.speech_language)
        if key == self._spoken_key:
            return
        self._spoken_key = key
        from kiosk.i18n import Translator
        from kiosk.voice.guidance import spoken_text

        text_lang, voice_lang = self.voice.plan(flow.language)
        t = self.window.t if text_lang == flow.language else Translator(text_lang)
        text = spoken_text(flow, t, text_lang)
        if text:
            self.voice.say(text, voice_lang, slow=flow.elderly)
        else:
            self.voice.stop()

    def _repeat(self) -> None:
        if self.voice is not None:
            self.voice.repeat()

    def _toggle_voice(self) -> None:
        if self.voice is None:
            return
        self.voice.set_enabled(not self.voice.enabled)
        self.window.set_voice_on(self.voice.enabled)

    def _change_volume(self, step: int) -> None:
        """The bar's volume − / +: the voice's own API does the rest (and resets it after
        the visit) once it has one."""
        change = getattr(self.voice, "change_volume", None)
        if change is not None:
            change(step)

    def _wire_devices(self) -> None:
        gui = self.bridge.on_gui
        for reader, source in ((self.devices.idcard, "id_card"), (self.devices.sscard, "ss_card")):
            if reader is None:
                continue
            reader.on_card(gui(self.flow.card_read))
            reader.on_card_removed(gui(lambda source=source: self.flow.card_removed(source)))
            reader.on_card_error(gui(self._card_error))
        printer = self.devices.receipt_printer
        if printer is not None:  # a kiosk printer that reports a receipt left in its presenter
            printer.on_receipt_presented(gui(self.flow.receipt_presented))
            printer.on_receipt_taken(gui(self.flow.receipt_taken))
        if self.devices.camera is not None:
            from kiosk.app.camera_steps import CameraSteps  # OpenCV only with a camera

            self.camera_steps = CameraSteps(self.devices.camera, self.flow, self.window,
                                            self.bridge, self.voice)
        if self.devices.qr_scanner is not None:  # phone codes: engine, keyboard wedge or camera
            from kiosk.app.code_scanner import CodeScanning

            self.code_scanning = CodeScanning(self.devices.qr_scanner, self.flow, self.bridge,
                                              self.devices.camera)
            if self.code_scanning.key_filter is not None:
                self.window.keep_ahead(self.code_scanning.key_filter)

    def _card_error(self, error: BaseException) -> None:
        if getattr(error, "fault", "") == "pin_required":
            self.flow.card_needs_pin()
        else:
            self.flow.card_error(card_problem_key(error), str(error))

    def start(self, show: bool = True) -> None:
        """Open devices (a device that fails stays in error; the kiosk still serves)."""
        for name, device in self.devices.all().items():
            try:
                device.open()
            except Exception as exc:
                self.devices.problems[name] = str(exc)
                log.error("device %s did not open: %s", name, exc)
        self.timer.start()
        if not show:  # nothing on screen: systemd is never told the terminal is up
            self._start_background()
            return
        # The attract screen first: operations (and their HTTP stack) and the other screens
        # start once it is painted, so a restarted kiosk is on screen as soon as it can be.
        self.window.first_painted.connect(self._start_background)
        self.window.first_painted.connect(self._notify_ready)
        if self.config.screen["fullscreen"]:
            self.window.setWindowFlag(Qt.FramelessWindowHint, True)
            self.window.showFullScreen()
        else:
            self.window.show()

    def _start_background(self) -> None:
        if self._started:  # once; and never after stop() (a late first paint of a closing window)
            return
        self._started = True
        self.ops.start()
        self._start_watchdog()
        self.window.build_screens_soon()

    def _notify_ready(self) -> None:
        """READY=1 once the window is on screen and its first screen painted (the unit
        file's promise): never for a window that is not shown."""
        if self.window.isVisible():
            self._notifier.notify_ready()

    def _start_watchdog(self) -> None:
        """Ping systemd's watchdog from the main loop: a hung GUI thread stops the pings,
        and systemd restarts the kiosk."""
        interval = self._notifier.ping_interval()
        if interval:
            self._ping = QTimer()
            self._ping.setInterval(int(interval * 1000))
            self._ping.timeout.connect(self._notifier.ping)
            self._ping.start()

    def open_technician(self) -> None:
        """The hidden gesture was made on an idle terminal: the PIN pad, then the tools."""
        if not self.flow.idle:
            return
        from screens.technician import TechnicianScreen

        self.window.show_technician(TechnicianScreen(self.ops.technician,
                                                     on_exit=self.close_technician,
                                                     run_async=self.bridge.run_async))

    def close_technician(self, reason: str = "done") -> None:
        """Leave technician mode (the technician pressed exit, or walked away)."""
        self.ops.technician.leave(reason)
        self.window.close_technician()

    def stop(self) -> None:
        self._started = True
        if self._ops is not None:
            self._ops.stop()
        if self._ping is not None:
            self._ping.stop()
        if self.voice is not None:
            self.qt.removeEventFilter(self.focus_speaker)
            self.window.forget(self.focus_speaker)
            self.voice.close()
        self.timer.stop()
        if self.code_scanning is not None:
            if self.code_scanning.key_filter is not None:
                self.window.forget(self.code_scanning.key_filter)
            self.code_scanning.close()
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
