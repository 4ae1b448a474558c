"""Screen-switch latency: from a resident's intent to the new screen painted.

What is timed, per switch: the flow intent (``flow.start()``, ``choose_service``, ``go_home``,
``set_language`` …; the window re-renders synchronously in the flow's ``on_change``), then
the deferred deletes the event loop would run in that frame (widgets a ``render()`` dropped
with ``deleteLater``), then ``processEvents()`` repeated until the target screen has received
its Paint event, and that ``processEvents()`` call has returned — i.e. layout, polish, paint of every dirty widget into
the window's backing store and its flush. That is the moment a resident's screen changes (the
offscreen platform's flush is a memory copy; a real display adds the compositor's frame). A
switch whose screen is not painted within 500 ms counts as 500 ms.

Setup: ``KioskWindow`` 1080×1920 (config default) on the offscreen platform, the flow built
directly (as ``/tmp/look.py``), with one REAL result from the central simulator
(``DemoRig(...).start(devices=False)``, rs_jfmx) reused by an in-process Effects. Worker
answers (service done, printed, PIN/face checked) are held and released by the bench, so
"processing → result" is timed on its own, as the bridge would deliver it.

Rounds go through every screen (attract, home, intro, place card, PIN, face, inputs,
processing, result, printing, take documents, rating, goodbye, error, idle countdown) in each
of the 3 languages × standard/senior mode. One round per combination is warm-up (not counted).
The senior-mode switch (``set_elderly`` on home and on the result, there and back in every
round) is one of the kinds: the window keeps one set of screens and chrome per mode, each
styled once with its mode's cached sheet, so the switch shows other widgets instead of
re-polishing the whole tree. After each counted switch (untimed) a fixed CPU loop, the canary,
shows how often the machine itself stalls the thread: such stalls inflate whichever switch
they land in, alike before and after any change to the screens.
Goal: p95 ≤ 16 ms per transition kind. Also reports ``window.grab()`` (a forced full-window
render into a pixmap) as an upper bound. Exits 0 either way; says MISSED.

    .venv/bin/python bench/ui_bench.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from soak import CannedEffects, VirtualClock, production_logging, real_result  # noqa: E402

GOAL_MS = 16.0
PAINT_TIMEOUT_S = 0.5
LANGS = ("zh_CN", "zh_HK", "en")
COMBOS = [(lang, elderly) for elderly in (False, True) for lang in LANGS]
ID_SERVICE = "rs_jfmx"  # id card + month-range input + receipt: the demo's service
PIN_SERVICE = "yb_zhye"  # social-security card + PIN
FACE_SERVICE = "rs_sbk_gs"  # id card + face, no inputs


class Deferred:
    """``run_async`` that holds the worker's answer until the bench releases it."""

    def __init__(self) -> None:
        self.pending: list[tuple[Callable, Callable, Callable]] = []

    def __call__(self, fn: Callable, on_done: Callable, on_error: Callable) -> None:
        self.pending.append((fn, on_done, on_error))

    def release(self, fail: BaseException | None = None) -> None:
        fn, on_done, on_error = self.pending.pop(0)
        if fail is not None:
            on_error(fail)
            return
        try:
            value = fn()
        except Exception as exc:
            on_error(exc)
        else:
            on_done(value)


@dataclasses.dataclass(frozen=True)
class Sample:
    wall_ms: float  # what a resident waits (inflated when other processes share the cores)
    cpu_ms: float  # this thread's CPU time: the switch's own cost, whatever the load
    intent_cpu_ms: float  # of which in the intent: flow + Python render() of the screen


class ServiceDown(Exception):
    message_key = "errors.central_unavailable"


