"""Cold start against its floor: ``kiosk run`` launched as a new process until the attract
screen is painted, next to ``bench/cold_start_floor.py`` (a bare PySide6 window with the
same font and the same department tiles), run alternately in one run so both see the same
machine. Prints the medians and their ratios for wall time (launch to "painted" on stdout)
and peak memory (max RSS of the whole process, which quits right after the first paint).

Offscreen Qt, no devices configured: the figure is the app's own start-up (imports, catalog,
window, first paint). The project's modules are byte-compiled first, as an installed
terminal's are (this machine sets PYTHONDONTWRITEBYTECODE, which would make every run
compile from source). Goal (issue 12): kiosk <= 1.5x the floor in wall time and in memory.

    .venv/bin/python bench/cold_start.py [--runs 11]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5

CONFIG = """
[terminal]
mode = "demo"
[devices]
idcard = ""
receipt_printer = ""
[logging]
dir = "{log}"
[outbox]
path = "{tmp}/outbox.sqlite"
key_file = "{tmp}/outbox.key"
"""


def measure(argv: list[str]) -> tuple[float, float, float, float]:
    """(seconds from launch to "painted", peak RSS MiB at the first paint, peak RSS MiB of the
    whole process, CPU seconds of the whole process) of one run. The process prints its own VmHWM with "painted"; the run
    happens in a fresh helper process, so RUSAGE_CHILDREN's max RSS is that run's alone."""
    code = ("import os, resource, subprocess, sys, time\n"
            "env = {**os.environ, 'QT_QPA_PLATFORM': 'offscreen', 'KIOSK_EXIT_AFTER_PAINT': '1'}\n"
            "t = time.perf_counter()\n"
            "p = subprocess.Popen(sys.argv[1:], env=env, stdout=subprocess.PIPE,\n"
            "                     stderr=subprocess.DEVNULL, text=True)\n"
            "painted = None\n"
            "for line in p.stdout:\n"
            "    if line.startswith('painted ') and painted is None:\n"
            "        painted, at_paint = time.perf_counter() - t, int(line.split()[1]) / 1024\n"
            "if p.wait(timeout=60) or painted is None:\n"
            "    sys.exit(f'exit {p.returncode}, painted: {painted}')\n"
            "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print(painted, at_paint, r.ru_maxrss / 1024, r.ru_utime + r.ru_stime)\n")
    proc = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:4])}: {proc.stderr[-1500:]}")
    wall, at_paint, whole, cpu = proc.stdout.split()
    return float(wall), float(at_paint), float(whole), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    floor = [sys.executable, str(ROOT / "bench" / "cold_start_floor.py")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "kiosk", "screens", "drivers",
                    "offline_queue"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "kiosk.toml"
        config.write_text(CONFIG.format(log=f"{tmp}/log", tmp=tmp), encoding="utf-8")
        kiosk = [sys.executable, "-m", "kiosk.cli", "run", "--windowed", "--config", str(config)]
        measure(floor), measure(kiosk)  # warm the OS file cache: "cold" is a new process
        runs: dict[str, list[tuple[float, float, float, float]]] = {"floor": [], "kiosk": []}
        for _ in range(args.runs):
            runs["floor"].append(measure(floor))
            runs["kiosk"].append(measure(kiosk))
    med = {name: [statistics.median(run[i] for run in r) for i in range(4)]
           for name, r in runs.items()}
    for name, (wall, at_paint, whole, cpu) in med.items():
        walls = ", ".join(f"{run[0] * 1000:.0f}" for run in runs[name])
        print(f"{name:>5}: to first paint {wall * 1000:.0f} ms median (runs {walls}); "
              f"peak RSS {at_paint:.0f} MiB at first paint, {whole:.0f} MiB whole process; "
              f"CPU {cpu * 1000:.0f} ms whole process")
    k, f = med["kiosk"], med["floor"]
    print(f"kiosk / floor: wall {k[0] / f[0]:.2f}x, peak memory {k[1] / f[1]:.2f}x "
          f"(goal <= {GOAL}x each, to the first paint); whole process: memory "
          f"{k[2] / f[2]:.2f}x, CPU {k[3] / f[3]:.2f}x (operations start after the paint)")


if __name__ == "__main__":
    main()
