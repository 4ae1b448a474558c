"""Where synthesized speech goes: a sound card through ``aplay``/``paplay``, WAV files, or nowhere.

espeak-ng writes a WAV stream to its stdout; the voice worker parses the header and hands the
PCM samples, as they arrive, to one :class:`AudioOutput` per utterance. WAV files are streamed
too (the header's sizes are patched when the utterance ends or is cut off), so a file holds
exactly the audio produced before an interruption, and with ``realtime`` pacing exactly what a
resident standing at the kiosk would have heard.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from kiosk.voice.settings import VoiceError

# Raw signed 16-bit little-endian PCM on stdin; {rate} and {channels} come from espeak's header.
APLAY = ("aplay", "-q", "-t", "raw", "-f", "S16_LE", "-r", "{rate}", "-c", "{channels}")
PAPLAY = ("paplay", "--raw", "--format=s16le", "--rate={rate}", "--channels={channels}")


class VoiceSinkError(VoiceError, ValueError):
    """A sink description the voice cannot use (``"wav:"`` without a directory, unknown kind)."""


@dataclass(frozen=True)
class VoiceSink:
    """A resolved audio destination: ``off``, ``wav`` files in ``directory``, or a ``player``."""

    kind: Literal["off", "wav", "player"]
    directory: Path | None = None
    player: tuple[str, ...] = ()
    realtime: bool = False  # wav only: write at playback speed, like a sound card

    @classmethod
    def off(cls) -> VoiceSink:
        return cls("off")

    @classmethod
    def wav(cls, directory: str | os.PathLike[str], *, realtime: bool = False) -> VoiceSink:
        """Each utterance becomes ``NNNN-<lang>.wav`` in ``directory`` (tests, demos, benches)."""
        return cls("wav", directory=Path(directory), realtime=realtime)

    @classmethod
    def with_player(cls, argv: tuple[str, ...] | list[str]) -> VoiceSink:
        """Pipe raw s16le PCM into ``argv``; ``{rate}``/``{channels}`` in it are filled in."""
        if not argv:
            raise VoiceSinkError("a player needs a command")
        return cls("player", player=tuple(argv))

    @classmethod
    def parse(cls, spec: str) -> VoiceSink:
        """``"auto"`` (a player if this machine has an audio device, else off), ``"off"``,
        or ``"wav:/path/dir"``."""
        if spec == "off":
            return cls.off()
        if spec == "auto":
            player = detect_player()
            return cls.with_player(player) if player else cls.off()
        if spec.startswith("wav:"):
            directory = spec[4:]
            if not directory:
                raise VoiceSinkError("wav sink needs a directory: 'wav:/path/dir'")
            return cls.wav(directory)
        raise VoiceSinkError(f"unknown voice sink {spec!r}; use 'auto', 'off' or 'wav:/dir'")


def _pulse_server_present() -> bool:
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return os.path.exists(os.path.join(runtime, "pulse", "native"))


def detect_player() -> tuple[str, ...] | None:
    """paplay when a PulseAudio/PipeWire server runs, else aplay when ALSA has a playback
    device, else None. Looks only at files: nothing is started, nothing can hang."""
    if shutil.which("paplay") and _pulse_server_present():
        return PAPLAY
    if shutil.which("aplay") and glob.glob("/dev/snd/pcmC*D*p"):
        return APLAY
    return None


@dataclass(frozen=True)
class PcmFormat:
    rate: int
    channels: int
    sample_width: int  # bytes

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.sample_width

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.frame_bytes


class WavStreamError(VoiceError):
    """espeak-ng's stdout did not start with a PCM WAV header."""


def parse_wav_header(head: bytes) -> tuple[PcmFormat, int] | None:
    """(format, offset of the first sample) once ``head`` holds the whole header, else None.

    espeak-ng's streamed header carries placeholder sizes, so only chunk ids are trusted."""
    if len(head) < 12:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise WavStreamError(f"not a WAV stream: {head[:12]!r}")
    pos, fmt = 12, None
    while len(head) >= pos + 8:
        chunk_id, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if chunk_id == b"data":
            if fmt is None:
                raise WavStreamError("WAV data before its format")
            return fmt, pos + 8
        if len(head) < pos + 8 + size:
            return None
        if chunk_id == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", head[pos + 8 : pos + 24])
            if tag != 1 or bits != 16:
                raise WavStreamError(f"expected 16-bit PCM, got format {tag} with {bits} bits")
            fmt = PcmFormat(rate=rate, channels=channels, sample_width=2)
        pos += 8 + size + (size & 1)
    return None


