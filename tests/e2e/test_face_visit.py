"""刷脸办: a card + face visit through the real camera clip, the face gate and the central
simulator's face comparison; three failed matches offer the social-security card instead."""

from __future__ import annotations

import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.flow import Step

pytestmark = pytest.mark.e2e
SERVICE = "mz_hyjl"  # 婚姻登记记录查询: card + face, nothing to type


def run_app(tmp_path, clip):
    rig = DemoRig(tmp_path / "rig").start(camera=clip)
    try:
        app = KioskApp(rig.config(), tick_ms=100)
        app.start(show=True)
    except Exception:
        rig.stop()
        raise
    return rig, app


def tap(qtbot, app, name):
    btn = app.window.current_screen().findChild(QPushButton, name)
    assert btn is not None and btn.isVisible(), f"{name} on {app.flow.step}"
    qtbot.mouseClick(btn, Qt.LeftButton)


def to_face_step(app, rig, qtbot):
    app.flow.start()
    app.flow.choose_service(SERVICE)
    app.flow.confirm_intro()
    rig.place_card()
    qtbot.waitUntil(lambda: app.flow.step is Step.FACE, timeout=15000)


def test_card_and_a_live_face_reach_the_result(tmp_path, qtbot):
    rig, app = run_app(tmp_path, "live")
    try:
        to_face_step(app, rig, qtbot)
        qtbot.waitUntil(lambda: app.window.screens[Step.FACE].preview.image is not None,
                        timeout=10000)
        qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=30000)
        calls = requests.get(f"{rig.central.address}/_admin/received",
                             params={"path": "verifyFace"}, timeout=5).json()["requests"]
        assert len(calls) == 1  # one good frame was chosen and compared, once
    finally:
        app.stop()
        rig.stop()


def test_three_mismatches_offer_the_social_security_card(tmp_path, qtbot):
    rig, app = run_app(tmp_path, "mismatch")
    try:
        to_face_step(app, rig, qtbot)
        for attempt in range(3):
            expected = "face.give_up" if attempt == 2 else "face.no_match"
            qtbot.waitUntil(lambda e=expected: app.flow.face_problem == e, timeout=30000)
            if attempt < 2:
                tap(qtbot, app, "face_retry")
        tap(qtbot, app, "use_ss_card")
        assert app.flow.step is Step.PLACE_CARD and app.flow.auth == "ss_card+pin"
        assert app.flow.card_problem == "card.use_ss_card"
    finally:
        app.stop()
        rig.stop()
