"""The sync worker against a real local HTTP central (tests/fixtures/outbox.py)."""

from __future__ import annotations

import random
import threading
import time

import pytest

from offline_queue import Outbox, OutboxFull, SyncLockHeld
from offline_queue.sync import SyncWorker
from tests.fixtures.outbox import CentralDown, make_upload

KEY = bytes(range(32))
STREAMS = ("submission", "evaluation", "appointment", "audit", "telemetry")


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox.sqlite", key=KEY) as box:
        yield box


def worker_for(outbox, upload, **kw) -> SyncWorker:
    kw.setdefault("unavailable", (CentralDown,))
    kw.setdefault("backoff_base", 0.02)
    kw.setdefault("backoff_cap", 0.2)
    return SyncWorker(outbox, upload, rng=random.Random(7), **kw)


def per_stream(keys_in_order, stream_of):
    out: dict[str, list[str]] = {}
    for k in keys_in_order:
        out.setdefault(stream_of[k], []).append(k)
    return out


def test_sync_once_delivers_everything_in_batches_in_order(outbox, dedup_central):
    stream_of = {}
    for i in range(250):
        s = STREAMS[i % 5]
        stream_of[outbox.put(s, {"i": i})] = s
    report = worker_for(outbox, make_upload(dedup_central.url), batch_size=40).sync_once()
    assert report.sent == 250 and report.dead == 0
    assert dedup_central.requests == report.batches >= 7
    assert len(dedup_central.received) == 250  # nothing sent twice
    put_order = per_stream(list(stream_of), stream_of)
    assert per_stream(dedup_central.order, stream_of) == put_order
    assert outbox.stats()["pending"] == 0


def test_rejected_item_goes_dead_with_reason_and_blocks_nothing(outbox, dedup_central):
    a = outbox.put("submission", {"n": 1})
    bad = outbox.put("submission", {"reject": "400 applicant ID number fails its check digit"})
    c = outbox.put("submission", {"n": 3})
    report = worker_for(outbox, make_upload(dedup_central.url)).sync_once()
    assert report.sent == 2 and report.dead == 1
    assert dedup_central.order == [a, c]
    assert outbox.dead_items()[0]["key"] == bad
    assert "check digit" in outbox.dead_items()[0]["reason"]


def test_central_down_loses_nothing_and_counts_no_attempt(outbox, dedup_central):
    keys = [outbox.put("evaluation", {"stars": i}) for i in range(5)]
    dedup_central.down()
    worker = worker_for(outbox, make_upload(dedup_central.url))
    report = worker.sync_once()
    assert report.unavailable and report.sent == 0
    assert outbox.stats()["by_state"]["ready"] == 5
    assert {c.attempts for c in outbox.claim(10, force=True)} == {0}
    outbox.recover_in_flight()
    dedup_central.up()
    assert worker.sync_once(force=True).sent == 5
    assert dedup_central.order == keys


def test_in_flight_rows_of_a_crashed_worker_are_sent_again(tmp_path, dedup_central):
    path = tmp_path / "outbox.sqlite"
    with Outbox(path, key=KEY) as box:
        keys = [box.put("submission", {"i": i}) for i in range(3)]
        box.claim(2)  # the "crashed" worker took these and died before marking them
        assert box.stats()["by_state"]["in_flight"] == 2
    with Outbox(path, key=KEY) as box:
        report = worker_for(box, make_upload(dedup_central.url)).sync_once()
    assert report.sent == 3 and dedup_central.order == keys


def test_only_one_drainer_per_file(tmp_path, dedup_central):
    path = tmp_path / "outbox.sqlite"
    with Outbox(path, key=KEY) as first, Outbox(path, key=KEY) as second:
        first.put("audit", {"e": 1})
        worker = worker_for(first, make_upload(dedup_central.url))
        worker.start()
        try:
            with pytest.raises(SyncLockHeld):
                worker_for(second, make_upload(dedup_central.url)).sync_once()
        finally:
            worker.stop()


