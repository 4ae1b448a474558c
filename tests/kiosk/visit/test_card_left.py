"""A card left on the reader: the take-your-card step waits for the reader to see it go,
reminds again, and when the resident walks away the attract screen and the heartbeat say
so until the card is taken. Driven through the real flow, reader and pty simulator."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.flow import TAKE_CARD_REMINDERS
from kiosk.visit.steps import Step
from kiosk.voice.guidance import spoken_text

WAIT_MS = 15000  # an upper bound for device round trips; nothing here asserts on speed


@pytest.fixture
def rig(tmp_path):
    rig = DemoRig(tmp_path / "rig", mode="test").start(camera=None)
    yield rig
    rig.stop()


@pytest.fixture
def app(rig, qtbot):
    app = KioskApp(rig.config(), tick_ms=50)
    app.start(show=True)
    yield app
    app.stop()


def wait_step(qtbot, app, step):
    qtbot.waitUntil(lambda: app.flow.step is step, timeout=WAIT_MS)


def shown(app, name: str) -> QLabel | None:
    lbl = app.window.current_screen().findChild(QLabel, name)
    return lbl if lbl is not None and lbl.isVisible() and lbl.text() else None


def printed_with_card_on_reader(qtbot, rig, app):
    """A card visit up to "take your receipt and card", the card still on the reader."""
    service = next(s for s in app.catalog.services if s.auth == "id_card" and not s.inputs
                   and s.print_receipt)
    app.flow.start()
    app.flow.choose_service(service.id)
    app.flow.confirm_intro()
    rig.place_card()
    wait_step(qtbot, app, Step.RESULT)
    app.flow.print_result()
    wait_step(qtbot, app, Step.TAKE_DOCUMENTS)
    assert app.flow.cards_on_reader == {"id_card"}


def test_taken_is_not_believed_while_the_reader_still_sees_the_card(qtbot, rig, app):
    printed_with_card_on_reader(qtbot, rig, app)
    app.window.current_screen().findChild(QPushButton, "taken").click()
    assert app.flow.step is Step.TAKE_DOCUMENTS  # old code: on to the rating, card forgotten
    qtbot.waitUntil(lambda: shown(app, "card_still_there") is not None, timeout=WAIT_MS)
    assert spoken_text(app.flow, app.window.t) == app.window.t.t("take.card_still_there")
    rig.remove_card()
    wait_step(qtbot, app, Step.RATING)
    assert app.flow.left_behind == set()


def test_the_step_reminds_then_the_attract_screen_and_heartbeat_report_the_card(qtbot, rig, app):
    printed_with_card_on_reader(qtbot, rig, app)
    app.flow.take_documents_timeout = 0.2  # the config's floor is 5 s; the step's logic is the same
    qtbot.waitUntil(lambda: app.flow.take_reminders >= 1, timeout=WAIT_MS)
    assert app.flow.step is Step.TAKE_DOCUMENTS  # old code: the rating, as if all was taken
    assert shown(app, "card_still_there") is not None
    wait_step(qtbot, app, Step.ATTRACT)  # after TAKE_CARD_REMINDERS reminders: walked away
    assert TAKE_CARD_REMINDERS >= 1 and app.flow.session is None
    assert app.flow.left_behind == {"id_card"}
    assert shown(app, "card_left") is not None
    heartbeat = app.ops.heartbeat
    assert heartbeat.payload()["left_behind"] == ["id_card"]
    rig.remove_card()
    qtbot.waitUntil(lambda: not app.flow.left_behind, timeout=WAIT_MS)
    assert shown(app, "card_left") is None
    assert heartbeat.payload()["left_behind"] == []
