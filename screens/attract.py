"""Attract: what a passer-by sees — the hall and a clock, announcements turning with a drawn
picture each, and a big "touch to start". A touch anywhere starts a visit. When the last
resident left a card on the reader, that is said first, until the card is taken."""

from __future__ import annotations

from kiosk.config import in_language
from kiosk.i18n import LANGUAGES, Translator
from screens.chrome import date_text, short_panel, shortest_panel, tighten
from screens.design import colour
from screens.icons import pixmap, set_icon
from screens.qt import (
    QBoxLayout,
    QDateTime,
    QHBoxLayout,
    QLabel,
    QPainter,
    QRectF,
    Qt,
    QTimer,
    QWidget,
)
from screens.theme import sizes
from screens.widgets import Screen, button, label

ROTATE_MS = 8000  # each announcement stays long enough to read in passing
HIDDEN_CORNER = 120  # px from the top-left: five taps there open technician mode
# the picture an announcement gets, by the first word of it found in its zh_CN text
PICTURES = (("刷脸", "face"), ("长者", "senior"), ("身份证", "id_card"), ("凭条", "receipt"),
            ("医保", "yibao"), ("社保", "shebao"), ("公积金", "gjj"), ("税", "tax"),
            ("不动产", "house"), ("打印", "print"), ("预约", "appointment"))


def picture_for(text: str) -> str:
    return next((icon for word, icon in PICTURES if word in text), "hall")