@pytest.mark.expected_errors(r"upload of \d+ transactions failed")
def test_poison_item_dies_alone_after_max_attempts(outbox):
    """A payload that makes the upload blow up (not 4xx, not 'down') must not kill its batch-mates."""
    calls: list[list[str]] = []

    def upload(txs):
        calls.append([t["key"] for t in txs])
        if any(t["payload"].get("poison") for t in txs):
            raise ValueError("central replied with HTML")
        return {"accepted": [t["key"] for t in txs], "rejected": []}

    keys = [outbox.put("submission", {"i": i, "poison": i == 2}) for i in range(5)]
    worker = worker_for(outbox, upload, max_attempts=3)
    for _ in range(10):
        worker.sync_once(force=True)
    stats = outbox.stats()["by_state"]
    assert stats["sent"] == 4 and stats["dead"] == 1
    dead = outbox.dead_items()[0]
    assert dead["key"] == keys[2] and "3 attempts" in dead["reason"] and "HTML" in dead["reason"]
    # the failed batch once, then each suspect alone, in stream order: item 3 is never sent
    # again before item 2 is settled
    assert calls == [keys, [keys[0]], [keys[1]], [keys[2]], [keys[2]], [keys[3]], [keys[4]]]


def test_reply_that_forgets_an_item_is_retried_not_lost(outbox):
    forgotten = set()

    def upload(txs):
        keys = [t["key"] for t in txs]
        if not forgotten:
            forgotten.add(keys[-1])
            return {"accepted": keys[:-1], "rejected": []}
        return {"accepted": keys, "rejected": []}

    for i in range(4):
        outbox.put("audit", {"i": i})
    worker = worker_for(outbox, upload)
    worker.sync_once(force=True)
    worker.sync_once(force=True)
    assert outbox.stats()["by_state"]["sent"] == 4


@pytest.mark.expected_errors(r"transactions cannot be decrypted; moved to dead")
def test_undecryptable_payload_goes_dead(tmp_path, dedup_central):
    path = tmp_path / "outbox.sqlite"
    with Outbox(path, key=KEY) as box:
        box.put("submission", {"n": 1})
    with Outbox(path, key=bytes(32)) as box:  # the terminal's key was replaced
        report = worker_for(box, make_upload(dedup_central.url)).sync_once()
        assert report.dead == 1 and "authentication" in box.dead_items()[0]["reason"]
    assert dedup_central.received == []


def _thread_cpu(worker: SyncWorker) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(worker.thread_ident))


def _wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_thread_mode_survives_flapping_central_in_order_without_busy_looping(outbox, dedup_central):
    calls = []
    upload = make_upload(dedup_central.url, timeout=2.0)

    def counting_upload(txs):
        calls.append(time.monotonic())
        return upload(txs)

    worker = worker_for(outbox, counting_upload, batch_size=25, backoff_base=0.05, backoff_cap=0.4)
    stream_of: dict[str, str] = {}
    rng = random.Random(3)

    def produce(n):
        for _ in range(n):
            s = rng.choice(STREAMS)
            stream_of[outbox.put(s, {"i": len(stream_of), "s": s})] = s

    worker.start()
    try:
        produce(60)
        for phase in range(4):
            dedup_central.down()
            produce(40)
            time.sleep(0.3)
            dedup_central.up()
            dedup_central.delay = 0.05 if phase % 2 else 0.0   # slow central
            dedup_central.fail_next = 2 if phase % 2 == 0 else 0  # 503s
            produce(40)
            time.sleep(0.2)
        dedup_central.delay = 0.0

        # a long outage with work waiting: the worker must sleep, not spin
        dedup_central.down()
        produce(30)
        time.sleep(0.3)
        cpu0, calls0 = _thread_cpu(worker), len(calls)
        time.sleep(1.0)  # backing off to 0.4 s: ~3 attempts; a spinning worker makes hundreds
        cpu_down, calls_down = _thread_cpu(worker) - cpu0, len(calls) - calls0
        dedup_central.up()
        _wait_until(lambda: outbox.stats()["pending"] == 0)
    finally:
        t0 = time.monotonic()
        worker.stop()
        stop_took = time.monotonic() - t0
    assert set(dedup_central.store) == set(stream_of)
    assert per_stream(dedup_central.order, stream_of) == per_stream(list(stream_of), stream_of)
    assert calls_down <= 6, f"{calls_down} upload attempts in 1 s while central was down"
    assert cpu_down < 0.125, f"worker used {cpu_down:.3f} s CPU in 1 s while central was down"
    assert stop_took < 1.0


