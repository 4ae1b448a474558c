"""The end of a visit: take your documents, rate the service (好差评), or an error."""

from __future__ import annotations

from kiosk.i18n import Translator
from kiosk.visit.flow import RATING_LEVELS, staff_code
from screens.chrome import short_panel, tighten
from screens.icons import set_icon
from screens.keypad import Reflow
from screens.messages import hall_help, terminal_facts
from screens.qt import QHBoxLayout, QLabel, Qt
from screens.theme import sizes
from screens.widgets import Screen, button, label


class TakeDocumentsScreen(Screen):
    name = "take_documents"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.addStretch(1)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.box.addWidget(self.hint)
        # the reader still sees the card after a reminder: said again, and shown here
        self.reminder = label(kind="problem", align=Qt.AlignCenter)
        self.reminder.setProperty("role", "problem")
        self.reminder.setObjectName("card_still_there")
        self.box.addWidget(self.reminder)
        self.box.addStretch(1)
        self.done_button = button(on_click=self.flow.documents_taken, role="primary", name="taken")
        self.box.addWidget(self.done_button)

    def render(self, t: Translator) -> None:
        self.title.setText(t.t("take.title"))
        self.hint.setText(t.t("take.hint"))
        waiting = self.flow.waiting_to_be_taken  # a card first, else a receipt in the presenter
        reminding = bool(self.flow.take_reminders and waiting)
        self.reminder.setText(t.t(f"take.{waiting}_still_there") if reminding else "")
        self.reminder.setVisible(reminding)
        self.done_button.setText(t.t("take.done"))


LOW_LEVELS = ("dissatisfied", "very_dissatisfied")
REASONS = ("slow", "hard_to_use", "wrong_result", "device_fault", "printing")


class RatingScreen(Screen):
    """好差评: five levels; a low one asks what went wrong (any number of reasons)."""

    name = "rating"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.low_level: str | None = None
        self.reasons: set[str] = set()
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.level_buttons = {}
        # one a row where the panel is tall, side by side where it is short
        self.levels = Reflow(1, gap=16)
        self.box.addWidget(self.levels)
        self.reasons_grid = Reflow(1, gap=16)
        self.box.addWidget(self.reasons_grid)
        for level in RATING_LEVELS:
            # Five equal choices: none pre-selected, none weighted by colour (好差评 rules).
            btn = button(on_click=lambda level=level: self._choose(level), role="choice",
                         name=f"rate_{level}")
            btn.setProperty("level", level)
            btn.setProperty("selected", False)
            self.level_buttons[level] = btn
            self.levels.add(btn)
        self.reason_buttons = {}
        for reason in REASONS:
            btn = button(on_click=lambda reason=reason: self._toggle(reason), name=f"reason_{reason}")
            btn.setCheckable(True)
            btn.setProperty("role", "choice")
            self.reason_buttons[reason] = btn
            self.reasons_grid.add(btn)
        self.box.addStretch(1)
        # skip (and send) close the grid of choices: on a short panel they share its rows
        self.send_button = self.reasons_grid.add(
            button(on_click=self._send, role="primary", name="send_rating"))
        self.skip_button = button(on_click=self.flow.skip_rating, name="skip")

    def _choose(self, level: str) -> None:
        if level in LOW_LEVELS:
            self.low_level = level
            self.flow.touch()
            self.render(self._t)
        else:
            self.flow.rate(level)

    def _toggle(self, reason: str) -> None:
        self.flow.touch()
        self.reasons ^= {reason}

    def _send(self) -> None:
        if self.low_level is not None:
            level, reasons = self.low_level, tuple(sorted(self.reasons))
            self.clear()
            self.flow.rate(level, reasons)

    def clear(self) -> None:
        self.low_level = None
        self.reasons = set()
        for btn in self.reason_buttons.values():
            btn.setChecked(False)

    def render(self, t: Translator) -> None:
        self._t = t
        asking = self.low_level is not None
        self.title.setText(t.t("rating.why" if asking else "rating.title"))
        for level, btn in self.level_buttons.items():
            btn.setText(t.t(f"rating.{level}"))
            btn.setVisible(not asking)
        for reason, btn in self.reason_buttons.items():
            btn.setText(t.t(f"rating.reason.{reason}"))
            btn.setVisible(asking)
        self.send_button.setText(t.t("rating.send"))
        self.send_button.setVisible(asking)
        self.skip_button.setText(t.t("rating.skip"))
        self.levels.take(self.skip_button)
        self.reasons_grid.take(self.skip_button)
        grid = self.reasons_grid if asking else self.levels
        grid.items.insert(len(grid.items) - 1 if asking else len(grid.items), self.skip_button)
        self.skip_button.setParent(grid)
        self.skip_button.show()
        self.levels.setVisible(not asking)
        self.reasons_grid.setVisible(asking)
        for grid in (self.levels, self.reasons_grid):
            grid.relayout()
        tighten(self, self.flow.elderly)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        tighten(self, self.flow.elderly)


