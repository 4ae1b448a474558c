"""The end of a visit: take your documents, rate the service (好差评), or an error."""

from __future__ import annotations

from kiosk.i18n import Translator
from kiosk.visit.flow import RATING_LEVELS
from screens.qt import Qt
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
        self.box.addStretch(1)
        self.done_button = button(on_click=self.flow.documents_taken, role="primary", name="taken")
        self.box.addWidget(self.done_button)

    def render(self, t: Translator) -> None:
        self.title.setText(t.t("take.title"))
        self.hint.setText(t.t("take.hint"))
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
        for level in RATING_LEVELS:
            btn = button(on_click=lambda level=level: self._choose(level),
                         role="primary" if level == "very_satisfied" else "",
                         name=f"rate_{level}")
            self.level_buttons[level] = btn
            self.box.addWidget(btn)
        self.reason_buttons = {}
        for reason in REASONS:
            btn = button(on_click=lambda reason=reason: self._toggle(reason), name=f"reason_{reason}")
            btn.setCheckable(True)
            btn.setProperty("role", "choice")
            self.reason_buttons[reason] = btn
            self.box.addWidget(btn)
        self.box.addStretch(1)
        self.send_button = button(on_click=self._send, role="primary", name="send_rating")
        self.skip_button = button(on_click=self.flow.skip_rating, name="skip")
        self.row(self.skip_button, self.send_button)

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


class ErrorScreen(Screen):
    """Every error a resident can meet: what happened and what to do, never a code."""

    name = "error"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.title = label(kind="title")
        self.sentence = label(kind="problem")
        self.box.addWidget(self.title)
        self.box.addWidget(self.sentence)
        self.box.addStretch(1)
        self.home_button = button(on_click=self.flow.go_home, role="primary", name="error_home")
        self.exit_button = button(on_click=self.flow.cancel, name="error_exit")
        self.row(self.exit_button, self.home_button)

    def render(self, t: Translator) -> None:
        self.title.setText(t.t("error.title"))
        self.sentence.setText(t.t(self.flow.error_key or "errors.service_failed"))
        self.home_button.setText(t.t("error.home"))
        self.exit_button.setText(t.t("common.exit"))
