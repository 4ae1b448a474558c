"""Inputs: one field at a time, with the keypad that fits it and the field's own message
when what was typed cannot be right. Values live here only until the session ends."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.keypad import BACKSPACE, FOR_KIND, Keypad, apply_key, with_mask
from screens.qt import Qt, QVBoxLayout, QWidget
from screens.widgets import Screen, button, clear_layout, label


class InputsScreen(Screen):
    name = "inputs"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.values: dict[str, str] = {}
        self.index = 0
        self._service_id: str | None = None
        self._pad_for: tuple[str, str] | None = None
        self.title = label(kind="title")
        self.progress = label(kind="hint")
        self.field_label = label(kind="subtitle")
        self.optional = label(kind="hint")
        self.value = label(kind="field", align=Qt.AlignCenter)
        self.value.setMinimumHeight(120)
        self.problem = label(kind="problem")
        for widget in (self.title, self.progress, self.field_label, self.optional, self.value,
                       self.problem):
            self.box.addWidget(widget)
        self.pad_area = QWidget()
        self.pad_box = QVBoxLayout(self.pad_area)
        self.pad_box.setContentsMargins(0, 0, 0, 0)
        self.box.addWidget(self.pad_area)
        self.box.addStretch(1)
        self.scan_button = button(on_click=self._toggle_scan, name="scan_qr")
        self.box.addWidget(self.scan_button)
        self.back_button = button(on_click=self._previous, name="back")
        self.next_button = button(on_click=self._next, role="primary", name="next_field")
        self.row(self.back_button, self.next_button)

    # -- state -------------------------------------------------------------------------------
    @property
    def fields(self):
        service = self.flow.service
        return list(service.inputs) if service else []

    def clear(self) -> None:
        self.values = {}
        self.index = 0
        self._service_id = None
        self._pad_for = None
        self.value.clear()

    def _field(self):
        fields = self.fields
        return fields[min(self.index, len(fields) - 1)] if fields else None

    def _on_key(self, key: str) -> None:
        field = self._field()
        self.flow.touch()
        text = self.values.get(field.name, "")
        self.values[field.name] = apply_key(text, key, field.kind)
        self.problem.setVisible(False)
        self._show_value()
        if field.kind == "plate" and len(self.values[field.name]) <= 1:
            self._build_pad(field)  # the province row comes and goes with the first character

    def _toggle_scan(self) -> None:
        field = self._field()
        self.flow.scan_qr(None if self.flow.scan_field else field.name)

    def _choose(self, value: str) -> None:
        self.values[self._field().name] = value
        self._next()

    def _previous(self) -> None:
        if self.index == 0:
            self.flow.back()
            return
        self.index -= 1
        self.flow.touch()
        self.render(self._t)

    def _next(self) -> None:
        field = self._field()
        value = self.values.get(field.name, "")
        self.flow.touch()
        if value or field.required:
            message = self.flow.input_error(field.name, value)
            if message:
                self.problem.setText(message)
                self.problem.setVisible(True)
                return
        if self.index + 1 < len(self.fields):
            self.index += 1
            self.render(self._t)
        else:
            self.flow.submit_inputs(dict(self.values))

    # -- drawing -----------------------------------------------------------------------------
    def render(self, t: Translator) -> None:
        self._t = t
        service, lang = self.flow.service, self.flow.language
        if service is None:
            return self.clear()
        if service.id != self._service_id:
            self.clear()
            self._service_id = service.id
        field = self._field()
        if field.name in self.flow.scanned:  # read from the receipt's QR code
            self.values[field.name] = self.flow.scanned.pop(field.name)
        self.title.setText(service.name(lang))
        self.progress.setText(t.t("inputs.progress", n=self.index + 1, total=len(self.fields)))
        self.field_label.setText(field.label(lang))
        self.optional.setText(t.t("inputs.optional"))
        self.optional.setVisible(not field.required)
        errors = self.flow.input_errors.get(field.name)
        self.problem.setText(errors.get(lang, "") if errors else "")
        self.problem.setVisible(bool(errors))
        self._show_value()
        self._build_pad(field)
        self.back_button.setText(t.t("common.back"))
        last = self.index + 1 >= len(self.fields)
        self.next_button.setText(t.t("inputs.confirm" if last else "inputs.next"))
        self.next_button.setVisible(field.kind != "choice")
        scanning = self.flow.scan_field == field.name
        self.scan_button.setVisible(field.kind == "application_number" and self.flow.can_scan)
        self.scan_button.setText(t.t("inputs.scan_stop" if scanning else "inputs.scan"))
        if scanning:
            self.problem.setText(t.t("inputs.scan_hint"))
            self.problem.setVisible(True)

    def _show_value(self) -> None:
        field = self._field()
        text = self.values.get(field.name, "")
        if field.kind == "choice":
            options = {o["value"]: o for o in field.options.get("options", [])}
            chosen = options.get(text)
            text = chosen["labels"].get(self.flow.language, text) if chosen else ""
        self.value.setText(with_mask(text, field.kind) or " ")
        self.value.setVisible(field.kind != "choice")

    def _build_pad(self, field) -> None:
        value = self.values.get(field.name, "")
        pad = FOR_KIND.get(field.kind, "alnum")
        if field.kind == "plate" and not value:
            pad = "province"
        key = (field.name, pad if field.kind != "choice" else f"choice:{self.flow.language}")
        if key == self._pad_for:
            return
        self._pad_for = key
        clear_layout(self.pad_box)
        if field.kind == "choice":
            for option in field.options.get("options", []):
                text = option["labels"].get(self.flow.language) or option["labels"]["zh_CN"]
                self.pad_box.addWidget(button(text, on_click=lambda v=option["value"]: self._choose(v),
                                              role="tile", name=f"choice_{option['value']}"))
        else:
            self.pad_box.addWidget(Keypad(pad, self._on_key, clear_text=self._t.t("common.clear")))


__all__ = ["InputsScreen", "BACKSPACE"]