class Bench:
    def __init__(self, result: Any, width: int, height: int) -> None:
        from PySide6.QtCore import QEvent, QObject

        from kiosk.app.kiosk_app import qt_application
        from kiosk.catalog.services import Catalog
        from kiosk.visit.flow import Flow
        from screens.window import KioskWindow

        self.app = qt_application()
        self.clock = VirtualClock()
        self.deferred = Deferred()
        self.flow = Flow(Catalog.load(), CannedEffects(result), run_async=self.deferred,
                         clock=self.clock)
        self.window = KioskWindow(self.flow, width, height)
        self.window.show()
        self.paints: dict[Any, int] = defaultdict(int)
        paints = self.paints

        class PaintCounter(QObject):
            def eventFilter(self, obj, event) -> bool:
                if event.type() == QEvent.Paint:
                    paints[obj] += 1
                return False

        self._counter = PaintCounter()
        self.window.build_all_screens()
        for screen in self.window.all_screens():
            screen.installEventFilter(self._counter)
        for overlay in self.window.overlays.values():
            overlay.installEventFilter(self._counter)
        self.times: dict[str, list[float]] = defaultdict(list)
        self.canaries: list[float] = []  # the fixed CPU loop after each switch (``canary``)
        # per kind and sample: the canary just before and just after it
        self.bracket: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.grabs: list[float] = []
        self.unpainted: dict[str, int] = defaultdict(int)
        self.recording = False
        self.settle()

    def settle(self) -> None:
        for _ in range(3):
            self.app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)

    def switch(self, kind: str, intent: Callable[[], None], step: Any,
               target: Any = None) -> None:
        """Time ``intent`` until ``target`` (default: the flow's screen afterwards) is painted;
        ``step`` is where the flow must be afterwards (a script mistake stops the bench)."""
        self.settle()
        calm_before = canary() if self.recording else 0.0
        before = dict(self.paints)
        start, cpu_start = time.perf_counter(), time.thread_time()
        intent()
        cpu_intent = time.thread_time() - cpu_start
        # what exec() would do in this frame: widgets dropped by render() (deleteLater) go;
        # processEvents() outside exec() never deletes them, and they would pile up
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        if self.flow.step is not step:
            raise RuntimeError(f"{kind}: flow on {self.flow.step}, expected {step}")
        widget = target if target is not None else self.window.current_screen()
        deadline = start + PAINT_TIMEOUT_S
        painted = False
        while True:
            self.app.processEvents()
            now = time.perf_counter()
            if self.paints[widget] > before.get(widget, 0):
                painted = True
                break
            if now > deadline:
                break
        cpu = time.thread_time() - cpu_start
        elapsed = (now - start) if painted else PAINT_TIMEOUT_S
        if self.recording:
            self.times[kind].append(Sample(elapsed * 1000, cpu * 1000, cpu_intent * 1000))
            if not painted:
                self.unpainted[kind] += 1
            self.canaries.append(canary())
            self.bracket[kind].append((calm_before, self.canaries[-1]))

    def grab(self) -> None:
        start = time.perf_counter()
        self.window.grab()
        if self.recording:
            self.grabs.append((time.perf_counter() - start) * 1000)

    # -- one pass over every screen -----------------------------------------------------------
    def round(self, lang: str, elderly: bool, identity: Any, ss_identity: Any) -> None:
        from kiosk.visit.flow import GOODBYE_SECONDS, Step

        flow, sw = self.flow, self.switch
        period = {"period": "2025-01/2026-10"}
        assert flow.step is Step.ATTRACT, flow.step
        # the demo visit: id card, one input, result, print, rate
        sw("attract→home (start)", flow.start, Step.HOME)
        if flow.elderly != elderly:
            sw("set_elderly (home)", lambda: flow.set_elderly(elderly), Step.HOME)
        if flow.language != lang:
            sw("set_language (home)", lambda: flow.set_language(lang), Step.HOME)
        # the senior-mode switch on home, there and back, in every round: on its own (above)
        # it came twice per 6 combinations, and a p95 of its 12 samples (6 rounds) was their
        # maximum, decided by the machine's worst stall (see ``canary``), not by the switch
        sw("set_elderly (home)", lambda: flow.set_elderly(not elderly), Step.HOME)
        sw("set_elderly (home)", lambda: flow.set_elderly(elderly), Step.HOME)
        sw("home→intro (choose_service)", lambda: flow.choose_service(ID_SERVICE), Step.INTRO)
        sw("intro→home (go_home)", flow.go_home, Step.HOME)
        sw("home→intro (choose_service)", lambda: flow.choose_service(ID_SERVICE), Step.INTRO)
        sw("intro→place_card (confirm_intro)", flow.confirm_intro, Step.PLACE_CARD)
        sw("place_card problem (card_error)", lambda: flow.card_error("card.expired"),
           Step.PLACE_CARD)
        sw("place_card→inputs (card_read)", lambda: flow.card_read(identity), Step.INPUTS)
        sw("set_language (inputs)", lambda: flow.set_language(next_lang(lang)), Step.INPUTS)
        sw("set_language (inputs)", lambda: flow.set_language(lang), Step.INPUTS)
        sw("inputs→processing (submit_inputs)", lambda: flow.submit_inputs(period),
           Step.PROCESSING)
        sw("processing→result (service done)", self.deferred.release, Step.RESULT)
        self.grab()
        sw("set_language (result)", lambda: flow.set_language(next_lang(lang)), Step.RESULT)
        sw("set_language (result)", lambda: flow.set_language(lang), Step.RESULT)
        sw("set_elderly (result)", lambda: flow.set_elderly(not elderly), Step.RESULT)
        sw("set_elderly (result)", lambda: flow.set_elderly(elderly), Step.RESULT)
        sw("result→printing (print_result)", flow.print_result, Step.PRINTING)
        sw("printing→take_documents (printed)", self.deferred.release, Step.TAKE_DOCUMENTS)
        sw("take_documents→rating (card taken)", lambda: flow.card_removed(None), Step.RATING)
        sw("rating→goodbye (rate)", lambda: flow.rate("satisfied"), Step.GOODBYE)
        self.deferred.pending.clear()  # the rating's record_evaluation
        self.clock.offset += GOODBYE_SECONDS + 0.1
        sw("goodbye→attract (tick)", flow.tick, Step.ATTRACT)

        # PIN, face, error and the idle countdown (a new session for each card kind)
        sw("attract→home (start)", flow.start, Step.HOME)
        flow.set_language(lang)
        sw("home→intro (choose_service)", lambda: flow.choose_service(PIN_SERVICE), Step.INTRO)
        sw("intro→place_card (confirm_intro)", flow.confirm_intro, Step.PLACE_CARD)
        sw("place_card→pin (card_read)", lambda: flow.card_read(ss_identity), Step.PIN)
        sw("pin→goodbye (cancel)", flow.cancel, Step.GOODBYE)
        self.clock.offset += GOODBYE_SECONDS + 0.1
        sw("goodbye→attract (tick)", flow.tick, Step.ATTRACT)
        sw("attract→home (start)", flow.start, Step.HOME)
        flow.set_language(lang)
        sw("home→intro (choose_service)", lambda: flow.choose_service(FACE_SERVICE), Step.INTRO)
        sw("intro→place_card (confirm_intro)", flow.confirm_intro, Step.PLACE_CARD)
        sw("place_card→face (card_read)", lambda: flow.card_read(identity), Step.FACE)
        sw("face→home (go_home)", flow.go_home, Step.HOME)
        sw("home→intro (choose_service)", lambda: flow.choose_service(ID_SERVICE), Step.INTRO)
        sw("intro→inputs (confirm_intro, card known)", flow.confirm_intro, Step.INPUTS)
        flow.submit_inputs(period)
        sw("processing→error (service failed)",
           lambda: self.deferred.release(ServiceDown("central down")), Step.ERROR)
        sw("error→home (go_home)", flow.go_home, Step.HOME)
        self.clock.offset += flow.idle_timeout + 1
        sw("idle countdown overlay (tick)", flow.tick, Step.HOME, target=self.window.overlay)
        sw("home (more_time)", flow.more_time, Step.HOME)
        sw("home→goodbye (cancel)", flow.cancel, Step.GOODBYE)
        self.clock.offset += GOODBYE_SECONDS + 0.1
        sw("goodbye→attract (tick)", flow.tick, Step.ATTRACT)


