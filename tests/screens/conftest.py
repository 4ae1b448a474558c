"""The real window on the offscreen platform, shown, for the screen tests that need nothing
else (a module that needs another window defines its own ``window``)."""

from __future__ import annotations

import pytest

from kiosk.app.kiosk_app import qt_application
from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow
from screens.window import KioskWindow


def shown_window(qtbot, flow: Flow, **size: int) -> KioskWindow:
    """``flow``'s window (``width``/``height``: another panel than the config's), shown and
    exposed, closed with the test."""
    qt_application()
    window = KioskWindow(flow, **size)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot) -> KioskWindow:
    return shown_window(qtbot, Flow(Catalog.load(), None))
