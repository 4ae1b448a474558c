"""The attract screen rotates the announcements from config, in the resident's language."""

from __future__ import annotations

import pytest

from kiosk.announcements import load_announcements
from kiosk.app.kiosk_app import qt_application
from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow
from screens.window import KioskWindow


def test_shipped_announcements_have_every_language():
    items = load_announcements()
    assert len(items) >= 2 and all(set(a) >= {"zh_CN", "zh_HK", "en"} for a in items)


@pytest.mark.expected_errors(r"announcements.*unusable")
@pytest.mark.parametrize("text", ["[[announcement]]\nzh_CN = 'only one language'\n", "[[broken"])
def test_bad_announcements_are_skipped_not_fatal(tmp_path, text):
    path = tmp_path / "a.toml"
    path.write_text(text, encoding="utf-8")
    assert load_announcements(path) == []


def test_carousel_turns_and_follows_the_language(qtbot):
    qt_application()
    flow = Flow(Catalog.load(), None)
    flow.announcements = [{"zh_CN": "一", "zh_HK": "壹", "en": "one"},
                          {"zh_CN": "二", "zh_HK": "貳", "en": "two"}]
    window = KioskWindow(flow)
    qtbot.addWidget(window)
    window.show()
    screen = window.current_screen()
    assert screen.news.text() == "一"
    screen._next_announcement()
    assert screen.news.text() == "二"
    flow.set_language("en")
    assert screen.news.text() == "two"


def test_attract_writes_the_date_as_the_header_does(qtbot):
    """Not "2026-12-01" beside a header's "Tue 1 Dec": one way of writing the day."""
    from PySide6.QtCore import QDate

    qt_application()
    flow = Flow(Catalog.load(), None)
    window = KioskWindow(flow)
    qtbot.addWidget(window)
    window.show()
    flow.set_language("en")
    screen = window.current_screen()
    today = QDate.currentDate()
    written = screen.date.text()
    assert "-" not in written and str(today.day()) in written
    assert today.toString("ddd") in written and today.toString("MMM") in written
    flow.set_language("zh_HK")
    assert screen.date.text().startswith(f"{today.month()}月{today.day()}日")
