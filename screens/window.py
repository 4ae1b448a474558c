"""The kiosk window: the chrome (header, step indicator, bottom bar, language chooser, idle
countdown; ``screens/chrome.py``) around the stack of screens. It shows whatever step the
flow is on."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping

from kiosk.i18n import Translator
from kiosk.visit.flow import Flow, Step
from screens.attract import HIDDEN_CORNER as CORNER
from screens.chrome import (
    NO_CHROME,
    STAGE_OF,
    BottomBar,
    CountdownOverlay,
    Header,
    LanguageChooser,
    StepIndicator,
    visit_stages,
)
from screens.design import COLOURS, stylesheet
from screens.qt import (
    QApplication,
    QColor,
    QEvent,
    QImage,
    QObject,
    QPalette,
    QPushButton,
    QSize,
    QSizePolicy,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from screens.widgets import Screen, label

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


# the events the window's application-wide filter acts on (see ``KioskWindow.eventFilter``)
_UPDATE_REQUEST = QEvent.UpdateRequest
_KEY_PRESS = QEvent.KeyPress
_PRESSES = frozenset({QEvent.MouseButtonPress, QEvent.KeyPress, QEvent.TouchBegin})
_RELEASES = frozenset({QEvent.MouseButtonRelease, QEvent.TouchEnd, QEvent.TouchCancel})
_WATCHED = frozenset({_UPDATE_REQUEST, *_PRESSES, *_RELEASES})


def style_part(widget: QWidget, elderly: bool) -> None:
    """Give one part of the window (a screen, a piece of chrome) the mode's style sheet,
    unless it has it already. The two sheets are generated once and cached (``stylesheet``)."""
    if widget.property("senior") is not elderly:
        widget.setStyleSheet(stylesheet(elderly))
        widget.setProperty("senior", elderly)


def screen_class(step: Step) -> type[Screen]:
    module, name = SCREENS[step].split(":")
    cls: type[Screen] = getattr(importlib.import_module(f"screens.{module}"), name)
    return cls
class ScreenStack(QWidget):
    """The screens of both modes, one shown at a time over the space the chrome leaves.

    Not a ``QStackedWidget``: that one's layout asks every page, shown or not (two modes ×
    17 screens), for its size and height-for-width whenever anything in the window changes
    size, which was a third of every switch. Here the hidden pages take part in no layout: the
    shown page gets this widget's rectangle, and a page too tall for it is cut at the bottom
    (the layout test names that page) instead of pushing the bottom bar off the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pages: list[QWidget] = []
        self._current: QWidget | None = None
        self._next: QWidget | None = None  # the page about to be shown (``expect``)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Ignored)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, 0)  # whatever the chrome leaves; the window has a fixed size

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, 0)

    def addWidget(self, page: QWidget) -> None:  # noqa: N802 - QStackedWidget's name
        page.setParent(self)
        page.hide()
        self._pages.append(page)

    def removeWidget(self, page: QWidget) -> None:  # noqa: N802 - QStackedWidget's name
        if page in self._pages:
            self._pages.remove(page)
            page.hide()
            if page is self._current:
                self._current = None
            if page is self._next:
                self._next = None

    def count(self) -> int:
        return len(self._pages)

    def widget(self, index: int) -> QWidget:
        return self._pages[index]

    def currentWidget(self) -> QWidget | None:  # noqa: N802 - QStackedWidget's name
        return self._current

    def expect(self, page: QWidget | None) -> None:
        """``page`` is shown next: until it is (or ``None`` says it will not be), a resize of
        the stack sizes it, not the page still shown, which is hidden before any paint."""
        if page is not None and page not in self._pages:
            self.addWidget(page)
        self._next = page

    def setCurrentWidget(self, page: QWidget) -> None:  # noqa: N802 - QStackedWidget's name
        self._next = None
        if page is self._current:
            return
        if page not in self._pages:
            self.addWidget(page)
        old, self._current = self._current, page
        page.setGeometry(self.rect())  # before show: its layout is laid out once, at this size
        page.show()
        page.raise_()
        if old is not None:
            old.hide()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        page = self._next or self._current
        if page is not None:
            page.setGeometry(self.rect())


class _Screens(dict[Step, Screen]):
    """The window's screens of one mode (standard or senior), each built the first time it is
    needed: start-up builds only the attract screen, the rest follow after the first paint
    (``build_screens_soon``). Each mode keeps its own screens, styled once with its own
    sheet, so switching mode shows other widgets instead of re-polishing every widget."""

    def __init__(self, window: KioskWindow, elderly: bool) -> None:
        super().__init__()
        self._window = window
        self.elderly = elderly

    def __missing__(self, step: Step) -> Screen:
        screen = screen_class(step)(self._window.flow)
        self[step] = screen
        style_part(screen, self.elderly)
        self._window.stack.addWidget(screen)
        # opaque (its sheet's white, filled by Qt): showing a page repaints that page only,
        # not the window and the stack beneath it as well. Polishing clears the flag: after.
        screen.ensurePolished()
        screen.setAutoFillBackground(True)
        return screen


