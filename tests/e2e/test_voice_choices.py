"""The resident's voice choices on the running app (speech captured to WAV files): volume −/+
from the bottom bar is heard and returns to the default after the visit; Cantonese speech with
简体 text; a keypad user hears the name of each control the focus moves to."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.voice.speaker import DEFAULT_VOLUME_LEVEL

pytestmark = pytest.mark.e2e


@pytest.fixture
def kiosk(tmp_path, monkeypatch):
    out = tmp_path / "speech"
    out.mkdir()
    monkeypatch.setenv("KIOSK_VOICE_SINK", f"wav:{out}")
    rig = DemoRig(tmp_path / "rig").start(devices=False)
    made: list[KioskApp] = []

    def start(**ui) -> KioskApp:
        app = KioskApp(rig.config(ui=ui), tick_ms=100)
        app.start(show=True)
        made.append(app)
        return app

    yield start, out
    for app in made:
        app.stop()
    rig.stop()


def wavs(folder, lang=None):
    return [f for f in sorted(folder.glob("*.wav")) if lang is None or f.stem.endswith(lang)]


def bar_button(app, name) -> QPushButton:
    buttons = [b for b in app.window.findChildren(QPushButton, name) if b.isVisible()]
    assert buttons, f"no visible {name}"
    return buttons[0]


def test_bar_volume_is_heard_and_resets_after_the_visit(kiosk, qtbot):
    start, out = kiosk
    app = start()
    app.flow.start()
    qtbot.waitUntil(lambda: len(wavs(out)) >= 1, timeout=10000)
    assert app.voice.wait_idle(10)
    before = len(wavs(out))
    qtbot.mouseClick(bar_button(app, "volume_up"), Qt.LeftButton)
    assert app.voice.volume_level == DEFAULT_VOLUME_LEVEL + 1
    qtbot.waitUntil(lambda: len(wavs(out)) == before + 1, timeout=10000)  # said again, louder
    app.flow.end_session("resident_left", say_goodbye=False)
    assert app.voice.volume_level == DEFAULT_VOLUME_LEVEL


def test_cantonese_speech_with_simplified_text(kiosk, qtbot):
    start, out = kiosk
    app = start(language="zh_CN", speech_language="yue")
    app.flow.start()
    qtbot.waitUntil(lambda: len(wavs(out, "yue")) >= 1, timeout=10000)
    assert app.window.t.lang == "zh_CN"  # the screen stays 简体
    assert wavs(out, "zh_HK") == [] and wavs(out, "zh_CN") == []
    assert app.voice.wait_idle(10)
    app.set_speech_language("en")  # the chooser's entry: says the screen again, in English
    qtbot.waitUntil(lambda: len(wavs(out, "en")) >= 1, timeout=10000)


def test_keypad_focus_moves_are_spoken(kiosk, qtbot):
    start, out = kiosk
    app = start()
    app.flow.start()
    qtbot.waitUntil(lambda: len(wavs(out)) >= 1, timeout=10000)
    assert app.voice.wait_idle(10)
    said: list[str] = []
    real_say = app.voice.say
    app.voice.say = lambda text, lang, **kw: (said.append(text), real_say(text, lang, **kw))
    screen = app.window.current_screen()
    first = next(b for b in screen.findChildren(QPushButton) if b.isVisible() and b.isEnabled())
    first.setFocus()
    qtbot.keyClick(first, Qt.Key_Down)
    focused = QApplication.focusWidget()
    assert focused is not first
    name = focused.accessibleName() or focused.text()
    assert said and said[-1] == name.strip()
    said.clear()
    other = next(b for b in screen.findChildren(QPushButton)
                 if b.isVisible() and b.isEnabled() and b is not focused
                 and (b.accessibleName() or b.text()).strip())
    other_name = (other.accessibleName() or other.text()).strip()
    qtbot.mouseClick(other, Qt.LeftButton)  # a touch moves focus too: not announced
    assert other_name not in said
