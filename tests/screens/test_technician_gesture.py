"""The hidden technician gesture as a touchscreen delivers it: each tap goes to the window
first (QWindow), which hands it to the widget under the finger, which may pass it to its
parents — five real taps, not three, open technician mode."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig

CORNER = QPoint(20, 20)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = DemoRig(tmp_path_factory.mktemp("rig"), mode="test").start(devices=False, camera=None)
    yield rig
    rig.stop()


@pytest.fixture
def window(rig, tmp_path, qtbot):
    app = KioskApp(rig.config(ops={"technician_state": str(tmp_path / "tech.json")}), tick_ms=100)
    app.start(show=True)
    qtbot.waitExposed(app.window)
    opened: list[bool] = []
    app.window.technician_requested.connect(lambda: opened.append(True))
    clock = Clock()
    app.window.gesture_clock = clock  # taps 0.1 s apart, however loaded the machine is
    yield app.window, opened
    app.stop()


class Clock:
    """A gesture clock that moves 0.1 s per tap, and further when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 0.1
        return self.now


def mouse_tap(window, pos: QPoint = CORNER) -> None:
    QTest.mouseClick(window.windowHandle(), Qt.LeftButton, Qt.NoModifier, pos)


def touch_tap(window, device, pos: QPoint = CORNER) -> None:
    QTest.touchEvent(window.windowHandle(), device).press(0, pos).commit()
    QTest.touchEvent(window.windowHandle(), device).release(0, pos).commit()


def test_five_mouse_taps_on_the_window_open_it_four_do_not(window):
    window, opened = window
    for _ in range(4):
        mouse_tap(window)
    assert opened == []
    mouse_tap(window)
    assert opened == [True]


def test_five_finger_taps_on_the_window_open_it_four_do_not(window):
    window, opened = window
    device = QTest.createTouchDevice()
    for _ in range(4):
        touch_tap(window, device)
    assert opened == []
    touch_tap(window, device)
    assert opened == [True]


def test_five_taps_spread_over_more_than_three_seconds_do_not_open_it(window):
    window, opened = window
    for _ in range(4):
        mouse_tap(window)
        window.gesture_clock.now += 0.7  # a resident resting a hand in the corner, slowly
    mouse_tap(window)
    assert opened == []
    for _ in range(4):
        mouse_tap(window)
    assert opened == [True]


def test_a_tap_elsewhere_starts_the_count_again(window):
    window, opened = window
    for _ in range(3):
        mouse_tap(window)
    mouse_tap(window, QPoint(500, 900))
    for _ in range(4):
        mouse_tap(window)
    assert opened == []
    mouse_tap(window)
    assert opened == [True]