def canary(loops: int = 20_000) -> float:
    """The thread CPU time (ms) of a fixed pure-Python loop, about a millisecond: the same
    work every time, so its spread is the machine's, not the code's. Run after each counted
    switch (not timed with it). On a shared virtual machine the GUI thread is now and then
    stalled for 10-30 ms while it counts as running: such a stall inflates whichever switch
    it falls in, and a kind's p95 of 36 samples is its second highest."""
    start = time.thread_time()
    total = 0
    for i in range(loops):
        total += i * i
    return (time.thread_time() - start) * 1000


def stalled_around(bench: Bench, kind: str, calm: float) -> list[bool]:
    """Per sample of ``kind``: did the canary just before or just after it take twice its
    median or more? The machine's stalls come in bursts (a switch sample inflated by one is
    most often bracketed by a slow canary), and nothing of the kiosk's runs in a canary."""
    return [max(pair) >= 2 * calm for pair in bench.bracket[kind]]


def next_lang(lang: str) -> str:
    return LANGS[(LANGS.index(lang) + 1) % len(LANGS)]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def run(result: Any, screen: dict, rounds: int) -> tuple[Bench, float]:
    from kiosk.demo.visit import demo_identity

    identity = demo_identity()
    ss_identity = dataclasses.replace(identity, source="ss_card")
    bench = Bench(result, screen["width"], screen["height"])
    for lang, elderly in COMBOS:  # warm-up: first render of each screen in each mode
        bench.round(lang, elderly, identity, ss_identity)
    bench.recording = True
    started = time.perf_counter()
    for _ in range(rounds):
        for lang, elderly in COMBOS:
            bench.round(lang, elderly, identity, ss_identity)
    return bench, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20,
                        help="counted rounds per language × mode combination")
    args = parser.parse_args()

    from kiosk.config import load_config

    screen = load_config().screen
    with tempfile.TemporaryDirectory() as tmp:
        rig, config, result = real_result(Path(tmp) / "rig")
        rig.stop()  # one real answer is all the bench needs
        production_logging(config)  # INFO lines per step to a file, as on the kiosk
        bench, took = run(result, screen, args.rounds)
    load = os.getloadavg()
    print(f"screen switch, intent → target screen painted (offscreen, {screen['width']}×"
          f"{screen['height']}, {args.rounds} rounds × {len(COMBOS)} language/mode combos, "
          f"{took:.0f} s, load average {load[0]:.1f} on {os.cpu_count()} cores); "
          f"goal p95 ≤ {GOAL_MS:.0f} ms")
    print("wall = what the resident waits on this machine now; cpu = the GUI thread's own "
          "CPU time for the switch (what it costs on an idle kiosk); intent = the part spent "
          "in the flow intent + the screens' Python render(), the rest is Qt layout/polish/paint")
    print(f"{'transition':42s} {'n':>4s} {'wall p50':>8s} {'p95':>6s} {'max':>6s} "
          f"{'cpu p50':>7s} {'p95':>6s} {'max':>6s} {'intent p50':>10s}  verdict (cpu p95)")
    missed = []
    every: list[Sample] = []

    def line(kind: str, samples: list[Sample]) -> bool:
        wall = [x.wall_ms for x in samples]
        cpu = [x.cpu_ms for x in samples]
        intent = [x.intent_cpu_ms for x in samples]
        ok = pct(cpu, 95) <= GOAL_MS
        note = f" ({bench.unpainted[kind]} not painted in {PAINT_TIMEOUT_S * 1000:.0f} ms)" \
            if bench.unpainted.get(kind) else ""
        if not ok and pct(cpu, 95) >= 2 * statistics.median(cpu):
            note += f" (its p95 sample is {pct(cpu, 95) / statistics.median(cpu):.1f}× its median)"
        wall_note = "" if pct(wall, 95) <= GOAL_MS else ", wall MISSED"
        print(f"{kind:42s} {len(samples):4d} {statistics.median(wall):8.1f} {pct(wall, 95):6.1f} "
              f"{max(wall):6.1f} {statistics.median(cpu):7.1f} {pct(cpu, 95):6.1f} "
              f"{max(cpu):6.1f} {statistics.median(intent):10.1f}  "
              f"{'ok' if ok else 'MISSED'}{wall_note}{note}")
        return ok

    for kind, samples in sorted(bench.times.items(),
                                key=lambda kv: -pct([x.cpu_ms for x in kv[1]], 95)):
        every.extend(samples)
        if not line(kind, samples):
            missed.append(kind)
    line("all switches", every)
    from PySide6.QtWidgets import QApplication, QWidget

    print(f"live QWidgets at the end: {len(QApplication.allWidgets())} "
          f"(the window has {len(bench.window.findChildren(QWidget)) + 1})")
    print(f"window.grab() of the result screen (forced full-window render, upper bound): "
          f"wall p50 {statistics.median(bench.grabs):.1f} ms, p95 {pct(bench.grabs, 95):.1f} ms")
    calm = statistics.median(bench.canaries)
    stalls = sum(1 for x in bench.canaries if x >= 2 * calm)
    print(f"the machine: a fixed CPU loop after each switch took p50 {calm:.2f} ms, p95 "
          f"{pct(bench.canaries, 95):.2f}, p99 {pct(bench.canaries, 99):.2f}, max "
          f"{max(bench.canaries):.1f}; {stalls} of {len(bench.canaries)} "
          f"({100 * stalls / len(bench.canaries):.1f} %) took twice its median or more "
          f"(stalls of the machine, which land in switches alike)")
    aside = {kind: stalled_around(bench, kind, calm) for kind in bench.times}
    clean_missed = []
    for kind, samples in bench.times.items():
        kept = [x.cpu_ms for x, out in zip(samples, aside[kind], strict=True) if not out]
        if kept and pct(kept, 95) > GOAL_MS:
            clean_missed.append(f"{kind} ({pct(kept, 95):.1f})")
    print(f"with the {sum(map(sum, aside.values()))} samples the machine stalled around set "
          f"aside (a canary just before or after took twice its median): cpu p95 > "
          f"{GOAL_MS:.0f} ms for {', '.join(clean_missed) or 'no kind'} (for reading the "
          "verdict; the verdict below counts every sample)")
    if missed:
        print(f"MISSED: cpu p95 > {GOAL_MS:.0f} ms for {len(missed)} of {len(bench.times)} "
              f"transition kinds: {', '.join(missed)}")
    else:
        print(f"goal met: every transition kind has cpu p95 ≤ {GOAL_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
