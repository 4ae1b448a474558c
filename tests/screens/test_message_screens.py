"""Error, out-of-service and help as a resident reads them: an icon, one sentence, where to
get help (the hall's window and 12345 from config), a code for staff, 重试 where it helps;
the closed terminal names the nearest other one and the opening hours."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.demo.visit import stage_screen
from kiosk.visit.flow import staff_code


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = DemoRig(tmp_path_factory.mktemp("rig")).start(devices=False)
    yield rig
    rig.stop()


@pytest.fixture
def app(rig, qtbot):
    app = KioskApp(rig.config())
    app.start(show=True)
    yield app
    app.stop()


def shown_text(app, name: str) -> str:
    lbl = app.window.current_screen().findChild(QLabel, name)
    assert lbl is not None and lbl.isVisibleTo(app.window), name
    return lbl.text()


@pytest.mark.expected_errors(r"visit error central\.unavailable")
def test_error_screen_gives_an_icon_help_a_staff_code_and_retry(app):
    terminal = app.config.terminal
    assert terminal["help_window"] and terminal["hotline"]
    stage_screen(app, "error")
    screen = app.window.current_screen()
    assert not screen.findChild(QLabel, "error_icon").pixmap().isNull()
    help_line = shown_text(app, "error_help")
    assert terminal["help_window"] in help_line and terminal["hotline"] in help_line
    assert staff_code("central.unavailable") in shown_text(app, "error_code")
    assert screen.findChild(QPushButton, "error_retry").isVisibleTo(app.window)


def test_out_of_service_names_the_nearest_terminal_and_the_hours(app):
    stage_screen(app, "out_of_service")
    terminal = app.config.terminal
    assert terminal["nearest_terminal"] in shown_text(app, "nearest_terminal")
    assert terminal["opening_hours"] in shown_text(app, "opening_hours")
    assert terminal["hotline"] in shown_text(app, "hotline_line")


def test_help_is_a_numbered_illustrated_list(app):
    stage_screen(app, "help")
    screen = app.window.current_screen()
    numbers = [lbl.text() for lbl in screen.findChildren(QLabel, "help_number")]
    assert numbers == ["1", "2", "3", "4"]
    pictures = [lbl for lbl in screen.findChildren(QLabel) if lbl.property("role") == "icon"]
    assert len(pictures) == 4 and all(not p.pixmap().isNull() for p in pictures)
    assert app.config.terminal["help_window"] in shown_text(app, "help_people")


def test_out_of_service_in_zh_hk_names_the_hall_in_traditional(app):
    """The nearest terminal in the resident's script, not the 简体 config text."""
    terminal = app.config.terminal
    assert terminal["nearest_terminal_zh_HK"] != terminal["nearest_terminal"]
    app.flow.set_language("zh_HK")
    stage_screen(app, "out_of_service")
    nearest = shown_text(app, "nearest_terminal")
    assert terminal["nearest_terminal_zh_HK"] in nearest
    assert terminal["nearest_terminal"] not in nearest


def test_the_english_header_names_the_hall_in_english(app):
    terminal = app.config.terminal
    app.flow.set_language("en")
    stage_screen(app, "home")
    hall = app.window.header.findChild(QLabel, "hall")
    assert hall.isVisibleTo(app.window) and hall.text() == terminal["hall_en"]
    app.flow.set_language("zh_HK")
    assert hall.text() == terminal["hall_zh_HK"]


@pytest.mark.expected_errors(r"visit error central\.unavailable")
def test_landscape_error_keeps_its_icon_beside_the_title(rig, qtbot):
    """1920×1080: icon and title read as one centred group, not an icon at the far left."""
    from PySide6.QtCore import QPoint

    app = KioskApp(rig.config(screen={"width": 1920, "height": 1080}))
    app.start(show=True)
    try:
        stage_screen(app, "error")
        screen = app.window.current_screen()
        icon, title = screen.findChild(QLabel, "error_icon"), screen.title
        qtbot.waitUntil(lambda: icon.isVisibleTo(app.window) and icon.y() > 0)
        icon_right = icon.mapTo(app.window, QPoint(icon.width(), 0)).x()
        text_width = title.fontMetrics().horizontalAdvance(title.text())
        text_left = title.mapTo(app.window, QPoint((title.width() - text_width) // 2, 0)).x()
        assert 0 <= text_left - icon_right <= 48
        group_centre = (icon.mapTo(app.window, QPoint(0, 0)).x() + text_left + text_width) / 2
        assert abs(group_centre - app.window.width() / 2) <= 48
    finally:
        app.stop()
