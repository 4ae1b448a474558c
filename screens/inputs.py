"""Inputs: one field at a time, with the keypad that fits it and the field's own message
when what was typed cannot be right. Values live here only until the session ends."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.chrome import arrange_with_pad, body_size, short_panel, shortest_panel, tighten
from screens.handwriting import ChinesePad
from screens.keypad import BACKSPACE, FOR_KIND, Keypad, apply_key, max_length, with_mask
from screens.qt import QGridLayout, QHBoxLayout, Qt, QVBoxLayout, QWidget
from screens.widgets import Screen, button, clear_layout, label


class InputsScreen(Screen):
    name = "inputs"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.values: dict[str, str] = {}
        self.index = 0
        self._service_id: str | None = None
        self._pad_for: tuple[str, str] | None = None
        self._chinese_pad: ChinesePad | None = None
        self._keypads: dict[str, Keypad] = {}  # made once per layout: they hold nothing typed
        self.title = label(kind="title")
        self.progress = label(kind="hint", wrap=False)
        self.field_label = label(kind="subtitle")
        self.optional = label(kind="hint")
        self.value = label(kind="field", align=Qt.AlignCenter)
        self.value.setMinimumHeight(120)
        self.problem = label(kind="problem")
        # Three blocks laid out by orientation (see resizeEvent): what is asked, the pad, and
        # the actions; in landscape the pad stands beside the other two instead of below.
        self.info = QWidget()
        info_box = QVBoxLayout(self.info)
        info_box.setContentsMargins(0, 0, 0, 0)
        info_box.setSpacing(self.box.spacing())
        self.info_box = info_box
        heading = QHBoxLayout()  # the service, and which field of how many, on one line
        heading.setSpacing(24)
        self.heading = heading
        heading.addWidget(self.title, 1)
        heading.addWidget(self.progress, 0, Qt.AlignRight | Qt.AlignVCenter)
        info_box.addLayout(heading)
        field_row = QHBoxLayout()  # portrait: the Chinese pad's 手写 / 拼音 switches stand here
        field_row.setSpacing(24)
        self.field_row = field_row
        field_row.addWidget(self.field_label, 1)
        self.label_slot = QHBoxLayout()
        self.label_slot.setContentsMargins(0, 0, 0, 0)
        field_row.addLayout(self.label_slot)
        info_box.addLayout(field_row)
        for widget in (self.optional, self.value, self.problem):
            info_box.addWidget(widget)
        self.side_slot = QVBoxLayout()  # landscape: the Chinese pad's switches stand here
        self.side_slot.setContentsMargins(0, 0, 0, 0)
        info_box.addLayout(self.side_slot)
        self.pad_area = QWidget()
        self.pad_box = QVBoxLayout(self.pad_area)
        self.pad_box.setContentsMargins(0, 0, 0, 0)
        self.actions = QWidget()
        actions_box = QVBoxLayout(self.actions)
        actions_box.setContentsMargins(0, 0, 0, 0)
        actions_box.setSpacing(self.box.spacing())
        self.scan_button = button(on_click=self._toggle_scan, name="scan_qr")
        actions_box.addWidget(self.scan_button)
        self.back_button = button(on_click=self._previous, name="back")
        self.next_button = button(on_click=self._next, role="primary", name="next_field")
        nav = QHBoxLayout()
        nav.setSpacing(24)
        nav.addWidget(self.back_button)
        nav.addWidget(self.next_button)
        actions_box.addLayout(nav)
        self.body = QGridLayout()
        self.body.setSpacing(self.box.spacing())
        self.box.addLayout(self.body, 1)
        self.landscape: bool | None = None
        self._arrange(False)

    def _arrange(self, landscape: bool) -> None:
        """Portrait: question, pad, actions from top to bottom. Landscape: question and
        actions on the left, the pad on the right, each with the full height."""
        if landscape == self.landscape:
            return
        self.landscape = landscape
        arrange_with_pad(self.body, self.info, self.pad_area, self.actions, landscape)
        self._stretch_pad()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._fit()
        super().resizeEvent(event)

    def _fit(self) -> None:
        """On a short panel (1280×1024, 1366×768) the margins tighten and the service's name
        is set in body size (it was the intro's title; the step bar says where we are), so
        the field, its keypad and the buttons keep their rows whole."""
        tighten(self, self.flow.elderly)
        short = short_panel(self)
        body_size(self.title, short and (self.flow.elderly or shortest_panel(self)),
                  self.flow.elderly)
        self.body.setSpacing(self.box.spacing())
        self.actions.layout().setSpacing(self.box.spacing())
        landscape = self.width() > self.height() * 1.2
        if landscape == self.landscape:
            self._stretch_pad()
        self._arrange(landscape)
        # 1366×768 in senior mode: the service's name goes (the intro named it, the step bar
        # says 填写信息) and "1 of 2" stands beside the field's name, a line for the field
        squeezed = shortest_panel(self) and self.flow.elderly and bool(landscape)
        self.title.setVisible(not squeezed)
        row = self.field_row if squeezed else self.heading
        if row.indexOf(self.progress) < 0:
            row.insertWidget(1, self.progress, 0, Qt.AlignRight | Qt.AlignVCenter)
        self.value.setMinimumHeight(108 if squeezed else 120)
        if squeezed:
            self.info_box.setSpacing(4)
            self.body.setVerticalSpacing(4)

    def _stretch_pad(self) -> None:
        """A writing pad takes all the room there is; keypads keep their natural size. In
        landscape the Chinese pad gets the wider column and its switches move left."""
        grow = self._pad_for is not None and self._pad_for[1].startswith("chinese:")
        if self.landscape:
            # digits need three columns only: the question gets half the width
            self.body.setColumnStretch(0, (1 if self.flow.elderly else 2) if grow else 1)
            self.body.setColumnStretch(1, 3 if grow else 1)
        else:
            self.body.setRowStretch(1, 1 if grow else 0)
            self.body.setRowStretch(2, 0 if grow else 1)
        # A writing pad needs every row of keys: tighter spacing around it, never smaller keys.
        tight = self.landscape or grow
        self.info_box.setSpacing(self.box.spacing() // 2 if tight else self.box.spacing())
        self.body.setSpacing(self.box.spacing() // 2 if grow else self.box.spacing())
        pad = self._chinese_pad
        if pad is not None:
            pad.dock_switches(self.side_slot if self.landscape else self.label_slot)

    # -- state -------------------------------------------------------------------------------
    @property
    def fields(self):
        service = self.flow.service
        return list(service.inputs) if service else []

    def clear(self) -> None:
        self.values = {}
        self.index = 0
        self._service_id = None
        if self._chinese_pad is not None:  # it holds letters and candidates: a new one
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

    def _on_text(self, text: str) -> None:
        """A candidate from the Chinese pad: appended, within the field's length."""
        field = self._field()
        self.flow.touch()
        limit = int(field.options.get("max_len", max_length("text") or 200))
        self.values[field.name] = (self.values.get(field.name, "") + text)[:limit]
        self.problem.setVisible(False)
        self._show_value()

    def _catalog_words(self) -> list[str]:
        """The catalog's keywords (社保, 公积金 …), offered first by the pinyin pad."""
        return sorted({k for s in self.flow.catalog.services for k in s.keywords})

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
        # which field of how many: only where there is more than one (the step bar above
        # already says where the visit is; "1 of 1" counted nothing a resident cares about)
        self.progress.setText(t.t("inputs.progress", n=self.index + 1, total=len(self.fields)))
        self.progress.setVisible(len(self.fields) > 1)
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
        if field.kind == "text" and field.script == "chinese":  # 留言内容: handwriting, pinyin
            pad = f"chinese:{self.flow.language}:{self.flow.elderly}"
        key = (field.name, pad if field.kind != "choice" else f"choice:{self.flow.language}")
        keypad = self._keypads.get(pad)
        if keypad is not None and field.kind != "choice":
            keypad.set_clear_text(self._t.t("common.clear"))
        if key == self._pad_for:
            return
        self._pad_for = key
        if self._chinese_pad is not None:  # its switches live outside the pad: delete them too
            bar = self._chinese_pad.switch_bar
            bar.setParent(None)
            bar.deleteLater()
            self._chinese_pad = None
        for kept in self._keypads.values():  # kept for the next field that takes it
            if self.pad_box.indexOf(kept) >= 0:
                self.pad_box.removeWidget(kept)
                kept.hide()
        clear_layout(self.pad_box)
        self._stretch_pad()
        if field.kind == "choice":
            for option in field.options.get("options", []):
                text = option["labels"].get(self.flow.language) or option["labels"]["zh_CN"]
                self.pad_box.addWidget(button(text, on_click=lambda v=option["value"]: self._choose(v),
                                              role="tile", name=f"choice_{option['value']}"))
        elif pad.startswith("chinese:"):
            self._chinese_pad = ChinesePad(self._on_text, self._on_key, self._t,
                                           elderly=self.flow.elderly,
                                           extra_words=self._catalog_words(),
                                           touch=self.flow.touch)
            self.pad_box.addWidget(self._chinese_pad)
            self._stretch_pad()
        else:
            if keypad is None:
                keypad = self._keypads[pad] = Keypad(pad, self._on_key,
                                                     clear_text=self._t.t("common.clear"))
            self.pad_box.addWidget(keypad)
            keypad.show()


__all__ = ["InputsScreen", "BACKSPACE"]