class AnnouncementPicture(QWidget):
    """A drawn banner: a calm primary panel, soft rings, the announcement's icon large."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("announcement_picture")
        self.icon_name = "hall"
        self.index, self.count = 0, 0
        self.setMinimumHeight(260)

    def show_item(self, icon: str, index: int, count: int) -> None:
        self.icon_name, self.index, self.count = icon, index, count
        self.setProperty("icon", icon)
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        r = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        p.setPen(Qt.NoPen)
        p.setBrush(self._colour("primary"))
        p.drawRoundedRect(r, 24, 24)
        p.setBrush(self._colour("on_primary", 28))
        for k, (fx, fy, fr) in enumerate(((0.12, 0.2, 0.5), (0.88, 0.85, 0.7), (0.75, 0.1, 0.3))):
            radius = r.height() * fr
            p.drawEllipse(QRectF(r.left() + r.width() * fx - radius, r.top() + r.height() * fy
                                 - radius, 2 * radius, 2 * radius))
            del k
        size = int(r.height() * 0.6)
        art = pixmap(self.icon_name, size, "on_primary")
        p.drawPixmap(int(r.center().x() - size / 2), int(r.top() + r.height() * 0.12), art)
        if self.count > 1:  # where in the carousel: one dot per announcement
            dot, gap = 14, 12
            x = r.center().x() - (self.count * (dot + gap) - gap) / 2
            for i in range(self.count):
                p.setBrush(self._colour("on_primary", 255 if i == self.index else 110))
                p.drawEllipse(QRectF(x + i * (dot + gap), r.bottom() - 2.2 * dot, dot, dot))
        p.end()

    @staticmethod
    def _colour(name: str, alpha: int = 255):
        from screens.qt import QColor

        c = QColor(colour(name))
        c.setAlpha(alpha)
        return c


class AttractScreen(Screen):
    name = "attract"

    def __init__(self, flow, parent=None):
        super().__init__(flow, parent)
        self._t: Translator | None = None  # the date is worded in the language shown
        # a card the last resident left on the reader: shown until the reader sees it taken
        self.card_left = label(kind="problem", align=Qt.AlignCenter)
        self.card_left.setProperty("role", "problem")
        self.card_left.setObjectName("card_left")
        self.card_left.hide()
        self.box.addWidget(self.card_left)
        top = QHBoxLayout()
        self.emblem = QLabel()
        self.emblem.setProperty("role", "icon")
        self.hall = label(kind="subtitle", wrap=True)
        self.hall.setObjectName("attract_hall")
        self.hall.setProperty("role", "hint")  # keeps its look under the new name
        self.clock = label(kind="title", align=Qt.AlignRight | Qt.AlignVCenter, wrap=False)
        self.clock.setObjectName("attract_clock")
        self.clock.setProperty("role", "title")  # big, bold: read from across the hall
        self.date = label(kind="hint", align=Qt.AlignRight | Qt.AlignVCenter, wrap=False)
        self.date.setObjectName("attract_date")
        self.date.setProperty("role", "hint")  # keeps its look under the new name
        when = QWidget()
        when_box = QHBoxLayout(when)
        when_box.setContentsMargins(0, 0, 0, 0)
        when_box.addWidget(self.date)
        when_box.addWidget(self.clock)
        top.addWidget(self.emblem)
        top.addWidget(self.hall, 1)
        top.addWidget(when)
        self.box.addLayout(top)
        self.box.addStretch(1)
        self.title = label(kind="title", align=Qt.AlignCenter)
        self.hint = label(kind="subtitle", align=Qt.AlignCenter)
        self.box.addWidget(self.title)
        self.box.addWidget(self.hint)
        # the announcement's picture over its words in portrait, beside them in landscape
        self.show_box = QBoxLayout(QBoxLayout.TopToBottom)
        self.show_box.setSpacing(24)
        self.box.addLayout(self.show_box)
        self.picture = AnnouncementPicture()
        self.show_box.addWidget(self.picture)
        self.news = label(kind="panel_text", align=Qt.AlignCenter)
        self.news.setObjectName("announcement")
        self.news.setMinimumHeight(140)
        self.show_box.addWidget(self.news, 1)
        self.news_index = 0
        self.carousel = QTimer(self)
        self.carousel.setInterval(ROTATE_MS)
        self.carousel.timeout.connect(self._next_announcement)
        self.ticker = QTimer(self)  # the clock, while shown
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self._show_time)
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

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """A short landscape panel: the picture beside its words, a one-row start button."""
        tighten(self, self.flow.elderly)
        short = short_panel(self)
        self.start_button.setMinimumHeight((1 if short else 2) * sizes(self.flow.elderly).target_px)
        wide = self.width() > self.height() and self.width() > 1
        way = QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom
        if self.show_box.direction() != way:
            self.show_box.setDirection(way)
        self.picture.setMinimumWidth(self.width() // 3 if wide else 0)
        self.picture.setMinimumHeight(180 if short else 260)
        # 1366×768 in senior mode: the line under the title goes (the announcements and the
        # start button say what the terminal does), so the announcement keeps its lines
        self.hint.setVisible(not (shortest_panel(self) and wide and self.flow.elderly))

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
        self.ticker.start()
        self._show_time()

    def hideEvent(self, event) -> None:
        self.carousel.stop()
        self.ticker.stop()

    def _show_time(self) -> None:
        now = QDateTime.currentDateTime()
        self.clock.setText(now.toString("HH:mm"))
        if self._t is not None:  # the header's own wording of the date, in this language
            self.date.setText(date_text(self._t, now.date()))

    def _next_announcement(self) -> None:
        self.news_index += 1
        self._show_announcement()

    def _show_announcement(self) -> None:
        items = self.flow.announcements
        if not items:
            self.news.hide()
            self.picture.show_item("hall", 0, 0)
            return
        index = self.news_index % len(items)
        item = items[index]
        self.news.setText(item.get(self.flow.language) or item.get("zh_CN", ""))
        self.picture.show_item(picture_for(item.get("zh_CN", "")), index, len(items))
        self.news.show()

    def render(self, t: Translator) -> None:
        from screens.messages import terminal_facts

        tokens = sizes(self.flow.elderly)
        self._t = t
        self.title.setText(t.t("attract.title"))
        self.card_left.setText(t.t(f"attract.{self.flow.left_kind or 'card'}_left"))
        self.card_left.setVisible(bool(self.flow.left_behind))
        self.hint.setText(t.t("attract.hint"))
        self.hall.setText(in_language(terminal_facts(self), "hall", t.lang))
        set_icon(self.emblem, "hall", tokens.tile_icon_px)
        self._show_time()
        self._show_announcement()
        self.start_button.setText(t.t("attract.subtitle"))
        self._fit()
        set_icon(self.start_button, "touch", tokens.tile_icon_px, "on_primary")
        for lang, btn in self.lang_buttons.items():
            btn.setText(t.t(f"lang.{lang}"))
