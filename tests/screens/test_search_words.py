"""Senior mode finds a service without pinyin: big buttons for the most common words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import qt_application
from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow
from screens.window import KioskWindow


class Nothing:
    def record_evaluation(self, payload):
        pass


def test_a_senior_finds_housing_fund_services_with_one_tap(qtbot):
    qt_application()
    flow = Flow(Catalog.load(), Nothing(), elderly=True)
    window = KioskWindow(flow)
    qtbot.addWidget(window)
    window.show()
    flow.start()
    flow.open_search()
    screen = window.current_screen()
    word = screen.findChild(QPushButton, "word_公积金")
    assert word is not None and word.isVisibleTo(window)  # old code: pinyin letters only
    assert word.height() >= 128  # a senior-sized target
    qtbot.mouseClick(word, Qt.LeftButton)

    def found():
        return [b for b in screen.findChildren(QPushButton)
                if b.objectName().startswith("service_") and b.isVisibleTo(window)]

    qtbot.waitUntil(lambda: bool(found()))  # the result tiles are shown by the event loop
    assert all("公积金" in b.accessibleName() for b in found())
