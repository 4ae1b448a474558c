"""A social-security card left in the slot, through a real pcscd, the vpcd reader and the
virtual card: the take-your-documents step waits until PC/SC sees the card go, reminds, and
when the resident walks away the attract screen and the heartbeat report ``ss_card`` until
the card is pulled."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.flow import Step
from kiosk.voice.guidance import spoken_text

pytestmark = pytest.mark.e2e
WAIT_MS = 15000  # an upper bound for device round trips; nothing here asserts on speed


@pytest.fixture
def app(sscard_sim, tmp_path, qtbot):
    rig = DemoRig(tmp_path / "rig", mode="test").start(camera=None)  # central and a printer
    config = rig.config(devices={"sscard": sscard_sim.reader_uri, "idcard": ""})
    app = KioskApp(config, tick_ms=50)
    app.start(show=True)
    yield app
    app.stop()
    rig.stop()


def shown(app, name):
    from PySide6.QtWidgets import QLabel

    lbl = app.window.current_screen().findChild(QLabel, name)
    return lbl if lbl is not None and lbl.isVisible() and lbl.text() else None


def printed_with_card_in_slot(qtbot, app, sscard_sim):
    app.flow.start()
    app.flow.choose_service("rs_jfmx")
    app.flow.confirm_intro()
    sscard_sim.insert("ss_basic")
    qtbot.waitUntil(lambda: app.flow.step is Step.INPUTS, timeout=WAIT_MS)
    app.flow.submit_inputs({})
    qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=WAIT_MS)
    app.flow.print_result()
    qtbot.waitUntil(lambda: app.flow.step is Step.TAKE_DOCUMENTS, timeout=WAIT_MS)
    assert app.flow.cards_on_reader == {"ss_card"}


def test_taken_is_not_believed_while_pcsc_still_sees_the_card(qtbot, app, sscard_sim):
    printed_with_card_in_slot(qtbot, app, sscard_sim)
    app.window.current_screen().findChild(QPushButton, "taken").click()
    assert app.flow.step is Step.TAKE_DOCUMENTS
    assert spoken_text(app.flow, app.window.t) == app.window.t.t("take.card_still_there")
    sscard_sim.remove()
    qtbot.waitUntil(lambda: app.flow.step is Step.RATING, timeout=WAIT_MS)
    assert app.flow.left_behind == set()


def test_walked_away_the_attract_screen_and_heartbeat_report_the_card(qtbot, app, sscard_sim):
    printed_with_card_in_slot(qtbot, app, sscard_sim)
    app.flow.take_documents_timeout = 0.2  # the config's floor is 5 s; the step's logic is the same
    qtbot.waitUntil(lambda: app.flow.step is Step.ATTRACT, timeout=WAIT_MS)
    assert app.flow.left_behind == {"ss_card"}
    assert shown(app, "card_left") is not None
    assert app.ops.heartbeat.payload()["left_behind"] == ["ss_card"]
    sscard_sim.remove()
    qtbot.waitUntil(lambda: shown(app, "card_left") is None, timeout=WAIT_MS)
    assert app.flow.left_behind == set() and app.ops.heartbeat.payload()["left_behind"] == []
