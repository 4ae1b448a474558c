"""A visit identified by the identity code on a resident's phone (网络身份码), end to end: the
central simulator over HTTP mints the code, the resident shows it to a 2D scanner engine on a
pty, to a USB keyboard-wedge scanner, or to the camera, and the real app window takes it."""

from __future__ import annotations

import pytest
import requests
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.flow import Step
from tests.fixtures.procs import start_sim

pytestmark = pytest.mark.e2e
WAIT_MS = 15000  # an upper bound for process round trips; nothing here asserts on speed
SERVICE = "gjj_zh"  # 公积金账户查询: takes the phone's code beside the ID card
RESIDENT_ID = "440104198503120020"


def _mint(rig: DemoRig, **body) -> str:
    reply = requests.post(rig.central.address + "/_admin/app-codes", json=body, timeout=5)
    reply.raise_for_status()
    return reply.json()["code"]


def _to_place_card(app: KioskApp, qtbot) -> None:
    app.flow.start()
    app.flow.choose_service(SERVICE)
    app.flow.confirm_intro()
    assert app.flow.step is Step.PLACE_CARD
    qtbot.waitUntil(lambda: app.window.current_screen().name == "place_card", timeout=WAIT_MS)


@pytest.fixture
def scanner_sim(tmp_path):
    link = tmp_path / "ttySCAN"
    sim = start_sim(["qr-scanner", "--link", str(link)])
    yield sim, link
    sim.stop()


def _app(rig: DemoRig, qr_scanner: str) -> KioskApp:
    app = KioskApp(rig.config(devices={"qr_scanner": qr_scanner}), tick_ms=100)
    app.start(show=True)
    return app


def test_a_visit_identified_by_a_code_through_the_pty_scanner(tmp_path, qtbot, scanner_sim):
    sim, link = scanner_sim
    rig = DemoRig(tmp_path / "rig", mode="test").start(camera=None)
    try:
        app = _app(rig, f"serial://{link}?baud=9600")
        try:
            qtbot.waitUntil(lambda: app.devices.qr_scanner.status().state == "ready",
                            timeout=WAIT_MS)
            _to_place_card(app, qtbot)
            screen = app.window.current_screen()
            scan = screen.findChild(QPushButton, "scan_code")
            qtbot.waitUntil(scan.isVisible, timeout=WAIT_MS)
            qtbot.mouseClick(scan, Qt.LeftButton)  # 扫码: where to hold the phone
            assert screen.phone.isVisible() and not screen.picture.isVisible()
            assert screen.title.text() == app.window.t.t("app_code.title")
            sim.send(f"scan {_mint(rig)}")
            qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=WAIT_MS)
            assert app.flow.identity.source == "app_code"
            assert app.flow.identity.id_number == RESIDENT_ID
        finally:
            app.stop()
    finally:
        rig.stop()


def test_a_used_code_at_the_scanner_is_said_on_the_place_card_screen(tmp_path, qtbot, scanner_sim):
    sim, link = scanner_sim
    rig = DemoRig(tmp_path / "rig", mode="test").start(camera=None)
    try:
        code = _mint(rig)
        app = _app(rig, f"serial://{link}?baud=9600")
        try:
            qtbot.waitUntil(lambda: app.devices.qr_scanner.status().state == "ready",
                            timeout=WAIT_MS)
            app.client.identify_by_code(code)  # someone else's terminal used it first
            _to_place_card(app, qtbot)
            sim.send(f"scan {code}")
            screen = app.window.current_screen()
            qtbot.waitUntil(lambda: app.flow.card_problem == "app_code.code_used",
                            timeout=WAIT_MS)
            qtbot.waitUntil(lambda: screen.problem.text() == app.window.t.t("app_code.code_used"),
                            timeout=WAIT_MS)
            assert app.flow.step is Step.PLACE_CARD and app.flow.identity is None
        finally:
            app.stop()
    finally:
        rig.stop()


def test_a_visit_identified_by_a_code_through_the_camera(tmp_path, qtbot):
    rig = DemoRig(tmp_path / "rig", mode="test").start(camera=None)
    try:
        rig.camera_uri = rig.camera_clip("qr", "--text", _mint(rig))
        app = _app(rig, "camera")
        try:
            _to_place_card(app, qtbot)
            qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=WAIT_MS)
            assert app.flow.identity.source == "app_code"
            assert app.flow.identity.id_number == RESIDENT_ID
            sent = requests.get(rig.central.address + "/_admin/received",
                                params={"path": "/v1/identity/code"}, timeout=5).json()
            assert [r["body"]["scanned_by"] for r in sent["requests"]] == ["camera"]
        finally:
            app.stop()
    finally:
        rig.stop()


def _keys(window, text: str, *, enter: bool = True, clock=None, step: float = 0.0) -> None:
    """Key presses as the platform delivers them: to the window (QWindow) first."""
    handle = window.windowHandle()
    for ch in text:
        if clock is not None:
            clock.now += step
        QApplication.sendEvent(handle, QKeyEvent(QEvent.KeyPress, ord(ch.upper()),
                                                 Qt.NoModifier, ch))
        QApplication.sendEvent(handle, QKeyEvent(QEvent.KeyRelease, ord(ch.upper()),
                                                 Qt.NoModifier, ch))
    if enter:
        QApplication.sendEvent(handle, QKeyEvent(QEvent.KeyPress, Qt.Key_Return,
                                                 Qt.NoModifier, "\r"))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_keyboard_wedge_burst_identifies_and_slow_typing_still_reaches_its_field(tmp_path,
                                                                                  qtbot):
    rig = DemoRig(tmp_path / "rig", mode="test").start(camera=None)
    try:
        app = _app(rig, "hid-wedge://")
        field = QLineEdit()  # a person at a hardware keyboard, typing into a field
        qtbot.addWidget(field)
        try:
            key_filter = app.code_scanning.key_filter
            clock = FakeClock()
            key_filter.clock = clock
            field.show()
            qtbot.waitExposed(field)
            field.setFocus()
            _keys(field, "12345678", clock=clock, step=0.3)  # 0.3 s a key: a person
            qtbot.waitUntil(lambda: field.text() == "12345678", timeout=WAIT_MS)

            _to_place_card(app, qtbot)
            code = _mint(rig)
            _keys(field, code, clock=clock, step=0.003)  # 3 ms a key: a scanner
            qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=WAIT_MS)
            assert app.flow.identity.source == "app_code"
            assert field.text() == "12345678"  # not one character of the code in the field
        finally:
            app.stop()
    finally:
        rig.stop()
