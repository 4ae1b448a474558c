"""The outbox drained through a hostile network (tests/fixtures/hostile_http.py) with the real
client and a real outbox file: a redirect, HTML, garbage or a reply of the wrong shape is
"central unavailable" — every transaction stays ready, no attempt counted, none dead — and
a dripping server cannot hold a sync pass. Once central is back, everything arrives once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from kiosk.central.client import CentralClient
from kiosk.central.errors import CentralUnavailable, RateLimited, Unauthorized
from kiosk.exit_codes import EXIT_CENTRAL, EXIT_OK
from kiosk.paths import ROOT
from offline_queue import Outbox
from offline_queue.sync import SyncWorker
from tests.fixtures.hostile_http import ack_everything, drip, redirect_to, static

KEY = bytes(range(32))
UNAVAILABLE = (CentralUnavailable, RateLimited, Unauthorized)  # as kiosk.parts.build_sync wires it


@pytest.fixture
def outbox_file(tmp_path):
    """A real outbox holding three residents' submissions, and its key file."""
    db, key_file = tmp_path / "outbox.sqlite", tmp_path / "outbox.key"
    key_file.write_bytes(KEY)
    key_file.chmod(0o600)
    with Outbox(db, key=KEY) as box:
        keys = [box.put("submission", {"service": "hall_12345", "inputs": {"content": f"LAMP {i}"}})
                for i in range(3)]
    return db, key_file, keys


def rows(db) -> dict[str, tuple[str, int]]:
    """key → (state, attempts), read from the file itself."""
    with sqlite3.connect(db) as conn:
        return {k: (s, a) for k, s, a in conn.execute("SELECT key, state, attempts FROM outbox")}


def cli_sync(db, key_file, url: str) -> tuple[int, dict]:
    """``kiosk queue sync --once``, the technician's flush, as a process."""
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "queue", "sync", "--once", "--json",
                           "--db", str(db), "--key-file", str(key_file), "--central", url],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def acknowledge_all_but_last(h) -> None:
    """Answers for every transaction of a batch but the last, of which it says nothing."""
    sent = json.loads(h.server.hostile.received[-1].body)["transactions"]
    accepted = [t["key"] for t in sent[:-1]]
    static(200, json.dumps({"accepted": accepted, "rejected": []}).encode())(h)


BAD_ANSWERS = {
    "html-200": static(200, b"<html><body>Please log in to the hotel WiFi</body></html>",
                       "text/html"),
    "garbage": static(200, b"\x1f\x8b\x00garbage\xff\xfe"),
    "wrong-shape": static(200, b'{"accepted": "all", "rejected": []}'),
    "nested": static(200, b"[" * 100_000 + b"]" * 100_000),
    "truncated": static(200, b'{"accepted": ["'),
    "proxy-403": static(403, b"<html><body>Forbidden by the hall's proxy</body></html>",
                        "text/html"),
}


@pytest.mark.parametrize("answer", list(BAD_ANSWERS))
def test_a_bad_answer_keeps_every_submission_ready_and_it_arrives_once_later(
        hostile, outbox_file, dedup_central, answer):
    db, key_file, keys = outbox_file
    server = hostile(BAD_ANSWERS[answer])
    for _ in range(3):  # a technician trying again and again
        status, summary = cli_sync(db, key_file, server.url)
        assert status == EXIT_CENTRAL and summary["central_unavailable"], summary
        assert rows(db) == {k: ("ready", 0) for k in keys}  # nothing dead, nothing counted
    assert len(server.received) == 3  # one attempt a pass; the breaker would then wait

    status, summary = cli_sync(db, key_file, dedup_central.url)
    assert status == EXIT_OK and summary["sent"] == 3
    assert dedup_central.order == keys and len(dedup_central.received) == 3


def test_a_redirect_delivers_nothing_and_its_target_hears_nothing(
        hostile, outbox_file, dedup_central):
    db, key_file, keys = outbox_file
    elsewhere = hostile(ack_everything)  # says "accepted" to anything: it is not central
    portal = hostile(redirect_to(elsewhere.url, 307))
    status, summary = cli_sync(db, key_file, portal.url)
    assert status == EXIT_CENTRAL and summary["sent"] == 0
    assert elsewhere.received == []
    assert rows(db) == {k: ("ready", 0) for k in keys}
    assert cli_sync(db, key_file, dedup_central.url)[0] == EXIT_OK
    assert dedup_central.order == keys


def test_bad_answers_open_the_circuit_breaker_instead_of_killing_submissions(hostile, tmp_path):
    server = hostile(BAD_ANSWERS["html-200"])
    with Outbox(tmp_path / "outbox.sqlite", key=KEY) as box, \
            CentralClient(server.url, "GZ-TEST-0001", b"k" * 32, retries=0) as client:
        keys = [box.put("submission", {"i": i}) for i in range(3)]
        worker = SyncWorker(box, client.upload_transactions, unavailable=UNAVAILABLE,
                            max_attempts=2, failure_threshold=3)
        reports = [worker.sync_once(force=True) for _ in range(3)]
        assert all(r.unavailable and r.dead == 0 for r in reports)
        assert worker.breaker.state == "open"
        assert worker.sync_once().batches == 0  # open: nothing sent until the cool-down ends
        assert box.stats()["by_state"]["dead"] == 0
    assert set(rows(tmp_path / "outbox.sqlite").values()) == {("ready", 0)}
    assert len(keys) == 3


def test_a_reply_silent_about_a_transaction_does_not_kill_it(hostile, tmp_path):
    server = hostile(acknowledge_all_but_last)
    with Outbox(tmp_path / "outbox.sqlite", key=KEY) as box, \
            CentralClient(server.url, "GZ-TEST-0001", b"k" * 32, retries=0) as client:
        keys = [box.put("submission", {"i": i}) for i in range(4)]
        worker = SyncWorker(box, client.upload_transactions, unavailable=UNAVAILABLE,
                            max_attempts=2)
        reports = [worker.sync_once(force=True) for _ in range(6)]
    assert [r.sent for r in reports] == [3, 0, 0, 0, 0, 0] and all(r.unavailable for r in reports)
    state = rows(tmp_path / "outbox.sqlite")
    assert [state[k][0] for k in keys] == ["sent", "sent", "sent", "ready"]
    assert state[keys[3]] == ("ready", 0)  # central never acknowledged it: it waits, alive


def test_a_dripping_server_cannot_hold_a_sync_pass(hostile, tmp_path):
    ack = json.dumps({"accepted": [], "rejected": [], "padding": "x" * 80}).encode()
    server = hostile(drip(ack, every=0.1))  # ~10 s to send it all
    with Outbox(tmp_path / "outbox.sqlite", key=KEY) as box, \
            CentralClient(server.url, "GZ-TEST-0001", b"k" * 32, retries=0,
                          timeout=(1.0, 2.0), deadline=1.0) as client:
        box.put("submission", {"i": 1})
        report = SyncWorker(box, client.upload_transactions, unavailable=UNAVAILABLE).sync_once()
        assert not server.finished.is_set(), "the pass lasted as long as the server dripped"
        assert report.unavailable and "timed out" in report.errors[-1]
    assert set(rows(tmp_path / "outbox.sqlite").values()) == {("ready", 0)}
