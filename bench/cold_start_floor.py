"""The floor for bench/cold_start.py: the least a PySide6 program must do to show what the
kiosk shows at start — a 1080×1920 window with the same CJK font and the same 14 department
tiles, painted once offscreen — then print "painted" and quit. Plain PySide6, nothing else.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/cold_start_floor.py
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

SERVICES = Path(__file__).resolve().parent.parent / "config" / "services"


def departments() -> list[str]:
    names = []
    for path in sorted(SERVICES.glob("*.toml")):
        with path.open("rb") as f:
            names.append(tomllib.load(f)["department"]["names"]["zh_CN"])
    return names


def peak_rss_kib() -> int:
    """Peak resident memory so far (Linux VmHWM), as ``kiosk run`` reports it."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


class FirstPaint(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, lambda: (print(f"painted {peak_rss_kib()}", flush=True),
                                          QApplication.quit()))
        return False


def main() -> int:
    app = QApplication(["floor"])
    app.setFont(QFont("WenQuanYi Zen Hei", 16))
    window = QWidget()
    window.setFixedSize(1080, 1920)
    box = QVBoxLayout(window)
    box.addWidget(QLabel("请选择要办理的业务"))
    grid = QGridLayout()
    for i, name in enumerate(departments()):
        grid.addWidget(QPushButton(name), i // 2, i % 2)
    box.addLayout(grid)
    watch = FirstPaint()
    window.installEventFilter(watch)
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
