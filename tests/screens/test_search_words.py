"""Senior mode finds a service without pinyin: big buttons for the most common words."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QPushButton

from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow
from tests.screens.conftest import shown_window


class Nothing:
    def record_evaluation(self, payload):
        pass


def test_a_senior_finds_housing_fund_services_with_one_tap(qtbot):
    flow = Flow(Catalog.load(), Nothing(), elderly=True)
    window = shown_window(qtbot, flow)
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


def test_a_senior_on_a_short_desk_panel_types_on_half_an_alphabet_at_a_time(qtbot):
    """1366×768 in senior English: the 37 letter-and-digit keys would run under the bottom
    bar (old code: keys cut and off the window); half the alphabet shows, senior-sized and
    whole, and one key turns to the other half."""
    flow = Flow(Catalog.load(), Nothing(), language="en", elderly=True)
    window = shown_window(qtbot, flow, width=1366, height=768)
    flow.start()
    flow.open_search()
    screen = window.current_screen()

    def key(name: str) -> QPushButton:
        return screen.findChild(QPushButton, f"key_{name}")

    qtbot.waitUntil(lambda: key("⇄") is not None and key("⇄").isVisibleTo(window))
    area = screen.rect()
    shown = [b for b in screen.findChildren(QPushButton)
             if b.objectName().startswith("key_") and b.isVisibleTo(window)]
    for b in shown:
        assert b.height() >= 128 and b.width() >= 128, b.text()
        assert area.contains(QRect(b.mapTo(screen, QPoint(0, 0)), b.size())), b.text()
    assert key("A").isVisibleTo(window) and not key("S").isVisibleTo(window)
    qtbot.mouseClick(key("⇄"), Qt.LeftButton)
    assert key("S").isVisibleTo(window) and not key("A").isVisibleTo(window)
    qtbot.mouseClick(key("S"), Qt.LeftButton)
    qtbot.mouseClick(key("⇄"), Qt.LeftButton)
    qtbot.mouseClick(key("B"), Qt.LeftButton)
    assert screen.text == "sb"  # the turn key itself never reaches the field


def test_the_senior_chinese_search_hint_speaks_of_writing_not_pinyin(qtbot):
    """Senior Chinese shows the handwriting pad: its hint says write, not spell pinyin."""
    flow = Flow(Catalog.load(), Nothing(), elderly=True, language="zh_HK")
    window = shown_window(qtbot, flow)
    flow.start()
    flow.open_search()
    hint = window.current_screen().hint.text()
    assert "拼音" not in hint and "寫" in hint
    flow.set_elderly(False)  # standard mode keeps the letter keypad, and the pinyin hint
    assert "拼音" in window.current_screen().hint.text()
