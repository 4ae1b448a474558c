"""Screens that mostly say something: a title and a hint, centred — with a busy ring while
the kiosk is working (processing, printing), without one for goodbye; out-of-service says
where else to go, and help lists the steps with pictures."""

from __future__ import annotations

from collections.abc import Mapping

from kiosk.config import in_language
from kiosk.i18n import Translator
from screens.icons import set_icon
from screens.pictures import BusyIndicator
from screens.qt import QGridLayout, QHBoxLayout, QLabel, QScrollArea, Qt, QVBoxLayout, QWidget
from screens.theme import sizes
from screens.widgets import Screen, label


def hall_help(t: Translator, terminal: Mapping[str, str], with_window: str,
              hotline_only: str) -> str:
    """"请到 3 号窗口，或拨打 12345" — the window from config when the hall has one."""
    hotline = terminal.get("hotline") or "12345"
    window = terminal.get("help_window", "")
    if window:
        return t.t(with_window, window=window, hotline=hotline)
    return t.t(hotline_only, hotline=hotline)


def terminal_facts(widget) -> Mapping[str, str]:
    """The hall's facts the window was given from config (hall, hotline, window, hours…)."""
    return getattr(widget.window(), "terminal", None) or {}


class MessageScreen(Screen):
    """A title, a hint and nothing to press."""

    name = "message"
    title_key, hint_key = "processing.title", "processing.hint"
    busy = False

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.addStretch(1)
        if self.busy:
            self.box.addWidget(BusyIndicator(), 0, Qt.AlignHCenter)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.box.addWidget(self.hint)
        self.box.addStretch(2)

    def render(self, t: Translator) -> None:
        self.title.setText(t.t(self.title_key))
        self.hint.setText(t.t(self.hint_key))


class ProcessingScreen(MessageScreen):
    name = "processing"
    busy = True


class PrintingScreen(MessageScreen):
    name = "printing"
    title_key, hint_key = "printing.title", "printing.hint"
    busy = True


class GoodbyeScreen(MessageScreen):
    name = "goodbye"
    title_key, hint_key = "goodbye.title", "goodbye.hint"


class OutOfServiceScreen(Screen):
    """Central ops closed this terminal: say so plainly, and where else to go — the nearest
    other terminal and the hall's opening hours from config, and the hotline."""

    name = "out_of_service"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.addStretch(2)
        self.picture = QLabel()
        self.picture.setObjectName("closed_icon")
        self.picture.setProperty("role", "icon")
        self.picture.setAlignment(Qt.AlignCenter)
        self.box.addWidget(self.picture)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        self.nearest = label(kind="subtitle", align=Qt.AlignCenter)
        self.nearest.setObjectName("nearest_terminal")
        self.nearest.setProperty("role", "hint")  # keeps its look under the new name
        self.hours = label(kind="subtitle", align=Qt.AlignCenter)
        self.hours.setObjectName("opening_hours")
        self.hours.setProperty("role", "hint")  # keeps its look under the new name
        self.hotline = label(kind="subtitle", align=Qt.AlignCenter)
        self.hotline.setObjectName("hotline_line")
        self.hotline.setProperty("role", "hint")  # keeps its look under the new name
        for widget in (self.title, self.hint, self.nearest, self.hours, self.hotline):
            self.box.addWidget(widget)
        self.box.addStretch(3)

    def render(self, t: Translator) -> None:
        facts = terminal_facts(self)
        set_icon(self.picture, "closed", 2 * sizes(self.flow.elderly).tile_icon_px, "warn_text")
        self.title.setText(t.t("out_of_service.title"))
        self.hint.setText(t.t("out_of_service.hint"))
        place = in_language(facts, "nearest_terminal", t.lang)
        hours = in_language(facts, "opening_hours", t.lang)
        self.nearest.setText(t.t("out_of_service.nearest", place=place) if place else "")
        self.nearest.setVisible(bool(place))
        self.hours.setText(t.t("out_of_service.hours", hours=hours) if hours else "")
        self.hours.setVisible(bool(hours))
        self.hotline.setText(t.t("out_of_service.hotline",
                                 hotline=facts.get("hotline") or "12345"))


HELP_STEPS = (("step1", "touch"), ("step2", "id_card"), ("step3", "keypad"), ("step4", "print"))


class HelpScreen(Screen):
    """How the terminal works: numbered steps, each with its picture, and where a person can
    help (window, 12345); 返回 in the bottom bar leads back."""

    name = "help"

    def __init__(self, flow, parent=None):
        from screens.chrome import flick_scroll

        super().__init__(flow, parent)
        # the steps scroll where a short senior panel has not the height for them all (a
        # finger drags them, a bar shows more); elsewhere they fit and nothing moves
        self.content = QWidget()
        self.content.setObjectName("help_content")
        self.content.setAutoFillBackground(False)
        page = QVBoxLayout(self.content)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(self.box.spacing())
        self.page = page
        self.scroll = flick_scroll(QScrollArea())
        self.scroll.setObjectName("help_scroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.content)
        self.box.addWidget(self.scroll, 1)
        self.title = label(kind="title")
        page.addWidget(self.title)
        self.steps: list[tuple[QLabel, QLabel, QLabel, str]] = []
        # the numbered steps one a row in portrait, two a row in landscape
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(36)
        self.grid.setVerticalSpacing(8)
        page.addLayout(self.grid)
        self.step_boxes: list[QWidget] = []
        self._columns = 0
        for number, (key, _icon) in enumerate(HELP_STEPS, start=1):
            holder = QWidget()
            line = QHBoxLayout(holder)
            line.setContentsMargins(0, 0, 0, 0)
            line.setSpacing(24)
            badge = label(str(number), kind="title", align=Qt.AlignCenter, wrap=False)
            badge.setObjectName("help_number")
            badge.setProperty("role", "title")  # a big bold number
            picture = QLabel()
            picture.setProperty("role", "icon")
            picture.setAlignment(Qt.AlignCenter)
            words = label(kind="subtitle")
            words.setObjectName(f"help_{key}")
            line.addWidget(badge)
            line.addWidget(picture)
            line.addWidget(words, 1)
            self.step_boxes.append(holder)
            self.steps.append((badge, picture, words, key))
        self.tips = label(kind="hint")
        self.people = label(kind="hint")
        self.people.setObjectName("help_people")
        self.people.setProperty("role", "hint")  # keeps its look under the new name
        page.addWidget(self.tips)
        page.addWidget(self.people)
        page.addStretch(1)  # the way back is the bottom bar's dominant 返回

    def render(self, t: Translator) -> None:
        tokens = sizes(self.flow.elderly)
        self.title.setText(t.t("help.title"))
        icons = dict(HELP_STEPS)
        for badge, picture, words, key in self.steps:
            badge.setMinimumWidth(tokens.title_px + 8)
            set_icon(picture, icons[key], tokens.tile_icon_px)
            words.setText(t.t(f"help.{key}"))
        self.tips.setText(t.t("help.tips"))
        self.people.setText(hall_help(t, terminal_facts(self), "help.window", "help.hotline"))
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        from screens.chrome import tighten

        tighten(self, self.flow.elderly)
        self.page.setSpacing(self.box.spacing())
        columns = 2 if self.width() > self.height() and self.width() > 1 else 1
        if columns == self._columns:
            return
        self._columns = columns
        for i, holder in enumerate(self.step_boxes):
            self.grid.removeWidget(holder)
            self.grid.addWidget(holder, i // columns, i % columns)
        for column in (0, 1):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)
