"""The chrome around every resident screen: the header (where am I, what time is it, is the
network up, whom to call), the step indicator of a visit, the bottom bar (back and home
first, then repeat, volume, help, language, senior mode), the language chooser and the
idle countdown. Screens provide only their content; ``window.py`` composes these around it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kiosk.config import in_language
from kiosk.i18n import LANGUAGES, Translator
from kiosk.visit.steps import Step
from screens.design import COLOURS, tokens
from screens.icons import set_icon
from screens.qt import (
    QBoxLayout,
    QColor,
    QDate,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPainter,
    QPen,
    QPushButton,
    QRectF,
    QScrollArea,
    QScroller,
    QSize,
    QSizePolicy,
    Qt,
    QTime,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from screens.widgets import button, label

if TYPE_CHECKING:
    from kiosk.catalog.services import Service
    from kiosk.visit.flow import Flow

# Screens without chrome: the attract loop, the goodbye and the closed terminal speak alone.
NO_CHROME = {Step.ATTRACT, Step.GOODBYE, Step.OUT_OF_SERVICE}
# Which stage of a visit each step belongs to.
STAGE_OF: dict[Step, str] = {
    Step.INTRO: "choose",
    Step.PLACE_CARD: "identify", Step.PIN: "identify", Step.FACE: "identify",
    Step.INPUTS: "fill",
    Step.PROCESSING: "view", Step.RESULT: "view", Step.PRINTING: "view",
    Step.TAKE_DOCUMENTS: "view",
}
STAGE_TEXT = {"choose": "chrome.step_choose", "identify": "chrome.step_identify",
              "fill": "chrome.step_fill", "view": "chrome.step_view",
              "print": "chrome.step_print"}
BUSY = {Step.PROCESSING, Step.PRINTING}
COMPACT_BELOW_PX = 1100  # window heights below this get the icon-only tool row
SHORTEST_BELOW_PX = 900  # 1366×768: senior screens give up their spare lines


def short_panel(widget: QWidget) -> bool:
    """Is the window a short panel (1920×1080, 1280×1024, 1366×768), where the chrome is
    compact and the screens tighten?"""
    return widget.window().height() < COMPACT_BELOW_PX


def shortest_panel(widget: QWidget) -> bool:
    """Is the window the shortest panel (1366×768), where a senior screen drops what it can
    best spare (a title's size, a line under the title) to keep its rows whole?"""
    return widget.window().height() < SHORTEST_BELOW_PX


def tighten(screen: QWidget, elderly: bool, repeats: tuple[QWidget, ...] = ()) -> None:
    """On a short panel a screen's margins and spacing shrink to half the grid's unit and
    the buttons that repeat the bottom bar's (its own 返回) go: the content keeps its rows
    whole instead of being pushed under the chrome. Elsewhere the roomy defaults stay."""
    box = screen.layout()
    short = short_panel(screen)
    unit = tokens(elderly).gap_px // 2
    if short:
        box.setContentsMargins(unit * 2, unit, unit * 2, unit)
        box.setSpacing(unit)
    else:
        box.setContentsMargins(48, 40, 48, 40)
        box.setSpacing(28)
    for widget in repeats:
        widget.setVisible(not short)


def flick_scroll(area: QScrollArea) -> QScrollArea:
    """A scroll area a finger moves: a drag on its viewport scrolls it (kinetically, as on a
    phone; a touch panel's taps reach Qt as the left button), and a wide scroll bar in the
    theme's colours shows that more lies below. For the few places where content really is
    longer than a short panel (a senior summary, a long detail list, an intro's facts)."""
    area.setFrameShape(QFrame.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    area.setVerticalScrollBarPolicy(Qt.ScrollBarAsNeeded)
    area.viewport().setAutoFillBackground(False)
    area.setAutoFillBackground(False)
    bar = area.verticalScrollBar()
    bar.setObjectName("flick_bar")
    bar.setStyleSheet(
        f"QScrollBar:vertical {{ width: 20px; background: {COLOURS['surface']};"
        f" border-radius: 10px; margin: 0px; }}"
        f" QScrollBar::handle:vertical {{ background: {COLOURS['border']};"
        f" border-radius: 10px; min-height: 60px; }}"
        " QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical { height: 0px; }"
        " QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical { background: none; }")
    QScroller.grabGesture(area.viewport(), QScroller.LeftMouseButtonGesture)
    return area


def body_size(title: QLabel, small: bool, elderly: bool) -> None:
    """A title set in body size (still bold, still the mode's size: senior text stays
    senior-sized) where a short panel needs its lines, else in title size."""
    want = f"font-size: {tokens(elderly).text_px}px;" if small else ""
    if title.styleSheet() != want:
        title.setStyleSheet(want)


def arrange_with_pad(body: QGridLayout, info: QWidget, pad: QWidget,
                     actions: QWidget | None, landscape: bool) -> None:
    """A keypad screen's grid (PIN, inputs), laid out anew. Portrait: words, pad, actions
    from top to bottom. Landscape: words and actions on the left, the pad on the right with
    the full height. ``actions`` None: the screen keeps them elsewhere. Column stretches
    beyond the portrait one are the caller's."""
    for widget in (info, pad, actions):
        if widget is not None:
            body.removeWidget(widget)
    for i in range(3):
        body.setRowStretch(i, 0)
        body.setColumnStretch(i, 0)
    body.addWidget(info, 0, 0)
    if landscape:
        if actions is not None:
            body.addWidget(actions, 2, 0)
        body.addWidget(pad, 0, 1, 3, 1)
        body.setRowStretch(1, 1)
    else:
        body.addWidget(pad, 1, 0)
        if actions is not None:
            body.addWidget(actions, 3, 0)
        body.setRowStretch(2, 1)
        body.setColumnStretch(0, 1)


def visit_stages(service: Service | None) -> list[str]:
    """The stages of a visit to ``service``, from the catalog: choose, identify (when the
    service needs a card or the phone's code), fill in (when it has inputs), view / print."""
    if service is None:
        return ["choose", "identify", "view"]
    stages = ["choose"]
    if service.auth != "none":
        stages.append("identify")
    if service.inputs:
        stages.append("fill")
    stages.append("print" if (service.print_receipt or service.print_a4) else "view")
    return stages


def _mark(widget: QWidget, name: str, value: bool) -> None:
    """Set a state property the style sheet selects on, re-polishing only this widget."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class FitLabel(QLabel):
    """One line that shows its long text when it fits its width, else its short one (the
    service's name goes before the terminal number goes)."""

    def __init__(self) -> None:
        super().__init__()
        self.setTextFormat(Qt.PlainText)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.choices = ("", "")

    def set_choices(self, full: str, short: str) -> None:
        self.choices = (full, short)
        self._fit()

    def _fit(self) -> None:
        full, short = self.choices
        fits = self.fontMetrics().horizontalAdvance
        text = full if fits(full) <= self.width() else short if fits(short) <= self.width() else ""
        if self.text() != text:
            self.setText(text)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()


class ShrinkLabel(QLabel):
    """One line set smaller when its text would not fit (down to ``floor_px``, the mode's
    smallest text), rather than cut: a long hall name beside the senior clock."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setTextFormat(Qt.PlainText)
        self.base_px, self.floor_px = 0, 0

    def set_sizes(self, base_px: int, floor_px: int) -> None:
        self.base_px, self.floor_px = base_px, floor_px

    def fit(self) -> None:
        if not self.base_px or self.width() <= 1:
            return
        now_px = self.font().pixelSize()  # the advance scales with the size
        needed = self.fontMetrics().horizontalAdvance(self.text()) * self.base_px // max(now_px, 1)
        px = self.base_px if needed <= self.width() else max(
            self.floor_px, self.base_px * self.width() // max(needed, 1))
        want = "" if px == self.base_px else f"font-size: {px}px;"
        if self.styleSheet() != want:
            self.setStyleSheet(want)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit()


class Header(QWidget):
    """Hall and service name, terminal number, network state, the hotline, date and a live
    clock (the clock ticks itself; nothing else of the window redraws for it)."""

    def __init__(self, terminal: Mapping[str, str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("header")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.terminal = terminal
        line = QHBoxLayout(self)
        line.setContentsMargins(24, 10, 24, 10)
        line.setSpacing(16)
        self.emblem = QLabel()
        self.emblem.setProperty("role", "icon")
        line.addWidget(self.emblem)
        names = QVBoxLayout()
        names.setSpacing(0)
        self.hall = ShrinkLabel(terminal.get("hall", ""))
        self.hall.setObjectName("hall")
        self.hall.setProperty("role", "hall")
        self.service = FitLabel()
        self.service.setObjectName("terminal_name")
        names.addWidget(self.hall)
        names.addWidget(self.service)
        line.addLayout(names, 1)
        self.network = label(wrap=False)
        self.network.setObjectName("network")
        self.hotline = label(wrap=False)
        self.hotline.setObjectName("hotline")
        self.hotline.setProperty("role", "hotline")
        status = QVBoxLayout()
        status.setSpacing(0)
        status.addWidget(self.hotline, 0, Qt.AlignRight)
        status.addWidget(self.network, 0, Qt.AlignRight)
        line.addLayout(status)
        when = QVBoxLayout()
        when.setSpacing(0)
        self.clock = label(wrap=False, align=Qt.AlignRight | Qt.AlignVCenter)
        self.clock.setObjectName("clock")
        self.clock.setProperty("role", "clock")
        self.date = label(wrap=False, align=Qt.AlignRight | Qt.AlignVCenter)
        self.date.setObjectName("date")
        when.addWidget(self.clock)
        when.addWidget(self.date)
        line.addLayout(when)
        self.stacks = (names, status, when)
        self.compact = False
        self.t: Translator | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self._down: bool | None = None
        self._elderly: bool | None = None

    def render(self, t: Translator, *, network_down: bool, elderly: bool) -> None:
        self.t = t
        size = tokens(elderly)
        if self._elderly != elderly:
            set_icon(self.emblem, "hall", size.icon_px + 16, "on_header")
            self._elderly = elderly
            self._size_clock()
        self.hall.set_sizes(size.text_px, size.small_px)  # never below the mode's smallest text
        self.hall.setText(in_language(self.terminal, "hall", t.lang))  # the resident's script
        self.hall.fit()
        number = t.t("chrome.terminal", id=self.terminal.get("id", ""))
        self.service.set_choices(t.t("chrome.service") + " · " + number, number)
        self.hotline.setText(t.t("chrome.hotline", hotline=self.terminal.get("hotline", "12345")))
        self.network.setText(t.t("chrome.network_down" if network_down else "chrome.network_ok"))
        if self._down != network_down:
            _mark(self.network, "role", "problem" if network_down else "network")
            self._down = network_down
        self.tick()
        if not self.timer.isActive():
            self.timer.start()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.set_compact(self.window().height() < COMPACT_BELOW_PX)

    def set_compact(self, compact: bool) -> None:
        """On a short panel (1920×1080, 1280×1024, 1366×768) the header is one line: the
        two-line stacks lie down and the date goes (the clock stays), so the screen's content
        gets the height back."""
        if compact == self.compact:
            return
        self.compact = compact
        way = QBoxLayout.LeftToRight if compact else QBoxLayout.TopToBottom
        for stack in self.stacks:
            stack.setDirection(way)
            stack.setSpacing(16 if compact else 0)
        self.date.setVisible(not compact)
        self.layout().setContentsMargins(24, 4 if compact else 10, 24, 4 if compact else 10)
        self._size_clock()

    def _size_clock(self) -> None:
        """The clock in title size; on a short panel in body size (it still reads at a
        glance, and the line is as tall as the hall's name, not taller)."""
        want = (f"font-size: {tokens(bool(self._elderly)).text_px}px;"
                if self.compact and self._elderly is not None else "")
        if self.clock.styleSheet() != want:
            self.clock.setStyleSheet(want)

    def tick(self) -> None:
        """Redraw the clock and date (once a second while shown)."""
        if self.t is None or not self.isVisible():
            return
        t = self.t
        now = QTime.currentTime()
        today = QDate.currentDate()
        self.clock.setText(now.toString("HH:mm"))
        self.date.setText(date_text(t, today))


def date_text(t: Translator, day: QDate) -> str:
    """``day`` as the resident reads a date ("12月1日 週二", "Tue 1 Dec"): the header and the
    attract screen write it the same way."""
    weekdays = t.t("chrome.weekdays").split(",")
    months = t.t("chrome.months").split(",")
    return t.t("chrome.date", month=months[day.month() - 1], day=day.day(),
               weekday=weekdays[day.dayOfWeek() - 1])


class StepIndicator(QWidget):
    """The stages of this visit with the current one filled (and earlier ones ticked)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("steps")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.line = QHBoxLayout(self)
        self.line.setContentsMargins(24, 8, 24, 8)
        self.line.setSpacing(8)
        self.labels: list[QLabel] = []  # the stages shown now
        self._made: list[tuple[QLabel | None, QLabel]] = []  # (arrow before it, stage) kept
        self._key: tuple[object, ...] | None = None

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        edge = 2 if self.window().height() < COMPACT_BELOW_PX else 8  # a short panel's rows
        if self.line.contentsMargins().top() != edge:
            self.line.setContentsMargins(24, edge, 24, edge)

    def _slot(self, n: int) -> tuple[QLabel | None, QLabel]:
        """The n-th stage's label (and the arrow before it), made once and kept: a visit of
        four stages after one of three shows one more, it does not rebuild the row."""
        while len(self._made) <= n:
            arrow = None
            if self._made:
                arrow = label("›", wrap=False, align=Qt.AlignCenter)
                arrow.setProperty("role", "separator")
                self.line.addWidget(arrow)
            step = label(align=Qt.AlignCenter)
            step.setProperty("role", "step")
            step.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
            self.line.addWidget(step, 1)
            self._made.append((arrow, step))
        return self._made[n]

    def render(self, t: Translator, stages: list[str], current: str) -> None:
        key = (t.lang, tuple(stages), current)
        if key == self._key:
            return
        self._key = key
        self.labels = []
        now = stages.index(current) if current in stages else 0
        for n, stage in enumerate(stages):
            arrow, step = self._slot(n)
            name = t.t(STAGE_TEXT[stage])
            mark = "✓" if n < now else str(n + 1)
            step.setText(f"{mark} {name}")
            _mark(step, "current", n == now)  # re-polishes this label only, when it changed
            _mark(step, "done", n < now)
            step.setAccessibleName(t.t("chrome.step_of", n=n + 1, total=len(stages), name=name))
            self.labels.append(step)
        for n, (arrow, step) in enumerate(self._made):
            for widget in (arrow, step):
                if widget is not None and widget.isHidden() != (n >= len(stages)):
                    widget.setVisible(n < len(stages))


class BottomBar(QWidget):
    """返回 and 首页 dominant; 再听一遍, volume − / sound / +, 帮助, the language button and
    the senior-mode switch beside them. The voice buttons only signal: the app owns the voice.

    The bar lays itself out for the width it has: one row when everything fits, else the
    tools above the two big buttons (tools over two rows on a narrow screen in senior mode)."""

    repeat_requested = Signal()
    voice_toggle_requested = Signal()
    volume_requested = Signal(int)   # -1 quieter, +1 louder
    language_requested = Signal()

    def __init__(self, flow: Flow, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("bottombar")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.flow = flow
        self.rows = QVBoxLayout(self)
        self.rows.setContentsMargins(16, 12, 16, 12)
        self.back_button = button(on_click=flow.back, role="nav", name="back")
        self.home_button = button(on_click=flow.go_home, role="nav", name="home")
        self.repeat_button = button(role="tool", name="repeat", on_click=self.repeat_requested.emit)
        self.quieter = button("−", role="tool", name="volume_down",
                              on_click=lambda: self.volume_requested.emit(-1))
        self.voice_button = button(role="tool", name="voice",
                                   on_click=self.voice_toggle_requested.emit)
        self.louder = button("+", role="tool", name="volume_up",
                             on_click=lambda: self.volume_requested.emit(1))
        self.help_button = button(role="tool", name="help_bar", on_click=flow.open_help)
        self.language_button = button(role="tool", name="language",
                                      on_click=self.language_requested.emit)
        self.elderly_button = button(role="switch", name="elderly",
                                     on_click=lambda: flow.set_elderly(not flow.elderly))
        self.elderly_button.setCheckable(True)
        self.tools = [self.repeat_button, self.quieter, self.voice_button, self.louder,
                      self.help_button, self.language_button, self.elderly_button]
        for btn in (self.quieter, self.louder):
            btn.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        for btn in (*self.tools, self.back_button, self.home_button):
            btn.setParent(self)
        self.help_shown = True
        self.voice_on = True
        self._shape: tuple[object, ...] | None = None
        self._words: dict[QPushButton, str] = {}
        self._elderly: bool | None = None

    def render(self, t: Translator) -> None:
        flow = self.flow
        size = tokens(flow.elderly)
        if self._elderly != flow.elderly:
            icons = [(self.back_button, "back", "on_primary"), (self.home_button, "home", "on_primary"),
                     (self.repeat_button, "repeat", None), (self.help_button, "help", None),
                     (self.language_button, "language", None),
                     (self.quieter, "volume_down", None), (self.louder, "volume_up", None)]
            for btn, name, ink in icons:
                set_icon(btn, name, size.icon_px, ink)
            for btn in (self.quieter, self.louder):
                btn.setFixedSize(size.target_px, size.target_px)
            self._elderly = flow.elderly
        self.back_button.setText(t.t("common.back"))
        self.home_button.setText(t.t("common.home"))
        # on a short panel (1366×768, 1280×1024) the tools show their icons only: their
        # words stay as accessible names (spoken, exported) so the content keeps its height
        self._words = {}
        words = {
            self.repeat_button: t.t("common.repeat"),
            self.quieter: t.t("chrome.volume_down"),
            self.louder: t.t("chrome.volume_up"),
            self.voice_button: t.t("common.mute" if self.voice_on else "common.unmute"),
            self.help_button: t.t("home.help"),
            self.language_button: t.t("chrome.language"),
            self.elderly_button: t.t("chrome.senior"),
        }
        for btn, text in words.items():
            if btn.accessibleName() != text:
                btn.setAccessibleName(text)
        self._words = words
        set_icon(self.voice_button, "volume_up" if self.voice_on else "mute", size.icon_px)
        self.elderly_button.setChecked(flow.elderly)
        set_icon(self.elderly_button, "switch_on" if flow.elderly else "switch_off",
                 size.icon_px, "on_selected" if flow.elderly else None)
        busy = flow.step in BUSY
        self.home_button.setEnabled(not busy and flow.step is not Step.HOME)
        self.back_button.setEnabled(flow.step in (Step.INTRO, Step.SEARCH, Step.HELP, Step.RESULT,
                                                  Step.ERROR, Step.PLACE_CARD, Step.PIN,
                                                  Step.FACE, Step.INPUTS))
        # help opens from home only, and home has nothing to go back to: help takes 返回's place
        self.help_shown = flow.step is Step.HOME
        self.help_button.setVisible(self.help_shown)
        self.back_button.setVisible(not self.help_shown)
        for btn in (self.quieter, self.louder):
            btn.setEnabled(self.voice_on)
        self.relayout()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.relayout()

    def _label_tools(self, *, compact: bool) -> None:
        """Words on the tools, or (compact) their icons only; − / + keep their signs. The words stay as accessible names, spoken and exported."""
        for btn, text in self._words.items():
            if btn in (self.quieter, self.louder):
                text = "−" if btn is self.quieter else "+"
            elif compact:
                text = ""
            if btn.text() != text:
                btn.setText(text)
        size = tokens(self.flow.elderly)
        slack = 2 * (size.focus_px - size.border_px)  # the focus frame is thicker
        for b in (*self.tools, self.back_button, self.home_button):
            if b not in (self.quieter, self.louder):
                if compact and not b.text():  # an icon alone: a square target is enough
                    want = max(size.target_px, size.icon_px + 2 * size.focus_px)
                else:  # (a button's size hint does not depend on its minimum width)
                    want = b.sizeHint().width() + (slack if b.text() else 0)
                if b.minimumWidth() != want:  # unchanged: the bar's layout stays valid
                    b.setMinimumWidth(want)

    def relayout(self) -> None:
        """Place the buttons in as few rows as the width allows. On a short panel (1366×768,
        1280×1024) where one row of words does not fit, the tools show icons only, so the
        content keeps its height."""
        width = (self.width() if self.isVisible() else self.window().width()) - 32
        gap = tokens(self.flow.elderly).gap_px // 2

        def fits(row: list[QPushButton]) -> bool:
            need = sum(b.minimumWidth() for b in row)
            return need + gap * (len(row) - 1) <= width

        tools = [b for b in self.tools if b is not self.help_button or self.help_shown]
        back, home = self.back_button, self.home_button
        repeat, quieter, voice, louder, helps, language, elderly = self.tools
        navs = [home] if self.help_shown else [back, home]
        rows: list[list[QPushButton]] = [[*navs[:-1], *tools, home]]
        if self._words:
            self._label_tools(compact=False)
            if not fits(rows[0]) and self.window().height() < COMPACT_BELOW_PX:
                self._label_tools(compact=True)
                gap = 8
        if not fits(rows[0]):
            # the dominant pair along the bottom edge, the settings above them
            rows = [[quieter, voice, louder, language, elderly], [back, repeat, helps, home]]
        if not all(fits(r) for r in rows):
            rows = [[quieter, voice, louder, repeat], [helps, language, elderly], [back, home]]
        rows = [[b for b in row if b in tools or b in navs] for row in rows]
        short = self.window().height() < COMPACT_BELOW_PX
        edge = 6 if short else 12
        if self.rows.contentsMargins().top() != edge:
            self.rows.setContentsMargins(16, edge, 16, edge)
        # a short senior panel: 返回 / 首页 as tall as the tools (still wider, still filled),
        # which gives the screen a senior key's worth of height back
        want = (f"min-height: {tokens(True).target_px}px; padding: 2px 16px;"
                if short and self.flow.elderly else "")
        for nav in (back, home):
            if nav.styleSheet() != want:
                nav.setStyleSheet(want)
        shape = (width, gap, *(tuple(b.objectName() for b in r) for r in rows))
        if shape == self._shape:
            return
        self._shape = shape
        while self.rows.count():
            old = self.rows.takeAt(0).layout()
            while old.count():
                old.takeAt(0)
            old.deleteLater()
        self.rows.setSpacing(gap)
        for row in rows:
            line = QHBoxLayout()
            line.setSpacing(gap)
            for btn in row:
                line.addWidget(btn, 2 if btn.property("role") == "nav" else 0)
            self.rows.addLayout(line)


SPEECH = ("cmn", "yue", "en")  # the spoken languages the voice has (kiosk.voice.speaker)
SPEECH_TEXT = {"cmn": "chrome.speech_cmn", "yue": "chrome.speech_yue", "en": "chrome.speech_en"}
SPEECH_OF_SCRIPT = {"zh_CN": "cmn", "zh_HK": "yue", "en": "en"}


class LanguageChooser(QFrame):
    """The three scripts, each named in itself, and the spoken language apart from them
    (Cantonese speech with 简体 text), over a dimmed window; one tap chooses."""

    speech_requested = Signal(str)

    def __init__(self, flow: Flow, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("backdrop")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.flow = flow
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        self.panel = QFrame()
        self.panel.setObjectName("overlay")
        self.panel.setProperty("role", "dialog")
        box = QVBoxLayout(self.panel)
        box.setContentsMargins(40, 32, 40, 32)
        box.setSpacing(24)
        self.title = label(kind="title", align=Qt.AlignCenter)
        box.addWidget(self.title)
        self.buttons: dict[str, QPushButton] = {}
        scripts = QHBoxLayout()  # one row: the chooser fits a 768 px high panel in senior mode
        scripts.setSpacing(16)
        for lang in LANGUAGES:
            btn = button(role="choice", name=f"top_lang_{lang}",
                         on_click=lambda lang=lang: self.choose(lang))
            btn.setCheckable(True)
            self.buttons[lang] = btn
            scripts.addWidget(btn)
        box.addLayout(scripts)
        self.speech_title = label(align=Qt.AlignCenter)
        self.speech_title.setProperty("role", "hint")
        box.addWidget(self.speech_title)
        voices = QHBoxLayout()
        voices.setSpacing(16)
        self.speech_buttons: dict[str, QPushButton] = {}
        for speech in SPEECH:
            btn = button(role="choice", name=f"speech_{speech}",
                         on_click=lambda speech=speech: self.speak(speech))
            btn.setCheckable(True)
            self.speech_buttons[speech] = btn
            voices.addWidget(btn)
        box.addLayout(voices)
        self.speech: str | None = None  # None: speech follows the script
        self.close_button = button(role="secondary", name="language_close", on_click=self.hide)
        box.addWidget(self.close_button)
        outer.addWidget(self.panel, 0, Qt.AlignHCenter)
        outer.addStretch(1)
        self.hide()

    def choose(self, lang: str) -> None:
        self.hide()
        self.flow.set_language(lang)

    def speak(self, speech: str) -> None:
        """Speech in ``speech`` whatever the script (the app's voice says the screen again)."""
        self.speech = speech
        self.hide()
        self.speech_requested.emit(speech)

    def render(self, t: Translator) -> None:
        self.title.setText(t.t("chrome.choose_language"))
        for lang, btn in self.buttons.items():
            btn.setText(t.t(f"lang.{lang}"))
            btn.setChecked(lang == self.flow.language)
        self.speech_title.setText(t.t("chrome.speech"))
        spoken = self.speech or SPEECH_OF_SCRIPT.get(self.flow.language, "cmn")
        for speech, btn in self.speech_buttons.items():
            btn.setText(t.t(SPEECH_TEXT[speech]))
            btn.setChecked(speech == spoken)
        self.close_button.setText(t.t("common.back"))
        self.panel.setMinimumWidth(min(self.parentWidget().width() - 80, 900))

    def open(self) -> None:
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()


class SecondsRing(QWidget):
    """The seconds left, large, inside a ring that empties as they run out."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.seconds = 0
        self.fraction = 1.0
        self.setProperty("role", "countdown")
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)

    def set(self, seconds: int, fraction: float, diameter: int) -> None:
        self.seconds, self.fraction = seconds, max(0.0, min(1.0, fraction))
        self.setFixedSize(QSize(diameter, diameter))
        self.setAccessibleName(str(seconds))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        side = min(self.width(), self.height())
        pen_w = max(12, side // 14)
        box = QRectF(pen_w / 2, pen_w / 2, side - pen_w, side - pen_w)
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(QPen(QColor(COLOURS["surface"]), pen_w))
        p.drawEllipse(box)
        pen = QPen(QColor(COLOURS["warn_text"]), pen_w)
        pen.setCapStyle(Qt.RoundCap)
        p.setPen(pen)
        p.drawArc(box, 90 * 16, -int(360 * 16 * self.fraction))
        font = p.font()
        font.setPixelSize(int(side * 0.42))
        font.setBold(True)
        p.setFont(font)
        p.setPen(QColor(COLOURS["text"]))
        p.drawText(box, Qt.AlignCenter, str(self.seconds))
        p.end()


class CountdownOverlay(QFrame):
    """"Are you still there?" over a dimmed window: a large seconds ring, the kind words and
    a big "more time" button. Covers the whole window so nothing behind it can be tapped."""

    def __init__(self, flow: Flow, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("backdrop")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.flow = flow
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        self.panel = QFrame()
        self.panel.setObjectName("overlay")
        box = QVBoxLayout(self.panel)
        box.setContentsMargins(48, 40, 48, 40)
        box.setSpacing(24)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.ring = SecondsRing()
        self.text = label(align=Qt.AlignCenter)
        self.more = button(on_click=flow.more_time, role="primary", name="more_time")
        box.addWidget(self.title)
        box.addWidget(self.ring, 0, Qt.AlignHCenter)
        box.addWidget(self.text)
        box.addWidget(self.more)
        outer.addWidget(self.panel, 0, Qt.AlignHCenter)
        outer.addStretch(1)
        self.hide()

    def render(self, t: Translator, seconds: float) -> None:
        left = max(1, math.ceil(seconds - 1e-9))
        total = max(1.0, float(self.flow.countdown))
        parent = self.parentWidget()
        short_side = min(parent.width(), parent.height()) if parent is not None else 1080
        self.ring.set(left, seconds / total, short_side // 4)
        self.panel.setFixedWidth(min(short_side - 80, 900))
        self.title.setText(t.t("timeout.title"))
        self.text.setText(t.t("timeout.text", seconds=left))
        self.more.setText(t.t("common.more_time"))
