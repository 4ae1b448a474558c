"""The one place screens import Qt from (after qutebrowser's qt shim): a later move to
another binding or version touches this file only."""

from PySide6.QtCore import QEvent, QObject, QRectF, QSize, Qt, QTimer, Signal  # noqa: F401
from PySide6.QtGui import (  # noqa: F401
    QColor,
    QFont,
    QFontDatabase,
    QImage,
    QKeyEvent,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (  # noqa: F401
    QAbstractItemView,
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
