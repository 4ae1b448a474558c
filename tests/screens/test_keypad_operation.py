"""Every screen works from a physical keypad: Tab and arrows move a visible focus, Enter
presses, Escape goes back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from kiosk.visit.flow import Step


def focused() -> QPushButton:
    return QApplication.focusWidget()


def test_enter_presses_the_focused_button(window, qtbot):
    start = window.current_screen().findChild(QPushButton, "start")
    start.setFocus()
    qtbot.keyClick(focused(), Qt.Key_Return)
    assert window.flow.step is Step.HOME


def test_arrows_move_the_focus_between_buttons(window, qtbot):
    window.flow.start()
    first = window.current_screen().findChild(QPushButton, "service_" + window.flow.catalog.hot()[0].id)
    first.setFocus()
    qtbot.keyClick(first, Qt.Key_Down)
    assert focused() is not first and isinstance(focused(), QPushButton)
    qtbot.keyClick(focused(), Qt.Key_Up)
    assert focused() is first
    qtbot.keyClick(first, Qt.Key_Return)
    assert window.flow.step is Step.INTRO


def test_escape_goes_back(window, qtbot):
    window.flow.start()
    window.flow.choose_service("rs_jfmx")
    window.current_screen().findChild(QPushButton, "confirm").setFocus()
    qtbot.keyClick(focused(), Qt.Key_Escape)
    assert window.flow.step is Step.HOME


def test_search_finds_as_the_resident_types(window, qtbot):
    window.flow.start()
    qtbot.mouseClick(window.current_screen().findChild(QPushButton, "search"), Qt.LeftButton)
    assert window.flow.step is Step.SEARCH
    screen = window.current_screen()
    for key in "SBJF":
        qtbot.mouseClick(screen.findChild(QPushButton, f"key_{key}"), Qt.LeftButton)
    found = screen.findChild(QPushButton, "service_rs_jfmx")
    assert found is not None
    qtbot.waitUntil(lambda: found.isVisibleTo(window), timeout=2000)
    qtbot.mouseClick(found, Qt.LeftButton)
    assert window.flow.step is Step.INTRO and window.flow.service.id == "rs_jfmx"