def wav_header(fmt: PcmFormat, data_bytes: int) -> bytes:
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        fmt.channels,
        fmt.rate,
        fmt.bytes_per_second,
        fmt.frame_bytes,
        fmt.sample_width * 8,
        b"data",
        data_bytes,
    )


class AudioOutput:
    """One utterance's destination. ``write`` returns False once the listener is gone."""

    def begin(self, fmt: PcmFormat) -> None:
        raise NotImplementedError

    def write(self, pcm: bytes) -> bool:
        raise NotImplementedError

    def finish(self) -> None:
        """All audio written: let it play out (may block until the sound card is done)."""

    def abort(self) -> None:
        """Cut off now: keep what was already heard, drop the rest."""


class WavFileOutput(AudioOutput):
    """Streams samples into ``path`` as they come; sizes in the header are fixed at the end."""

    def __init__(self, path: Path, cancelled: threading.Event, *, realtime: bool = False):
        self.path = path
        self._cancelled = cancelled
        self._realtime = realtime
        self._fh: BinaryIO | None = None
        self._fmt: PcmFormat | None = None
        self._written = 0
        self._started = 0.0

    def begin(self, fmt: PcmFormat) -> None:
        self._fmt = fmt
        self._fh = open(self.path, "wb", buffering=0)  # noqa: SIM115 - closed in _close
        self._fh.write(wav_header(fmt, 0))
        self._started = time.monotonic()

    def write(self, pcm: bytes) -> bool:
        if self._fh is None or self._fmt is None or self._cancelled.is_set():
            return False
        fmt = self._fmt
        step = len(pcm) or 1
        if self._realtime:  # 20 ms pieces, each written when a sound card would reach it
            step = max(
                fmt.frame_bytes, fmt.bytes_per_second // 50 // fmt.frame_bytes * fmt.frame_bytes
            )
        for start in range(0, len(pcm), step):
            if self._realtime:
                due = self._started + self._written / fmt.bytes_per_second
                if self._cancelled.wait(max(0.0, due - time.monotonic())):
                    return False
            piece = pcm[start : start + step]
            self._fh.write(piece)
            self._written += len(piece)
        return not self._cancelled.is_set()

    def finish(self) -> None:
        if self._realtime and self._fmt is not None:  # the last chunk is still "playing"
            due = self._started + self._written / self._fmt.bytes_per_second
            self._cancelled.wait(max(0.0, due - time.monotonic()))
        self._close()

    def abort(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._fh is None or self._fmt is None:
            return
        whole = self._written - self._written % self._fmt.frame_bytes
        try:
            self._fh.truncate(len(wav_header(self._fmt, 0)) + whole)
            self._fh.seek(0)
            self._fh.write(wav_header(self._fmt, whole))
        finally:
            self._fh.close()
            self._fh = None


class PlayerOutput(AudioOutput):
    """Pipes samples into a player process (aplay/paplay) started on the first audio bytes."""

    def __init__(self, argv: tuple[str, ...],
                 spawn: Callable[[list[str]], subprocess.Popen[bytes]]):
        self._argv = argv
        self._spawn = spawn
        self._proc: subprocess.Popen[bytes] | None = None

    def begin(self, fmt: PcmFormat) -> None:
        argv = [a.format(rate=fmt.rate, channels=fmt.channels) for a in self._argv]
        self._proc = self._spawn(argv)

    def write(self, pcm: bytes) -> bool:
        if self._proc is None or self._proc.stdin is None:
            return False
        try:
            self._proc.stdin.write(pcm)
            return True
        except (BrokenPipeError, ValueError, OSError):  # player killed by an interruption
            return False

    def finish(self) -> None:
        self._close_stdin()

    def abort(self) -> None:
        self._close_stdin()

    def _close_stdin(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass


def wav_name(number: int, lang: str) -> str:
    """``0007-zh_CN.wav``; the language part is reduced to safe file-name characters."""
    return f"{number:04d}-{re.sub(r'[^A-Za-z0-9_-]', '_', lang) or 'xx'}.wav"


def next_wav_number(directory: Path) -> int:
    """Continue numbering after files an earlier run left, so none is overwritten."""
    numbers = [int(p.name[:4]) for p in directory.glob("[0-9][0-9][0-9][0-9]-*.wav")]
    return max(numbers, default=0) + 1
