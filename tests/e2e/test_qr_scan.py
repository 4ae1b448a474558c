"""An application number read from the QR code on a receipt held up to the camera (the
camera simulator plays a clip of that receipt), instead of typed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.flow import Step
from kiosk.visit.qr_scan import application_number_in

pytestmark = pytest.mark.e2e
NUMBER = "GZ20261124000123"


def test_application_number_in_a_receipt_url():
    assert application_number_in(f"https://zwfw.example.gz.cn/v/{NUMBER}") == NUMBER
    assert application_number_in("https://example/v/Q20261124E6BB34AE") is None


def test_progress_looked_up_from_a_scanned_receipt(tmp_path, qtbot):
    rig = DemoRig(tmp_path / "rig").start(camera=None)
    try:
        rig.camera_uri = rig.camera_clip("qr", "--text", f"https://zwfw.example.gz.cn/v/{NUMBER}")
        app = KioskApp(rig.config(), tick_ms=100)
        app.start(show=True)
        try:
            app.flow.start()
            app.flow.choose_service("hall_bjjd")  # 办件进度查询
            app.flow.confirm_intro()
            assert app.flow.step is Step.INPUTS
            screen = app.window.current_screen()
            scan = screen.findChild(QPushButton, "scan_qr")
            qtbot.waitUntil(scan.isVisible, timeout=3000)
            qtbot.mouseClick(scan, Qt.LeftButton)
            qtbot.waitUntil(lambda: screen.values.get("application_number") == NUMBER,
                            timeout=15000)
            assert NUMBER in screen.value.text() and app.flow.scan_field is None
            qtbot.mouseClick(screen.findChild(QPushButton, "next_field"), Qt.LeftButton)
            qtbot.waitUntil(lambda: app.flow.step is Step.RESULT, timeout=15000)
            assert app.flow.result.timeline("zh_CN")
        finally:
            app.stop()
    finally:
        rig.stop()
