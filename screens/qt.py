"""The one place screens import Qt from (after qutebrowser's qt shim): a later move to
another binding or version touches this file only."""

import os

# qtawesome (screens/icons.py) reaches Qt through qtpy: make it pick this binding.
os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import (  # noqa: F401
    QDate,
    QDateTime,
    QEvent,
    QObject,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTime,
    QTimer,
    Signal,
)
from PySide6.QtGui import (  # noqa: F401
    QColor,
    QFont,
    QFontDatabase,
    QIcon,
    QImage,
    QKeyEvent,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (  # noqa: F401
    QAbstractItemView,
    QApplication,
    QBoxLayout,
    QFrame,
    QGraphicsOpacityEffect,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QPushButton,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
