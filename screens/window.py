"""The kiosk window: a top bar (language, senior mode, home, exit), the stack of screens,
and the idle-countdown overlay. It shows whatever step the flow is on."""

from __future__ import annotations

import importlib
import time

from kiosk.i18n import LANGUAGES, Translator
from kiosk.visit.flow import Flow, Step
from screens.attract import HIDDEN_CORNER as CORNER
from screens.qt import (
    QApplication,
    QEvent,
    QFrame,
    QHBoxLayout,
    QImage,
    QObject,
    QPushButton,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from screens.theme import stylesheet
from screens.widgets import Screen, button, label

# Which screen shows which step, as module:class: a screen's module is imported when the
# screen is first built, so starting the kiosk loads the attract screen's code only.
SCREENS: dict[Step, str] = {
    Step.ATTRACT: "attract:AttractScreen",
    Step.HOME: "home:HomeScreen",
    Step.SEARCH: "search:SearchScreen",
    Step.HELP: "messages:HelpScreen",
    Step.INTRO: "intro:IntroScreen",
    Step.PLACE_CARD: "place_card:PlaceCardScreen",
    Step.PIN: "pin:PinScreen",
    Step.FACE: "face:FaceScreen",
    Step.INPUTS: "inputs:InputsScreen",
    Step.PROCESSING: "messages:ProcessingScreen",
    Step.RESULT: "result:ResultScreen",
    Step.PRINTING: "messages:PrintingScreen",
    Step.TAKE_DOCUMENTS: "finish:TakeDocumentsScreen",
    Step.RATING: "finish:RatingScreen",
    Step.GOODBYE: "messages:GoodbyeScreen",
    Step.ERROR: "finish:ErrorScreen",
    Step.OUT_OF_SERVICE: "messages:OutOfServiceScreen",
}


def screen_class(step: Step) -> type[Screen]:
    module, name = SCREENS[step].split(":")
    cls: type[Screen] = getattr(importlib.import_module(f"screens.{module}"), name)
    return cls
_NO_TOPBAR = {Step.ATTRACT, Step.GOODBYE, Step.OUT_OF_SERVICE}


class TopBar(QWidget):
    """Language, senior mode, say-again, mute, home, exit. The voice buttons only signal:
    the app owns the voice and tells the window whether it is on."""

    repeat_requested = Signal()
    voice_toggle_requested = Signal()

    def __init__(self, flow: Flow, parent=None):
        super().__init__(parent)
        self.setObjectName("topbar")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.flow = flow
        rows = QVBoxLayout(self)
        rows.setContentsMargins(16, 12, 16, 12)
        self.first, self.second = QHBoxLayout(), QHBoxLayout()
        rows.addLayout(self.first)
        rows.addLayout(self.second)
        line = self.first
        self.lang_buttons = {}
        for lang in LANGUAGES:
            btn = button(role="lang", name=f"top_lang_{lang}",
                         on_click=lambda lang=lang: flow.set_language(lang))
            btn.setCheckable(True)
            self.lang_buttons[lang] = btn
            line.addWidget(btn)
        self.elderly_button = button(role="lang", name="elderly",
                                     on_click=lambda: flow.set_elderly(not flow.elderly))
        line.addWidget(self.elderly_button)
        self.repeat_button = button(role="lang", name="repeat",
                                    on_click=self.repeat_requested.emit)
        self.voice_button = button(role="lang", name="voice",
                                   on_click=self.voice_toggle_requested.emit)
        self.home_button = button(on_click=flow.go_home, name="home")
        self.exit_button = button(on_click=flow.cancel, name="exit")
        for btn in (self.repeat_button, self.voice_button, self.home_button, self.exit_button):
            self.second.addWidget(btn)
        self.voice_on = True

    def render(self, t: Translator) -> None:
        self.repeat_button.setText(t.t("common.repeat"))
        self.voice_button.setText(t.t("common.mute" if self.voice_on else "common.unmute"))
        for lang, btn in self.lang_buttons.items():
            btn.setText(t.t(f"lang.{lang}"))
            btn.setChecked(lang == self.flow.language)
        self.elderly_button.setText(t.t("common.elderly_off" if self.flow.elderly
                                        else "common.elderly_on"))
        self.home_button.setText(t.t("common.home"))
        self.exit_button.setText(t.t("common.exit"))
        busy = self.flow.step in (Step.PROCESSING, Step.PRINTING)
        self.home_button.setEnabled(not busy)


class CountdownOverlay(QFrame):
    """"Are you still there?" with the seconds left and a big "more time" button."""

    def __init__(self, flow: Flow, parent=None):
        super().__init__(parent)
        self.setObjectName("overlay")
        box = QVBoxLayout(self)
        box.setContentsMargins(40, 40, 40, 40)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.text = label(align=Qt.AlignCenter)
        self.more = button(on_click=flow.more_time, role="primary", name="more_time")
        for widget in (self.title, self.text, self.more):
            box.addWidget(widget)
        self.hide()

    def render(self, t: Translator, seconds: float) -> None:
        self.title.setText(t.t("timeout.title"))
        self.text.setText(t.t("timeout.text", seconds=max(1, round(seconds))))
        self.more.setText(t.t("common.more_time"))


class _Screens(dict[Step, Screen]):
    """The window's screens, each built the first time it is needed: start-up builds only
    the attract screen, the rest follow after the first paint (``build_screens_soon``)."""

    def __init__(self, window: KioskWindow) -> None:
        super().__init__()
        self._window = window

    def __missing__(self, step: Step) -> Screen:
        screen = screen_class(step)(self._window.flow)
        self[step] = screen
        self._window.stack.addWidget(screen)
        return screen


class _FirstPaint(QObject):
    """Emits the window's ``first_painted`` once the first screen has been painted."""

    def __init__(self, window: KioskWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self._window, self._window.first_painted.emit)
        return False


class KioskWindow(QWidget):
    """Renders the flow; every touch or key tells the flow the resident is still here.

    What is not the flow's reaches the app only through signals (say again, mute, the hidden
    technician gesture); the app answers through the window's methods, never its widgets."""

    repeat_requested = Signal()
    voice_toggle_requested = Signal()
    technician_requested = Signal()
    first_painted = Signal()

    def __init__(self, flow: Flow, width: int = 1080, height: int = 1920):
        super().__init__()
        self.flow = flow
        self.t = Translator(flow.language)
        self._elderly_applied: bool | None = None
        self.setObjectName("kiosk")
        self.setWindowTitle("kiosk-terminal")
        self.setFixedSize(width, height)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        self.topbar = TopBar(flow)
        self.topbar.repeat_requested.connect(self.repeat_requested)
        self.topbar.voice_toggle_requested.connect(self.voice_toggle_requested)
        box.addWidget(self.topbar)
        self.banner = label(kind="problem", align=Qt.AlignCenter)
        self.banner.setObjectName("network_banner")
        box.addWidget(self.banner)
        self.stack = QStackedWidget()
        box.addWidget(self.stack, 1)
        self.screens = _Screens(self)
        self._first_paint: _FirstPaint | None = None
        self.overlay = CountdownOverlay(flow, self)
        self.technician: QWidget | None = None
        self._corner_taps: list[float] = []
        self.last_input = time.monotonic()
        flow.on_change(lambda _flow: self.show_state())
        flow.on_session_end(lambda _reason: self.clear_all())
        QApplication.instance().installEventFilter(self)
        self.show_state()

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.MouseButtonPress, QEvent.KeyPress, QEvent.TouchBegin):
            self.last_input = time.monotonic()
            self.flow.touch()
            if event.type() == QEvent.MouseButtonPress:
                self._corner_tap(event)
            elif event.type() == QEvent.KeyPress and (obj is self or self.isAncestorOf(obj)):
                return self._key(event)
        return False

    def _key(self, event) -> bool:
        """A physical keypad works every screen: arrows and Tab move, Enter presses,
        Escape goes back (or answers "more time" on the countdown)."""
        key = event.key()
        if key in (Qt.Key_Return, Qt.Key_Enter):
            focused = QApplication.focusWidget()
            if isinstance(focused, QPushButton) and focused.isEnabled():
                focused.click()
                return True
        elif key == Qt.Key_Escape:
            if self.flow.countdown_remaining is not None:
                self.flow.more_time()
            else:
                self.flow.back()
            return True
        elif key in (Qt.Key_Down, Qt.Key_Right):
            return self.focusNextPrevChild(True)
        elif key in (Qt.Key_Up, Qt.Key_Left):
            return self.focusNextPrevChild(False)
        return False

    def _corner_tap(self, event) -> None:
        """Five taps in the top-left corner within three seconds open technician mode."""
        pos = self.mapFromGlobal(event.globalPosition().toPoint())
        if not (0 <= pos.x() < CORNER and 0 <= pos.y() < CORNER):
            self._corner_taps.clear()
            return
        now = time.monotonic()
        self._corner_taps = [t for t in self._corner_taps if now - t < 3.0] + [now]
        if len(self._corner_taps) >= 5:
            self._corner_taps.clear()
            self.technician_requested.emit()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._first_paint is None:
            self._first_paint = _FirstPaint(self)
            self.current_screen().installEventFilter(self._first_paint)

    def build_all_screens(self) -> None:
        """Build every screen now (benches and screenshot runs want them all at once)."""
        for step in SCREENS:
            self.screens[step]

    def build_screens_soon(self) -> None:
        """After the first paint: build the screens not yet shown, one per turn of the event
        loop, so the resident's first tap finds them ready and a touch is never kept waiting."""
        missing = [step for step in SCREENS if step not in self.screens]

        def next_one() -> None:
            while missing and missing[0] in self.screens:
                missing.pop(0)
            if missing:
                self.screens[missing.pop(0)]
                QTimer.singleShot(0, self, next_one)

        QTimer.singleShot(0, self, next_one)

    def set_voice_on(self, on: bool) -> None:
        """The app's voice was switched on or off: the mute button says which."""
        self.topbar.voice_on = on
        self.show_state()

    def show_face_frame(self, image: QImage, prompt_code: str, progress: float) -> None:
        """The newest camera frame and the face gate's prompt, while on the face step."""
        screen = self.screens[Step.FACE]
        screen.show_frame(image, prompt_code, progress)  # type: ignore[attr-defined]

    def show_technician(self, screen: QWidget) -> None:
        self.close_technician()
        self.technician = screen
        self.stack.addWidget(screen)
        self.stack.setCurrentWidget(screen)
        self.topbar.hide()

    def close_technician(self) -> None:
        if self.technician is not None:
            self.stack.removeWidget(self.technician)
            self.technician.deleteLater()
            self.technician = None
            self.show_state()

    def clear_all(self) -> None:
        """A session ended: no screen may keep anything of the resident's."""
        for screen in self.screens.values():
            screen.clear()

    def current_screen(self) -> Screen:
        return self.screens[self.flow.step]

    def show_state(self) -> None:
        flow = self.flow
        if self._elderly_applied != flow.elderly:
            self.setStyleSheet(stylesheet(flow.elderly))
            self._elderly_applied = flow.elderly
        self.t.set_language(flow.language)
        screen = self.screens[flow.step]
        screen.render(self.t)
        if self.technician is not None:
            return  # technician mode covers the resident screens until it is left
        self.stack.setCurrentWidget(screen)
        self.topbar.setVisible(flow.step not in _NO_TOPBAR)
        self.topbar.render(self.t)
        self.banner.setText(self.t.t("banner.network_down"))
        self.banner.setVisible(flow.network_down and flow.step not in _NO_TOPBAR)
        if flow.countdown_remaining is not None:
            self.overlay.render(self.t, flow.countdown_remaining)
            margin = 80
            self.overlay.setGeometry(margin, self.height() // 3, self.width() - 2 * margin,
                                     self.height() // 3)
            self.overlay.show()
            self.overlay.raise_()
        else:
            self.overlay.hide()
