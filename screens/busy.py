"""A large, slow, calm busy indicator: the resident sees the kiosk is working, not frozen."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from screens.theme import COLOURS


class BusyIndicator(QWidget):
    def __init__(self, parent: QWidget | None = None, size: int = 220):
        super().__init__(parent)
        self.setFixedSize(size, size)
        self.angle = 0
        self.timer = QTimer(self)
        self.timer.setInterval(40)
        self.timer.timeout.connect(self._step)

    def showEvent(self, event) -> None:
        self.timer.start()

    def hideEvent(self, event) -> None:
        self.timer.stop()

    def _step(self) -> None:
        self.angle = (self.angle + 8) % 360
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        ring = QRectF(16, 16, self.width() - 32, self.height() - 32)
        p.setPen(QPen(QColor(COLOURS["surface"]), 20))
        p.drawEllipse(ring)
        p.setPen(QPen(QColor(COLOURS["primary"]), 20))
        p.drawArc(ring, -self.angle * 16, 100 * 16)
        p.end()