class _Chrome:
    """Header, step indicator and bottom bar of one mode, styled with that mode's sheet."""

    def __init__(self, window: KioskWindow, flow: Flow, terminal: dict[str, str],
                 elderly: bool) -> None:
        self.header = Header(terminal)
        self.steps = StepIndicator()
        self.bottombar = BottomBar(flow)
        bar = self.bottombar
        bar.repeat_requested.connect(window.repeat_requested)
        bar.voice_toggle_requested.connect(window.voice_toggle_requested)
        bar.volume_requested.connect(window.volume_requested)
        bar.language_requested.connect(window.open_language_chooser)
        for part in (self.header, self.steps, self.bottombar):
            part.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
            style_part(part, elderly)
            part.hide()

    def parts(self) -> tuple[QWidget, QWidget, QWidget]:
        return self.header, self.steps, self.bottombar


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
    volume_requested = Signal(int)  # -1 quieter, +1 louder: the app's voice answers
    speech_language_requested = Signal(str)  # cmn, yue, en: the chooser's spoken language
    technician_requested = Signal()
    first_painted = Signal()

    def __init__(self, flow: Flow, width: int = 1080, height: int = 1920,
                 terminal: Mapping[str, str] | None = None):
        super().__init__()
        self.flow = flow
        self.t = Translator(flow.language)
        self._elderly_applied: bool | None = None
        self.setObjectName("kiosk")
        self.setWindowTitle("kiosk-terminal")
        self.setFixedSize(width, height)
        # the window has no style sheet of its own (each part has its mode's): paint its
        # background in the palette's colour where a screen leaves space
        palette = self.palette()
        palette.setColor(QPalette.Window, QColor(COLOURS["background"]))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        terminal = dict(terminal or {"hall": "", "id": "", "hotline": "12345"})
        self.terminal = terminal  # the hall's facts screens show (window, hours, nearest terminal)
        # the chrome, once per mode (styled once each): a mode switch swaps which is shown
        self.chromes: dict[bool, _Chrome] = {}
        self.stack = ScreenStack()
        self.banner = label(kind="problem", align=Qt.AlignCenter)
        self.banner.setObjectName("network_banner")
        for elderly in (False, True):
            self.chromes[elderly] = _Chrome(self, flow, terminal, elderly)
        for elderly in (False, True):
            box.addWidget(self.chromes[elderly].header)
        for elderly in (False, True):
            box.addWidget(self.chromes[elderly].steps)
        box.addWidget(self.banner)
        box.addWidget(self.stack, 1)
        for elderly in (False, True):
            box.addWidget(self.chromes[elderly].bottombar)
        for chrome in self.chromes.values():
            for part in chrome.parts():  # opaque like the screens (see _Screens): when a bar
                part.ensurePolished()     # appears or changes, the window beneath is not
                part.setAutoFillBackground(True)  # filled first; its sheet paints it all
        self.modes = {elderly: _Screens(self, elderly) for elderly in (False, True)}
        self._first_paint: _FirstPaint | None = None
        self.chooser = LanguageChooser(flow, self)
        self.chooser.speech_requested.connect(self.speech_language_requested)
        # one countdown per mode, each styled once: showing it never re-polishes its tree
        # (a mode's first countdown after the other mode's cost 20-30 ms of style)
        self.overlays = {elderly: CountdownOverlay(flow, self) for elderly in (False, True)}
        for elderly, overlay in self.overlays.items():
            style_part(overlay, elderly)
        self.technician: QWidget | None = None
        self._prepare_after_paint: list[Screen] = []
        self._corner_taps: list[float] = []
        # the gesture's clock: tests give it their own, so a loaded machine cannot stretch
        # five quick taps past the window
        self.gesture_clock: Callable[[], float] = time.monotonic
        self._press_seen: int | None = None  # timestamp of the press being delivered, till release
        self.last_input = time.monotonic()
        flow.on_change(lambda _flow: self.show_state())
        flow.on_session_end(lambda _reason: self.clear_all())
        self.filters_ahead: list[QObject] = []  # app-wide filters that see events before ours
        QApplication.instance().installEventFilter(self)
        self.show_state()

    # the current mode's parts (tests, the demo and the app look buttons up in them)
    @property
    def screens(self) -> _Screens:
        return self.modes[self.flow.elderly]

    @property
    def header(self) -> Header:
        return self.chromes[self.flow.elderly].header

    @property
    def steps(self) -> StepIndicator:
        return self.chromes[self.flow.elderly].steps

    @property
    def bottombar(self) -> BottomBar:
        return self.chromes[self.flow.elderly].bottombar

    topbar = bottombar  # the old name

    @property
    def overlay(self) -> CountdownOverlay:
        """The countdown of the mode the resident is in."""
        return self.overlays[self.flow.elderly]

    def all_screens(self) -> list[Screen]:
        """Every screen built so far, of both modes."""
        return [screen for mode in self.modes.values() for screen in mode.values()]

    def keep_ahead(self, watcher: QObject) -> None:
        """``watcher``, an app-wide event filter installed after the window's, keeps seeing
        events before the window's filter when that one comes back after a render."""
        self.filters_ahead.append(watcher)

    def forget(self, watcher: QObject) -> None:
        """``watcher`` was removed from the application: never put it back."""
        if watcher in self.filters_ahead:
            self.filters_ahead.remove(watcher)

    def _rejoin(self, app: QApplication) -> None:
        """Put the window's filter back after a render, in its old place: Qt calls the filter
        installed last first, so the ones installed after it are moved in front again."""
        app.installEventFilter(self)
        for watcher in self.filters_ahead:
            app.removeEventFilter(watcher)
            app.installEventFilter(watcher)

    def eventFilter(self, obj, event) -> bool:
        # every event of the application passes here (a hundred per screen switch, one per
        # widget shown): the event kinds are module constants, compared by identity — each
        # ``QEvent.X`` looked up on the class cost a microsecond, five to ten per event
        kind = event.type()
        if kind not in _WATCHED:
            return False
        if kind is _UPDATE_REQUEST:
            if obj is self or obj is self.windowHandle():
                return self._paint_aside(obj, event)
            return False
        if kind in _PRESSES:
            self.last_input = time.monotonic()
            self.flow.touch()
            if kind is not _KEY_PRESS and self._new_press(event):
                self._corner_tap(event)
            elif kind is _KEY_PRESS and isinstance(obj, QWidget) and (
                    obj is self or self.isAncestorOf(obj)):  # not the QWindow: TypeError
                return self._key(event)
        else:  # a release: the next press is a new one
            self._press_seen = None
        return False

    def _paint_aside(self, obj: QObject, event: QEvent) -> bool:
        """Paint the window's frame with the filter stepped aside, as a render does: each
        widget painted is one more event, and no press or key arrives during a paint."""
        app = QApplication.instance()
        app.removeEventFilter(self)
        try:
            obj.event(event)
        finally:
            self._rejoin(app)
        ready, self._prepare_after_paint = self._prepare_after_paint, []
        for screen in ready:
            screen.prepare()
        return True  # delivered

    def _new_press(self, event) -> bool:
        """True once per physical press. This app-wide filter sees one press several times:
        on the window (QWindow), on the widget under the finger, on each parent it propagates
        to, and a touch again as the mouse press Qt synthesizes from it — all with the same
        timestamp and before the release."""
        stamp = event.timestamp()
        if self._press_seen is not None and (stamp == self._press_seen or not stamp):
            return False
        self._press_seen = stamp
        return True

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
        point = event.points()[0] if event.type() == QEvent.TouchBegin else event
        pos = self.mapFromGlobal(point.globalPosition().toPoint())
        if not (0 <= pos.x() < CORNER and 0 <= pos.y() < CORNER):
            self._corner_taps.clear()
            return
        now = self.gesture_clock()
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
        for mode in (self.flow.elderly, not self.flow.elderly):
            for step in SCREENS:
                self.modes[mode][step]

    def build_screens_soon(self) -> None:
        """After the first paint: build the screens not yet shown, one per turn of the event
        loop, so the resident's first tap finds them ready and a touch is never kept waiting."""
        missing = [(mode, step) for mode in (self.flow.elderly, not self.flow.elderly)
                   for step in SCREENS if step not in self.modes[mode]]

        def next_one() -> None:
            while missing and missing[0][1] in self.modes[missing[0][0]]:
                missing.pop(0)
            if missing:
                mode, step = missing.pop(0)
                self.modes[mode][step]
                QTimer.singleShot(0, self, next_one)

        QTimer.singleShot(0, self, next_one)

    def set_voice_on(self, on: bool) -> None:
        """The app's voice was switched on or off: the mute button says which."""
        for chrome in self.chromes.values():
            chrome.bottombar.voice_on = on
        self.show_state()

    def open_language_chooser(self) -> None:
        style_part(self.chooser, self.flow.elderly)
        self.chooser.render(self.t)
        self.chooser.open()

    def show_face_frame(self, image: QImage, prompt_code: str, progress: float) -> None:
        """The newest camera frame and the face gate's prompt, while on the face step."""
        screen = self.screens[Step.FACE]
        screen.show_frame(image, prompt_code, progress)  # type: ignore[attr-defined]

    def show_technician(self, screen: QWidget) -> None:
        self.close_technician()
        self.technician = screen
        style_part(screen, self.flow.elderly)
        self.stack.addWidget(screen)
        self.stack.setCurrentWidget(screen)
        for chrome in self.chromes.values():
            for part in chrome.parts():
                part.hide()
        self.chooser.hide()

    def close_technician(self) -> None:
        if self.technician is not None:
            self.stack.removeWidget(self.technician)
            self.technician.deleteLater()
            self.technician = None
            self.show_state()

    def clear_all(self) -> None:
        """A session ended: no screen may keep anything of the resident's (nor the spoken
        language they chose)."""
        self.chooser.speech = None
        for screen in self.all_screens():
            screen.clear()

    def current_screen(self) -> Screen:
        return self.screens[self.flow.step]

    def _switch_to(self, screen: Screen) -> None:
        """Show ``screen``. A focus left inside the page being hidden is dropped first: Qt
        would otherwise walk the whole focus chain (every widget of both modes) to move it,
        milliseconds per switch; the new page's first button takes the focus instead."""
        old = self.stack.currentWidget()
        if old is screen:
            return
        focus = QApplication.focusWidget()
        had_focus = focus is not None and old is not None and old.isAncestorOf(focus)
        if had_focus:
            focus.clearFocus()
        self.stack.setCurrentWidget(screen)
        if had_focus:
            first = screen.findChild(QPushButton)
            if first is not None and first.isVisibleTo(screen):
                first.setFocus(Qt.OtherFocusReason)

    def show_state(self) -> None:
        """Render the flow's step. The window's app-wide filter steps aside meanwhile: a
        render sends a few hundred events (show, hide, polish, move …), each a call into
        Python for a filter that only wants presses and keys, and no press or key can arrive
        while this runs (they come from the event loop, which is not running now)."""
        app = QApplication.instance()
        app.removeEventFilter(self)
        try:
            self._show_state()
        finally:
            self._rejoin(app)

    def _show_state(self) -> None:
        flow = self.flow
        if self._elderly_applied is not None and self._elderly_applied != flow.elderly:
            for part in self.chromes[self._elderly_applied].parts():
                part.hide()  # the other mode's chrome steps aside; its screens stay built
        self._elderly_applied = flow.elderly
        self.t.set_language(flow.language)
        screen = self.screens[flow.step]
        if self.technician is not None:
            screen.render(self.t)
            return  # technician mode covers the resident screens until it is left
        # the chrome first, and the window laid out with it: the stack has its final size
        # before the screen renders and is shown, so the screen is laid out once, at that
        # size (shown first, it was laid out again when the chrome came or went)
        self.stack.expect(screen)
        try:
            if self._show_chrome():
                self.layout().activate()
            screen.render(self.t)
            self._switch_to(screen)
        finally:
            self.stack.expect(None)
        twin = self.modes[not flow.elderly].get(flow.step)  # built already, or not at all
        # once this frame is painted: work ahead (a switch of language or mode finds it done)
        self._prepare_after_paint = [screen] + ([twin] if twin is not None else [])
        if flow.countdown_remaining is not None:
            self.overlay.render(self.t, flow.countdown_remaining)
            self.overlay.setGeometry(self.rect())
            self.overlay.show()
            self.overlay.raise_()
        else:
            self.overlay.hide()

    def _chrome_shown(self) -> tuple[bool, ...]:
        parts = (*self.chromes[False].parts(), *self.chromes[True].parts(), self.banner)
        return tuple(part.isVisibleTo(self) for part in parts)

    def _show_chrome(self) -> bool:
        """Header, step indicator, bottom bar and banner for the flow's step, rendered.
        True when one came or went (the space left for the screens changed)."""
        flow = self.flow
        before = self._chrome_shown()
        chrome = flow.step not in NO_CHROME
        self.header.setVisible(chrome)
        self.bottombar.setVisible(chrome)
        if chrome:
            self.header.render(self.t, network_down=flow.network_down, elderly=flow.elderly)
            self.bottombar.render(self.t)
        stage = STAGE_OF.get(flow.step)
        self.steps.setVisible(stage is not None)
        if stage is not None:
            stages = visit_stages(flow.service)
            if stage == "view" and stages[-1] == "print":
                stage = "print"
            self.steps.render(self.t, stages, stage)
        if not chrome:
            self.chooser.hide()
        elif self.chooser.isVisible():
            style_part(self.chooser, flow.elderly)
            self.chooser.render(self.t)
        self.banner.setText(self.t.t("banner.network_down"))
        if flow.network_down and chrome:
            style_part(self.banner, flow.elderly)
        self.banner.setVisible(flow.network_down and chrome)
        self.overlays[not flow.elderly].hide()
        return self._chrome_shown() != before
