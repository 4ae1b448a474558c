"""The senior-mode switch: it changes what the resident sees at once (bigger text and targets,
the switch shows "on"), and it costs one screen's worth of work, not the whole window's —
no widget outside the screen being shown is re-styled (the old window re-polished every
widget of every screen, 55 ms and more per switch)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import qt_application
from kiosk.catalog.services import Catalog
from kiosk.visit.flow import Flow, Step
from screens.design import tokens
from screens.window import KioskWindow


class Polishes(QObject):
    """Counts style changes (a re-polish) per widget."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[int] = set()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.StyleChange, QEvent.Polish):
            self.seen.add(id(obj))
        return False


@pytest.fixture
def window(qtbot):
    app = qt_application()
    flow = Flow(Catalog.load(), None)
    window = KioskWindow(flow)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.build_all_screens()
    flow.start()
    app.processEvents()
    return window


def test_the_switch_makes_the_screen_bigger_and_shows_its_state(window, qtbot):
    flow = window.flow
    switch = window.bottombar.findChild(QPushButton, "elderly")
    assert not switch.isChecked()
    qtbot.mouseClick(switch, Qt.LeftButton)
    assert flow.elderly and flow.step is Step.HOME
    shown = window.bottombar.findChild(QPushButton, "elderly")
    assert shown.isVisible() and shown.isChecked()
    home = window.current_screen()
    assert home.isVisible()
    targets = [b.height() for b in home.findChildren(QPushButton) if b.isVisible()]
    assert targets and min(targets) >= tokens(True).target_px - 1
    fonts = [b.font().pixelSize() for b in home.findChildren(QPushButton) if b.isVisible()]
    assert min(fonts) >= tokens(True).text_px


def test_a_switch_restyles_no_widget_of_the_screens_not_shown(window, qtbot):
    app = qt_application()
    flow = window.flow
    flow.set_elderly(True)  # first switch: the senior parts may meet their sheet now
    flow.set_elderly(False)
    app.processEvents()
    counter = Polishes()
    # every screen but home, in both modes: none of them is shown during these switches
    homes = (window.modes[True][Step.HOME], window.modes[False][Step.HOME])
    hidden = [w for s in window.all_screens() if s not in homes
              for w in (s, *s.findChildren(QObject)) if w.isWidgetType()]
    assert len(hidden) > 200
    for w in hidden:
        w.installEventFilter(counter)
    flow.set_elderly(True)
    app.processEvents()
    flow.set_elderly(False)
    app.processEvents()
    restyled = [w for w in hidden if id(w) in counter.seen]
    assert not restyled, f"{len(restyled)} widgets of hidden screens re-styled"


def test_the_chooser_sets_script_and_speech_apart(window, qtbot):
    """Cantonese speech with 简体 text: the chooser's speech row asks the app's voice for
    Cantonese and leaves the script alone; the script row changes the script."""
    flow = window.flow
    qtbot.mouseClick(window.bottombar.findChild(QPushButton, "language"), Qt.LeftButton)
    assert window.chooser.isVisible()
    with qtbot.waitSignal(window.speech_language_requested) as asked:
        qtbot.mouseClick(window.chooser.findChild(QPushButton, "speech_yue"), Qt.LeftButton)
    assert asked.args == ["yue"] and flow.language == "zh_CN"
    qtbot.mouseClick(window.bottombar.findChild(QPushButton, "language"), Qt.LeftButton)
    assert window.chooser.findChild(QPushButton, "speech_yue").isChecked()
    qtbot.mouseClick(window.chooser.findChild(QPushButton, "top_lang_en"), Qt.LeftButton)
    assert flow.language == "en" and not window.chooser.isVisible()
