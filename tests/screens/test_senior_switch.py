"""Screen switches, the senior-mode switch first: it changes what the resident sees at once
(bigger text and targets, the switch shows "on"), and it costs one screen's worth of work, not
the whole window's — no widget outside the screen being shown is re-styled (the old window
re-polished every widget of every screen, 55 ms and more per switch). Every switch repaints
the page shown, not the window beneath it; the window's keypad filter steps aside while a
screen renders and comes back in its place among the app's other filters; a new language
renames a keypad's clear key instead of building the pad again (bench/ui_bench.py times it)."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import qt_application
from kiosk.catalog.services import Catalog
from kiosk.demo.visit import demo_identity
from kiosk.i18n import Translator
from kiosk.visit.flow import Flow, Step
from screens.design import tokens
from tests.screens.conftest import shown_window


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
    window = shown_window(qtbot, flow)
    window.build_all_screens()
    flow.start()
    app.processEvents()
    return window


@pytest.fixture
def lazy_window(qtbot):
    """A window whose screens are built when first shown (cheaper than every screen)."""
    app = qt_application()
    window = shown_window(qtbot, Flow(Catalog.load(), None))
    window.flow.start()
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


class PaintedArea(QObject):
    """Pixels each watched widget painted itself (its paint events' regions)."""

    def __init__(self) -> None:
        super().__init__()
        self.area: dict[int, int] = {}

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Paint:
            pixels = sum(r.width() * r.height() for r in event.region())
            self.area[id(obj)] = self.area.get(id(obj), 0) + pixels
        return False


def test_a_switch_repaints_the_page_not_the_window_beneath_it(lazy_window, qtbot):
    window = lazy_window
    """The old window filled its whole background again under every new page (the page let
    it show through), a full-window fill per switch for pixels nobody sees."""
    flow = window.flow
    flow.choose_service("rs_jfmx")
    qtbot.waitUntil(lambda: window.current_screen().isVisible())
    painted = PaintedArea()
    page = window.screens[Step.PLACE_CARD]
    window.installEventFilter(painted)
    page.installEventFilter(painted)
    flow.confirm_intro()
    assert window.current_screen() is page
    qtbot.waitUntil(lambda: painted.area.get(id(page), 0) >= page.width() * page.height())
    beneath = painted.area.get(id(window), 0)  # only where the chrome changed may it show
    assert beneath < page.width() * page.height() // 2, (beneath, page.size())


def test_the_keypad_filter_steps_aside_to_render_and_comes_back_in_its_place(lazy_window, qtbot):
    window = lazy_window
    """A filter installed after the window's (the voice's focus speaker, the scanner's wedge)
    still sees a key first after any number of renders and paints, and the window's filter
    still answers it: Escape goes back."""
    app = qt_application()
    flow = window.flow
    seen: list[int] = []

    class Ahead(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.KeyPress and obj.isWidgetType():
                seen.append(event.key())
            return False

    ahead = Ahead()
    app.installEventFilter(ahead)
    window.keep_ahead(ahead)
    try:
        flow.set_language("en")  # renders: the window's filter leaves and comes back
        flow.choose_service("rs_jfmx")
        assert flow.step is Step.INTRO
        page = window.current_screen()
        qtbot.waitUntil(lambda: not page.visibleRegion().isEmpty())
        app.processEvents()  # the frame is painted: the filter steps aside for that too
        target = window.current_screen().findChild(QPushButton)
        qtbot.keyClick(target, Qt.Key_Escape)
        assert seen == [Qt.Key_Escape]  # the later filter saw it before the window took it
        assert flow.step is Step.HOME  # and the window's filter still answers keys
    finally:
        app.removeEventFilter(ahead)
        window.forget(ahead)


def test_a_new_language_renames_the_clear_key_and_keeps_the_pad(lazy_window, qtbot):
    window = lazy_window
    """The month range's digit pad (inputs) and the PIN pad: the clear key speaks the
    resident's language after a switch; the old inputs screen kept 清除 in English."""
    flow = window.flow
    flow.choose_service("rs_jfmx")
    flow.confirm_intro()
    flow.card_read(demo_identity())
    assert flow.step is Step.INPUTS
    screen = window.current_screen()
    key = screen.findChild(QPushButton, "key_clear")
    assert key is not None and key.isVisibleTo(screen)
    assert key.text() == Translator("zh_CN").t("common.clear")
    flow.set_language("en")
    shown = [k for k in screen.findChildren(QPushButton, "key_clear") if k.isVisibleTo(screen)]
    assert shown == [key]  # the same pad, not a new one per language
    assert key.text() == Translator("en").t("common.clear") != Translator("zh_CN").t("common.clear")
    flow.go_home()
    flow.choose_service("yb_zhye")  # the social-security card's PIN
    flow.confirm_intro()
    flow.card_read(dataclasses.replace(demo_identity(), source="ss_card"))
    assert flow.step is Step.PIN
    pin = window.current_screen()
    key = pin.findChild(QPushButton, "key_clear")
    flow.set_language("zh_HK")
    assert [k for k in pin.findChildren(QPushButton, "key_clear") if k.isVisibleTo(pin)] == [key]
    assert key.text() == Translator("zh_HK").t("common.clear")
