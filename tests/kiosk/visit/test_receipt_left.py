"""A receipt left in the printer's mouth: with a kiosk printer that reports its presenter
(simulator ``--presenter``, profile ``80mm-kiosk``) the take-your-documents step waits for
the receipt to be taken like it waits for the ID card, reminds on screen and by voice, and
when the resident walks away the attract screen and the heartbeat say so until it is taken.
Driven through the real app, reader, printer driver and the simulators' wire protocols."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.steps import Step
from kiosk.voice.guidance import spoken_text
from tests.kiosk.visit.test_card_left import WAIT_MS, shown, wait_step


@pytest.fixture
def rig(tmp_path):
    rig = DemoRig(tmp_path / "rig", mode="test").start(camera=None)
    yield rig
    rig.stop()


@pytest.fixture
def app(rig, printer_sim_factory, qtbot):
    kiosk_printer = printer_sim_factory("--presenter")
    config = rig.config(devices={"receipt_printer": kiosk_printer.uri,
                                 "receipt_profile": "80mm-kiosk"})
    app = KioskApp(config, tick_ms=50)
    app.kiosk_printer = kiosk_printer
    app.start(show=True)
    yield app
    app.stop()


def printed_and_card_taken(qtbot, rig, app):
    """A card visit up to "take your receipt and card"; the card is taken, the receipt not."""
    service = next(s for s in app.catalog.services if s.auth == "id_card" and not s.inputs
                   and s.print_receipt)
    app.flow.start()
    app.flow.choose_service(service.id)
    app.flow.confirm_intro()
    rig.place_card()
    wait_step(qtbot, app, Step.RESULT)
    app.flow.print_result()
    wait_step(qtbot, app, Step.TAKE_DOCUMENTS)
    assert app.flow.cards_on_reader == {"id_card", "receipt"}  # old code: the card only
    rig.remove_card()
    qtbot.waitUntil(lambda: app.flow.cards_on_reader == {"receipt"}, timeout=WAIT_MS)
    assert app.flow.step is Step.TAKE_DOCUMENTS  # old code: the rating, receipt forgotten


def test_the_step_waits_for_the_receipt_and_moves_on_once_it_is_taken(qtbot, rig, app):
    printed_and_card_taken(qtbot, rig, app)
    app.window.current_screen().findChild(QPushButton, "taken").click()
    assert app.flow.step is Step.TAKE_DOCUMENTS  # "I took it" is not believed
    reminder = shown(app, "card_still_there")
    assert reminder is not None and reminder.text() == app.window.t.t("take.receipt_still_there")
    assert spoken_text(app.flow, app.window.t) == app.window.t.t("take.receipt_still_there")
    app.kiosk_printer.take_receipt()
    wait_step(qtbot, app, Step.RATING)  # the printer saw it go
    assert app.flow.left_behind == set()


def test_walked_away_the_attract_screen_and_heartbeat_report_the_receipt(qtbot, rig, app):
    printed_and_card_taken(qtbot, rig, app)
    app.flow.take_documents_timeout = 0.2  # the config's floor is 5 s; the step's logic is the same
    wait_step(qtbot, app, Step.ATTRACT)  # after the reminders: walked away
    assert app.flow.left_behind == {"receipt"}
    banner = shown(app, "card_left")
    assert banner is not None and banner.text() == app.window.t.t("attract.receipt_left")
    assert spoken_text(app.flow, app.window.t) == app.window.t.t("attract.receipt_left")
    assert app.ops.heartbeat.payload()["left_behind"] == ["receipt"]
    app.kiosk_printer.take_receipt()  # staff or the next resident takes it
    qtbot.waitUntil(lambda: shown(app, "card_left") is None, timeout=WAIT_MS)
    assert app.flow.left_behind == set()
    assert app.ops.heartbeat.payload()["left_behind"] == []
