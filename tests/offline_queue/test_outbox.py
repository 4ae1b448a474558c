"""The outbox as the app and the technician see it: stored, counted, bounded, typed errors."""

from __future__ import annotations

import os
import sqlite3

import pytest

from offline_queue import Outbox, OutboxError, OutboxFull, OutboxReadOnly
from offline_queue.errors import SQLITE_FULL, SQLITE_READONLY

KEY = bytes(range(32))


@pytest.fixture
def outbox(tmp_path):
    with Outbox(tmp_path / "outbox.sqlite", key=KEY) as box:
        yield box


def test_put_returns_key_and_the_row_survives_reopening(tmp_path):
    path = tmp_path / "outbox.sqlite"
    with Outbox(path, key=KEY) as box:
        key = box.put("submission", {"service": "hukou-proof", "n": 1})
        given = box.put("evaluation", {"stars": 5}, key="eval-0001")
    assert given == "eval-0001" and len(key) == 32
    with Outbox(path, key=KEY) as box:
        stats = box.stats()
        claimed = box.claim(10)
    assert stats["by_state"]["ready"] == 2
    assert stats["by_stream"]["submission"]["ready"] == 1
    assert stats["oldest_ready_age_s"] is not None and stats["oldest_ready_age_s"] >= 0
    assert [c.key for c in claimed] == [key, "eval-0001"]
    assert box.path == path


def test_file_is_wal_and_durable_streams_commit_with_synchronous_full(tmp_path):
    path = tmp_path / "outbox.sqlite"
    with Outbox(path, key=KEY) as box:
        box.put("telemetry", {"cpu": 3})
        assert box._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        box.put("submission", {"n": 1})
        assert box._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_idempotency_key_twice_is_stored_once(outbox):
    assert outbox.put("submission", {"n": 1}, key="k-1") == "k-1"
    assert outbox.put("submission", {"n": 1}, key="k-1") == "k-1"
    assert outbox.stats()["rows"] == 1


def test_put_many_is_all_or_nothing(outbox):
    keys = outbox.put_many([("audit", {"i": i}) for i in range(5)])
    assert len(set(keys)) == 5
    with pytest.raises(OutboxError, match="unknown stream"):
        outbox.put_many([("audit", {"i": 9}), ("gossip", {"i": 10})])
    with pytest.raises(OutboxError, match="JSON"):
        outbox.put_many([("audit", {"i": 11}), ("audit", {"bad": object()})])
    assert outbox.stats()["by_state"]["ready"] == 5


def test_put_many_accepts_dicts_with_keys(outbox):
    keys = outbox.put_many([{"stream": "appointment", "payload": {"slot": "09:30"}, "key": "ap-1"},
                            {"stream": "appointment", "payload": {"slot": "10:00"}}])
    assert keys[0] == "ap-1" and len(keys) == 2


def test_dead_items_are_listed_with_reason_and_retryable(outbox):
    a = outbox.put("submission", {"n": 1})
    b = outbox.put("submission", {"n": 2})
    outbox.claim(10)
    outbox.mark_dead({a: "400 missing field applicant", b: "400 duplicate"})
    dead = outbox.dead_items()
    assert [(d["key"], d["reason"]) for d in dead] == [(a, "400 missing field applicant"),
                                                      (b, "400 duplicate")]
    assert outbox.retry_dead([b]) == 1
    assert [c.key for c in outbox.claim(10)] == [b]
    assert outbox.retry_dead() == 1
    assert outbox.stats()["by_state"]["dead"] == 0


def test_sent_rows_lose_their_payload(outbox):
    key = outbox.put("submission", {"name": "测试甲"})
    outbox.claim(1)
    assert outbox.mark_sent([key]) == 1
    blob = outbox._conn.execute("SELECT payload FROM outbox WHERE key = ?", (key,)).fetchone()[0]
    assert blob is None
    assert outbox.stats()["by_state"]["sent"] == 1


