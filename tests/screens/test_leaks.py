"""Screens that rebuild their tiles and keypads on every render must give back what they drop:
the home screen does so several times per visit, so a few bytes lost per tile become tens of
megabytes over a month of residents (bench/soak.py: +4.4 KB per visit before this was found).

The C heap is read with glibc's ``mallinfo2`` (bytes handed out and not returned); Python's own
small objects live in separate arenas and do not show there. Linux/glibc only.
"""

from __future__ import annotations

import ctypes

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QGridLayout, QWidget

from screens.widgets import clear_layout, tile

REBUILDS = 1000
TILES = 20  # about what the home screen shows: hot services and one page of departments


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def heap_in_use() -> int:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        pytest.skip("needs glibc >= 2.33 (mallinfo2)")
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def rebuild(grid: QGridLayout, app: QApplication) -> None:
    """What HomeScreen._refresh does with its grid, then one turn of the event loop (which
    runs the deferred deletes and the bookkeeping that goes with them)."""
    clear_layout(grid)
    for i in range(TILES):
        grid.addWidget(tile(f"服务 {i}", lambda: None, name=f"service_{i}"), i // 2, i % 2)
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    app.processEvents()


def test_rebuilding_a_tile_grid_gives_its_memory_back(qapp):
    page = QWidget()
    grid = QGridLayout(page)
    page.resize(1080, 1600)
    page.show()
    for _ in range(100):  # warm-up: Qt's and the allocator's one-off caches
        rebuild(grid, qapp)
    widgets_before, heap_before = len(QApplication.allWidgets()), heap_in_use()
    for _ in range(REBUILDS):
        rebuild(grid, qapp)
    grown = heap_in_use() - heap_before
    assert len(QApplication.allWidgets()) == widgets_before, "dropped tiles were never deleted"
    # one leaked layout item per tile is 96 B x 20,000 tiles = 1.9 MB; without it, ~0
    assert grown < 500_000, (f"C heap grew {grown / 1e6:.2f} MB over {REBUILDS * TILES} "
                             f"dropped tiles ({grown / (REBUILDS * TILES):.0f} B each)")
    page.close()
