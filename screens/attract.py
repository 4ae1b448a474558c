"""Attract: what a passer-by sees. A touch anywhere starts a visit."""

from __future__ import annotations

from kiosk.i18n import LANGUAGES, Translator
from screens.qt import Qt, QTimer
from screens.widgets import Screen, button, label

ROTATE_MS = 8000  # each announcement stays long enough to read in passing
HIDDEN_CORNER = 120  # px from the top-left: five taps there open technician mode


class AttractScreen(Screen):
    name = "attract"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self.box.addStretch(2)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="subtitle", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.box.addWidget(self.hint)
        self.news = label(kind="panel_text", align=Qt.AlignCenter)
        self.news.setObjectName("announcement")
        self.news.setMinimumHeight(200)
        self.box.addWidget(self.news)
        self.news_index = 0
        self.carousel = QTimer(self)
        self.carousel.setInterval(ROTATE_MS)
        self.carousel.timeout.connect(self._next_announcement)
        self.box.addStretch(1)
        self.start_button = button(on_click=self.flow.start, role="primary", name="start")
        self.box.addWidget(self.start_button)
        self.box.addStretch(1)
        self.lang_buttons = {}
        for lang in LANGUAGES:
            btn = button(role="lang", name=f"lang_{lang}",
                         on_click=lambda lang=lang: self._start_in(lang))
            self.lang_buttons[lang] = btn
        self.row(*self.lang_buttons.values())
        self.box.addStretch(1)

    def _start_in(self, lang: str) -> None:
        self.flow.set_language(lang)
        self.flow.start()

    def mousePressEvent(self, event) -> None:
        """A touch anywhere starts, except the technician's hidden corner (see window.py)."""
        pos = event.position()
        if pos.x() < HIDDEN_CORNER and pos.y() < HIDDEN_CORNER:
            return
        self.flow.start()

    def showEvent(self, event) -> None:
        self.carousel.start()

    def hideEvent(self, event) -> None:
        self.carousel.stop()

    def _next_announcement(self) -> None:
        self.news_index += 1
        self._show_announcement()

    def _show_announcement(self) -> None:
        items = self.flow.announcements
        if not items:
            self.news.hide()
            return
        item = items[self.news_index % len(items)]
        self.news.setText(item.get(self.flow.language) or item.get("zh_CN", ""))
        self.news.show()

    def render(self, t: Translator) -> None:
        self.title.setText(t.t("attract.title"))
        self.hint.setText(t.t("attract.hint"))
        self._show_announcement()
        self.start_button.setText(t.t("attract.subtitle"))
        for lang, btn in self.lang_buttons.items():
            btn.setText(t.t(f"lang.{lang}"))