def test_stop_is_instant_while_waiting_out_a_long_backoff(outbox, dedup_central):
    dedup_central.down()
    outbox.put("submission", {"n": 1})
    worker = worker_for(outbox, make_upload(dedup_central.url), backoff_base=60, backoff_cap=600,
                        failure_threshold=1)
    worker.start()
    _wait_until(lambda: worker.breaker.state == "open")
    done = threading.Event()
    threading.Thread(target=lambda: (worker.stop(), done.set()), daemon=True).start()
    assert done.wait(2.0), "stop() waited for the back-off"


def test_thread_wakes_up_on_put(outbox, dedup_central):
    worker = worker_for(outbox, make_upload(dedup_central.url), idle_poll=600)
    worker.start()
    try:
        _wait_until(lambda: worker.thread_ident is not None)
        time.sleep(0.1)  # the worker is now idle, waiting up to 600 s
        key = outbox.put("appointment", {"slot": "09:30"})
        _wait_until(lambda: key in dedup_central.store, timeout=10)
    finally:
        worker.stop()


def test_a_pass_that_dies_between_claim_and_settle_is_recovered_by_the_next(outbox, dedup_central):
    """E.g. the disk fills while marking a batch sent: the thread survives and sends it again."""
    upload = make_upload(dedup_central.url)
    worker = worker_for(outbox, upload)
    keys = [outbox.put("submission", {"i": i}) for i in range(3)]
    real_mark_sent = outbox.mark_sent

    def broken_mark_sent(_keys):
        raise OutboxFull("disk full", sqlite_code=13, sqlite_name="SQLITE_FULL")

    outbox.mark_sent = broken_mark_sent
    outbox.acquire_sync_lock()
    try:
        with pytest.raises(OutboxFull):
            worker.sync_once()
        assert outbox.stats()["by_state"]["in_flight"] == 3
        outbox.mark_sent = real_mark_sent
        assert worker.sync_once().sent == 3
    finally:
        outbox.release_sync_lock()
    assert dedup_central.order == keys


def test_thread_started_while_another_drainer_runs_takes_over_when_it_is_gone(tmp_path, dedup_central):
    path = tmp_path / "outbox.sqlite"
    with Outbox(path, key=KEY) as technician, Outbox(path, key=KEY) as app:
        technician.acquire_sync_lock()      # e.g. `kiosk queue sync` running right now
        worker = worker_for(app, make_upload(dedup_central.url), idle_poll=0.1)
        worker.start()                      # must not raise
        try:
            key = app.put("submission", {"n": 1})
            time.sleep(0.3)
            assert key not in dedup_central.store
            technician.release_sync_lock()
            _wait_until(lambda: key in dedup_central.store, timeout=10)
        finally:
            worker.stop()


@pytest.mark.expected_errors(r"upload of \d+ transactions failed", r"upload keeps failing with PermissionError")
def test_a_systemic_failure_kills_one_item_at_most_not_the_whole_queue(outbox):
    """E.g. a wrong terminal key not mapped to `unavailable`: every upload fails the same way."""
    broken = [True]

    def upload(txs):
        if broken[0]:
            raise PermissionError("401 signature does not match")
        return {"accepted": [t["key"] for t in txs], "rejected": []}

    keys = [outbox.put("submission", {"i": i}) for i in range(6)]
    worker = worker_for(outbox, upload, max_attempts=2)
    for _ in range(20):
        worker.sync_once(force=True)
    assert outbox.stats()["by_state"]["dead"] == 1
    assert worker.breaker.failures > 0
    broken[0] = False
    worker.sync_once(force=True)
    assert outbox.stats()["by_state"]["sent"] == 5
    assert [d["key"] for d in outbox.dead_items()] == [keys[0]]
