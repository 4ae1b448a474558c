"""The technician screen driven by touch (pytest-qt) over a real PIN store and real checks."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from kiosk.ops.console import TechnicianConsole  # noqa: E402
from kiosk.ops.doctor import check_disk, check_outbox  # noqa: E402
from kiosk.ops.technician import TechnicianAccess  # noqa: E402
from screens.qt import QPushButton, Qt  # noqa: E402
from screens.technician import TechnicianScreen  # noqa: E402
from screens.theme import stylesheet  # noqa: E402


class Audit:
    def __init__(self):
        self.events = []

    def put(self, stream, payload):
        self.events.append((stream, payload))


@pytest.fixture
def screen(qtbot, tmp_path):
    audit = Audit()
    access = TechnicianAccess(tmp_path / "tech.json", audit=audit)
    access.set_pin("246813")
    exits = []

    def test_print() -> str:
        return "receipt job 7 printed"

    def broken_camera() -> str:
        raise OSError(19, "No such device")

    console = TechnicianConsole(
        access, checks=lambda: [check_disk(tmp_path), check_outbox(tmp_path / "none.sqlite")],
        actions={"测试打印 Test print": test_print, "测试摄像头 Test camera": broken_camera})
    widget = TechnicianScreen(console, on_exit=lambda: exits.append(True))
    widget.setStyleSheet(stylesheet(False))
    widget.resize(1080, 1920)
    qtbot.addWidget(widget)
    widget.show()
    return widget, audit, exits


def type_pin(qtbot, widget, pin: str) -> None:
    for d in pin:
        qtbot.mouseClick(widget.keys[d], Qt.LeftButton)
    qtbot.mouseClick(widget.keys["✓"], Qt.LeftButton)


def test_wrong_pin_says_tries_left_and_stays_on_pad(qtbot, screen):
    widget, audit, _ = screen
    type_pin(qtbot, widget, "111111")
    assert widget.pages.currentIndex() == 0
    assert "4 tries left" in widget.message.text()
    assert widget.pin_display.text() == ""


def test_right_pin_opens_checks_and_actions_then_exit_is_audited(qtbot, screen, tmp_path):
    widget, audit, exits = screen
    type_pin(qtbot, widget, "246813")
    assert widget.pages.currentIndex() == 1
    labels = [widget.check_box.itemAt(i).widget() for i in range(widget.check_box.count())]
    qtbot.waitUntil(lambda: all(lbl.isVisible() for lbl in labels), timeout=2000)
    assert labels[0].text().startswith("✔ disk:") and labels[1].text().startswith("✔ outbox:")
    widget.grab().save(str(tmp_path / "technician.png"))

    buttons = {b.objectName(): b for b in widget.findChildren(QPushButton)}
    qtbot.mouseClick(buttons["action_测试打印 Test print"], Qt.LeftButton)
    assert widget.action_result.text() == "✔ 测试打印 Test print: receipt job 7 printed"
    qtbot.mouseClick(buttons["action_测试摄像头 Test camera"], Qt.LeftButton)
    assert widget.action_result.text().startswith("✘ 测试摄像头 Test camera: OSError")
    qtbot.mouseClick(buttons["exit"], Qt.LeftButton)
    assert exits == [True] and widget.pages.currentIndex() == 0
    events = [p["event"] for s, p in audit.events if s == "audit"]
    assert events == ["technician.pin_set", "technician.enter", "technician.action",
                      "technician.action", "technician.action", "technician.exit"]


def test_lockout_message_after_five_wrong(qtbot, screen):
    widget, _, _ = screen
    for _ in range(5):
        type_pin(qtbot, widget, "000000")
    assert "Locked: try again in 15 min" in widget.message.text()
    type_pin(qtbot, widget, "246813")
    assert widget.pages.currentIndex() == 0
