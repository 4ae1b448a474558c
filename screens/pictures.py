"""Drawn pictures that move: a calm busy ring, the card gliding onto the reader, and the
phone held to the scan window.

All animate only while shown, so hidden screens cost nothing."""

from __future__ import annotations

from screens.qt import QColor, QPainter, QPen, QRectF, QTimer, QWidget
from screens.theme import COLOURS


class AnimatedPicture(QWidget):
    """A picture redrawn every ``interval_ms`` while visible; subclasses move ``phase``."""

    interval_ms = 50
    speed = 0.02  # of a full cycle per frame

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.phase = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(self.interval_ms)
        self.timer.timeout.connect(self._step)

    def showEvent(self, event) -> None:
        self.timer.start()

    def hideEvent(self, event) -> None:
        self.timer.stop()

    def _step(self) -> None:
        self.phase = (self.phase + self.speed) % 1.0
        self.update()


class BusyIndicator(AnimatedPicture):
    """A large, slow ring: the resident sees the kiosk is working, not frozen."""

    interval_ms = 40
    speed = 8 / 360

    def __init__(self, parent: QWidget | None = None, size: int = 220):
        super().__init__(parent)
        self.setFixedSize(size, size)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        ring = QRectF(16, 16, self.width() - 32, self.height() - 32)
        p.setPen(QPen(QColor(COLOURS["surface"]), 20))
        p.drawEllipse(ring)
        p.setPen(QPen(QColor(COLOURS["primary"]), 20))
        p.drawArc(ring, int(-self.phase * 360 * 16), 100 * 16)
        p.end()


