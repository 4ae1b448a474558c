"""End to end: the outbox, ``kiosk queue`` and the sync worker against ``kiosk-sim central``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.central.errors import CentralUnavailable, RateLimited, Unauthorized
from offline_queue import Outbox
from offline_queue.sync import SyncWorker

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = bytes(range(32))
STREAMS = ("submission", "evaluation", "appointment", "audit", "telemetry")


@pytest.fixture
def central(central_sim):
    central_sim.reset()
    yield central_sim
    central_sim.reset()


@pytest.fixture
def paths(tmp_path):
    key_file = tmp_path / "secrets" / "outbox.key"
    key_file.parent.mkdir(mode=0o700)
    key_file.write_bytes(KEY)
    key_file.chmod(0o600)
    return tmp_path / "outbox.sqlite", key_file


def kiosk_queue(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "queue", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def fill(db: Path, n: int) -> dict[str, str]:
    stream_of = {}
    with Outbox(db, key=KEY) as box:
        for i in range(n):
            s = STREAMS[(i * 7) % 5]
            stream_of[box.put(s, {"i": i, "applicant": {"name": "测试乙"}})] = s
    return stream_of


def arrived(central) -> list[dict]:
    return central.admin("/_admin/transactions")["transactions"]


def in_stream_order(transactions: list[dict], stream_of: dict[str, str]) -> bool:
    put_order = list(stream_of)
    for stream in STREAMS:
        got = [t["key"] for t in transactions if t["stream"] == stream]
        if got != [k for k in put_order if stream_of[k] == stream]:
            return False
    return True


def test_stats_json_counts_by_state_and_stream(paths):
    db, key_file = paths
    fill(db, 12)
    result = kiosk_queue("stats", "--json", "--db", str(db), "--key-file", str(key_file))
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["by_state"]["ready"] == 12 and stats["encrypted"] is True
    assert sum(s["ready"] for s in stats["by_stream"].values()) == 12
    assert stats["oldest_ready_age_s"] >= 0


def test_sync_once_delivers_everything_in_order_and_exits_0(paths, central):
    db, key_file = paths
    stream_of = fill(db, 450)
    result = kiosk_queue("sync", "--once", "--db", str(db), "--key-file", str(key_file),
                         "--central", central.url)
    assert result.returncode == 0, result.stderr
    got = arrived(central)
    assert {t["key"] for t in got} == set(stream_of)
    assert all(t["payload"]["applicant"]["name"] == "测试乙" for t in got)
    assert all(t["terminal"] == "GZ-DEMO-0001" for t in got)
    assert in_stream_order(got, stream_of)
    with Outbox(db, key=KEY) as box:
        assert box.stats()["by_state"]["sent"] == 450


def test_sync_once_while_central_is_down_exits_5_and_loses_nothing(paths, central):
    db, key_file = paths
    stream_of = fill(db, 20)
    central.faults(down=True)
    result = kiosk_queue("sync", "--once", "--db", str(db), "--key-file", str(key_file),
                         "--central", central.url)
    assert result.returncode == 5
    assert "503" in result.stderr or "unavailable" in result.stderr
    central.faults(down=False)
    result = kiosk_queue("sync", "--once", "--db", str(db), "--key-file", str(key_file),
                         "--central", central.url)
    assert result.returncode == 0, result.stderr
    assert {t["key"] for t in arrived(central)} == set(stream_of)


def test_sync_without_the_outbox_key_refuses_instead_of_killing_items(paths, central, tmp_path):
    db, _ = paths
    fill(db, 3)
    result = kiosk_queue("sync", "--once", "--db", str(db), "--key-file",
                         str(tmp_path / "nowhere.key"), "--central", central.url)
    assert result.returncode == 1 and "cannot be decrypted" in result.stderr
    assert "Traceback" not in result.stderr
    assert arrived(central) == []


def test_worker_thread_through_central_client_survives_faults(paths, central):
    from kiosk.central.client import CentralClient
    from kiosk.central.signing import load_key

    db, _ = paths
    client = CentralClient(central.url, "GZ-DEMO-0001", load_key(ROOT / "config" / "demo-terminal.key"),
                           timeout=(1.0, 2.0), retries=0)
    with client, Outbox(db, key=KEY) as box:
        worker = SyncWorker(box, client.upload_transactions, batch_size=30, backoff_base=0.05,
                            backoff_cap=0.3, unavailable=(CentralUnavailable, RateLimited, Unauthorized))
        stream_of: dict[str, str] = {}
        worker.start()
        try:
            for phase, faults in enumerate([{"error_rate": 0.5}, {"down": True}, {"latency": 0.05},
                                            {"drop": True}, {"rate_limited": True}, {}]):
                central.faults(**{"error_rate": 0.0, "down": False, "latency": 0.0, "drop": False,
                                  "rate_limited": False, **faults})
                for i in range(40):
                    s = STREAMS[(phase + i) % 5]
                    stream_of[box.put(s, {"phase": phase, "i": i})] = s
                time.sleep(0.3)
            deadline = time.monotonic() + 30
            while box.stats()["pending"] and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.stop()
        assert box.stats()["pending"] == 0
    statuses = {r["status"] for r in central.admin("/_admin/received?path=transactions")["requests"]}
    assert {200, 500, 503, 429} <= statuses  # the faults really happened
    got = arrived(central)
    assert {t["key"] for t in got} == set(stream_of)
    assert in_stream_order(got, stream_of)


def test_dead_items_listed_and_retried_from_the_command_line(paths, central):
    db, key_file = paths
    with Outbox(db, key=KEY) as box:
        keys = [box.put("submission", {"i": i}) for i in range(2)]
        box.claim(10)
        box.mark_dead({keys[0]: "400 applicant missing", keys[1]: "422 bad date"})
    listed = kiosk_queue("dead", "--json", "--db", str(db), "--key-file", str(key_file))
    assert listed.returncode == 0, listed.stderr
    assert [(d["key"], d["reason"]) for d in json.loads(listed.stdout)] == [
        (keys[0], "400 applicant missing"), (keys[1], "422 bad date")]
    retried = kiosk_queue("retry", keys[1], "--db", str(db), "--key-file", str(key_file))
    assert retried.returncode == 0 and retried.stdout.startswith("1 ")
    synced = kiosk_queue("sync", "--once", "--db", str(db), "--key-file", str(key_file),
                         "--central", central.url)
    assert synced.returncode == 0, synced.stderr
    assert [t["key"] for t in arrived(central)] == [keys[1]]
    unknown = kiosk_queue("retry", "no-such-key", "--db", str(db), "--key-file", str(key_file))
    assert unknown.returncode == 1