PRINTER_ERRORS = ("errors.printer_paper_out", "errors.printer_unavailable", "errors.print_failed")


def error_icon(key: str) -> str:
    if key in ("central.unavailable", "central.timeout"):
        return "network_down"
    if key in PRINTER_ERRORS:
        return "printer"
    return "warning"


class ErrorScreen(Screen):
    """Every error a resident can meet: an icon, what happened in one plain sentence, 重试
    where a second try can help, where to get help (window, 12345), and a short code for
    the staff — never the technical cause."""

    name = "error"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.addStretch(1)
        self.picture = QLabel()
        self.picture.setObjectName("error_icon")
        self.picture.setProperty("role", "icon")
        self.picture.setAlignment(Qt.AlignCenter)
        self.box.addWidget(self.picture)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.sentence = label(kind="problem", align=Qt.AlignCenter)
        self.sentence.setProperty("role", "problem")
        self.help = label(kind="subtitle", align=Qt.AlignCenter)
        self.help.setObjectName("error_help")
        self.help.setProperty("role", "hint")  # keeps its look under the new name
        self.code = label(kind="hint", align=Qt.AlignCenter)
        self.code.setObjectName("error_code")
        self.code.setProperty("role", "hint")  # keeps its look under the new name
        # on a short panel the icon stands beside the title, the two centred as one group
        self.heading = QHBoxLayout()
        self.heading.addStretch(0)
        self.heading.addWidget(self.title, 1)
        self.heading.addStretch(0)
        self.box.addLayout(self.heading)
        self.box.addWidget(self.sentence)
        self.footer = QHBoxLayout()  # on a short panel where to get help and the code share a line
        self.footer.setSpacing(24)
        self.box.addLayout(self.footer)
        self.box.addWidget(self.help)
        self.box.addWidget(self.code)
        self.box.addStretch(1)
        self.retry_button = button(on_click=self.flow.retry, role="primary", name="error_retry")
        set_icon(self.retry_button, "retry", sizes(False).icon_px, "on_primary")
        self.box.addWidget(self.retry_button)
        self.home_button = button(on_click=self.flow.go_home, role="secondary", name="error_home")
        self.exit_button = button(on_click=self.flow.cancel, role="secondary", name="error_exit")
        self.actions = self.row(self.exit_button, self.home_button)
        self._short: tuple | None = None

    def _fit(self) -> None:
        """On a short panel 重试 joins the row of exits and the icon is smaller, so the one
        sentence and the staff code keep their lines above the chrome's bottom bar."""
        tighten(self, self.flow.elderly)
        short = short_panel(self)
        if short:  # lines of one message: closer than the grid's unit
            self.box.setSpacing(sizes(self.flow.elderly).gap_px // 4)
        key = (short, self.flow.error_key, self.flow.elderly)
        if key == self._short:
            return
        self._short = key
        if short:
            self.actions.addWidget(self.retry_button)
            self.heading.insertWidget(1, self.picture)
            self.title.setWordWrap(False)  # one line beside the icon, not squeezed to two
            for at, stretch in enumerate((1, 0, 0, 1)):  # stretch, icon, title, stretch
                self.heading.setStretch(at, stretch)
            for widget in (self.help, self.code):
                self.box.removeWidget(widget)
                self.footer.addWidget(widget, 1)
        elif self.actions.indexOf(self.retry_button) >= 0:
            self.actions.removeWidget(self.retry_button)
            self.box.insertWidget(self.box.count() - 1, self.retry_button)
            self.heading.removeWidget(self.picture)
            self.title.setWordWrap(True)
            for at, stretch in enumerate((0, 1, 0)):  # the title across the width
                self.heading.setStretch(at, stretch)
            self.box.insertWidget(1, self.picture)
            for widget in (self.help, self.code):
                self.footer.removeWidget(widget)
            at = self.box.indexOf(self.sentence) + 2  # below the (empty) footer line
            self.box.insertWidget(at, self.help)
            self.box.insertWidget(at + 1, self.code)
        self.home_button.setVisible(not short)  # the bottom bar's 首页 does the same
        set_icon(self.picture, error_icon(self.flow.error_key or "errors.service_failed"),
                 (1 if short else 2) * sizes(self.flow.elderly).tile_icon_px, "warn_text")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def render(self, t: Translator) -> None:
        key = self.flow.error_key or "errors.service_failed"
        self.title.setText(t.t("error.title"))
        self.sentence.setText(t.t(key))
        self.help.setText(hall_help(t, terminal_facts(self), "error.window", "error.hotline"))
        self.code.setText(t.t("error.code", code=staff_code(key)))
        self.retry_button.setText(t.t("error.retry"))
        self.retry_button.setVisible(self.flow.error_retry is not None)
        self.home_button.setText(t.t("error.home"))
        self.exit_button.setText(t.t("common.exit"))
        self._short = None
        self._fit()
