"""The outbox: one SQLite file of transactions that must reach central, lost by nothing.

What survives what (one file in WAL mode, every put its own committed transaction):

* ``submission``, ``evaluation``, ``appointment``, ``audit`` are committed with
  ``synchronous=FULL``: the WAL is fsynced before :meth:`Outbox.put` returns, so a returned
  key survives a process kill *and* a power cut (given a disk that honours fsync).
* ``telemetry`` is committed with ``synchronous=NORMAL``: it survives a process kill (the
  WAL frames are in the OS page cache) but the last moments may be lost in a power cut;
  the next durable commit or checkpoint fsyncs them too. Losing a heartbeat sample is fine.
* State changes made by the sync worker (``in_flight``, ``sent``, ``dead``) use NORMAL:
  losing one in a power cut only means a transaction is uploaded again, and central
  deduplicates by idempotency key. Nothing is ever lost that way, only repeated.
* The database is never left half-written: SQLite's WAL recovery discards torn frames.
* A kill between "central has it" and "marked sent" resends (deduplicated centrally); a kill
  between claim and upload leaves rows ``in_flight``, which the next drainer sends again.
* What the disk itself loses (a zero-length file, a deleted or torn WAL, a garbage page, a
  file swapped for another) is detected, never re-initialised in silence: the damaged file
  is kept aside and what it still holds recovered (``offline_queue.damage``).
* A disk filled by something else still drains: a reserve file is given back so the claims
  and "sent" marks can be written (``offline_queue.reserve``).
* The only losses by design: the quota evicting old ``telemetry`` (logged), and payloads
  becoming unreadable if the terminal key file is lost (they go ``dead``, not silently away).

The hot paths use plain ``sqlite3`` statements (sqlite-utils builds the schema) so a put costs
one fsync and little else; see ``bench/outbox_bench.py``.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Required, TypedDict, TypeVar

from offline_queue import damage
from offline_queue.crypto import PayloadCipher, encode_payload
from offline_queue.damage import Mark
from offline_queue.errors import (
    SQLITE_CORRUPT,
    SQLITE_IOERR,
    SQLITE_NOTADB,
    OutboxCorrupt,
    OutboxDamaged,
    OutboxError,
    OutboxFull,
    SyncLockHeld,
    from_sqlite,
)
from offline_queue.quota import Eviction, Quota, evict_for, has_room, log_eviction
from offline_queue.reserve import RESERVE_BYTES, DiskReserve
from offline_queue.schema import (
    create_schema,
    ensure_meta,
    fsync_dir,
    read_meta,
    schema_present,
    transaction,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Priority order: the sync worker fills a batch in this order.
STREAMS = ("submission", "evaluation", "appointment", "audit", "telemetry")
STATES = ("ready", "in_flight", "sent", "dead")
FAST_STREAMS = frozenset({"telemetry"})  # synchronous=NORMAL is enough for these
_ROW_OVERHEAD = 64  # bytes counted per row on top of key and payload, for the quota

# Repeated in queries so SQLite may use the partial indexes (it needs the literal term).
PENDING = "state IN ('ready', 'in_flight')"
SETTLED = "state IN ('sent', 'dead')"
_INSERT = ("INSERT OR IGNORE INTO outbox (key, stream, created_at, attempts, next_attempt_at,"
           " state, payload, size) VALUES (?, ?, ?, 0, ?, 'ready', ?, ?)")
_INSERT_IF_ROOM = (
    "INSERT OR IGNORE INTO outbox (key, stream, created_at, attempts, next_attempt_at, state,"
    " payload, size) SELECT ?, ?, ?, 0, ?, 'ready', ?, ? FROM outbox_usage"
    " WHERE id = 1 AND rows + ? <= ? AND bytes + ? <= ?")


class PutDict(TypedDict, total=False):
    """The dict form of one :meth:`Outbox.put_many` item (``key`` may be left out)."""

    stream: Required[str]
    payload: Required[dict[str, object]]
    key: str | None


# One put_many item: (stream, payload), (stream, payload, key) or a PutDict.
PutItem = tuple[str, dict[str, object]] | tuple[str, dict[str, object], str | None] | PutDict
# A prepared row: key, stream, created_at, next_attempt_at, sealed payload, size.
_Row = tuple[str, str, float, float, bytes, int]


class QuotaStats(TypedDict):
    max_rows: int | None
    max_bytes: int | None
    evictable: list[str]


class OutboxStats(TypedDict):
    """What :meth:`Outbox.stats` reports (the heartbeat, ``kiosk queue status``)."""

    path: str
    encrypted: bool
    by_state: dict[str, int]
    by_stream: dict[str, dict[str, int]]
    pending: int
    oldest_ready_age_s: float | None
    rows: int
    bytes: int
    quota: QuotaStats
    damage: dict[str, object] | None  # OutboxDamaged.to_json() when this open replaced a damaged file


class DeadItem(TypedDict):
    """One entry of :meth:`Outbox.dead_items`."""

    key: str
    stream: str
    created_at: str  # ISO 8601, UTC
    attempts: int
    reason: str | None


@dataclass(frozen=True)
class Claimed:
    """One transaction handed to the sync worker (payload still sealed)."""

    seq: int
    key: str
    stream: str
    created_at: float
    attempts: int
    blob: bytes


def _disk_full(exc: OutboxError) -> bool:
    """SQLITE_FULL, or the I/O error SQLite gives when its -shm cannot grow, or ENOSPC."""
    primary = exc.sqlite_code & 0xFF if exc.sqlite_code is not None else None
    return (isinstance(exc, OutboxFull) and primary is not None) or primary == SQLITE_IOERR \
        or isinstance(exc.__cause__, OSError) and exc.__cause__.errno == errno.ENOSPC


@contextmanager
def _reading(action: str) -> Iterator[None]:
    """A read outside a transaction: a damaged page becomes OutboxCorrupt, not a traceback."""
    try:
        yield
    except sqlite3.Error as exc:
        raise from_sqlite(exc, action) from exc


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Outbox:
    """Append-only store of transactions for central; safe to share between threads.

    ``key`` is the terminal's secret (see ``kiosk.secret_store``); when given, every payload
    is sealed with AES-GCM. ``max_bytes``/``max_rows`` bound what the outbox may hold; when
    full, the oldest rows of ``evictable`` streams go first, other streams never.

    A damaged file (see ``offline_queue.damage``) raises :class:`OutboxDamaged` and is left
    in place (``on_damage="raise"``: doctor, ``kiosk queue``), or — for the one process that
    owns the file, the app — is kept aside, its readable rows copied into a fresh outbox and
    ``damage`` set to what happened (``on_damage="quarantine"``).
    """

    def __init__(self, path: str | os.PathLike[str], *, key: bytes | None = None,
                 max_bytes: int | None = 256 * 1024 * 1024, max_rows: int | None = 1_000_000,
                 evictable: Iterable[str] = ("telemetry",), busy_timeout: float = 5.0,
                 on_damage: Literal["raise", "quarantine"] = "raise",
                 reserve_bytes: int = RESERVE_BYTES):
        if on_damage not in ("raise", "quarantine"):
            raise ValueError("on_damage must be 'raise' or 'quarantine'")
        self.path = Path(path)
        self._cipher = PayloadCipher(key)
        self.quota = Quota(max_bytes, max_rows, tuple(evictable))
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self._sync_level: str | None = None
        self._lock_fd: int | None = None
        self._mark: Mark | None = None
        self.damage: OutboxDamaged | None = None
        self._damage_code: tuple[int | None, str | None] = (None, None)  # SQLite's, if it said
        self._reserve = DiskReserve(self.path, reserve_bytes)
        self._conn: sqlite3.Connection | None = self._open(busy_timeout, on_damage)

    # -- opening -------------------------------------------------------------------------

    def _open(self, busy_timeout: float, on_damage: str) -> sqlite3.Connection:
        try:
            new_dir = not self.path.parent.exists()
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if new_dir:
                fsync_dir(self.path.parent.parent)
            damage.private_dir(self.path.parent)  # mkdir's mode is cut by the umask
        except OSError as exc:
            raise OutboxError(f"cannot create outbox directory {self.path.parent}: {exc}") from exc
        mark = Mark.read(self.path)  # before the file: a concurrent put may only advance it
        try:
            conn, reason = self._connect_checked(busy_timeout, mark)
        except OutboxError as exc:  # a full disk: even opening needs room (-shm, -wal)
            if not _disk_full(exc) or not self._reserve.release():
                raise
            conn, reason = self._connect_checked(busy_timeout, mark)
        if conn is not None:
            self._reserve.ensure()
            return conn
        assert reason is not None
        if on_damage != "quarantine":
            code, name = self._damage_code
            raise OutboxDamaged(str(self.path), reason, sqlite_code=code, sqlite_name=name)
        return self._replace_damaged(reason, mark, busy_timeout)

    def _connect_checked(self, busy_timeout: float,
                         mark: Mark | None) -> tuple[sqlite3.Connection | None, str | None]:
        """A checked connection, or why the file is damaged (other failures raise)."""
        reason = damage.precheck(self.path, mark)
        if reason is None and self.path.exists() and self.path.stat().st_size:
            reason = self._inspect(busy_timeout, mark)
        if reason is not None:
            if reason.startswith(damage.NOT_SQLITE):  # what SQLite itself would answer
                self._damage_code = (SQLITE_NOTADB, "SQLITE_NOTADB")
            elif reason.startswith(damage.BAD_PAGES):
                self._damage_code = (SQLITE_CORRUPT, "SQLITE_CORRUPT")
            return None, reason
        try:
            damage.private_file(self.path)
        except FileExistsError:
            damage.tighten(self.path)
        except OSError as exc:
            raise OutboxError(f"cannot create outbox {self.path}: {exc}") from exc
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, timeout=busy_timeout, check_same_thread=False)
            conn.execute("PRAGMA synchronous=FULL")
            if not schema_present(conn):
                create_schema(conn)
            conn.isolation_level = None  # we say BEGIN/COMMIT ourselves from here on
            generation, high = ensure_meta(conn)
            if mark is None or mark.generation != generation:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # identity into the main file
                self._mark = Mark.create(self.path, generation, high)
            else:
                self._mark = mark
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise from_sqlite(exc, f"open {self.path}") from exc
        except OSError as exc:
            if conn is not None:
                conn.close()
            raise OutboxError(f"cannot write the outbox mark beside {self.path}: {exc}") from exc
        fsync_dir(self.path.parent)  # the new file's directory entry survives a power cut
        self._sync_level = "FULL"
        return conn, None

    def _inspect(self, busy_timeout: float, mark: Mark | None) -> str | None:
        """Why an existing file is not a sound outbox (None: it is, or it is half-created).

        Read-only on purpose: a writable connection checkpoints its WAL into the main file
        when it closes and deletes it, which would destroy the evidence (and the rows a
        later recovery could still read)."""
        try:
            conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True,
                                   timeout=busy_timeout, check_same_thread=False)
        except sqlite3.Error as exc:
            raise from_sqlite(exc, f"open {self.path}") from exc
        try:
            reason = damage.quick_check(conn)
            if reason is not None or mark is None:
                return reason
            meta = read_meta(conn) if schema_present(conn) else None
            if meta is None:
                return ("the file holds no outbox tables, yet it had held transactions up "
                        f"to #{mark.high_water} (re-initialised or its WAL lost)")
            generation, high = meta
            if generation != mark.generation:
                return (f"it is not the outbox this terminal created (generation "
                        f"{generation[:8]}, expected {mark.generation[:8]})")
            if high < mark.high_water:
                return (f"transactions #{high + 1} to #{mark.high_water} had been committed "
                        "and are gone (its WAL was lost or damaged)")
            return None
        except sqlite3.Error as exc:
            error = from_sqlite(exc, f"check {self.path}")
            if not isinstance(error, OutboxCorrupt):
                raise error from exc
            self._damage_code = (error.sqlite_code, error.sqlite_name)
            return f"SQLite cannot read it ({exc})"
        finally:
            conn.close()

    def _replace_damaged(self, reason: str, mark: Mark | None,
                         busy_timeout: float) -> sqlite3.Connection:
        """Keep the damaged file aside, open a fresh one, copy into it what can be read."""
        path = str(self.path)
        log.error("outbox %s is damaged: %s", path, reason)
        moved: Path | None = None
        try:
            try:
                self.acquire_sync_lock(recover=False)  # no drainer may have the old file open
            except SyncLockHeld as exc:
                raise OutboxDamaged(path, f"{reason}; not moved aside: another process is "
                                          "draining it") from exc
            try:
                moved = damage.quarantine(self.path)
            except OSError as exc:
                raise OutboxDamaged(path, f"{reason}; could not be moved aside: {exc}") from exc
            try:
                conn, again = self._connect_checked(busy_timeout, None)
            except OutboxError as exc:
                again = str(exc)
                conn = None
            if conn is None:
                raise OutboxDamaged(path, f"{reason}; a fresh outbox cannot be made: {again}",
                                    moved_to=str(moved) if moved else None)
            try:
                recovered, lost = self._restore(conn, moved, mark.high_water if mark else 0)
            except BaseException:
                conn.close()
                raise
        except OutboxDamaged as exc:
            self._report(exc, moved)  # the app runs without an outbox: say why, on disk
            raise
        finally:
            self.release_sync_lock()
        self.damage = OutboxDamaged(path, reason, moved_to=str(moved) if moved else None,
                                    recovered=recovered, lost=lost)
        self._report(self.damage, moved)
        log.error("outbox %s replaced: %d transactions recovered into a fresh one, at most %d "
                  "lost; the damaged file is kept as %s", path, recovered, lost, moved)
        return conn

    def _report(self, found: OutboxDamaged, moved: Path | None) -> None:
        report: dict[str, object] = {**found.to_json(), "detected_at": iso_utc(time.time())}
        try:
            target = moved or damage.unused_name(self.path)
        except OSError:
            target = self.path.with_name(f"{self.path.name}.damaged")
        damage.write_report(self.path, target, report)

    def _restore(self, conn: sqlite3.Connection, moved: Path | None, marked: int) -> tuple[int, int]:
        """Copy the readable rows of ``moved`` into the fresh outbox: (recovered, lost)."""
        rows, unreadable = damage.read_rows(moved, marked) if moved is not None else ([], 0)
        opens = self._cipher.open if self._cipher.sealing else None
        kept = [r for r in rows if damage.usable(r, STREAMS, STATES, opens)]
        highest = 0
        for row in rows:
            if isinstance(row[0], int):
                highest = max(highest, row[0])
        lost = unreadable + len(rows) - len(kept) + max(0, marked - highest)
        fixed = []
        for seq, key, stream, created, attempts, due, state, reason, claimed, sent, size, blob in kept:
            if not isinstance(size, int):
                size = len(blob if isinstance(blob, bytes) else b"") + len(str(key)) + _ROW_OVERHEAD
            fixed.append((seq, key, stream, created, attempts or 0, due or created,
                          "ready" if state == "in_flight" else state, reason, claimed, sent,
                          size, blob))
        with transaction(conn, "restore recovered transactions"):
            conn.executemany(f"INSERT OR IGNORE INTO outbox ({', '.join(damage.COLUMNS)})"
                             f" VALUES ({', '.join('?' * len(damage.COLUMNS))})", fixed)
            high = conn.execute("SELECT high_water FROM outbox_usage WHERE id = 1").fetchone()[0]
        if self._mark is not None:
            self._mark.advance(int(high))
        return len(fixed), lost

    def close(self) -> None:
        with self._lock:
            self.release_sync_lock()
            if self._mark is not None:
                self._mark.close()
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def encrypted(self) -> bool:
        return self._cipher.sealing

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every successful put (the sync worker wakes up on it)."""
        self._listeners.append(callback)

    # -- putting ---------------------------------------------------------------------------

    def put(self, stream: str, payload: dict[str, object], key: str | None = None) -> str:
        """Store one transaction; return its idempotency key only once it is committed.

        Putting a key that is already stored changes nothing and returns the key, so a
        caller may safely repeat a put after a crash.
        """
        row = self._prepare((stream, payload, key))
        with self._lock:
            conn = self._require_open()
            self._refuse_if_reserve_given_back()
            self._set_sync("NORMAL" if stream in FAST_STREAMS else "FULL")
            # Fast path: ONE autocommit statement that inserts only if the quota has room
            # (the usage counters are read in the same implicit transaction). Anything
            # else — quota full, duplicate key, disk full — takes the careful path below.
            try:
                cur = conn.execute(_INSERT_IF_ROOM, (*row, *self.quota.room_params(row[-1])))
                stored = cur.rowcount
            except sqlite3.Error as exc:
                if not isinstance(from_sqlite(exc, "store the transaction"), OutboxFull):
                    raise from_sqlite(exc, "store the transaction") from exc
                stored = 0
            if stored and stream not in FAST_STREAMS and self._mark is not None:
                self._mark.advance(cur.lastrowid or 0)
        if not stored:
            return self._store([row])[0]
        for callback in list(self._listeners):
            callback()
        return row[0]

    def put_many(self, items: Iterable[PutItem]) -> list[str]:
        """Store several transactions in ONE commit (bursts); all or none are stored.

        Items are ``(stream, payload)``, ``(stream, payload, key)`` or
        ``{"stream": …, "payload": …, "key": …}``.
        """
        rows = [self._prepare(item) for item in items]
        return self._store(rows) if rows else []

    def _store(self, rows: list[_Row]) -> list[str]:
        """Insert rows in one transaction, evicting what the quota allows; typed errors."""
        durable = any(r[1] not in FAST_STREAMS for r in rows)
        new_bytes = sum(r[-1] for r in rows)
        with self._lock:
            conn = self._require_open()
            self._refuse_if_reserve_given_back()
            self._set_sync("FULL" if durable else "NORMAL")
            eviction: Eviction | None = None
            try:
                with transaction(conn, "store the transaction"):
                    if self.quota.limited and not has_room(conn, self.quota, len(rows), new_bytes):
                        fresh = [r for r in rows if conn.execute(
                            "SELECT 1 FROM outbox WHERE key = ?", (r[0],)).fetchone() is None]
                        if fresh:  # a repeated key needs no room
                            eviction = evict_for(conn, self.quota, len(fresh),
                                                 sum(r[-1] for r in fresh))
                    conn.executemany(_INSERT, rows)
                    high = self._high_water(conn)
            except OutboxFull as exc:
                if exc.sqlite_code is None:
                    raise
                eviction = None  # rolled back with the put: it never happened
                # The disk itself is full: make room from telemetry once, then try again.
                log.warning("disk full while storing a transaction; evicting telemetry")
                self._evict_on_disk_full(len(rows), new_bytes)
                with transaction(conn, "store the transaction"):
                    conn.executemany(_INSERT, rows)
                    high = self._high_water(conn)
            log_eviction(eviction)  # committed: now it is true
            if durable and self._mark is not None:
                self._mark.advance(high)
        for callback in list(self._listeners):
            callback()
        return [r[0] for r in rows]

    def _prepare(self, item: PutItem) -> _Row:
        if isinstance(item, dict):
            stream, payload, key = item.get("stream"), item.get("payload"), item.get("key")
        else:
            stream, payload, *rest = item
            key = rest[0] if rest else None
        if stream not in STREAMS:
            raise OutboxError(f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
        if key is None:
            key = os.urandom(16).hex()
        elif not isinstance(key, str) or not key or len(key) > 200:
            raise OutboxError("idempotency key must be a non-empty string of at most 200 characters")
        blob = self._cipher.seal(encode_payload(payload), key, stream)
        now = time.time()
        return (key, stream, now, now, blob, len(blob) + len(key) + _ROW_OVERHEAD)

    def _evict_on_disk_full(self, rows: int, size: int) -> None:
        conn = self._require_open()
        tight = Quota(1, 1, self.quota.evictable)  # "everything evictable counts as over"
        with transaction(conn, "make room on a full disk"):
            eviction = evict_for(conn, tight, rows, size, at_least=max(rows * 4, 64), strict=False)
        log_eviction(eviction)

    # -- the sync worker's side ----------------------------------------------------------

    def claim(self, limit: int, *, now: float | None = None, force: bool = False) -> list[Claimed]:
        """Mark up to ``limit`` due transactions ``in_flight`` and return them, in order.

        Order within a stream is kept: only a prefix of each stream's pending rows is taken,
        and a stream whose oldest pending row is in flight or backing off waits entirely. A
        row that failed before (``attempts > 0``) is claimed alone, so a poison message
        cannot drag innocent ones towards ``dead``.
        """
        when = time.time() if now is None else now
        self._reserve.ensure()  # once the disk has room again after it was given back
        return self._drain_write(lambda: self._claim(limit, when, force))

    def _claim(self, limit: int, now: float, force: bool) -> list[Claimed]:
        with self._lock:
            conn = self._require_open()
            self._set_sync("NORMAL")
            with transaction(conn, "claim transactions"):
                chosen: list[tuple] = []
                for stream in STREAMS:
                    if len(chosen) >= limit:
                        break
                    rows = conn.execute(
                        "SELECT seq, key, stream, created_at, attempts, next_attempt_at, state,"
                        " payload FROM outbox WHERE stream = ? AND state IN ('ready', 'in_flight')"
                        " ORDER BY seq LIMIT ?", (stream, limit - len(chosen))).fetchall()
                    if not rows:
                        continue
                    head = rows[0]
                    if head[6] != "ready" or (not force and head[5] > now):
                        continue
                    if head[4] > 0:  # a suspect goes alone
                        if not chosen:
                            chosen = [head]
                        break
                    for row in rows:
                        if row[6] != "ready" or row[4] > 0:
                            break
                        chosen.append(row)
                if chosen:
                    marks = ",".join("?" * len(chosen))
                    conn.execute(f"UPDATE outbox SET state = 'in_flight', claimed_at = ? WHERE seq IN ({marks})",
                                 (now, *(r[0] for r in chosen)))
        return [Claimed(r[0], r[1], r[2], r[3], r[4], r[7]) for r in chosen]

    def open_payload(self, item: Claimed) -> dict[str, object]:
        """Decrypt one claimed payload (PayloadSealError when the key is wrong)."""
        return self._cipher.open(item.blob, item.key, item.stream)

    def mark_sent(self, keys: Iterable[str]) -> int:
        """Central has it: drop the payload (personal data leaves the disk), keep a tombstone."""
        return self._update_many(
            "UPDATE outbox SET state = 'sent', sent_at = ?, payload = NULL, size = ?"
            " WHERE key = ? AND state != 'sent'",
            [(time.time(), _ROW_OVERHEAD + len(k), k) for k in keys], "mark transactions sent")

    def mark_dead(self, reasons: dict[str, str]) -> int:
        """Central refused these for good: park them with the reason, visible and retryable."""
        return self._update_many(
            "UPDATE outbox SET state = 'dead', dead_reason = ? WHERE key = ? AND state != 'sent'",
            [(reason[:500], k) for k, reason in reasons.items()], "mark transactions dead")

    def release(self, keys: Iterable[str], *, next_attempt_at: float, count_attempt: bool) -> int:
        """Put claimed rows back to ``ready`` (central unavailable, or a failed try)."""
        bump = 1 if count_attempt else 0
        return self._update_many(
            "UPDATE outbox SET state = 'ready', attempts = attempts + ?, next_attempt_at = ?"
            " WHERE key = ? AND state = 'in_flight'",
            [(bump, next_attempt_at, k) for k in keys], "release transactions")

    def recover_in_flight(self) -> int:
        """Rows a crashed worker left ``in_flight`` become ``ready`` (central dedups by key)."""
        def recover() -> int:
            with self._lock:
                conn = self._require_open()
                with transaction(conn, "recover in-flight transactions"):
                    return int(conn.execute("UPDATE outbox SET state = 'ready' WHERE"
                                            f" {PENDING} AND state = 'in_flight'").rowcount)
        count = self._drain_write(recover)
        if count:
            log.info("recovered %d in-flight transactions from an earlier run", count)
        return count

    def next_due(self) -> float | None:
        """When the earliest ready stream head may be tried (None: nothing ready)."""
        with self._lock, _reading("read when to send next"):
            conn = self._require_open()
            due = [r[0] for s in STREAMS for r in conn.execute(
                "SELECT next_attempt_at FROM outbox WHERE stream = ? AND state IN ('ready', 'in_flight')"
                " ORDER BY seq LIMIT 1", (s,))]
        return min(due) if due else None

    def prune_sent(self, older_than: float = 86400.0) -> int:
        """Forget tombstones of transactions central confirmed more than ``older_than`` s ago."""
        def prune() -> int:
            with self._lock:
                conn = self._require_open()
                self._set_sync("NORMAL")
                with transaction(conn, "prune sent transactions"):
                    return int(conn.execute(f"DELETE FROM outbox WHERE {SETTLED} AND state = 'sent'"
                                            " AND sent_at < ?",
                                            (time.time() - older_than,)).rowcount)
        return self._drain_write(prune)

    @contextmanager
    def sync_lock(self) -> Iterator[None]:
        """Hold the one-drainer-per-file lock (flock, freed by the kernel if we die)."""
        self.acquire_sync_lock()
        try:
            yield
        finally:
            self.release_sync_lock()

    @property
    def holds_sync_lock(self) -> bool:
        return self._lock_fd is not None

    def acquire_sync_lock(self, *, recover: bool = True) -> None:
        """Become the one drainer of this file, then recover what a crashed drainer left."""
        with self._lock:
            if self._lock_fd is not None:
                return
            fd = os.open(f"{self.path}.sync-lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                os.close(fd)
                raise SyncLockHeld(f"another sync worker is draining {self.path}") from exc
            self._lock_fd = fd
        if recover:
            self.recover_in_flight()

    def release_sync_lock(self) -> None:
        with self._lock:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing drops the flock
                self._lock_fd = None

    # -- the technician's side -----------------------------------------------------------

    def stats(self) -> OutboxStats:
        """Counts by state and by stream, oldest ready age, bytes held against the quota."""
        now = time.time()
        with self._lock, _reading("read its counts"):
            conn = self._require_open()
            by_state = dict.fromkeys(STATES, 0)
            by_stream: dict[str, dict[str, int]] = {s: dict.fromkeys(STATES, 0) for s in STREAMS}
            for state, stream, count in [
                    *conn.execute(f"SELECT state, stream, count(*) FROM outbox WHERE {PENDING}"
                                  " GROUP BY stream, state"),
                    *conn.execute(f"SELECT state, stream, count(*) FROM outbox WHERE {SETTLED}"
                                  " GROUP BY state, stream")]:
                by_state[state] = by_state.get(state, 0) + count
                by_stream.setdefault(stream, dict.fromkeys(STATES, 0))[state] = count
            oldest = [r[0] for s in STREAMS for r in conn.execute(
                f"SELECT created_at FROM outbox WHERE stream = ? AND {PENDING} AND state = 'ready'"
                " ORDER BY seq"
                " LIMIT 1", (s,))]
            rows, size = conn.execute("SELECT rows, bytes FROM outbox_usage WHERE id = 1").fetchone()
        return {
            "path": str(self.path), "encrypted": self.encrypted,
            "by_state": by_state, "by_stream": by_stream,
            "pending": by_state["ready"] + by_state["in_flight"],
            "oldest_ready_age_s": round(now - min(oldest), 3) if oldest else None,
            "rows": rows, "bytes": size,
            "quota": {"max_rows": self.quota.max_rows, "max_bytes": self.quota.max_bytes,
                      "evictable": list(self.quota.evictable)},
            "damage": self.damage.to_json() if self.damage is not None else None,
        }

    def dead_items(self, limit: int = 1000) -> list[DeadItem]:
        """Dead transactions, oldest first, with the reason central (or we) gave."""
        with self._lock, _reading("list dead transactions"):
            conn = self._require_open()
            rows = conn.execute(
                "SELECT key, stream, created_at, attempts, dead_reason FROM outbox"
                f" WHERE {SETTLED} AND state = 'dead' ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [{"key": k, "stream": s, "created_at": iso_utc(c), "attempts": a, "reason": r}
                for k, s, c, a, r in rows]

    def retry_dead(self, keys: Iterable[str] | None = None) -> int:
        """Send dead transactions again (all, or the given keys); returns how many."""
        now = time.time()
        with self._lock:
            conn = self._require_open()
            with transaction(conn, "retry dead transactions"):
                if keys is None:
                    count = conn.execute(
                        "UPDATE outbox SET state = 'ready', attempts = 0, dead_reason = NULL,"
                        f" next_attempt_at = ? WHERE {SETTLED} AND state = 'dead'", (now,)).rowcount
                else:
                    count = sum(conn.execute(
                        "UPDATE outbox SET state = 'ready', attempts = 0, dead_reason = NULL,"
                        " next_attempt_at = ? WHERE state = 'dead' AND key = ?", (now, k)).rowcount
                        for k in keys)
        for callback in list(self._listeners):
            callback()
        return count

    # -- internals -------------------------------------------------------------------------

    def _refuse_if_reserve_given_back(self) -> None:
        if not self._reserve.leaves_room_for_puts():
            raise OutboxFull(f"disk full: the room left where {self.path} lives is kept for "
                             "sending what is already queued; free disk space")

    @staticmethod
    def _high_water(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT high_water FROM outbox_usage WHERE id = 1").fetchone()[0])

    def _require_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise OutboxError(f"outbox {self.path} is closed")
        return self._conn

    def _set_sync(self, level: str) -> None:
        if self._sync_level != level:
            self._require_open().execute(f"PRAGMA synchronous={level}")
            self._sync_level = level

    def _update_many(self, sql: str, params: list[tuple], action: str) -> int:
        if not params:
            return 0

        def update() -> int:
            with self._lock:
                conn = self._require_open()
                self._set_sync("NORMAL")
                with transaction(conn, action):
                    return int(conn.executemany(sql, params).rowcount)
        return self._drain_write(update)

    def _drain_write(self, write: Callable[[], T]) -> T:
        """A write of the drain: on a full disk, give the reserve back and try once more."""
        try:
            return write()
        except OutboxError as exc:
            if not _disk_full(exc) or not self._reserve.release():
                raise
        return write()
