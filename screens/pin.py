"""PIN: the social-security card's password on a digit pad, shown as dots, with the tries
left after a wrong one."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.chrome import arrange_with_pad, body_size, short_panel, shortest_panel, tighten
from screens.keypad import BACKSPACE, CLEAR, Keypad
from screens.qt import QGridLayout, QHBoxLayout, Qt, QVBoxLayout, QWidget
from screens.widgets import Screen, button, clear_layout, label

PIN_LENGTH = 6


class PinScreen(Screen):
    name = "pin"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.pin = ""
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="hint", align=Qt.AlignCenter)
        self.dots = label(kind="field", align=Qt.AlignCenter, wrap=False)
        self.dots.setMinimumHeight(120)
        self.problem = label(kind="problem", align=Qt.AlignCenter)
        # what is asked, the pad and the actions: stacked in portrait; in landscape (a short
        # desk panel has no height for a 4-row pad under the words) the pad stands beside them
        self.info = QWidget()
        info = QVBoxLayout(self.info)
        info.setContentsMargins(0, 0, 0, 0)
        self.dots_row = QHBoxLayout()  # a short landscape panel: 确定 beside the dots
        self.dots_row.setContentsMargins(0, 0, 0, 0)
        self.dots_row.setSpacing(24)
        self.dots_row.addWidget(self.dots, 1)
        for widget in (self.title, self.hint):
            info.addWidget(widget)
        info.addLayout(self.dots_row)
        info.addWidget(self.problem)
        self.pad_area = QWidget()
        self.keypad_box = QVBoxLayout(self.pad_area)
        self.keypad_box.setContentsMargins(0, 0, 0, 0)
        self._keypad_lang: str | None = None
        self.back_button = button(on_click=self.flow.back, name="back")
        self.ok_button = button(on_click=self._submit, role="primary", name="pin_ok")
        self.actions = QWidget()
        actions = QHBoxLayout(self.actions)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(24)
        actions.addWidget(self.back_button)
        actions.addWidget(self.ok_button)
        self.body = QGridLayout()
        self.box.addLayout(self.body, 1)
        self.landscape: tuple[bool, bool] | None = None
        self._arrange(False)

    def _arrange(self, landscape: bool, short: bool = False) -> None:
        """Portrait: words, pad, actions from top to bottom. Landscape: words and actions on
        the left, the pad on the right with the full height; on a short panel (1280×1024,
        1366×768) the actions stand beside the dots, which saves a row of big buttons."""
        if (landscape, short) == self.landscape:
            return
        self.landscape = (landscape, short)
        self.body.removeWidget(self.actions)
        self.dots_row.removeWidget(self.actions)
        beside_dots = landscape and short  # the actions share the dots' row
        if beside_dots:
            self.dots_row.addWidget(self.actions, 1)
        arrange_with_pad(self.body, self.info, self.pad_area,
                         None if beside_dots else self.actions, landscape)
        if landscape:
            self.body.setColumnStretch(0, 1)
            if not short:
                self.body.setColumnStretch(1, 1)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._fit()
        super().resizeEvent(event)

    def _fit(self) -> None:
        tighten(self, self.flow.elderly, (self.back_button,))
        self.body.setSpacing(self.box.spacing())
        self.info.layout().setSpacing(self.box.spacing())
        landscape = self.width() > self.height() * 1.2
        self._arrange(landscape, short_panel(self))
        # 1366×768 in senior mode: the instruction in body size (still senior-sized), so it
        # keeps its two lines beside the pad
        small = shortest_panel(self) and self.flow.elderly and landscape
        body_size(self.title, small, self.flow.elderly)
        pad = self.keypad_box.itemAt(0).widget() if self.keypad_box.count() else None
        if isinstance(pad, Keypad):
            if landscape:  # as wide as its rows need to fit the height (more columns)
                margins = self.box.contentsMargins()
                need = pad.width_for_height(self.height() - margins.top() - margins.bottom())
                pad.setFixedWidth(min(need, self.width() * 2 // 3))
            else:
                pad.setMinimumWidth(0)
                pad.setMaximumWidth(16777215)

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
        self.dots.ensurePolished()  # beside 确定 on a short panel: the dots never squeezed
        self.dots.setMinimumWidth(self.dots.fontMetrics().horizontalAdvance(self.dots.text()) + 48)
        self.ok_button.setEnabled(len(self.pin) == PIN_LENGTH)

    def clear(self) -> None:
        self.pin = ""
        self._show()

    def render(self, t: Translator) -> None:
        if self._keypad_lang != t.lang:  # the clear key speaks the resident's language
            pad = self.keypad_box.itemAt(0).widget() if self.keypad_box.count() else None
            if isinstance(pad, Keypad):  # made once: a new language changes one key's word
                pad.set_clear_text(t.t("common.clear"))
            else:
                clear_layout(self.keypad_box)
                self.keypad_box.addWidget(Keypad("digits", self._on_key,
                                                 clear_text=t.t("common.clear")))
            self._keypad_lang = t.lang
        self.title.setText(t.t("pin.title"))
        self.hint.setText(t.t("pin.hint"))
        problem = self.flow.pin_problem
        self.problem.setText(t.t(problem[0], **problem[1]) if problem else "")
        self.problem.setVisible(bool(problem))
        self.back_button.setText(t.t("common.back"))
        self.ok_button.setText(t.t("pin.ok"))
        self._show()
        self._fit()
