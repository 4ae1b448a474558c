"""Soak: many simulated resident visits in ONE process, to see whether the kiosk grows.

The app is built with :class:`kiosk.app.KioskApp` from a config pointing at the real central
simulator (``DemoRig(...).start(devices=False)``). ONE real query (个人社保缴费明细查询, rs_jfmx)
runs against it; its :class:`ServiceResult` is then reused by an in-process Effects
(:class:`CannedEffects`), so a visit costs milliseconds but still goes through the real flow,
the real window, the real bridge (worker pool + queued signal) and real taps on buttons.

Each visit is driven from inside ``QApplication.exec()`` — control returns to the event loop
after every step, exactly as on the kiosk, so paints, deferred deletes and queued callbacks
happen the way they do in production (a ``processEvents()`` loop outside ``exec()`` never runs
``deleteLater`` and would report a leak the kiosk does not have)::

    attract → start → home (language tap, department tile, back) → choose_service → intro
    → confirm → place_card → card_read(identity) → inputs (keypad taps, next) → processing
    → result → print → printing → take_documents → taken → rating → rate → goodbye
    → goodbye tick (the flow's clock is moved on 4 s) → attract

Languages rotate zh_CN/zh_HK/en per visit; senior mode is on for visits 5–9 of every 10 (samples, taken every
``--every`` visits, a multiple of 10, then always find the window in the same mode). Every
``--every`` visits: resident-set size, OS threads, open fds, live QObjects (window children,
all QWidgets, shiboken wrappers Python holds). Goals: RSS growth ≤ 10 MB after warm-up (the
first sample), no growth in threads, fds, QObjects. Exits 0 either way; says MISSED.

    .venv/bin/python bench/soak.py [--visits 10000] [--every 500] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SERVICE = "rs_jfmx"  # 个人社保缴费明细查询: id card, one month-range field, receipt
PERIOD_KEYS = "202501202610"  # 2025-01/2026-10 typed on the keypad
LANGS = ("zh_CN", "zh_HK", "en")
RSS_GOAL_MB = 10.0


class CannedEffects:
    """The flow's Effects port answering in-process with one real central result."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.calls = {"run_service": 0, "print_result": 0, "record_evaluation": 0}

    def run_service(self, service: Any, identity: Any, inputs: dict[str, str], *,
                    attempt: str | None = None) -> Any:
        self.calls["run_service"] += 1
        return self.result

    def print_result(self, service: Any, result: Any, identity: Any, lang: str,
                     job_id: str) -> None:
        self.calls["print_result"] += 1

    def record_evaluation(self, payload: dict[str, Any]) -> None:
        self.calls["record_evaluation"] += 1

    def verify_pin(self, pin: str) -> None:
        return None

    def verify_face(self, identity: Any, jpeg: bytes) -> bool:
        return True


class VirtualClock:
    """time.monotonic plus a jump, so the goodbye screen's 4 s pass without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def real_result(rig_dir: Path) -> tuple[Any, Any, Any]:
    """Start the central simulator, return (rig, config, one real rs_jfmx ServiceResult)."""
    from kiosk.catalog.services import Catalog
    from kiosk.demo.rig import DemoRig
    from kiosk.demo.visit import demo_identity
    from kiosk.visit.effects import VisitEffects

    rig = DemoRig(rig_dir).start(devices=False)
    config = rig.config()
    from kiosk.central.client import CentralClient
    from kiosk.parts import read_terminal_key

    client = CentralClient(config.central["url"], config.terminal["id"],
                           read_terminal_key(config))
    effects = VisitEffects(client, terminal_id=config.terminal["id"])
    result = effects.run_service(Catalog.load().get(SERVICE), demo_identity(),
                                 {"period": "2025-01/2026-10"})
    return rig, config, result


# -- measuring ------------------------------------------------------------------------------
def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def c_heap_mb() -> float:
    """Bytes glibc malloc has handed out and not had back (Qt's and Python's big objects):
    RSS can grow while this stays flat (freed memory kept by the allocator), not the reverse."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return float("nan")
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 1e6


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def shiboken_wrappers() -> int:
    """Qt objects Python holds a wrapper for (a wrapper kept alive keeps its object too)."""
    from shiboken6 import Shiboken

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Shiboken.Object))


def sample(window: Any, visits: int, elapsed: float) -> dict[str, float]:
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QApplication

    wrappers = shiboken_wrappers()  # collects first, so RSS below is after gc
    return {"visits": visits, "rss_mb": rss_mb(), "heap_mb": c_heap_mb(),
            "py_blocks": sys.getallocatedblocks(), "threads": os_threads(),
            "py_threads": threading.active_count(), "fds": open_fds(),
            "children": len(window.findChildren(QObject)),
            "widgets": len(QApplication.allWidgets()), "wrappers": wrappers,
            "py_objects": len(gc.get_objects()), "seconds": elapsed}