def test_quota_evicts_sent_then_oldest_telemetry_never_submissions(tmp_path):
    with Outbox(tmp_path / "o.sqlite", key=KEY, max_rows=6) as box:
        sent = box.put("submission", {"n": 0})
        box.claim(1)
        box.mark_sent([sent])
        t1 = box.put("telemetry", {"t": 1})
        t2 = box.put("telemetry", {"t": 2})
        subs = box.put_many([("submission", {"n": i}) for i in range(1, 4)])  # 6 rows: full
        box.put("evaluation", {"stars": 4})   # evicts the sent tombstone
        keys = {r[0] for r in box._conn.execute("SELECT key FROM outbox")}
        assert sent not in keys and {t1, t2, *subs} <= keys
        box.put("evaluation", {"stars": 5})   # evicts the oldest telemetry
        keys = {r[0] for r in box._conn.execute("SELECT key FROM outbox")}
        assert t1 not in keys and t2 in keys
        box.put("telemetry", {"t": 3})        # new telemetry pushes out older telemetry
        keys = {r[0] for r in box._conn.execute("SELECT key FROM outbox")}
        assert t2 not in keys
        box.put("submission", {"n": 4})       # evicts the last telemetry
        with pytest.raises(OutboxFull) as info:
            box.put("submission", {"n": 5})   # only submissions/evaluations left
        assert info.value.sqlite_code is None
        assert box.stats()["by_stream"]["submission"]["ready"] == 4
        assert box.stats()["rows"] == 6


def test_byte_quota_refuses_what_cannot_fit(tmp_path):
    with Outbox(tmp_path / "o.sqlite", key=KEY, max_bytes=4000, max_rows=None) as box:
        for i in range(10):
            box.put("telemetry", {"i": i, "pad": "x" * 200})
        box.put("submission", {"doc": "y" * 2000})
        with pytest.raises(OutboxFull):
            box.put("submission", {"doc": "z" * 5000})
        stats = box.stats()
    assert stats["bytes"] <= 4000
    assert stats["by_stream"]["submission"]["ready"] == 1
    assert 0 < stats["by_stream"]["telemetry"]["ready"] < 10


def _fill_disk(box: Outbox) -> None:
    """Cap the file at its current size: the next page SQLite needs gives SQLITE_FULL."""
    pages = box._conn.execute("PRAGMA page_count").fetchone()[0]
    box._conn.execute(f"PRAGMA max_page_count = {pages}")


def test_disk_full_without_telemetry_is_outbox_full_with_sqlite_code(outbox):
    _fill_disk(outbox)
    with pytest.raises(OutboxFull) as info:
        for i in range(2000):
            outbox.put("submission", {"i": i, "pad": "p" * 500})
    assert info.value.sqlite_code & 0xFF == SQLITE_FULL
    assert "SQLITE_FULL" in str(info.value)
    before = outbox.stats()["by_state"]["ready"]
    outbox._conn.execute("PRAGMA max_page_count = 1000000")
    outbox.put("submission", {"after": True})
    assert outbox.stats()["by_state"]["ready"] == before + 1


def test_disk_full_evicts_telemetry_to_keep_a_submission(outbox):
    outbox.put_many([("telemetry", {"i": i, "pad": "t" * 800}) for i in range(200)])
    _fill_disk(outbox)
    key = outbox.put("submission", {"doc": "s" * 3000})
    assert outbox.stats()["by_stream"]["telemetry"]["ready"] < 200
    assert key in {c.key for c in outbox.claim(500)}


def test_read_only_database_is_a_typed_error(outbox):
    outbox._conn.execute("PRAGMA query_only = 1")
    with pytest.raises(OutboxReadOnly) as info:
        outbox.put("submission", {"n": 1})
    assert info.value.sqlite_code & 0xFF == SQLITE_READONLY


def test_unopenable_path_is_a_typed_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutboxError):
        Outbox(blocker / "outbox.sqlite")


def test_not_a_database_is_a_typed_error(tmp_path):
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(OutboxError) as info:
        Outbox(path)
    assert info.value.sqlite_code is not None


def test_closed_outbox_refuses_puts(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    box.close()
    with pytest.raises(OutboxError, match="closed"):
        box.put("audit", {"event": "x"})


def test_repeating_a_key_when_full_evicts_nothing(tmp_path):
    with Outbox(tmp_path / "o.sqlite", key=KEY, max_rows=3) as box:
        box.put("telemetry", {"t": 1}, key="tel-1")
        box.put("submission", {"n": 1}, key="sub-1")
        box.put("submission", {"n": 2}, key="sub-2")
        assert box.put("submission", {"n": 2}, key="sub-2") == "sub-2"
        assert box.put_many([("submission", {"n": 1}, "sub-1")]) == ["sub-1"]
        keys = {r[0] for r in box._conn.execute("SELECT key FROM outbox")}
    assert keys == {"tel-1", "sub-1", "sub-2"}


def test_old_tombstones_are_pruned(outbox):
    key = outbox.put("audit", {"e": 1})
    outbox.claim(1)
    outbox.mark_sent([key])
    assert outbox.prune_sent(older_than=3600) == 0
    assert outbox.prune_sent(older_than=-1) == 1
    assert outbox.stats()["rows"] == 0
