"""The Qt binding must not leak references to None: PySide6 6.12.0 on Python 3.11 drops one
per void call and aborts a long-running kiosk with "none_dealloc" (hence the pin <6.12)."""

import sys

from PySide6.QtCore import QObject


def test_void_calls_keep_none_alive():
    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        obj.setObjectName("x")
    assert abs(sys.getrefcount(None) - before) < 50
