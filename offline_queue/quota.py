"""The outbox's disk quota: what may be thrown away, in which order, when it is full.

Order of sacrifice: tombstones of transactions central already confirmed (``sent``), then the
oldest rows of the evictable streams (by default only ``telemetry``; dead ones before pending
ones). Submissions, evaluations, appointments and audit events are never evicted: when only
they are left, the put fails with :class:`OutboxFull` and the screen says the terminal cannot
accept submissions right now. Eviction runs inside the put's own transaction, so a failed put
also evicts nothing.

``bytes`` is an estimate of what a row costs (payload + key + a fixed overhead), kept exact
by triggers across processes; it bounds growth without stat()ing the file on every put.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from offline_queue.errors import OutboxFull

log = logging.getLogger(__name__)
_CHUNK = 256
_UNLIMITED = 2**62


@dataclass(frozen=True)
class Quota:
    max_bytes: int | None
    max_rows: int | None
    evictable: tuple[str, ...]

    @property
    def limited(self) -> bool:
        return self.max_bytes is not None or self.max_rows is not None

    def room_params(self, size: int) -> tuple[int, int, int, int]:
        """Parameters for "rows + 1 <= max_rows AND bytes + size <= max_bytes" in SQL."""
        return (1, self.max_rows if self.max_rows is not None else _UNLIMITED,
                size, self.max_bytes if self.max_bytes is not None else _UNLIMITED)


def _candidates(conn: sqlite3.Connection, evictable: tuple[str, ...]) -> Iterator[list[tuple[int, int, str]]]:
    """Chunks of (seq, size, what) in eviction order; re-queried after each deletion."""
    queries: list[tuple[str, tuple[str, ...]]] = [
        ("SELECT seq, size, 'sent' FROM outbox WHERE state IN ('sent', 'dead')"
         " AND state = 'sent' LIMIT ?", ())]
    for stream in evictable:
        queries.append(("SELECT seq, size, stream FROM outbox WHERE state IN ('sent', 'dead')"
                        " AND state = 'dead' AND stream = ?"
                        " ORDER BY seq LIMIT ?", (stream,)))
        queries.append(("SELECT seq, size, stream FROM outbox WHERE stream = ?"
                        " AND state IN ('ready', 'in_flight') ORDER BY seq LIMIT ?", (stream,)))
    for sql, args in queries:
        while True:
            chunk = conn.execute(sql, (*args, _CHUNK)).fetchall()
            if not chunk:
                break
            yield chunk
            if len(chunk) < _CHUNK:
                break


def has_room(conn: sqlite3.Connection, quota: Quota, rows: int, size: int) -> bool:
    used_rows, used_bytes = conn.execute("SELECT rows, bytes FROM outbox_usage WHERE id = 1").fetchone()
    return ((quota.max_rows is None or used_rows + rows <= quota.max_rows)
            and (quota.max_bytes is None or used_bytes + size <= quota.max_bytes))


class Eviction(NamedTuple):
    """What :func:`evict_for` deleted: all rows, and per stream those that were not yet sent
    (``lost``). Only true once the caller's transaction commits: log it after that
    (:func:`log_eviction`), never before — a rolled-back eviction lost nothing."""

    rows: int
    lost: dict[str, int]


def log_eviction(eviction: Eviction | None) -> None:
    if eviction is not None and eviction.lost:
        log.warning("outbox full: evicted %s to make room", eviction.lost)


def evict_for(conn: sqlite3.Connection, quota: Quota, rows: int, size: int, *,
              at_least: int = 0, strict: bool = True) -> Eviction:
    """Make room for ``rows`` new rows of ``size`` bytes inside the caller's transaction.

    Raises OutboxFull (strict) when even evicting everything evictable is not enough.
    ``at_least`` forces that many rows out (used when the disk itself is full).
    """
    used_rows, used_bytes = conn.execute("SELECT rows, bytes FROM outbox_usage WHERE id = 1").fetchone()
    need_rows = used_rows + rows - quota.max_rows if quota.max_rows is not None else 0
    need_bytes = used_bytes + size - quota.max_bytes if quota.max_bytes is not None else 0
    need_rows = max(need_rows, at_least)
    if need_rows <= 0 and need_bytes <= 0:
        return Eviction(0, {})
    freed_rows = freed_bytes = 0
    evicted: dict[str, int] = {}
    for chunk in _candidates(conn, quota.evictable):
        doomed = []
        for seq, row_size, what in chunk:
            if freed_rows >= need_rows and freed_bytes >= need_bytes:
                break
            doomed.append(seq)
            freed_rows += 1
            freed_bytes += row_size
            evicted[what] = evicted.get(what, 0) + 1
        if doomed:
            conn.execute(f"DELETE FROM outbox WHERE seq IN ({','.join('?' * len(doomed))})", doomed)
        if freed_rows >= need_rows and freed_bytes >= need_bytes:
            break
    fits = freed_rows >= need_rows and freed_bytes >= need_bytes
    if not fits and strict:
        raise OutboxFull(
            f"outbox quota reached ({used_rows} rows, {used_bytes} bytes of "
            f"{quota.max_rows} rows / {quota.max_bytes} bytes) and nothing left to evict")
    return Eviction(freed_rows, {k: v for k, v in evicted.items() if k != "sent"})
