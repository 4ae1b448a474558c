"""Voice guidance: real espeak-ng writing real WAV files (no sound card on the test machine).

What a resident would notice: each language is spoken, senior mode is slower, the next action
cuts speech off, "再听一遍" says it again, the off button silences it, nothing is left running,
and text that looks like markup or options is read out rather than obeyed.
"""

from __future__ import annotations

import array
import logging
import os
import subprocess
import threading
import time
import wave
from pathlib import Path

import pytest

from kiosk.voice.settings import ESPEAK, VoiceConfigError, load_voice_settings, missing_voices
from kiosk.voice.speaker import UnknownVoiceLanguage, Voice, VoiceSink, VoiceSinkError

GUIDANCE = {
    "zh_CN": "请把身份证放在感应区",
    "zh_HK": "請把身份證放在感應區",
    "en": "Please place your ID card on the reader",
}
LONG_EN = (
    "Your social security record for the last twelve months is shown on the screen. "
    "Touch print to take a copy, or touch back to choose another service. "
) * 3

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", ESPEAK], capture_output=True).returncode != 0,
    reason="espeak-ng is not installed",
)


@pytest.fixture
def voices():
    """Makes Voice objects and closes every one of them, whatever the test did."""
    made: list[Voice] = []

    def make(sink: str | VoiceSink, **kwargs) -> Voice:
        voice = Voice(sink, **kwargs)
        made.append(voice)
        return voice

    yield make
    for voice in made:
        voice.close()


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def samples(path: Path) -> array.array:
    with wave.open(str(path)) as wav:
        assert (wav.getsampwidth(), wav.getnchannels()) == (2, 1)
        data = array.array("h")
        data.frombytes(wav.readframes(wav.getnframes()))
        return data


def speak_once(make, directory: Path, text: str, lang: str, *, slow: bool = False) -> Path:
    voice = make(f"wav:{directory}")
    voice.say(text, lang, slow=slow)
    assert voice.wait_idle(30)
    [path] = sorted(directory.glob("*.wav"))
    return path


