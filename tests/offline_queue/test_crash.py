"""Kill -9 at random moments: every key a put returned arrives exactly once, nothing unknown.

Power cuts cannot be simulated here; what survives them is argued in offline_queue/outbox.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from offline_queue import Outbox
from offline_queue.sync import SyncWorker
from tests.fixtures.outbox import CentralDown, make_upload

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from outbox_writer import TEST_KEY, payload_for, stream_for  # noqa: E402

TRIALS = 50


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "outbox_writer.py"), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def kill_after(proc: subprocess.Popen, seconds: float) -> list[str]:
    """Let the child run, SIGKILL it, and return every line it printed."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    reader.join(10)
    err = proc.stderr.read()
    assert "Traceback" not in err, err
    return [line.strip() for line in lines]


def test_killed_writers_lose_and_duplicate_nothing(tmp_path, dedup_central):
    db = str(tmp_path / "outbox.sqlite")
    rng = random.Random(20261124)
    printed: dict[int, list[int]] = {}
    for trial in range(TRIALS):
        # sometimes before the outbox is even open, mostly in the middle of puts
        lines = kill_after(spawn("put", str(trial), db), rng.uniform(0.05, 0.45))
        printed[trial] = [int(k.split("-")[1]) for k in lines if k.startswith(f"t{trial}-")]
    total = sum(len(v) for v in printed.values())
    assert total > TRIALS * 5, "the writers hardly wrote anything; the test proves little"
    assert sum(1 for v in printed.values() if v) > TRIALS // 2

    with Outbox(db, key=TEST_KEY) as box:
        report = SyncWorker(box, make_upload(dedup_central.url), unavailable=(CentralDown,)).sync_once()
        assert box.stats()["pending"] == 0 and report.dead == 0

    received = [t["key"] for t in dedup_central.received]
    assert len(received) == len(set(received)), "a transaction was uploaded twice"
    for trial, indices in printed.items():
        for i in indices:
            assert f"t{trial}-{i}" in dedup_central.store, f"lost t{trial}-{i}"
    for key, tx in dedup_central.store.items():
        trial, i = (int(x) for x in key[1:].split("-"))
        last = max(printed.get(trial) or [-1])
        # a key nobody printed can only be the put (or burst of 3) that was being committed
        assert i in printed.get(trial, []) or last < i <= last + 3, f"unknown key {key}"
        assert tx["payload"] == payload_for(trial, i) and tx["stream"] == stream_for(i)
    # per-stream order: first arrivals follow put order
    for stream in {stream_for(i) for i in range(5)}:
        seen = [k for k in dedup_central.order if dedup_central.store[k]["stream"] == stream]
        as_tuples = [tuple(int(x) for x in k[1:].split("-")) for k in seen]
        assert as_tuples == sorted(as_tuples)


def test_killed_sync_process_delivers_everything_once_centrally(tmp_path, dedup_central):
    db = str(tmp_path / "outbox.sqlite")
    with Outbox(db, key=TEST_KEY) as box:
        keys = box.put_many([(stream_for(i), payload_for(0, i), f"t0-{i}") for i in range(3000)])
    dedup_central.delay = 0.002  # widen the window between "central has it" and "marked sent"
    rng = random.Random(5)
    for _ in range(8):
        kill_after(spawn("sync", db, dedup_central.url), rng.uniform(0.3, 0.9))
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
