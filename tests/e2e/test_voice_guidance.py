"""Voice guidance on the running app: each screen is spoken in the resident's language (here
captured to WAV files instead of a sound card), "say again" repeats, mute silences."""

from __future__ import annotations

import wave

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.flow import Step

pytestmark = pytest.mark.e2e


@pytest.fixture
def spoken(tmp_path, monkeypatch):
    out = tmp_path / "speech"
    out.mkdir()
    monkeypatch.setenv("KIOSK_VOICE_SINK", f"wav:{out}")
    return out


def wavs(folder, lang=None):
    files = sorted(folder.glob("*.wav"))
    return [f for f in files if lang is None or f.stem.endswith(lang)]


def seconds(path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_screens_are_spoken_repeated_and_muted(spoken, tmp_path, qtbot):
    rig = DemoRig(tmp_path / "rig").start(devices=False)
    app = KioskApp(rig.config(), tick_ms=100)
    app.start(show=True)
    try:
        bar = app.window.topbar
        app.flow.start()  # home: "请选择要办理的业务"
        qtbot.waitUntil(lambda: len(wavs(spoken, "zh_CN")) >= 1, timeout=10000)
        app.voice.wait_idle(10)
        first = wavs(spoken, "zh_CN")[-1]
        assert seconds(first) > 0.5

        qtbot.mouseClick(bar.findChild(QPushButton, "language"), Qt.LeftButton)
        qtbot.mouseClick(app.window.chooser.findChild(QPushButton, "top_lang_en"), Qt.LeftButton)
        qtbot.waitUntil(lambda: len(wavs(spoken, "en")) >= 1, timeout=10000)

        app.voice.wait_idle(10)
        before = len(wavs(spoken))
        qtbot.mouseClick(bar.findChild(QPushButton, "repeat"), Qt.LeftButton)
        qtbot.waitUntil(lambda: len(wavs(spoken)) == before + 1, timeout=10000)
        assert wavs(spoken)[-1].stem.endswith("en")

        qtbot.mouseClick(bar.findChild(QPushButton, "voice"), Qt.LeftButton)
        assert bar.findChild(QPushButton, "voice").text() == "Sound on"
        app.voice.wait_idle(10)
        muted = len(wavs(spoken))
        app.flow.choose_service("rs_jfmx")
        assert app.flow.step is Step.INTRO
        qtbot.wait(800)
        assert len(wavs(spoken)) == muted
    finally:
        app.stop()
        rig.stop()
