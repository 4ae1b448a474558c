"""Search as the resident types: letters for pinyin and initials (sbjf finds 社保缴费), digits,
results refreshed on every key. No system keyboard ever appears."""

from __future__ import annotations

from kiosk.i18n import Translator
from screens.chrome import short_panel, shortest_panel, tighten
from screens.handwriting import HandwritingPad
from screens.keypad import BACKSPACE, CLEAR, Keypad
from screens.qt import QBoxLayout, QGridLayout, QHBoxLayout, Qt, QVBoxLayout
from screens.widgets import Screen, button, clear_layout, label, tile

COMMON_WORDS = {"zh_CN": ("社保", "医保", "公积金", "证明", "打印", "违章"),
                "zh_HK": ("社保", "醫保", "公積金", "證明", "列印", "違章")}


class SearchScreen(Screen):
    name = "search"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.text = ""
        self.title = label(kind="title")
        self.query = label(kind="field", align=Qt.AlignCenter)
        self.query.setMinimumHeight(110)
        top = QHBoxLayout()  # no back button: the bottom bar's 返回 goes back
        top.setSpacing(24)
        top.addWidget(self.title)
        top.addWidget(self.query)
        # found services above the keypad in portrait, beside it in landscape
        self.body = QBoxLayout(QBoxLayout.TopToBottom)
        self.body.setSpacing(24)
        self.box.addLayout(self.body, 1)
        found = QVBoxLayout()
        found.setSpacing(16)
        found.addLayout(top)
        self.body.addLayout(found, 1)
        self.hint = label(kind="hint")
        found.addWidget(self.hint)
        # senior mode: the most common words as big buttons — found without pinyin or writing
        self.words = QGridLayout()  # three a row: each word whole, each button big
        self.words.setSpacing(16)
        found.addLayout(self.words)
        self._words_for: tuple | None = None
        self.results = QVBoxLayout()
        self.results.setSpacing(12)
        found.addLayout(self.results)
        found.addStretch(1)
        self.keypad_box = QVBoxLayout()
        self.body.addLayout(self.keypad_box)
        self._keypad_lang: str | None = None
        self._layouts: dict[tuple[int, int, bool], str] = {}  # the keypad for a space

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Landscape puts the keypad beside the results (it reflows to the height left)."""
        tighten(self, self.flow.elderly)
        wide = self.width() > self.height() and self.width() > 1
        way = QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom
        if self.body.direction() != way:
            self.body.setDirection(way)
        pad = self.keypad_box.itemAt(0).widget() if self.keypad_box.count() else None
        self._show_word_buttons()
        self._fit_writing_tools()
        if isinstance(pad, Keypad):
            margins = self.box.contentsMargins()
            if wide:
                height = self.height() - margins.top() - margins.bottom()
                layout = self._keypad_layout(height)
                if layout != pad.layout_name:  # a short senior panel: the letters alone
                    pad = self._new_keypad(layout)
                need = pad.width_for_height(height)
                pad.setFixedWidth(min(need, self.width() * 3 // 4))  # results keep a column
            else:
                if pad.layout_name != "alnum":  # portrait has the height for every key
                    pad = self._new_keypad("alnum")
                pad.setMinimumWidth(0)
                pad.setMaximumWidth(16777215)

    def _keypad_layout(self, height: int) -> str:
        """Letters and digits (37 keys) where their rows fit beside the results. A short
        panel (1366×768; 1280×1024 in senior mode) keeps the keys full-sized instead: the
        26 letters alone (pinyin initials and English words need no digits), or, shorter
        still, half the alphabet at a time with a key to the other half."""
        if self.width() <= 1:
            return "alnum"
        key = (self.width(), height, self.flow.elderly)
        if key not in self._layouts:
            share = self.width() * 3 // 5  # the found services keep two fifths
            choice = "alnum"
            for layout in ("alnum", "letters", "letters_paged"):
                probe = Keypad(layout, self._on_key)
                probe.setParent(self)
                probe.hide()
                for widget in (probe, *probe.items):
                    widget.ensurePolished()
                fits = probe.width_for_height(height) <= share
                probe.deleteLater()
                choice = layout
                if fits:
                    break
            self._layouts[key] = choice
        return self._layouts[key]

    def _new_keypad(self, layout: str) -> Keypad:
        clear_layout(self.keypad_box)
        pad = Keypad(layout, self._on_key, clear_text=self._t.t("common.clear"))
        self.keypad_box.addWidget(pad)
        return pad

    def _fit_writing_tools(self) -> None:
        """The writing pad's tools as many a row as the width beside the found services
        leaves them (a short landscape panel), else on one row."""
        pad = self.keypad_box.itemAt(0).widget() if self.keypad_box.count() else None
        if not isinstance(pad, HandwritingPad):
            return
        if self.width() > self.height() and short_panel(self):
            margins = self.box.contentsMargins()
            width = self.width() - margins.left() - margins.right()
            found = self.body.itemAt(0).layout()
            found.invalidate()
            # what the found services leave, and never more than three fifths: the found
            # services' names keep their words whole
            pad.fit_tools(min(width - self.body.spacing() - found.minimumSize().width(),
                              width * 3 // 5))
        else:
            pad.fit_tools()

    def _crowded(self) -> bool:
        """A short landscape panel in senior mode, where the common words and what was found
        cannot both stand beside the writing pad."""
        return (self.flow.elderly and shortest_panel(self) and self.width() > self.height())

    def _show_word_buttons(self) -> None:
        """The common words, unless the resident has typed and the panel is crowded: then
        what was found takes their place (清除 / ⌫ bring them back)."""
        hidden = bool(self.text) and self._crowded()
        # nothing typed yet on a crowded panel: the words, and the writing box's own hint
        # instead of the line above them
        self.hint.setVisible(not (self._crowded() and not self.text))
        for i in range(self.words.count()):
            widget = self.words.itemAt(i).widget()
            if widget is not None and widget.isHidden() != hidden:
                widget.setHidden(hidden)

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

    def _on_word(self, word: str) -> None:
        self.flow.touch()
        self.text = word
        self._refresh()

    def _show_words(self, lang: str) -> None:
        """The common-word buttons that find something in this catalog (senior mode)."""
        key = (lang, self.flow.elderly, id(self.flow.catalog))
        if key == self._words_for:
            return
        self._words_for = key
        clear_layout(self.words)
        if not self.flow.elderly:
            return
        words = [w for w in COMMON_WORDS.get(lang, ()) if self.flow.catalog.search(w, lang, limit=1)]
        for i, word in enumerate(words):
            btn = button(word, lambda w=word: self._on_word(w), role="chip", name=f"word_{word}")
            self.words.addWidget(btn, i // 3, i % 3)

    def _on_text(self, text: str) -> None:
        """A handwritten character: 社 then 保 finds 社保 services."""
        self.flow.touch()
        self.text = (self.text + text)[:20]
        self._refresh()

    def render(self, t: Translator) -> None:
        self._t = t
        # A senior reading Chinese writes a character instead of spelling pinyin initials.
        pad_key = f"{t.lang}:{self.flow.elderly and t.lang != 'en'}"
        if self._keypad_lang != pad_key:
            clear_layout(self.keypad_box)
            if self.flow.elderly and t.lang != "en":
                self.keypad_box.addWidget(HandwritingPad(self._on_text, self._on_key, t,
                                                         elderly=True, touch=self.flow.touch))
            else:
                self._new_keypad("alnum")
            self._keypad_lang = pad_key
        self.title.setText(t.t("search.title"))
        self._fit()
        self._show_words(t.lang)
        self._refresh()

    def _refresh(self) -> None:
        t, lang = self._t, self.flow.language
        self.query.setText(self.text.upper() or " ")
        limit = 2 if self.flow.elderly else 4
        found = self.flow.catalog.search(self.text, lang, limit=limit) if self.text else []
        clear_layout(self.results)
        self._show_word_buttons()
        self._fit_writing_tools()
        for service in found:
            self.results.addWidget(tile(service.name(lang),
                                        lambda s=service.id: self.flow.choose_service(s),
                                        name=f"service_{service.id}"))
        if not self.text:  # what to do with the pad shown: spell pinyin, or write a character
            writing = self.flow.elderly and lang != "en"
            self.hint.setText(t.t("search.hint_writing" if writing else "search.hint"))
        elif not found:
            self.hint.setText(t.t("search.none"))
        else:
            self.hint.setText(t.t("search.count", count=len(found)))
