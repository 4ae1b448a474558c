"""Engines and migrations. One URL picks the database: ``sqlite:///path`` (the embedded
default) or ``postgresql+psycopg://user@host:port/db`` (a fleet; ``postgresql://`` is
accepted and means psycopg 3)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATE_LOCK = 15_0001  # pg_advisory_lock key: two replicas starting at once migrate in turn


class DatabaseUnavailable(Exception):
    """The database cannot be reached (down, refusing, timed out): the API answers 503."""


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here, not psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    """An engine with the settings a service needs: dead connections are noticed before use
    (a PostgreSQL restart must not fail the first request after it), SQLite in WAL with a
    busy timeout so several threads and replicas take turns instead of failing."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # take the write lock when the transaction starts: a claim is read-then-write
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                            connect_args={"connect_timeout": 5})


def is_unavailable(exc: BaseException) -> bool:
    """Does this database error mean "cannot reach the database" (503) rather than a bug?"""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    # PostgreSQL down or refusing, SQLite's file unreachable or busy past its timeout
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError,
                            psycopg.OperationalError, psycopg.InterfaceError, TimeoutError))


class AsyncPool:
    """A few autocommit psycopg ``AsyncConnection`` s for the heartbeat's one-statement path
    (PostgreSQL), so a beat waiting on the database holds no thread and no transaction. A
    connection that fails is closed, not reused; the next checkout opens a fresh one, so a
    restarted server heals like the engine's pre-ping does. Opened lazily in the serving loop.
    """

    def __init__(self, conninfo: str, size: int = 10, checkout_timeout_s: float = 10.0) -> None:
        self.conninfo, self.size, self.timeout = conninfo, size, checkout_timeout_s
        self._idle: list[Any] = []
        self._opened = 0
        self._freed: asyncio.Condition | None = None

    @classmethod
    def for_engine(cls, engine: Engine, size: int = 10) -> AsyncPool | None:
        """The pool on the engine's PostgreSQL database, None for SQLite (or no engine: a
        route listing)."""
        if getattr(getattr(engine, "dialect", None), "name", None) != "postgresql":
            return None
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(url, size)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A connection for one statement; a failed one is dropped (the error propagates)."""
        if self._freed is None:
            self._freed = asyncio.Condition()
        async with asyncio.timeout(self.timeout):
            async with self._freed:
                await self._freed.wait_for(lambda: self._idle or self._opened < self.size)
                conn = self._idle.pop() if self._idle else None
                if conn is None:
                    self._opened += 1
        ok = False
        try:
            if conn is None:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True,
                                                             connect_timeout=5)
            try:
                yield conn
            finally:  # a refusal leaves the connection good; a broken one is not reused
                ok = not conn.closed and conn.info.transaction_status == \
                    psycopg.pq.TransactionStatus.IDLE
        finally:
            if not ok and conn is not None:
                await conn.close()
            async with self._freed:
                if ok:
                    self._idle.append(conn)
                else:
                    self._opened -= 1
                self._freed.notify()

    async def close(self) -> None:
        """Close the idle connections (at shutdown)."""
        idle, self._idle = self._idle, []
        self._opened -= len(idle)
        for conn in idle:
            await conn.close()


def alembic_config(engine: Engine, script_location: Path | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(script_location or MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, script_location: Path | None = None) -> str | None:
    """Bring the schema forward to the newest revision (never back); safe to run while the
    service serves and from several replicas at once (PostgreSQL: an advisory lock).
    ``script_location``: another migrations directory (tests)."""
    cfg = alembic_config(engine, script_location)
    if engine.dialect.name == "postgresql":
        with engine.connect() as lock_conn:
            lock_conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATE_LOCK})
            try:
                command.upgrade(cfg, "head")
            finally:
                lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATE_LOCK})
                lock_conn.commit()
    else:
        command.upgrade(cfg, "head")
    revision = current_revision(engine)
    log.info("fleet database at revision %s", revision)
    return revision
