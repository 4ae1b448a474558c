"""Search as the resident types: letters for pinyin and initials (sbjf finds 社保缴费), digits,
results refreshed on every key. No system keyboard ever appears."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.keypad import BACKSPACE, CLEAR, Keypad
from screens.qt import Qt, QVBoxLayout
from screens.widgets import Screen, clear_layout, label, tile


class SearchScreen(Screen):
    name = "search"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.text = ""
        self.title = label(kind="title")
        self.query = label(kind="field", align=Qt.AlignCenter)
        self.query.setMinimumHeight(110)
        self.row(self.title, self.query)  # no back button: Home in the top bar goes back
        self.hint = label(kind="hint")
        self.box.addWidget(self.hint)
        self.results = QVBoxLayout()
        self.results.setSpacing(12)
        self.box.addLayout(self.results)
        self.box.addStretch(1)
        self.keypad_box = QVBoxLayout()
        self.box.addLayout(self.keypad_box)
        self._keypad_lang: str | None = None

    def _on_key(self, key: str) -> None:
        self.flow.touch()
        if key == BACKSPACE:
            self.text = self.text[:-1]
        elif key == CLEAR:
            self.text = ""
        elif len(self.text) < 20:
            self.text += key.lower()
        self._refresh()

    def clear(self) -> None:
        self.text = ""

    def render(self, t: Translator) -> None:
        self._t = t
        if self._keypad_lang != t.lang:
            clear_layout(self.keypad_box)
            self.keypad_box.addWidget(Keypad("alnum", self._on_key, clear_text=t.t("common.clear")))
            self._keypad_lang = t.lang
        self.title.setText(t.t("search.title"))
        self._refresh()

    def _refresh(self) -> None:
        t, lang = self._t, self.flow.language
        self.query.setText(self.text.upper() or " ")
        limit = 2 if self.flow.elderly else 4
        found = self.flow.catalog.search(self.text, lang, limit=limit) if self.text else []
        clear_layout(self.results)
        for service in found:
            self.results.addWidget(tile(service.name(lang),
                                        lambda s=service.id: self.flow.choose_service(s),
                                        name=f"service_{service.id}"))
        if not self.text:
            self.hint.setText(t.t("search.hint"))
        elif not found:
            self.hint.setText(t.t("search.none"))
        else:
            self.hint.setText(t.t("search.count", count=len(found)))
