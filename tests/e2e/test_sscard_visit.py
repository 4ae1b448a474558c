"""A visit with the social-security card instead of the ID card, through a real pcscd, the
vpcd reader and the virtual card: PIN with tries left, then the result; and a card whose
holder is only readable after the PIN."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.flow import Step

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(sscard_sim, tmp_path, qtbot):
    rig = DemoRig(tmp_path / "rig").start(devices=False)
    config = rig.config(devices={"sscard": sscard_sim.reader_uri})
    app = KioskApp(config, tick_ms=100)
    app.start(show=True)
    yield app
    app.stop()
    rig.stop()


def type_pin(qtbot, app, pin):
    screen = app.window.current_screen()
    for digit in pin:
        qtbot.mouseClick(screen.findChild(QPushButton, f"key_{digit}"), Qt.LeftButton)
    qtbot.mouseClick(screen.findChild(QPushButton, "pin_ok"), Qt.LeftButton)


def test_social_security_card_and_pin_with_a_wrong_try(app, sscard_sim, qtbot):
    app.flow.start()
    app.flow.choose_service("yb_zhye")  # 医保个人账户余额: card + PIN
    app.flow.confirm_intro()
    assert app.flow.step is Step.PLACE_CARD
    sscard_sim.insert("ss_basic")
    qtbot.waitUntil(lambda: app.flow.step is Step.PIN, timeout=15000)
    type_pin(qtbot, app, "000000")
    qtbot.waitUntil(lambda: app.flow.pin_problem is not None, timeout=10000)
    assert app.flow.pin_problem[0] == "pin.wrong" and app.flow.pin_problem[1]["tries"] >= 1
    type_pin(qtbot, app, "123456")
    qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=15000)
    assert app.flow.identity.source == "ss_card"


def test_the_id_card_service_accepts_the_social_security_card(app, sscard_sim, qtbot):
    app.flow.start()
    app.flow.choose_service("rs_jfmx")
    app.flow.confirm_intro()
    sscard_sim.insert("ss_basic")
    qtbot.waitUntil(lambda: app.flow.step is Step.INPUTS, timeout=15000)
    app.flow.submit_inputs({})
    qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=15000)
    sscard_sim.remove()
    qtbot.waitUntil(lambda: app.flow.step is Step.GOODBYE, timeout=15000)
    assert app.flow.session is None


def test_a_card_that_needs_the_pin_first(app, sscard_sim, qtbot):
    app.flow.start()
    app.flow.choose_service("yb_zhye")
    app.flow.confirm_intro()
    sscard_sim.insert("ss_pin")
    qtbot.waitUntil(lambda: app.flow.step is Step.PIN, timeout=15000)
    assert app.flow.identity is None
    type_pin(qtbot, app, "123456")
    qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=15000)
