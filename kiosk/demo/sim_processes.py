"""Run simulators as real processes (``kiosk-sim …``) for the demo and the tests.

A simulator prints its address as its first stdout line when ready (see simulators/cli.py).
The kiosk only starts the process; it never imports simulator code.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

PR_SET_PDEATHSIG = 1


class SimulatorError(RuntimeError):
    """A simulator process did not start; the message carries the tail of its stderr."""


@dataclass
class SimProcess:
    proc: subprocess.Popen
    address: str
    lines: list[str] = field(default_factory=list)  # later stdout lines, for debugging

    def send(self, line: str) -> None:
        """Write one control line to the simulator's stdin (e.g. ``place card.json``)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self, timeout: float = 5) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        return self.proc.returncode


def _die_with_parent() -> None:
    """Linux: the simulator gets SIGTERM when the process that started it dies, so a crashed
    demo or test run never leaves simulators holding ports and pty slots."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def start_sim(args: Sequence[str], *, timeout: float = 15, env: dict | None = None) -> SimProcess:
    """Run ``kiosk-sim ARGS`` and wait for its address line; raise with its stderr if it dies."""
    cmd = [sys.executable, "-m", "simulators.cli", *args]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full_env,
                            preexec_fn=_die_with_parent)
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not first or not first[0]:
        proc.kill()
        _, err = proc.communicate()
        raise SimulatorError(f"simulator {' '.join(args)} did not start: {err.strip()[-2000:]}")
    sim = SimProcess(proc, first[0].strip())

    def drain() -> None:
        for line in proc.stdout:
            sim.lines.append(line.rstrip("\n"))

    def drain_err() -> None:  # a full stderr pipe would block the simulator
        for _line in proc.stderr:
            pass

    threading.Thread(target=drain, daemon=True).start()
    threading.Thread(target=drain_err, daemon=True).start()
    return sim
