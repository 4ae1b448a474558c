"""Spoken guidance for every screen and result summary, in Mandarin, Cantonese and English.

Why not Qt TextToSpeech / speech-dispatcher: both hang on a kiosk without an audio device.
Instead one worker thread runs ``espeak-ng --stdout`` per utterance and pumps its WAV stream
into a :class:`~kiosk.voice.sinks.VoiceSink` (sound card player, WAV files, or nowhere).

The GUI thread never waits: :meth:`Voice.say` only queues. A new ``say`` (or ``stop``, the
resident's next action) kills the running espeak-ng / player process groups at once, so
speech never piles up; every child is reaped by the worker, so no zombies stay behind.
Text reaches espeak-ng on stdin without ``-m``: it is read aloud, never obeyed as SSML,
phoneme input or command-line options. Utterances are logged at DEBUG only, masked.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import subprocess
import threading
from dataclasses import dataclass, field, replace
from typing import cast

from kiosk.logs import mask_text
from kiosk.voice.settings import (
    ESPEAK,
    UnknownVoiceLanguage,
    VoiceConfigError,
    VoiceError,
    VoiceProfile,
    VoiceSettings,
    load_voice_settings,
)
from kiosk.voice.sinks import (
    AudioOutput,
    PlayerOutput,
    VoiceSink,
    VoiceSinkError,
    WavFileOutput,
    next_wav_number,
    parse_wav_header,
    wav_name,
)

__all__ = [
    "DEFAULT_VOLUME_LEVEL",
    "SPEECH_LANGUAGES",
    "VOLUME_LEVELS",
    "UnknownVoiceLanguage",
    "Voice",
    "VoiceConfigError",
    "VoiceError",
    "VoiceSink",
    "VoiceSinkError",
    "prepare_text",
    "speech_plan",
]

log = logging.getLogger(__name__)

# A screen's guidance is a few sentences; the cap also keeps stdin below one pipe buffer.
MAX_TEXT_CHARS = 2000
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def prepare_text(text: str) -> str:
    """The text as espeak-ng should read it: control characters become spaces, and ``[[``
    (espeak's phoneme-input bracket) is split so it is read, not interpreted."""
    text = _CONTROL_RE.sub(" ", text)[:MAX_TEXT_CHARS]
    return re.sub(r"\[(?=\[)", "[ ", text).strip()


# Volume − / +: factors over the configured espeak-ng amplitude (``volume`` in voice.toml),
# capped at espeak's 200. The middle one is the configured volume, where every visit starts.
VOLUME_LEVELS = (0.35, 0.5, 0.7, 1.0, 1.3, 1.6, 2.0)
DEFAULT_VOLUME_LEVEL = VOLUME_LEVELS.index(1.0)

# Spoken languages a resident can choose, whatever the script on screen: Mandarin, Cantonese,
# English (codes are voice.toml aliases). A Cantonese speaker may well read 简体.
SPEECH_LANGUAGES = ("cmn", "yue", "en")
_CHINESE = ("zh_CN", "zh_HK")


def speech_plan(settings: VoiceSettings, screen_lang: str,
                speech: str | None) -> tuple[str, str]:
    """(language of the text to speak, voice language) for a screen language and a chosen
    spoken language (None: speak the screen's language).

    Chinese voices read either script, so Cantonese speech on a 简体 screen reads the screen's
    own sentences; English speech on a Chinese screen, or Chinese speech on an English one,
    reads the sentences of the voice's language. Raises :class:`UnknownVoiceLanguage`."""
    if not speech:
        return screen_lang, screen_lang
    voice_lang = settings.profile(speech).lang
    if voice_lang in _CHINESE and screen_lang in _CHINESE:
        return screen_lang, speech
    return voice_lang, speech


def speech_forced_off() -> bool:
    """``KIOSK_SPEECH=off``: tests of other areas (and a technician) silence the kiosk."""
    return os.environ.get("KIOSK_SPEECH", "").strip().lower() == "off"


@dataclass
class _Utterance:
    generation: int
    number: int
    text: str
    lang: str
    profile: VoiceProfile
    slow: bool
    cancelled: threading.Event = field(default_factory=threading.Event)


class Voice:
    """Voice guidance with one worker thread; every method is safe to call from the GUI thread."""

    def __init__(
        self,
        sink: str | VoiceSink = "auto",
        *,
        enabled: bool = True,
        settings: VoiceSettings | None = None,
        speech_language: str | None = None,
    ):
        requested = sink if isinstance(sink, VoiceSink) else VoiceSink.parse(sink)
        if speech_forced_off() and requested.kind != "wav":
            requested = VoiceSink.off()
        self.sink = requested
        self._settings = settings if settings is not None else load_voice_settings()
        if speech_language:
            self._settings.profile(speech_language)  # an unknown one fails here, not mid-visit
        self._default_speech = speech_language or None
        self._speech = self._default_speech
        self._volume_level = DEFAULT_VOLUME_LEVEL
        self._enabled = enabled
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Utterance | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._generation = 0
        self._current: _Utterance | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._last: tuple[str, str, bool] | None = None
        self._closed = False
        self._busy = 0  # utterances queued or running, for wait_idle
        self._idle = threading.Condition(self._lock)
        self._next_number = 1
        if self.sink.kind == "wav" and self.sink.directory is not None:
            self.sink.directory.mkdir(parents=True, exist_ok=True)
            self._next_number = next_wav_number(self.sink.directory)
        log.info("voice sink %s%s", self.sink.kind, "" if enabled else " (disabled)")

    # ---- the contract the app uses -------------------------------------------------------

    @property
    def last(self) -> tuple[str, str] | None:
        """(text, lang) said last, even while disabled, so "再听一遍" works after switching on."""
        with self._lock:
            return None if self._last is None else self._last[:2]

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def settings(self) -> VoiceSettings:
        return self._settings

    # ---- volume − / + and the spoken language (the bottom bar and the chooser call these)

    @property
    def volume_level(self) -> int:
        """0 (quietest) … ``len(VOLUME_LEVELS) - 1``; :data:`DEFAULT_VOLUME_LEVEL` at rest."""
        with self._lock:
            return self._volume_level

    @property
    def can_be_quieter(self) -> bool:
        return self.volume_level > 0

    @property
    def can_be_louder(self) -> bool:
        return self.volume_level < len(VOLUME_LEVELS) - 1

    def change_volume(self, step: int) -> int:
        """One step quieter (−1) or louder (+1), within bounds; the last sentence is said
        again at the new volume, so the resident hears what they chose. The new level."""
        with self._lock:
            level = min(max(self._volume_level + step, 0), len(VOLUME_LEVELS) - 1)
            changed = level != self._volume_level
            self._volume_level = level
        if changed:
            log.info("voice volume level %d", level)
            self.repeat()
        return level

    @property
    def speech_language(self) -> str | None:
        """The spoken language chosen (``cmn``, ``yue``, ``en``), or None: the screen's."""
        with self._lock:
            return self._speech

    def set_speech_language(self, speech: str | None) -> None:
        """Speak this language whatever the screen's script (None: the screen's language).
        Raises :class:`UnknownVoiceLanguage` for a language no voice is configured for."""
        if speech:
            self._settings.profile(speech)
        with self._lock:
            self._speech = speech or None

    def plan(self, screen_lang: str) -> tuple[str, str]:
        """(text language, voice language) for the screen language now: see :func:`speech_plan`."""
        return speech_plan(self._settings, screen_lang, self.speech_language)

    def reset_for_next_visit(self) -> None:
        """The visit ended: the next resident starts at the default volume and spoken language."""
        with self._lock:
            self._volume_level = DEFAULT_VOLUME_LEVEL
            self._speech = self._default_speech

    def say(self, text: str, lang: str, *, slow: bool = False) -> None:
        """Stop whatever is playing and speak ``text``; returns at once.

        Raises :class:`UnknownVoiceLanguage` when no voice is configured for ``lang``."""
        profile = self._settings.profile(lang)
        spoken = prepare_text(text)
        with self._lock:
            factor = VOLUME_LEVELS[self._volume_level]
            if factor != 1.0:
                profile = replace(profile, volume=min(200, max(1, round(profile.volume * factor))))
            self._last = (text, lang, slow)
            self._interrupt_locked()
            if self._closed or not self._enabled or self.sink.kind == "off" or not spoken:
                return
            utterance = _Utterance(self._generation, self._next_number, spoken, lang, profile, slow)
            self._next_number += 1
            self._busy += 1
            self._ensure_worker_locked()
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "say #%d %s%s: %s",
                utterance.number,
                lang,
                " slow" if slow else "",
                mask_text(spoken),
            )
        self._queue.put(utterance)

    def repeat(self) -> None:
        """Speak the last text again, in its language and pace (再听一遍)."""
        with self._lock:
            last = self._last
        if last is not None:
            self.say(last[0], last[1], slow=last[2])

    def stop(self) -> None:
        """Cut the current utterance off now (the resident moved on)."""
        with self._lock:
            self._interrupt_locked()

    def set_enabled(self, on: bool) -> None:
        """The voice on/off button; switching off also silences what is playing."""
        with self._lock:
            self._enabled = on
            if not on:
                self._interrupt_locked()

    def close(self) -> None:
        """Stop speaking, end the worker and reap every child process. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._interrupt_locked()
            worker = self._worker
        if worker is not None:
            self._queue.put(None)
            worker.join(timeout=10)
            if worker.is_alive():  # pragma: no cover - a wedged child; never seen
                log.error("voice worker did not stop")
        with self._lock:  # nothing should be left; make sure of it
            for proc in self._procs:
                self._kill_locked(proc)
            procs, self._procs = self._procs, []
        for proc in procs:
            proc.wait()

    def __enter__(self) -> Voice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- helpers for tests, benches and the technician screen -----------------------------

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until everything queued has been spoken or dropped. Not for the GUI thread."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def child_pids(self) -> list[int]:
        """PIDs of espeak-ng / player processes not yet reaped (should be empty when idle)."""
        with self._lock:
            return [p.pid for p in self._procs]

    # ---- internals ----------------------------------------------------------------------

    def _interrupt_locked(self) -> None:
        self._generation += 1
        if self._current is not None:
            self._current.cancelled.set()
        for proc in self._procs:
            self._kill_locked(proc)

    @staticmethod
    def _kill_locked(proc: subprocess.Popen[bytes]) -> None:
        # Only the worker reaps, and only under the lock, so an unreaped pid is still ours.
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _ensure_worker_locked(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="voice", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while True:
            utterance = self._queue.get()
            if utterance is None:
                return
            try:
                self._speak(utterance)
            except Exception:  # the voice must never take the kiosk down
                log.exception("voice utterance #%d failed", utterance.number)
            finally:
                self._reap_all(utterance)
                with self._idle:
                    self._current = None
                    self._busy -= 1
                    self._idle.notify_all()

    def _spawn_locked(self, argv: list[str], *, stdout: bool) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, killed as one
        )
        self._procs.append(proc)
        return proc

    def _spawn_player(self, argv: list[str]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._current is None or self._current.cancelled.is_set():
                raise _NotPlayed
            try:
                return self._spawn_locked(argv, stdout=False)
            except OSError as exc:
                log.error("cannot start audio player %s: %s", argv[0], exc.strerror or exc)
                raise _NotPlayed from exc

    def _speak(self, utterance: _Utterance) -> None:
        argv = [ESPEAK, "--stdout", *utterance.profile.espeak_args(slow=utterance.slow), "--stdin"]
        with self._lock:
            if utterance.generation != self._generation or self._closed:
                return  # superseded while queued
            self._current = utterance
            try:
                espeak = self._spawn_locked(argv, stdout=True)
            except OSError as exc:
                log.error("cannot start %s: %s", ESPEAK, exc.strerror or exc)
                return
        assert espeak.stdin is not None  # started with stdin=PIPE
        output = self._output_for(utterance)
        try:
            espeak.stdin.write(utterance.text.encode("utf-8"))  # below a pipe buffer: never blocks
            espeak.stdin.close()
        except OSError:
            pass  # killed already; reading stdout will end at once
        completed = False
        try:
            completed = self._pump(espeak, output, utterance)
        except _NotPlayed:
            pass
        finally:  # also on a full disk or a missing player: close the file, keep what was said
            if completed:
                output.finish()
            else:
                output.abort()

    def _output_for(self, utterance: _Utterance) -> AudioOutput:
        if self.sink.kind == "wav" and self.sink.directory is not None:
            path = self.sink.directory / wav_name(utterance.number, utterance.lang)
            return WavFileOutput(path, utterance.cancelled, realtime=self.sink.realtime)
        return PlayerOutput(self.sink.player, self._spawn_player)

    def _pump(self, espeak: subprocess.Popen[bytes], output: AudioOutput,
              utterance: _Utterance) -> bool:
        """Copy espeak's samples to the output as they come; True when spoken to the end."""
        assert espeak.stdout is not None  # started with stdout=PIPE
        fd = espeak.stdout.fileno()
        head = b""
        started = False
        try:
            while True:
                chunk = os.read(fd, 16384)
                if not chunk:
                    break
                if utterance.cancelled.is_set():
                    return False
                if not started:
                    head += chunk
                    parsed = parse_wav_header(head)
                    if parsed is None:
                        continue
                    fmt, offset = parsed
                    output.begin(fmt)
                    started = True
                    chunk = head[offset:]
                if chunk and not output.write(chunk):
                    return False
        finally:
            espeak.stdout.close()
        if self._wait_child(espeak) != 0:
            if not utterance.cancelled.is_set():
                log.error("%s failed for %s (exit %s)", ESPEAK, utterance.lang, espeak.returncode)
            return False
        return started and not utterance.cancelled.is_set()

    def _wait_child(self, proc: subprocess.Popen[bytes]) -> int:
        """Wait for ``proc`` to exit without reaping, then reap it under the lock (see _kill)."""
        try:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass
        with self._lock:
            code = proc.wait()
            self._procs.remove(proc)
        return code

    def _reap_all(self, utterance: _Utterance) -> None:
        """After an utterance: wait for the player to play out (a kill cuts that short)."""
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            code = self._wait_child(proc)
            if code != 0 and not utterance.cancelled.is_set():
                log.warning("audio player %s exited with %s", cast("list[str]", proc.args)[0],
                            code)


class _NotPlayed(Exception):
    """The utterance will not be heard: cut off before its player started, or no player."""
