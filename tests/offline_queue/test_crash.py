"""Kill -9 at random moments: every key a put returned arrives exactly once, nothing unknown.

Power cuts cannot be simulated here; what survives them is argued in offline_queue/outbox.py.
"""

from __future__ import annotations

import io
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_queue import Outbox
from offline_queue.sync import SyncWorker
from tests.fixtures.outbox import CentralDown, make_upload

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from outbox_writer import TEST_KEY, payload_for, stream_for  # noqa: E402

TRIALS = 50


class Child:
    """A writer process forked by the ``serve`` process of outbox_writer.py: its pid, its
    stdout and stderr (pipes this test made), and a pidfd that turns readable when it dies."""

    def __init__(self, pid: int, stdout: io.TextIOWrapper, stderr: io.TextIOWrapper) -> None:
        self.pid, self.stdout, self.stderr = pid, stdout, stderr
        self.pidfd = os.pidfd_open(pid)

    def kill(self) -> None:
        """SIGKILL, then wait until the kernel has ended the process (its locks released)."""
        os.kill(self.pid, signal.SIGKILL)
        ready, _, _ = select.select([self.pidfd], [], [], 10)
        assert ready, f"writer {self.pid} outlived SIGKILL"
        os.close(self.pidfd)


class Writers:
    """One ``outbox_writer.py serve`` process for the module; :meth:`spawn` forks a writer from
    it, so a writer is a real process killed at a random moment without a cold start each."""

    def __init__(self) -> None:
        self.sock, theirs = socket.socketpair()
        self.proc = subprocess.Popen([sys.executable, str(HERE / "outbox_writer.py"), "serve",
                                      str(theirs.fileno())], cwd=ROOT, pass_fds=(theirs.fileno(),),
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        theirs.close()
        self.answers = self.sock.makefile("r")

    def spawn(self, *args: str) -> Child:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            socket.send_fds(self.sock, [" ".join(args).encode()], [out_w, err_w])
        finally:
            os.close(out_w)
            os.close(err_w)
        pid = self.answers.readline()
        assert pid, f"the writer server died: {self.proc.wait(10)}"
        return Child(int(pid), open(out_r, encoding="utf-8"), open(err_r, encoding="utf-8"))

    def close(self) -> None:
        self.answers.close()
        self.sock.close()  # EOF: the server returns
        self.proc.wait(10)


@pytest.fixture(scope="module")
def writers() -> Iterator[Writers]:
    server = Writers()
    try:
        yield server
    finally:
        server.close()


def kill_after(proc: Child, seconds: float, *, after_open: bool = True,
               after_put: bool = False) -> list[str]:
    """Let the child run ``seconds`` (counted from its "open" line, or from its first
    committed put with ``after_put``), SIGKILL it, return its lines. Counting from the first
    put keeps the kill in the middle of puts however slow a loaded machine makes the open."""
    lines: list[str] = []
    opened = threading.Event()
    put_once = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line.strip())
            opened.set()
            if line.strip() != "open":
                put_once.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if after_put:
        assert put_once.wait(30), proc.stderr.read()
    elif after_open:
        assert opened.wait(30), proc.stderr.read()
    time.sleep(seconds)
    proc.kill()
    reader.join(10)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert "Traceback" not in err, err
    return lines


def test_killed_writers_lose_and_duplicate_nothing(tmp_path, central_sim, writers):
    """50 writers killed mid-put, then ``kiosk queue sync --once`` to the central simulator."""
    central_sim.reset()
    db = str(tmp_path / "outbox.sqlite")
    key_file = tmp_path / "outbox.key"
    key_file.write_bytes(TEST_KEY)
    key_file.chmod(0o600)
    rng = random.Random(20261124)
    printed: dict[int, list[int]] = {}
    for trial in range(TRIALS):
        # every 10th while starting or opening the outbox, the others in the middle of puts
        early = trial % 10 == 9
        lines = kill_after(writers.spawn("put", str(trial), db),
                           rng.uniform(0.0, 0.3) if early else rng.uniform(0.0, 0.12),
                           after_open=not early, after_put=not early)
        printed[trial] = [int(k.split("-")[1]) for k in lines if k.startswith(f"t{trial}-")]
    total = sum(len(v) for v in printed.values())
    assert total > TRIALS * 5, "the writers hardly wrote anything; the test proves little"
    assert sum(1 for v in printed.values() if v) > TRIALS * 3 // 4

    sync = subprocess.run([sys.executable, "-m", "kiosk.cli", "queue", "sync", "--once",
                           "--db", db, "--key-file", str(key_file), "--central", central_sim.url],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert sync.returncode == 0, sync.stderr
    store = {t["key"]: t for t in central_sim.admin("/_admin/transactions")["transactions"]}
    order = list(store)
    requests = central_sim.admin("/_admin/received?path=transactions")["requests"]
    received = [t["key"] for r in requests for t in r["body"]["transactions"]]
    central_sim.reset()

    assert len(received) == len(set(received)), "a transaction was uploaded twice"
    for trial, indices in printed.items():
        for i in indices:
            assert f"t{trial}-{i}" in store, f"lost t{trial}-{i}"
    for key, tx in store.items():
        trial, i = (int(x) for x in key[1:].split("-"))
        last = max(printed.get(trial) or [-1])
        # a key nobody printed can only be the put (or burst of 3) that was being committed
        assert i in printed.get(trial, []) or last < i <= last + 3, f"unknown key {key}"
        assert tx["payload"] == payload_for(trial, i) and tx["stream"] == stream_for(i)
    # per-stream order: first arrivals follow put order
    for stream in {stream_for(i) for i in range(5)}:
        seen = [tuple(int(x) for x in k[1:].split("-")) for k in order if store[k]["stream"] == stream]
        assert seen == sorted(seen)


def test_killed_sync_process_delivers_everything_once_centrally(tmp_path, dedup_central, writers):
    db = str(tmp_path / "outbox.sqlite")
    with Outbox(db, key=TEST_KEY) as box:
        keys = box.put_many([(stream_for(i), payload_for(0, i), f"t0-{i}") for i in range(3000)])
    dedup_central.delay = 0.01  # widen the window between "central has it" and "marked sent"
    rng = random.Random(5)
    for _ in range(8):
        kill_after(writers.spawn("sync", db, dedup_central.url), rng.uniform(0.02, 0.15))
    dedup_central.delay = 0.0
    with Outbox(db, key=TEST_KEY) as box:
        assert box.stats()["by_state"]["sent"] < len(keys), "the kills came too late to test anything"
        SyncWorker(box, make_upload(dedup_central.url), unavailable=(CentralDown,)).sync_once()
        assert box.stats()["pending"] == 0
    assert set(dedup_central.store) == set(keys)
    assert len(dedup_central.order) == len(keys)
    for stream in {stream_for(i) for i in range(5)}:
        seen = [int(k.split("-")[1]) for k in dedup_central.order
                if dedup_central.store[k]["stream"] == stream]
        assert seen == sorted(seen)