class CardPicture(AnimatedPicture):
    """Where the card goes: the reader pad below the screen and a card gliding onto it, so a
    first-time user sees what to do without reading."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(420)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w, h = self.width(), self.height()
        pad = QRectF(w * 0.2, h * 0.62, w * 0.6, h * 0.3)
        p.setPen(QPen(QColor(COLOURS["border"]), 4))
        p.setBrush(QColor(COLOURS["surface"]))
        p.drawRoundedRect(pad, 24, 24)
        travel = min(self.phase / 0.6, 1.0)  # glide, rest, start again
        card_w, card_h = pad.width() * 0.62, pad.height() * 0.78
        x = pad.center().x() - card_w / 2
        y = h * 0.05 + (pad.center().y() - card_h / 2 - h * 0.05) * travel
        p.setPen(QPen(QColor(COLOURS["primary"]), 4))
        p.setBrush(QColor("#dbe8f5"))
        p.drawRoundedRect(QRectF(x, y, card_w, card_h), 16, 16)
        p.setBrush(QColor(COLOURS["primary"]))
        p.drawRect(QRectF(x + card_w * 0.08, y + card_h * 0.2, card_w * 0.25, card_h * 0.55))
        for i in range(3):
            line_y = y + card_h * (0.28 + 0.18 * i)
            p.drawLine(int(x + card_w * 0.42), int(line_y), int(x + card_w * 0.9), int(line_y))
        p.end()


class PhonePicture(AnimatedPicture):
    """Where to hold the phone: the scan window below the screen, and a phone showing its
    code sliding down until its screen faces the window, so the resident sees the gesture."""

    # a fixed pattern of modules between the three finder squares: reads as "a QR code"
    _MODULES = ((4, 1), (5, 2), (4, 3), (1, 5), (3, 5), (2, 6), (5, 5), (6, 4), (4, 6), (6, 6),
                (5, 4), (3, 4), (4, 4))

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(420)
        self.setObjectName("phone_picture")

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w, h = self.width(), self.height()
        window = QRectF(w * 0.5 - h * 0.4, h * 0.84, h * 0.8, h * 0.12)  # the scanner's window
        p.setPen(QPen(QColor(COLOURS["border"]), 4))
        p.setBrush(QColor(COLOURS["surface"]))
        p.drawRoundedRect(window, 18, 18)
        p.setPen(QPen(QColor(COLOURS["primary"]), 3))
        p.drawLine(int(window.left() + 16), int(window.center().y()),
                   int(window.right() - 16), int(window.center().y()))
        travel = min(self.phase / 0.6, 1.0)  # glide down, rest, start again
        phone_h = h * 0.62
        phone_w = phone_h * 0.55
        x = w / 2 - phone_w / 2
        y = h * 0.02 + (window.top() - phone_h - h * 0.04 - h * 0.02) * travel
        p.setPen(QPen(QColor(COLOURS["text"]), 5))
        p.setBrush(QColor("#ffffff"))
        p.drawRoundedRect(QRectF(x, y, phone_w, phone_h), 22, 22)
        side = phone_w * 0.7  # the code on the phone's screen, a 7×7 grid of modules
        cell = side / 7
        qx, qy = x + (phone_w - side) / 2, y + (phone_h - side) / 2
        p.setPen(QPen(QColor(COLOURS["primary"]), 3))
        for fx, fy in ((qx, qy), (qx + 5 * cell, qy), (qx, qy + 5 * cell)):
            p.setBrush(QColor("#ffffff"))
            p.drawRect(QRectF(fx, fy, 2 * cell, 2 * cell))
            p.setBrush(QColor(COLOURS["primary"]))
            p.drawRect(QRectF(fx + cell * 0.5, fy + cell * 0.5, cell, cell))
        for col, row in self._MODULES:
            p.drawRect(QRectF(qx + col * cell, qy + row * cell, cell * 0.9, cell * 0.9))
        p.end()


# Which cards a way of identifying accepts, and the picture of each. The ID-card reader reads
# the resident ID card, the foreigner's permanent-residence card and the HK/Macau/Taiwan
# residence permit alike; the social-security card goes in its own slot.
ACCEPTED_CARDS = {
    "id_card": ("resident", "permanent_residence", "permit"),
    "id_card+face": ("resident", "permanent_residence", "permit"),
    "ss_card+pin": ("ss_card",),
}
CARD_ICONS = {"resident": "id_card", "permanent_residence": "permit", "permit": "passport",
              "ss_card": "ss_card"}
CARD_KEYS = {"resident": "card.kind_resident", "permanent_residence": "card.kind_permanent",
             "permit": "card.kind_permit", "ss_card": "card.kind_ss_card"}


class AcceptedCards(QWidget):
    """A row of the cards a service accepts, each a picture over its name; hidden when the
    service needs none."""

    def __init__(self, parent: QWidget | None = None):
        from screens.qt import QHBoxLayout

        super().__init__(parent)
        self.setObjectName("accepted_cards")
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(16)
        self.cards: dict[str, tuple[QWidget, QWidget, QWidget]] = {}
        for kind in CARD_ICONS:
            self.cards[kind] = self._card(kind)
        self.listed = False
        self._last: tuple | None = None

    def set_listed(self, listed: bool) -> None:
        """A list, each card's small picture before its name (a narrow column on a short
        panel, where three names side by side would wrap word by word), or a row of cards,
        each picture over its name. ``render`` afterwards draws the pictures' size."""
        from screens.qt import QBoxLayout, Qt

        if listed == self.listed:
            return
        self.listed = listed
        self.row.setDirection(QBoxLayout.TopToBottom if listed else QBoxLayout.LeftToRight)
        self.row.setSpacing(4 if listed else 16)
        for card, _picture, words in self.cards.values():
            card.layout().setDirection(QBoxLayout.LeftToRight if listed
                                       else QBoxLayout.TopToBottom)
            card.layout().setSpacing(16 if listed else 6)
            words.setAlignment(Qt.AlignLeft | Qt.AlignVCenter if listed else Qt.AlignCenter)
            card.layout().setStretch(1, 1 if listed else 0)
        if self._last is not None:  # the pictures in the new shape's size
            self.render(*self._last)

    def _card(self, kind: str):
        from screens.qt import QBoxLayout, QLabel, Qt
        from screens.widgets import label

        card = QWidget()
        card.setObjectName(f"card_{kind}")
        card.setProperty("role", "card_kind")
        box = QBoxLayout(QBoxLayout.TopToBottom, card)
        box.setContentsMargins(8, 8, 8, 8)
        box.setSpacing(6)
        picture = QLabel()
        picture.setProperty("role", "icon")
        picture.setAlignment(Qt.AlignCenter)
        words = label(kind="hint", align=Qt.AlignCenter)
        words.setObjectName("card_kind_text")
        words.setProperty("role", "hint")  # keeps its look under the new name
        box.addWidget(picture)
        box.addWidget(words)
        self.row.addWidget(card, 1)
        return card, picture, words

    def render(self, t, auth: str, elderly: bool) -> None:
        from screens.icons import set_icon
        from screens.theme import sizes

        self._last = (t, auth, elderly)
        kinds = ACCEPTED_CARDS.get(auth, ())
        tokens = sizes(elderly)
        size = tokens.icon_px if self.listed else tokens.tile_icon_px
        for kind, (card, picture, words) in self.cards.items():
            card.setVisible(kind in kinds)
            if kind in kinds:
                set_icon(picture, CARD_ICONS[kind], size)
                words.setText(t.t(CARD_KEYS[kind]))
                card.setAccessibleName(words.text())
        self.setVisible(bool(kinds))
