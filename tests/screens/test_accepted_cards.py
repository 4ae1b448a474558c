"""The intro and place-card screens show which cards a service accepts, with pictures: the
reader takes the resident ID card, the permanent-residence card and the HK/Macau/Taiwan
residence permit; a social-security service takes only its card."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QWidget

from kiosk.app.kiosk_app import qt_application
from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow, Step
from screens.window import KioskWindow


class Nothing:
    def record_evaluation(self, payload):
        pass


@pytest.fixture
def window(qtbot):
    qt_application()
    flow = Flow(Catalog.load(), Nothing(), language="en")
    window = KioskWindow(flow)
    qtbot.addWidget(window)
    window.show()
    flow.start()
    return flow, window


def cards_shown(window) -> dict[str, str]:
    screen = window.current_screen()
    out = {}
    for card in screen.findChildren(QWidget):
        if card.property("role") == "card_kind" and card.isVisibleTo(window):
            picture = next(p for p in card.findChildren(QLabel) if p.property("role") == "icon")
            assert not picture.pixmap().isNull()
            out[card.objectName()] = card.findChild(QLabel, "card_kind_text").text()
    return out


@pytest.mark.parametrize("step", [Step.INTRO, Step.PLACE_CARD])
def test_an_id_card_service_names_every_card_the_reader_takes(window, step):
    flow, win = window
    service = next(s for s in flow.catalog.services if s.auth == "id_card")
    flow.choose_service(service.id)
    if step is Step.PLACE_CARD:
        flow.confirm_intro()
    assert flow.step is step
    shown = cards_shown(win)
    assert set(shown) == {"card_resident", "card_permanent_residence", "card_permit"}
    assert "permanent residence" in shown["card_permanent_residence"]
    assert "Taiwan" in shown["card_permit"]


def test_a_social_security_service_shows_only_that_card(window):
    flow, win = window
    service = next(s for s in flow.catalog.services if s.auth == "ss_card+pin")
    flow.choose_service(service.id)
    assert set(cards_shown(win)) == {"card_ss_card"}
