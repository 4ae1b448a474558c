"""The real window on the offscreen platform, shown, for the screen tests that need nothing
else (a module that needs another window defines its own ``window``)."""

from __future__ import annotations

import pytest

from kiosk.app.kiosk_app import qt_application
from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow
from screens.window import KioskWindow


@pytest.fixture
def window(qtbot) -> KioskWindow:
    qt_application()
    window = KioskWindow(Flow(Catalog.load(), None))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window
