"""How long a resident waits for the social-security card: real pcscd + vpcd + card emulator.

Prints three figures:
  insert→identity   card goes in (emulator connects to vpcd) → ``on_card(identity)`` fired;
                    includes pcscd's presence poll (every 0.4 s), so it spreads over 0–0.4 s
  read              connect + select + 8 READ RECORDs with the card already in (read_once)
  cli               ``kiosk sscard --json`` wall time, a technician's cold start

Run: ``.venv/bin/python bench/sscard_bench.py [--cycles 20]`` (starts pcscd if none runs).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers.sscard import SocialSecurityCardReader, stop_card_monitor  # noqa: E402
from tests.fixtures.pcsc import VPCD_READER, _pcsc_readers  # noqa: E402
from tests.fixtures.procs import start_sim  # noqa: E402

CARDS = ROOT / "simulators" / "cards"


def figures(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return (f"{name:18s} n={len(ms):3d}  min {ms[0]:7.1f} ms  median {statistics.median(ms):7.1f} ms"
            f"  p95 {p95:7.1f} ms  max {ms[-1]:7.1f} ms")


def ensure_pcscd() -> subprocess.Popen | None:
    if _pcsc_readers() is not None:
        return None
    proc = subprocess.Popen([shutil.which("pcscd") or "/usr/sbin/pcscd", "--foreground"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while VPCD_READER not in (_pcsc_readers() or []):
        if time.monotonic() > deadline:
            raise SystemExit("pcscd did not list the vpcd reader")
        time.sleep(0.1)
    return proc


def wait_line(sim, prefix: str, start: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for i in range(start, len(sim.lines)):
            if sim.lines[i].startswith(prefix):
                return i + 1
        time.sleep(0.001)
    raise SystemExit(f"emulator never said {prefix!r}")


def bench_insert(sim, cycles: int, card: str) -> list[float]:
    reader = SocialSecurityCardReader(f"pcsc://{VPCD_READER}")
    came = threading.Event()
    stamp: list[float] = []
    reader.on_card(lambda identity: (stamp.append(time.perf_counter()), came.set()))
    reader.open()
    seen, took = 0, []
    try:
        for _ in range(cycles):
            came.clear()
            time.sleep(0.7)  # out longer than pcscd's poll, so the emulator does not wait
            t0 = time.perf_counter()
            sim.send(f"insert {CARDS / card}")
            if not came.wait(10):
                raise SystemExit("no on_card within 10 s")
            took.append(stamp[-1] - t0)
            seen = wait_line(sim, "inserted", seen)
            sim.send("remove")
            seen = wait_line(sim, "removed", seen)
    finally:
        reader.close()
    return took


def bench_read(sim, cycles: int, card: str) -> list[float]:
    sim.send(f"insert {CARDS / card}")
    wait_line(sim, "inserted", len(sim.lines))
    reader = SocialSecurityCardReader(f"pcsc://{VPCD_READER}")
    reader.read_once(10)  # pcscd has seen the card
    took = []
    for _ in range(cycles):
        t0 = time.perf_counter()
        reader.read_once(10)
        took.append(time.perf_counter() - t0)
    sim.send("remove")
    return took


def bench_cli(sim, cycles: int) -> list[float]:
    sim.send(f"insert {CARDS / 'ss_basic.json'}")
    wait_line(sim, "inserted", len(sim.lines))
    took = []
    for _ in range(cycles):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "kiosk.cli", "sscard", "--reader",
                               VPCD_READER, "--json"], capture_output=True, cwd=ROOT)
        took.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise SystemExit(f"kiosk sscard failed: {done.stderr.decode()}")
    sim.send("remove")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    pcscd = ensure_pcscd()
    sim = start_sim(["sscard"])
    try:
        print(figures("insert→identity", bench_insert(sim, args.cycles, "ss_basic.json")))
        print(figures("insert→id (61xx)", bench_insert(sim, args.cycles // 2, "ss_t0.json")))
        time.sleep(0.7)
        print(figures("read", bench_read(sim, args.cycles * 5, "ss_basic.json")))
        time.sleep(0.7)
        print(figures("read (61xx)", bench_read(sim, args.cycles * 5, "ss_t0.json")))
        time.sleep(0.7)
        print(figures("cli", bench_cli(sim, max(3, args.cycles // 4))))
    finally:
        sim.stop()
        stop_card_monitor()
        if pcscd is not None:
            pcscd.terminate()
            pcscd.wait(5)


if __name__ == "__main__":
    main()
