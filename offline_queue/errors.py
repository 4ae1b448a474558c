"""Typed outbox errors that carry SQLite's own result code.

The screen only needs to know "this terminal cannot accept submissions right now"
(:class:`OutboxFull` / :class:`OutboxError`); a technician and the log get the native cause
(``sqlite_code`` / ``sqlite_name``, e.g. 13 ``SQLITE_FULL`` or 8 ``SQLITE_READONLY``).
"""

from __future__ import annotations

import sqlite3

SQLITE_BUSY = 5
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


class OutboxError(Exception):
    """The outbox could not store or read a transaction; nothing was half-written."""

    def __init__(self, message: str, *, sqlite_code: int | None = None,
                 sqlite_name: str | None = None):
        super().__init__(message)
        self.sqlite_code = sqlite_code
        self.sqlite_name = sqlite_name

    def __str__(self) -> str:
        base = super().__str__()
        if self.sqlite_code is None:
            return base
        return f"{base} [{self.sqlite_name or 'SQLITE'} {self.sqlite_code}]"


class OutboxFull(OutboxError):
    """No room: the quota is reached with nothing evictable, or the disk is full (SQLITE_FULL)."""


class OutboxReadOnly(OutboxError):
    """The outbox file or its directory cannot be written (SQLITE_READONLY, EROFS, EACCES)."""


class OutboxBusy(OutboxError):
    """Another process held the write lock longer than the busy timeout (SQLITE_BUSY)."""


class OutboxCorrupt(OutboxError):
    """The file is not a usable outbox (SQLITE_CORRUPT / SQLITE_NOTADB)."""


class OutboxDamaged(OutboxCorrupt):
    """The outbox file on disk is damaged, missing or not the one this terminal created.

    ``reason`` says what was found (in words a technician can act on); ``moved_to`` is where
    the damaged file was kept aside (None: still in place, e.g. a read-only check such as
    ``kiosk doctor``); ``recovered``/``lost`` count the transactions saved into a fresh outbox
    and those that could not be (``lost`` is an upper bound: some may have been sent already).
    """

    def __init__(self, path: str, reason: str, *, moved_to: str | None = None,
                 recovered: int | None = None, lost: int | None = None,
                 sqlite_code: int | None = None, sqlite_name: str | None = None):
        where = f"; kept aside as {moved_to}" if moved_to else ""
        super().__init__(f"outbox {path} is damaged: {reason}{where}", sqlite_code=sqlite_code,
                         sqlite_name=sqlite_name)
        self.path = path
        self.reason = reason
        self.moved_to = moved_to
        self.recovered = recovered
        self.lost = lost

    def to_json(self) -> dict[str, object]:
        return {"state": "damaged", "path": self.path, "reason": self.reason,
                "moved_to": self.moved_to, "recovered": self.recovered, "lost": self.lost}


class PayloadSealError(OutboxError):
    """A stored payload cannot be decrypted: wrong terminal key or tampered row."""


class SyncLockHeld(OutboxError):
    """Another sync worker (thread or process) already drains this outbox."""


def from_sqlite(exc: sqlite3.Error, action: str) -> OutboxError:
    """Map a sqlite3 exception to our typed error, keeping the extended result code."""
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None)
    primary = code & 0xFF if isinstance(code, int) else None
    message = f"outbox cannot {action}: {exc}"
    cls: type[OutboxError] = OutboxError
    if primary == SQLITE_FULL:
        cls = OutboxFull
    elif primary in (SQLITE_READONLY, SQLITE_CANTOPEN):
        cls = OutboxReadOnly
    elif primary == SQLITE_BUSY:
        cls = OutboxBusy
    elif primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        cls = OutboxCorrupt
    return cls(message, sqlite_code=code, sqlite_name=name)
