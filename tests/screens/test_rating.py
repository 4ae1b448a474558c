"""好差评 on the screen: a good rating is one tap; a low one asks why before it is sent."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import qt_application
from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow, Step
from screens.window import KioskWindow


class Ratings:
    def __init__(self):
        self.sent = []

    def record_evaluation(self, payload):
        self.sent.append((payload["level"], tuple(payload["reasons"])))


@pytest.fixture
def rating_window(qtbot):
    qt_application()
    flow = Flow(Catalog.load(), Ratings())
    window = KioskWindow(flow)
    qtbot.addWidget(window)
    flow.start()
    flow.choose_service("rs_jfmx")
    flow._go(Step.RATING)
    return flow, window


def tap(qtbot, window, name):
    btn = window.current_screen().findChild(QPushButton, name)
    assert btn.isVisibleTo(window), name
    qtbot.mouseClick(btn, Qt.LeftButton)


def test_a_good_rating_is_one_tap(rating_window, qtbot):
    flow, window = rating_window
    tap(qtbot, window, "rate_satisfied")
    assert flow.effects.sent == [("satisfied", ())] and flow.step is Step.GOODBYE


def test_a_low_rating_asks_why(rating_window, qtbot):
    flow, window = rating_window
    tap(qtbot, window, "rate_very_dissatisfied")
    assert flow.step is Step.RATING and flow.effects.sent == []
    tap(qtbot, window, "reason_slow")
    tap(qtbot, window, "reason_printing")
    tap(qtbot, window, "reason_slow")  # changed their mind
    tap(qtbot, window, "send_rating")
    assert flow.effects.sent == [("very_dissatisfied", ("printing",))]
    assert flow.step is Step.GOODBYE


def test_no_rating_is_preselected_or_weighted(rating_window):
    """好差评 must be one free choice: five levels that look alike, none already chosen."""
    _flow, window = rating_window
    screen = window.current_screen()
    levels = [b for b in screen.findChildren(QPushButton) if b.objectName().startswith("rate_")]
    assert len(levels) == 5 and all(b.isVisibleTo(window) for b in levels)
    assert {b.property("role") for b in levels} == {"choice"}
    assert not any(b.isChecked() or b.property("selected") for b in levels)
    assert screen.focusWidget() not in levels
