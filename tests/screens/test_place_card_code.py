"""The place-card screen offers 扫码 (the phone's identity code) only where the service takes
it and the terminal has a scanner, shows where to hold the phone when chosen, and a
code-only service shows the phone at once."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow
from screens.window import KioskWindow


@pytest.fixture
def window(qtbot):
    def make(service_id: str, *, scanner: bool = True, auth: str | None = None) -> KioskWindow:
        catalog = Catalog.load()
        if auth is not None:  # a code-only variant of a real service
            catalog = Catalog(catalog.departments, [
                replace(s, auth=auth, app_code=False) if s.id == service_id else s
                for s in catalog.services])
        flow = Flow(catalog, None)
        flow.can_scan_code = scanner
        win = KioskWindow(flow, 1080, 1920)
        qtbot.addWidget(win)
        win.show()
        flow.start()
        flow.choose_service(service_id)
        flow.confirm_intro()
        qtbot.waitUntil(lambda: win.current_screen().name == "place_card", timeout=5000)
        return win
    return make


def test_scan_is_offered_beside_the_card_and_shows_the_phone(window, qtbot):
    win = window("gjj_zh")
    screen = win.current_screen()
    assert screen.scan_button.isVisible() and screen.scan_button.text() == "扫码"
    assert screen.picture.isVisible() and not screen.phone.isVisible()
    qtbot.mouseClick(screen.scan_button, Qt.LeftButton)
    assert screen.phone.isVisible() and not screen.picture.isVisible()
    assert screen.title.text() == "请出示手机上的身份码"
    assert "读卡区" in screen.hint.text()  # the card still works
    qtbot.mouseClick(screen.scan_button, Qt.LeftButton)  # 用身份证: back to the card
    assert screen.picture.isVisible() and screen.title.text() == "请将身份证放在读卡区"


@pytest.mark.parametrize(("service_id", "scanner"), [("rs_sbk_jd", True), ("gjj_zh", False)])
def test_no_scan_where_the_service_or_the_terminal_cannot_take_a_code(window, service_id,
                                                                     scanner):
    screen = window(service_id, scanner=scanner).current_screen()
    assert not screen.scan_button.isVisible() and screen.picture.isVisible()


def test_a_code_only_service_shows_the_phone_straight_away(window):
    screen = window("gjj_zh", auth="app_code").current_screen()
    assert screen.phone.isVisible() and not screen.picture.isVisible()
    assert not screen.scan_button.isVisible()
    assert "读卡区" not in screen.hint.text()
