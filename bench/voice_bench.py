"""Voice guidance latency: how long a resident waits between a screen appearing and hearing it.

Measures, per language, the time from ``Voice.say()`` to the first audio byte arriving in the
WAV sink (median of 10), how long ``say()`` itself blocks the caller (the GUI thread), and how
long a ``stop()`` takes to silence a playing utterance (paced like a sound card).

    .venv/bin/python bench/voice_bench.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.voice.speaker import Voice, VoiceSink  # noqa: E402

TEXTS = {
    "zh_CN": "请把身份证放在感应区，然后看着摄像头。",
    "zh_HK": "請把身份證放在感應區，然後望住鏡頭。",
    "en": "Please place your ID card on the reader, then look at the camera.",
}
RUNS = 10
HEADER = 44


def first_audio(path: Path, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        try:
            if path.stat().st_size > HEADER:
                return time.perf_counter()
        except FileNotFoundError:
            pass
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no audio in {path}")
        time.sleep(0.0002)


def bench_first_byte(directory: Path, *, slow: bool) -> None:
    with Voice(f"wav:{directory}") as voice:
        number = 1
        for lang, text in TEXTS.items():
            voice.say(text, lang, slow=slow)  # warm the page cache for this voice
            voice.wait_idle()
            number += 1
            delays, calls = [], []
            for _ in range(RUNS):
                path = directory / f"{number:04d}-{lang}.wav"
                start = time.perf_counter()
                voice.say(text, lang, slow=slow)
                calls.append(time.perf_counter() - start)
                delays.append(first_audio(path) - start)
                voice.wait_idle()
                number += 1
            print(
                f"{lang:6s} {'slow' if slow else 'normal':6s} say->first audio byte: "
                f"median {statistics.median(delays) * 1000:6.1f} ms "
                f"(min {min(delays) * 1000:.1f}, max {max(delays) * 1000:.1f}); "
                f"say() blocks caller median {statistics.median(calls) * 1e6:.0f} us"
            )


def bench_stop(directory: Path) -> None:
    stops = []
    with Voice(VoiceSink.wav(directory, realtime=True)) as voice:
        for i in range(RUNS):
            voice.say(TEXTS["en"] * 3, "en")
            first_audio(directory / f"{i + 1:04d}-en.wav")
            time.sleep(0.2)
            start = time.perf_counter()
            voice.stop()
            voice.wait_idle()
            stops.append(time.perf_counter() - start)
    print(
        f"stop() until silent and children reaped: median {statistics.median(stops) * 1000:.1f} ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_first_byte(Path(tmp) / "normal", slow=False)
        bench_first_byte(Path(tmp) / "slow", slow=True)
        bench_stop(Path(tmp) / "stop")


if __name__ == "__main__":
    main()
