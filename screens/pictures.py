"""Drawn pictures that move: a calm busy ring, and the card gliding onto the reader.

Both animate only while shown, so hidden screens cost nothing."""

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
