"""PIN: the social-security card's password on a digit pad, shown as dots, with the tries
left after a wrong one."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.keypad import BACKSPACE, CLEAR, Keypad
from screens.qt import Qt, QVBoxLayout
from screens.widgets import Screen, button, clear_layout, label

PIN_LENGTH = 6


class PinScreen(Screen):
    name = "pin"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.pin = ""
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        self.dots = label(kind="field", align=Qt.AlignCenter)
        self.dots.setMinimumHeight(120)
        self.problem = label(kind="problem", align=Qt.AlignCenter)
        for widget in (self.title, self.hint, self.dots, self.problem):
            self.box.addWidget(widget)
        self.keypad_box = QVBoxLayout()
        self.box.addLayout(self.keypad_box)
        self._keypad_lang: str | None = None
        self.box.addStretch(1)
        self.back_button = button(on_click=self.flow.back, name="back")
        self.ok_button = button(on_click=self._submit, role="primary", name="pin_ok")
        self.row(self.back_button, self.ok_button)

    def _on_key(self, key: str) -> None:
        self.flow.touch()
        if key == BACKSPACE:
            self.pin = self.pin[:-1]
        elif key == CLEAR:
            self.pin = ""
        elif len(self.pin) < PIN_LENGTH:
            self.pin += key
        self._show()

    def _submit(self) -> None:
        if len(self.pin) == PIN_LENGTH:
            pin, self.pin = self.pin, ""
            self._show()
            self.flow.submit_pin(pin)

    def _show(self) -> None:
        self.dots.setText(" ".join("●" * len(self.pin) + "○" * (PIN_LENGTH - len(self.pin))))
        self.ok_button.setEnabled(len(self.pin) == PIN_LENGTH)

    def clear(self) -> None:
        self.pin = ""
        self._show()

    def render(self, t: Translator) -> None:
        if self._keypad_lang != t.lang:  # the clear key speaks the resident's language
            clear_layout(self.keypad_box)
            self.keypad_box.addWidget(Keypad("digits", self._on_key, clear_text=t.t("common.clear")))
            self._keypad_lang = t.lang
        self.title.setText(t.t("pin.title"))
        self.hint.setText(t.t("pin.hint"))
        problem = self.flow.pin_problem
        self.problem.setText(t.t(problem[0], **problem[1]) if problem else "")
        self.problem.setVisible(bool(problem))
        self.back_button.setText(t.t("common.back"))
        self.ok_button.setText(t.t("pin.ok"))
        self._show()
