"""Volume − / + and the spoken language, through real espeak-ng into real WAV files: what a
resident hears is louder or quieter, stays within bounds, and Cantonese can be spoken with a
简体 screen."""

from __future__ import annotations

import array
import shutil
import wave
from pathlib import Path

import pytest

from kiosk.voice.settings import load_voice_settings
from kiosk.voice.speaker import (
    DEFAULT_VOLUME_LEVEL,
    VOLUME_LEVELS,
    UnknownVoiceLanguage,
    Voice,
    speech_plan,
)

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="espeak-ng is not installed")
TEXT = "请把身份证放在感应区"


@pytest.fixture
def voice(tmp_path):
    v = Voice(f"wav:{tmp_path}")
    yield v
    v.close()


def peak(path: Path) -> int:
    with wave.open(str(path)) as wav:
        data = array.array("h")
        data.frombytes(wav.readframes(wav.getnframes()))
    return max(abs(x) for x in data)


def spoken(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.wav"))


def test_louder_and_quieter_are_heard_and_said_again_at_once(voice, tmp_path):
    voice.say(TEXT, "zh_CN")
    assert voice.wait_idle(30)
    assert voice.change_volume(+1) == DEFAULT_VOLUME_LEVEL + 1  # says the sentence again
    assert voice.wait_idle(30)
    voice.change_volume(-1)
    assert voice.wait_idle(30)
    voice.change_volume(-1)
    assert voice.wait_idle(30)
    files = spoken(tmp_path)
    assert len(files) == 4  # the first, once louder, back to default, once quieter
    default, louder, quieter = peak(files[0]), peak(files[1]), peak(files[3])
    assert louder > default * 1.15
    assert quieter < default * 0.85
    assert peak(files[2]) == default


def test_volume_stays_within_its_bounds(voice, tmp_path):
    voice.say(TEXT, "zh_CN")
    for _ in range(len(VOLUME_LEVELS) + 3):
        voice.change_volume(+1)
    assert voice.volume_level == len(VOLUME_LEVELS) - 1 and not voice.can_be_louder
    assert voice.wait_idle(30)
    said = len(spoken(tmp_path))
    voice.change_volume(+1)  # already loudest: nothing changes, nothing is said again
    assert voice.wait_idle(30)
    assert len(spoken(tmp_path)) == said
    for _ in range(len(VOLUME_LEVELS) + 3):
        voice.change_volume(-1)
    assert voice.volume_level == 0 and not voice.can_be_quieter and voice.can_be_louder


def test_next_visit_starts_at_the_default_volume_and_spoken_language(tmp_path):
    with Voice(f"wav:{tmp_path}", speech_language="yue") as v:
        v.change_volume(+1)
        v.set_speech_language("en")
        v.reset_for_next_visit()
        assert v.volume_level == DEFAULT_VOLUME_LEVEL and v.speech_language == "yue"


def test_cantonese_speech_reads_the_simplified_screen_in_cantonese(voice, tmp_path):
    voice.set_speech_language("yue")
    text_lang, voice_lang = voice.plan("zh_CN")
    assert (text_lang, voice_lang) == ("zh_CN", "yue")  # 简体 sentences, Cantonese voice
    voice.say(TEXT, voice_lang)
    assert voice.wait_idle(30)
    [path] = spoken(tmp_path)
    assert path.name.endswith("-yue.wav") and peak(path) > 1000


def test_speech_plan_picks_sentences_the_voice_can_read():
    settings = load_voice_settings()
    assert speech_plan(settings, "zh_CN", None) == ("zh_CN", "zh_CN")
    assert speech_plan(settings, "zh_HK", "cmn") == ("zh_HK", "cmn")
    assert speech_plan(settings, "zh_CN", "en") == ("en", "en")  # English sentences, not 汉字
    assert speech_plan(settings, "en", "yue") == ("zh_HK", "yue")


def test_unknown_spoken_language_is_a_typed_error(tmp_path):
    with Voice(f"wav:{tmp_path}") as v:
        with pytest.raises(UnknownVoiceLanguage):
            v.set_speech_language("klingon")
        assert v.speech_language is None
    with pytest.raises(UnknownVoiceLanguage):
        Voice(f"wav:{tmp_path}", speech_language="klingon")
