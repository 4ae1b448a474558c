"""The outbox file's layout and the one way we write to it (BEGIN IMMEDIATE … COMMIT).

Created by sqlite-utils on first open (table + key index), plus what sqlite-utils cannot
express: partial indexes, so a put touches only three b-trees, and triggers that keep the
quota's row and byte counters exact across processes inside the writer's own transaction.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from offline_queue.errors import from_sqlite

_SCHEMA_EXTRA = (
    # Partial indexes, so a put touches only the table, the key index and outbox_pending.
    # The pending rows of one stream in order: heads for the claim, oldest telemetry to evict.
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(stream, seq, state)"
    " WHERE state IN ('ready', 'in_flight')",
    # Settled rows: dead ones to list and retry, sent tombstones to prune.
    "CREATE INDEX IF NOT EXISTS outbox_settled ON outbox(state, stream, seq)"
    " WHERE state IN ('sent', 'dead')",
    "CREATE TABLE IF NOT EXISTS outbox_usage (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " rows INTEGER NOT NULL, bytes INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO outbox_usage (id, rows, bytes) VALUES (1, 0, 0)",
    # Triggers keep the quota counters exact across processes, in the same transaction.
    "CREATE TRIGGER IF NOT EXISTS outbox_usage_ins AFTER INSERT ON outbox BEGIN"
    " UPDATE outbox_usage SET rows = rows + 1, bytes = bytes + NEW.size WHERE id = 1; END",
    "CREATE TRIGGER IF NOT EXISTS outbox_usage_del AFTER DELETE ON outbox BEGIN"
    " UPDATE outbox_usage SET rows = rows - 1, bytes = bytes - OLD.size WHERE id = 1; END",
    "CREATE TRIGGER IF NOT EXISTS outbox_usage_upd AFTER UPDATE OF size ON outbox BEGIN"
    " UPDATE outbox_usage SET bytes = bytes - OLD.size + NEW.size WHERE id = 1; END",
)


_INSERT_TRIGGER_V2 = (
    "CREATE TRIGGER outbox_usage_ins AFTER INSERT ON outbox BEGIN"
    " UPDATE outbox_usage SET rows = rows + 1, bytes = bytes + NEW.size,"
    " high_water = max(high_water, NEW.seq) WHERE id = 1; END")


def schema_present(conn: sqlite3.Connection) -> bool:
    """True when a previous open finished the schema (the last object it creates exists)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger'"
                        " AND name = 'outbox_usage_upd'").fetchone() is not None


def create_schema(conn: sqlite3.Connection) -> None:
    """First open: WAL mode, the table and its indexes (idempotent, safe if interrupted)."""
    import sqlite_utils  # only here: it costs ~0.1 s of imports every later start can skip

    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    db.enable_wal()
    outbox = db.table("outbox")  # what db["outbox"] returns, typed Table rather than Table | View
    outbox.create(
        {"seq": int, "key": str, "stream": str, "created_at": float, "attempts": int,
         "next_attempt_at": float, "state": str, "dead_reason": str, "claimed_at": float,
         "sent_at": float, "size": int, "payload": bytes},
        pk="seq", not_null={"key", "stream", "created_at", "attempts", "next_attempt_at",
                            "state", "size"},
        defaults={"attempts": 0, "state": "ready"}, if_not_exists=True)
    outbox.create_index(["key"], index_name="outbox_key", unique=True, if_not_exists=True)
    conn.commit()
    conn.isolation_level = None
    with transaction(conn, "create the outbox schema"):
        for statement in _SCHEMA_EXTRA:
            conn.execute(statement)


def read_meta(conn: sqlite3.Connection) -> tuple[str, int] | None:
    """(generation, high water) of a file whose meta exists; None for an older layout."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'outbox_meta'").fetchone() is None:
        return None
    row = conn.execute("SELECT m.generation, u.high_water FROM outbox_meta AS m, outbox_usage AS u"
                       " WHERE m.id = 1 AND u.id = 1").fetchone()
    return (str(row[0]), int(row[1])) if row else None


def ensure_meta(conn: sqlite3.Connection) -> tuple[str, int]:
    """Give the file an identity (a random generation) and a high-water mark of the highest
    ``seq`` ever inserted, kept by the insert trigger on the usage row's own page (no extra
    page per put). Evicting or pruning rows never lowers it, so a file that has fewer
    transactions than were committed (a lost or torn WAL) can be told from one that sent them.
    """
    meta = read_meta(conn)
    if meta is not None:
        return meta
    with transaction(conn, "add the outbox's identity"):
        if read_meta(conn) is None:  # another process may have done it meanwhile
            columns = {r[1] for r in conn.execute("PRAGMA table_info(outbox_usage)")}
            if "high_water" not in columns:
                conn.execute("ALTER TABLE outbox_usage ADD COLUMN high_water INTEGER NOT NULL"
                             " DEFAULT 0")
                conn.execute("UPDATE outbox_usage SET high_water ="
                             " coalesce((SELECT max(seq) FROM outbox), 0) WHERE id = 1")
            conn.execute("DROP TRIGGER IF EXISTS outbox_usage_ins")
            conn.execute(_INSERT_TRIGGER_V2)
            conn.execute("CREATE TABLE outbox_meta (id INTEGER PRIMARY KEY CHECK (id = 1),"
                         " generation TEXT NOT NULL, created_at REAL NOT NULL)")
            conn.execute("INSERT INTO outbox_meta (id, generation, created_at) VALUES (1, ?, ?)",
                         (os.urandom(16).hex(), time.time()))
    meta = read_meta(conn)
    assert meta is not None
    return meta


@contextmanager
def transaction(conn: sqlite3.Connection, action: str) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error; sqlite errors become typed."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise from_sqlite(exc, action) from exc
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back (e.g. after SQLITE_FULL)
        if isinstance(exc, sqlite3.Error):
            raise from_sqlite(exc, action) from exc
        raise


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