COLUMNS = ("visits", "rss_mb", "heap_mb", "py_blocks", "threads", "py_threads", "fds", "children", "widgets",
           "wrappers", "py_objects", "seconds")


def print_row(row: dict[str, float]) -> None:
    cells = [f"{row[c]:>10.1f}" if c in ("rss_mb", "heap_mb", "seconds") else f"{int(row[c]):>10d}"
             for c in COLUMNS]
    print(" ".join(cells), flush=True)


# -- one visit, as a script the event loop steps through ------------------------------------
Wait = Callable[[], bool]


def visit(app: Any, clock: VirtualClock, identity: Any, n: int, home_dept: str) -> Iterator[Wait]:
    """One resident's visit. Each ``yield`` hands control back to the event loop until the
    yielded condition holds (the step rendered, or the worker's answer arrived)."""
    from kiosk.demo.visit import click
    from kiosk.visit.flow import GOODBYE_SECONDS, Step

    flow = app.flow

    def on(step: Step) -> Wait:
        return lambda: flow.step is step

    assert flow.step is Step.ATTRACT, flow.step
    click(app, "start")
    yield on(Step.HOME)
    elderly = (n // 5) % 2 == 1  # 5 standard, 5 senior: samples (every 10·k) see one mode
    if flow.elderly != elderly:
        click(app, "elderly")
        yield on(Step.HOME)
    lang = LANGS[n % len(LANGS)]
    if flow.language != lang:
        click(app, "language")  # the bar's language button opens the chooser
        click(app, f"top_lang_{lang}")
        yield on(Step.HOME)
    click(app, f"dept_{home_dept}")  # a department tile: the home grid is rebuilt
    yield on(Step.HOME)
    click(app, "departments_back")
    yield on(Step.HOME)
    flow.choose_service(SERVICE)  # the service may be on the hot list or in a department
    yield on(Step.INTRO)
    click(app, "confirm")
    yield on(Step.PLACE_CARD)
    flow.card_read(identity)  # what the reader's callback does, on the GUI thread
    yield on(Step.INPUTS)
    for key in PERIOD_KEYS:
        click(app, f"key_{key}")
    yield on(Step.INPUTS)
    click(app, "next_field")  # submit_inputs → processing → worker → result
    yield on(Step.RESULT)
    click(app, "print")  # printing → worker → take_documents
    yield on(Step.TAKE_DOCUMENTS)
    click(app, "taken")
    yield on(Step.RATING)
    click(app, "rate_very_satisfied")
    yield on(Step.GOODBYE)
    clock.offset += GOODBYE_SECONDS + 0.1
    flow.tick()  # the goodbye tick
    yield on(Step.ATTRACT)


class Soak:
    """Steps visits from a zero-interval timer inside ``exec()``; samples every ``every``."""

    def __init__(self, kiosk: Any, clock: VirtualClock, identity: Any, visits: int,
                 every: int, on_sample: Callable[[dict[str, float]], None]) -> None:
        from PySide6.QtCore import QTimer

        self.kiosk, self.clock, self.identity = kiosk, clock, identity
        self.visits, self.every, self.on_sample = visits, every, on_sample
        self.done = 0
        self.error: BaseException | None = None
        self.started = time.perf_counter()
        self.dept = kiosk.catalog.departments[0].id
        self.script = visit(kiosk, clock, identity, 0, self.dept)
        self.waiting: Wait = lambda: True
        self.stalled_since = time.monotonic()
        self.timer = QTimer()
        self.timer.setInterval(0)
        self.timer.timeout.connect(self.pump)

    def pump(self) -> None:
        try:
            if not self.waiting():
                if time.monotonic() - self.stalled_since > 10:
                    raise RuntimeError(f"visit {self.done} stuck on {self.kiosk.flow.step} "
                                       f"({self.kiosk.flow.error_detail})")
                return
            self.stalled_since = time.monotonic()
            try:
                self.waiting = next(self.script)
            except StopIteration:
                self.done += 1
                if self.done % self.every == 0:
                    self.on_sample(sample(self.kiosk.window, self.done,
                                          time.perf_counter() - self.started))
                if self.done >= self.visits:
                    self.timer.stop()
                    self.kiosk.qt.quit()
                    return
                self.script = visit(self.kiosk, self.clock, self.identity, self.done, self.dept)
                self.waiting = lambda: True
        except BaseException as exc:  # report it after exec() returns
            self.error = exc
            self.timer.stop()
            self.kiosk.qt.quit()


def count_paints(kiosk: Any) -> dict[str, int]:
    """Paint events the screens receive: proof that every step is actually drawn."""
    from PySide6.QtCore import QEvent, QObject

    counts = {"paints": 0}

    class PaintCounter(QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Paint:
                counts["paints"] += 1
            return False

    counter = PaintCounter()
    kiosk.window.build_all_screens()
    for screen in kiosk.window.all_screens():
        screen.installEventFilter(counter)
    counts["_keep"] = counter  # type: ignore[assignment]
    return counts


def verdict(rows: list[dict[str, float]]) -> list[str]:
    """RSS: last sample minus the first (the warm-up). Counts: the peak over the second half
    of the run against the peak over the first half (a leak keeps raising the peak)."""
    base, last = rows[0], rows[-1]
    half = max(1, len(rows) // 2)
    early, late = rows[:half], rows[half:] or rows[-1:]
    lines = []
    grow = last["rss_mb"] - base["rss_mb"]
    per_k = grow / max(1, last["visits"] - base["visits"]) * 1000
    lines.append(f"RSS growth after warm-up ({int(base['visits'])} → {int(last['visits'])} visits): "
                 f"{grow:+.1f} MB ({per_k:+.2f} MB per 1000 visits; goal ≤ {RSS_GOAL_MB:.0f} MB): "
                 f"{'met' if grow <= RSS_GOAL_MB else 'MISSED'}")
    for key, what in (("threads", "OS threads"), ("fds", "open fds"),
                      ("children", "window QObjects"), ("widgets", "live QWidgets"),
                      ("wrappers", "shiboken wrappers")):
        first, second = max(r[key] for r in early), max(r[key] for r in late)
        delta = second - first
        lines.append(f"{what}: start {int(base[key])}, end {int(last[key])}, peak first half "
                     f"{int(first)}, second half {int(second)} (goal: no growth): "
                     f"{'met' if delta <= 0 else 'MISSED'}")
    heap = last["heap_mb"] - base["heap_mb"]
    lines.append(f"malloc heap in use (info): {heap:+.1f} MB; Python allocator blocks "
                 f"{int(last['py_blocks'] - base['py_blocks']):+d}")
    obj = last["py_objects"] - base["py_objects"]
    lines.append(f"Python objects (info): {int(base['py_objects'])} → {int(last['py_objects'])} "
                 f"({int(obj):+d}, {obj / max(1, last['visits'] - base['visits']):+.2f} per visit)")
    return lines


def production_logging(config: Any) -> None:
    """As ``kiosk run`` does: INFO to a rotating JSON-lines file, masked; stderr quiet."""
    from kiosk.logs import setup_logging

    log = config.logging
    setup_logging(config.path("logging", "dir"), log["level"], log["max_bytes"], log["backups"],
                  stderr=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace Python allocations; print the top growth sites at the end")
    args = parser.parse_args()
    if args.every % 10:
        parser.error("--every must be a multiple of 10 (the senior-mode rotation)")
    from kiosk.app.kiosk_app import KioskApp
    from kiosk.demo.visit import demo_identity
    from kiosk.parts import Devices

    with tempfile.TemporaryDirectory() as tmp:
        rig, config, result = real_result(Path(tmp) / "rig")
        production_logging(config)
        try:
            print(f"one real query against the central simulator: {SERVICE} "
                  f"{result.kind}, {len(result.rows)} rows; reused for every visit", flush=True)
            kiosk = KioskApp(config, devices=Devices())
            canned = CannedEffects(result)
            kiosk.flow.effects = canned  # the flow's port; central is not called again
            clock = VirtualClock()
            kiosk.flow.clock = clock
            kiosk.start(show=True)
            paints = count_paints(kiosk)
            rows: list[dict[str, float]] = []
            print(" ".join(f"{c:>10s}" for c in COLUMNS), flush=True)
            start_row = sample(kiosk.window, 0, 0.0)
            print_row(start_row)
            if args.tracemalloc:
                import tracemalloc

                tracemalloc.start(12)
                snapshots: list[Any] = []

            def on_sample(row: dict[str, float]) -> None:
                rows.append(row)
                print_row(row)
                if args.tracemalloc and len(snapshots) < 1:
                    snapshots.append(tracemalloc.take_snapshot())

            soak = Soak(kiosk, clock, demo_identity(), args.visits, args.every, on_sample)
            soak.timer.start()
            kiosk.qt.exec()
            if soak.error is not None:
                print(f"soak stopped after {soak.done} visits: {soak.error!r}")
            print(f"visits {soak.done}, effects calls {canned.calls}, screen paints "
                  f"{paints['paints']} ({paints['paints'] / max(1, soak.done):.1f} per visit)")
            logs = sorted(config.path("logging", "dir").glob("kiosk.jsonl*"))
            print(f"log files: {len(logs)}, {sum(f.stat().st_size for f in logs) / 1e6:.1f} MB "
                  f"(rotating at {config.logging['max_bytes'] / 1e6:.0f} MB)")
            if len(rows) >= 2:
                for line in verdict(rows):
                    print(line)
            if args.tracemalloc and snapshots:
                end = tracemalloc.take_snapshot()
                print("top Python allocation growth since the first sample:")
                for stat in end.compare_to(snapshots[0], "traceback")[:8]:
                    print(f"  {stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks")
                    for line in stat.traceback.format()[-6:]:
                        print("    " + line)
            kiosk.stop()
        finally:
            rig.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