def wait_for_audio(path: Path, timeout: float = 20.0) -> None:
    """Synchronise with the worker: return once ``path`` holds some samples."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size > 44 + 4410):
        assert time.monotonic() < deadline, f"no audio reached {path}"
        time.sleep(0.01)


def our_children(names: tuple[str, ...] = ("espeak-ng", "sox")) -> list[str]:
    """Child processes of this test process with those names, zombies included (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == os.getpid() and comm in names:
            found.append(f"{entry} {comm} {state}")
    return found


@pytest.mark.parametrize("lang", ["zh_CN", "zh_HK", "en"])
def test_each_language_is_spoken_into_a_plausible_wav(voices, tmp_path, lang):
    path = speak_once(voices, tmp_path, GUIDANCE[lang], lang)
    assert path.name == f"0001-{lang}.wav"
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (22050, 1, 2)
    assert 1.0 < wav_seconds(path) < 8.0
    assert max(abs(s) for s in samples(path)) > 2000  # speech, not silence


def test_app_language_aliases_pick_the_same_voice(voices, tmp_path):
    by_app = speak_once(voices, tmp_path / "a", GUIDANCE["zh_HK"], "zh_HK")
    by_espeak = speak_once(voices, tmp_path / "b", GUIDANCE["zh_HK"], "yue")
    assert by_espeak.name == "0001-yue.wav"
    assert samples(by_app) == samples(by_espeak)


def test_every_configured_voice_exists_on_this_machine():
    assert missing_voices(load_voice_settings()) == {}


def test_mandarin_voice_reads_characters_as_mandarin_not_english_spelled_pinyin():
    profile = load_voice_settings().profile("zh_CN")
    phonemes = subprocess.run(
        [ESPEAK, "-q", "-x", *profile.espeak_args(slow=False), "--stdin"],
        input="身份证".encode(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "(en)" not in phonemes  # the plain "cmn" voice switches to English here
    assert "51" in phonemes  # 份 and 证 carry the falling fourth tone


@pytest.mark.parametrize("lang", ["zh_CN", "zh_HK", "en"])
def test_senior_mode_speaks_slower(voices, tmp_path, lang):
    normal = speak_once(voices, tmp_path / "normal", GUIDANCE[lang], lang)
    slow = speak_once(voices, tmp_path / "slow", GUIDANCE[lang], lang, slow=True)
    assert wav_seconds(slow) > 1.2 * wav_seconds(normal)


@pytest.mark.parametrize("next_action", ["say", "stop", "switch off"])
def test_next_action_cuts_speech_off(voices, tmp_path, next_action):
    full = wav_seconds(speak_once(voices, tmp_path / "full", LONG_EN, "en"))
    # Paced like a sound card, so the file holds what a resident heard before moving on.
    voice = voices(VoiceSink.wav(tmp_path / "live", realtime=True))
    voice.say(LONG_EN, "en")
    first = tmp_path / "live" / "0001-en.wav"
    wait_for_audio(first)
    if next_action == "say":
        voice.say("OK", "en")
    elif next_action == "stop":
        voice.stop()
    else:
        voice.set_enabled(False)
    assert voice.wait_idle(30)
    heard = wav_seconds(first)
    assert 0.1 < heard < full / 2
    second = tmp_path / "live" / "0002-en.wav"
    assert second.exists() == (next_action == "say")
    assert voice.child_pids() == []


def test_a_quick_second_say_never_lets_the_first_play_out(voices, tmp_path):
    full = wav_seconds(speak_once(voices, tmp_path / "full", LONG_EN, "en"))
    voice = voices(f"wav:{tmp_path / 'live'}")
    voice.say(LONG_EN, "en")
    voice.say(GUIDANCE["zh_CN"], "zh_CN")
    assert voice.wait_idle(30)
    first = tmp_path / "live" / "0001-en.wav"
    assert not first.exists() or wav_seconds(first) < full
    assert 1.0 < wav_seconds(tmp_path / "live" / "0002-zh_CN.wav") < 8.0


def test_repeat_says_the_same_text_again(voices, tmp_path):
    voice = voices(f"wav:{tmp_path}")
    voice.repeat()  # nothing said yet: nothing to repeat
    assert voice.wait_idle(30)
    assert list(tmp_path.glob("*.wav")) == []
    voice.say(GUIDANCE["zh_HK"], "zh_HK", slow=True)
    assert voice.wait_idle(30)
    voice.repeat()
    assert voice.wait_idle(30)
    first, again = tmp_path / "0001-zh_HK.wav", tmp_path / "0002-zh_HK.wav"
    assert samples(first) == samples(again)  # same words, same (senior) pace
    assert voice.last == (GUIDANCE["zh_HK"], "zh_HK")


def test_disabled_voice_says_nothing_but_remembers_for_repeat(voices, tmp_path):
    voice = voices(f"wav:{tmp_path}", enabled=False)
    voice.say(GUIDANCE["en"], "en")
    voice.repeat()
    assert voice.wait_idle(30)
    assert list(tmp_path.glob("*.wav")) == []
    assert voice.last == (GUIDANCE["en"], "en")
    voice.set_enabled(True)
    voice.repeat()
    assert voice.wait_idle(30)
    assert [p.name for p in tmp_path.glob("*.wav")] == ["0001-en.wav"]


def test_close_leaves_no_child_process_or_thread(voices, tmp_path):
    voice = voices(VoiceSink.wav(tmp_path, realtime=True))
    voice.say(LONG_EN, "en")
    wait_for_audio(tmp_path / "0001-en.wav")
    assert our_children()  # espeak-ng is still producing (held back by the paced sink)
    voice.close()
    voice.close()  # idempotent
    assert our_children() == []
    assert voice.child_pids() == []
    assert not any(t.name == "voice" and t.is_alive() for t in threading.enumerate())
    voice.say("after close", "en")  # a late call from the GUI is harmless
    assert voice.wait_idle(5)


def test_many_interruptions_leave_no_zombies(voices, tmp_path):
    voice = voices(f"wav:{tmp_path}")
    for i in range(12):
        voice.say(f"{LONG_EN} {i}", ("zh_CN", "zh_HK", "en")[i % 3])
        if i % 4 == 3:
            voice.stop()
    assert voice.wait_idle(30)
    assert our_children() == []


@pytest.mark.parametrize(
    ("literal", "obeyed"),
    [
        ('<speak><prosody rate="x-slow">hi</prosody></speak>', "hi"),
        ("[[h@l'oU]]", "hello"),  # espeak-ng's phoneme input
    ],
)
def test_markup_is_read_out_not_obeyed(voices, tmp_path, literal, obeyed):
    read_out = speak_once(voices, tmp_path / "literal", literal, "en")
    plain = speak_once(voices, tmp_path / "plain", obeyed, "en")
    assert wav_seconds(read_out) > 1.5 * wav_seconds(plain)


@pytest.mark.parametrize("text", ["-v xx hello", "--help", "-w {evil} hello", "--stdout"])
def test_option_like_text_is_spoken_not_obeyed(voices, tmp_path, text):
    evil = tmp_path / "evil.wav"
    path = speak_once(voices, tmp_path / "out", text.format(evil=evil), "en")
    assert 0.3 < wav_seconds(path) < 20.0  # obeyed, espeak-ng would fail or print help instead
    assert max(abs(s) for s in samples(path)) > 2000
    assert not evil.exists()


def test_kiosk_speech_off_forces_silence_except_wav_capture(voices, tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_SPEECH", "off")
    assert voices("auto").sink.kind == "off"
    assert voices(VoiceSink.with_player(["sox", "-q", "-", "-n"])).sink.kind == "off"
    silent = voices("auto")
    silent.say(GUIDANCE["en"], "en")
    assert silent.wait_idle(5) and silent.last == (GUIDANCE["en"], "en")
    assert voices(f"wav:{tmp_path}").sink.kind == "wav"


def test_player_sink_pipes_pcm_into_the_player(voices, tmp_path, monkeypatch):
    # No sound card here: sox stands in for aplay, taking the same raw PCM on stdin.
    monkeypatch.delenv("KIOSK_SPEECH", raising=False)
    out = tmp_path / "played.wav"
    player = ["sox", "-q", "-t", "raw", "-e", "signed-integer", "-b", "16", "-L"]
    player += ["-r", "{rate}", "-c", "{channels}", "-", str(out)]
    voice = voices(VoiceSink.with_player(player))
    voice.say(GUIDANCE["zh_CN"], "zh_CN")
    assert voice.wait_idle(30)
    reference = speak_once(voices, tmp_path / "ref", GUIDANCE["zh_CN"], "zh_CN")
    assert samples(out) == samples(reference)
    assert our_children() == []


def test_wav_numbering_continues_after_earlier_files(voices, tmp_path):
    (tmp_path / "0041-en.wav").write_bytes(b"")
    voice = voices(f"wav:{tmp_path}")
    voice.say("next", "en")
    assert voice.wait_idle(30)
    assert (tmp_path / "0042-en.wav").exists()


def test_utterances_are_logged_masked_at_debug_only(voices, tmp_path, caplog):
    text = "林晓测 您的身份证号 44010619850101001X 电话 13812345678"
    voice = voices(f"wav:{tmp_path}")
    with caplog.at_level(logging.INFO, logger="kiosk.voice"):
        voice.say(text, "zh_CN")
    assert not any("身份证号" in r.getMessage() for r in caplog.records)
    with caplog.at_level(logging.DEBUG, logger="kiosk.voice"):
        voice.say(text, "zh_CN")
    assert voice.wait_idle(30)
    said = [r.getMessage() for r in caplog.records if "身份证号" in r.getMessage()]
    assert len(said) == 1 and all(r.levelno == logging.DEBUG for r in caplog.records)
    assert "440106********001X" in said[0] and "138****5678" in said[0]
    assert "44010619850101001X" not in caplog.text and "13812345678" not in caplog.text


def test_bad_input_gets_typed_errors(voices, tmp_path):
    voice = voices(f"wav:{tmp_path}")
    with pytest.raises(UnknownVoiceLanguage):
        voice.say("bonjour", "fr")
    for spec in ("wav:", "speakers", ""):
        with pytest.raises(VoiceSinkError):
            Voice(spec)


@pytest.mark.parametrize(
    ("languages_table", "key"),
    [
        ('[languages.en]\nvoice = "-w /tmp/x"\n', "languages.en.voice"),
        ('[languages.en]\nvoice = "en"\nrate = 120\nslow_rate = 150\n', "languages.en.slow_rate"),
        ('[languages.en]\nvoice = "en"\nrate = "fast"\n', "languages.en.rate"),
        (
            '[languages.en]\nvoice = "en"\naliases = ["zh_CN"]\n[languages.zh_CN]\nvoice = "yue"\n',
            "languages.en.aliases",
        ),
    ],
)
def test_bad_voice_config_names_the_key(tmp_path, languages_table, key):
    path = tmp_path / "voice.toml"
    path.write_text("[defaults]\nrate = 160\nslow_rate = 110\n" + languages_table)
    with pytest.raises(VoiceConfigError) as caught:
        load_voice_settings(path)
    assert caught.value.key == key


@pytest.mark.expected_errors(r"cannot start audio player no-such-audio-player")
def test_a_missing_player_is_logged_and_the_kiosk_carries_on(voices, monkeypatch, caplog):
    monkeypatch.delenv("KIOSK_SPEECH", raising=False)
    voice = voices(VoiceSink.with_player(["no-such-audio-player", "-r", "{rate}"]))
    with caplog.at_level(logging.ERROR, logger="kiosk.voice"):
        voice.say(GUIDANCE["en"], "en")
        assert voice.wait_idle(30)
        voice.repeat()
        assert voice.wait_idle(30)
    assert [r.getMessage() for r in caplog.records] == [
        "cannot start audio player no-such-audio-player: No such file or directory"
    ] * 2
    assert our_children() == []


def test_a_player_that_fails_is_reported(voices, monkeypatch, caplog):
    monkeypatch.delenv("KIOSK_SPEECH", raising=False)
    voice = voices(VoiceSink.with_player(["sh", "-c", "head -c 1000 >/dev/null; exit 3"]))
    with caplog.at_level(logging.WARNING, logger="kiosk.voice"):
        voice.say(LONG_EN, "en")
        assert voice.wait_idle(30)
    assert "audio player sh exited with 3" in caplog.text
    assert our_children(("espeak-ng", "sh")) == []
