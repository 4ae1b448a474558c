"""Telling a damaged outbox from a fresh one, keeping it aside and saving what it still holds.

Why a sidecar: SQLite cannot tell "never used" from "emptied by the disk". A zero-length
file, a main file whose WAL was deleted or torn (SQLite silently stops at the first frame with
a bad checksum), or a file re-created by hand all open as valid outboxes with fewer rows. So
beside ``outbox.sqlite`` lives ``outbox.sqlite.mark``: the file's generation (a random id also
stored inside the file) and the highest ``seq`` a durable put committed. It is written with
one ``pwrite`` after each durable commit (no extra fsync: after a power cut it can only be
*behind* the fsynced WAL, never ahead of it), so ``high water in the file < mark`` means
committed transactions are gone, whatever the cause.

A damaged file is renamed ``outbox.sqlite.damaged-YYYYmmddTHHMMSS`` (with its ``-wal`` and
``-shm``; never over an existing name), a report ``….json`` is written beside it, and every
row still readable is copied into a fresh outbox, sealed payloads untouched (they stay bound
to their key and stream, so they still decrypt).
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
import sqlite3
import stat
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from offline_queue.schema import fsync_dir

log = logging.getLogger(__name__)

_MAGIC = "kiosk-outbox-mark 1"
_RECORD = _MAGIC + " {generation:32s} {high:020d}\n"
_RECORD_LEN = len(_RECORD.format(generation="0" * 32, high=0))
_SQLITE_HEADER = b"SQLite format 3\x00"
NOT_SQLITE = "the file is not an SQLite database"
BAD_PAGES = "SQLite finds damaged pages"
_CHUNK = 512
# The outbox table's columns, in the order recovery reads and writes them.
COLUMNS = ("seq", "key", "stream", "created_at", "attempts", "next_attempt_at", "state",
           "dead_reason", "claimed_at", "sent_at", "size", "payload")
Row = tuple[object, ...]


def mark_path(db: Path) -> Path:
    return db.with_name(db.name + ".mark")


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 whatever the umask (SQLite copies the main file's
    mode to its -wal and -shm, so they follow)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def private_dir(directory: Path) -> None:
    """The outbox's directory becomes 0700 when it is ours and open to others — not a shared
    sticky directory such as /tmp (systemd's UMask=0077 would have made it so anyway)."""
    st = directory.stat()
    if st.st_mode & 0o077 and st.st_uid == os.geteuid() and not st.st_mode & stat.S_ISVTX:
        directory.chmod(0o700)
        log.warning("tightened permissions of %s to 0700 (it holds the outbox)", directory)


def tighten(path: Path) -> None:
    """An outbox file created by an older version (0644) becomes 0600; others' files are left."""
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if p.stat().st_mode & 0o077:
                p.chmod(0o600)
        except OSError:
            pass


@dataclass
class Mark:
    """The sidecar record: which file this outbox is, and how far durable puts got."""

    path: Path
    generation: str
    high_water: int
    _fd: int | None = None

    @classmethod
    def read(cls, db: Path) -> Mark | None:
        """The mark beside ``db``; None when there is none (or it is unreadable: logged)."""
        path = mark_path(db)
        for _ in range(3):  # a concurrent pwrite may be caught half-way; it is one syscall
            try:
                text = path.read_text(encoding="ascii")
            except FileNotFoundError:
                return None
            except (OSError, UnicodeDecodeError) as exc:
                log.warning("outbox mark %s unreadable (%s); checks against it skipped", path, exc)
                return None
            parts = text.split()
            if len(text) == _RECORD_LEN and len(parts) == 4 and " ".join(parts[:2]) == _MAGIC:
                try:
                    return cls(path, parts[2], int(parts[3]))
                except ValueError:
                    pass
        log.warning("outbox mark %s is not a mark; checks against it skipped", path)
        return None

    @classmethod
    def create(cls, db: Path, generation: str, high_water: int) -> Mark:
        """Write a new mark atomically (temp file, fsync, rename) with mode 0600."""
        path = mark_path(db)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # 0600, unique
        try:
            with open(fd, "w", encoding="ascii") as f:
                f.write(_RECORD.format(generation=generation, high=high_water))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)
        return cls(path, generation, high_water)

    def advance(self, high_water: int) -> None:
        """Record that durable puts committed up to ``high_water`` (best effort, no fsync)."""
        if high_water <= self.high_water:
            return
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
            os.pwrite(self._fd, _RECORD.format(generation=self.generation,
                                               high=high_water).encode("ascii"), 0)
            self.high_water = high_water
        except OSError as exc:  # a full disk does not stop puts; the check just gets weaker
            log.warning("outbox mark %s not updated: %s", self.path, exc)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def precheck(db: Path, mark: Mark | None) -> str | None:
    """What is visibly wrong with the file before SQLite opens it (None: nothing)."""
    try:
        size = db.stat().st_size
    except FileNotFoundError:
        if mark is None:
            return None
        return (f"the file is missing, but an outbox had been created there (generation "
                f"{mark.generation[:8]}, transactions up to #{mark.high_water})")
    if size == 0:
        if mark is None:
            return None
        return (f"the file is empty (0 bytes), but it had held transactions up to "
                f"#{mark.high_water}")
    with open(db, "rb") as f:
        header = f.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        return f"{NOT_SQLITE} (bad header, {size} bytes)"
    return None


def quick_check(conn: sqlite3.Connection) -> str | None:
    """SQLite's own structural check of every page (None: ok)."""
    problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
    if problems == ["ok"]:
        return None
    text = "; ".join(p.replace("*** in database main ***", "").strip() for p in problems)
    return f"{BAD_PAGES} ({text[:300]})"


def unused_name(db: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    for n in range(1, 1000):
        name = f"{db.name}.damaged-{stamp}" + ("" if n == 1 else f"-{n}")
        target = db.with_name(name)
        if not any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm", ".json")):
            return target
    raise FileExistsError(f"no free name for a damaged copy of {db}")


def quarantine(db: Path) -> Path | None:
    """Move the outbox and its -wal/-shm aside, never over an existing file; return the new
    main file's path (None when there was nothing to move)."""
    present = [s for s in ("", "-wal", "-shm") if os.path.lexists(f"{db}{s}")]
    if not present:
        return None
    target = unused_name(db)
    for suffix in present:
        src, dst = f"{db}{suffix}", f"{target}{suffix}"
        try:
            os.link(src, dst)  # fails rather than replace dst
            os.unlink(src)
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links
            if os.path.lexists(dst):
                raise
            os.rename(src, dst)
    fsync_dir(db.parent)
    return target


# Reports this process could not write (a full or read-only disk): the heartbeat still says.
_UNWRITTEN: dict[Path, list[dict[str, object]]] = {}


def write_report(db: Path, target: Path, report: dict[str, object]) -> None:
    """``<damaged file>.json``: what happened, for doctor, the heartbeat and the technician."""
    path = Path(f"{target}.json")
    try:
        private_file(path)
        path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        log.error("damage report %s not written (%s); kept in memory", path, exc)
        _UNWRITTEN.setdefault(db, []).append(report)


def damage_reports(db: Path) -> list[dict[str, object]]:
    """Reports of damaged outboxes kept aside beside ``db``, oldest first."""
    reports: list[dict[str, object]] = []
    for path in sorted(db.parent.glob(f"{db.name}.damaged-*.json")):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            reports.append({"state": "damaged", "moved_to": str(path)[:-5],
                            "reason": f"report unreadable: {exc}"})
    return reports + _UNWRITTEN.get(db, [])


def _copy_aside(source: Path, workdir: Path) -> Path:
    """A scratch copy to read from, so recovery never writes to the kept-aside file."""
    copy = workdir / "damaged.sqlite"
    shutil.copyfile(source, copy)
    if os.path.exists(f"{source}-wal"):
        shutil.copyfile(f"{source}-wal", f"{copy}-wal")
    return copy


def read_rows(source: Path, high_hint: int) -> tuple[list[Row], int]:
    """Every outbox row still readable in ``source``: (rows by seq, rows known unreadable).

    Through SQLite first: a whole scan; when a damaged page stops it, ranges of ``seq`` one
    by one, then the rows of a failing range one by one, so one bad leaf costs only its own
    rows. When that left gaps (a damaged interior page hides every leaf under it), the table's
    leaf pages are read straight from the file, as ``sqlite3 .recover`` would.
    """
    workdir = Path(tempfile.mkdtemp(prefix=".recover-", dir=source.parent))
    try:
        scratch: Path | None = None
        try:
            scratch = _copy_aside(source, workdir)
            uri = scratch.as_uri()
        except OSError as exc:  # no room for a copy: read the main file as is, WAL ignored
            log.warning("no scratch copy of %s (%s); reading it without its WAL", source, exc)
            uri = source.as_uri() + "?immutable=1"
        conn = sqlite3.connect(uri, uri=True)
        try:
            rows, unreadable = _read_rows(conn, high_hint)
            if unreadable or not rows:
                try:  # the WAL's pages into the scratch copy, so the file holds the newest
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass
        finally:
            conn.close()
        if unreadable or not rows:
            found = {int(r[0]): r for r in rows if isinstance(r[0], int)}
            try:
                extra = {seq: row for seq, row in scan_leaf_pages(scratch or source).items()
                         if seq not in found and (not high_hint or seq <= high_hint)}
            except (OSError, ValueError, IndexError) as exc:
                log.warning("reading %s page by page failed: %s", source, exc)
                extra = {}
            if extra:
                rows = sorted([*rows, *extra.values()],
                              key=lambda r: r[0] if isinstance(r[0], int) else 0)
                unreadable = max(0, unreadable - len(extra))
        return rows, unreadable
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _varint(buf: bytes | mmap.mmap, at: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``at``: (value, next offset)."""
    value = 0
    for i in range(8):
        byte = buf[at + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    return (value << 8) | buf[at + 8], at + 9


def _record(payload: bytes) -> list[object]:
    header_len, at = _varint(payload, 0)
    types = []
    while at < header_len:
        serial, at = _varint(payload, at)
        types.append(serial)
    values: list[object] = []
    body = header_len
    for serial in types:
        if serial == 0:
            values.append(None)
        elif serial in (1, 2, 3, 4, 5, 6):
            size = (1, 2, 3, 4, 6, 8)[serial - 1]
            values.append(int.from_bytes(payload[body:body + size], "big", signed=True))
            body += size
        elif serial == 7:
            values.append(struct.unpack(">d", payload[body:body + 8])[0])
            body += 8
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            size = (serial - 12) // 2
            chunk = payload[body:body + size]
            if len(chunk) != size:
                raise ValueError("record runs off its payload")
            values.append(chunk if serial % 2 == 0 else chunk.decode("utf-8"))
            body += size
        else:
            raise ValueError(f"serial type {serial}")
    return values


def _freelist(data: mmap.mmap, page_size: int) -> set[int]:
    """Pages on the freelist (stale copies of deleted rows live there: never resurrect them)."""
    free: set[int] = set()
    trunk = int.from_bytes(data[32:36], "big")
    while trunk and trunk not in free and trunk * page_size <= len(data):
        free.add(trunk)
        page = data[(trunk - 1) * page_size:trunk * page_size]
        count = int.from_bytes(page[4:8], "big")
        for i in range(min(count, page_size // 4 - 2)):
            free.add(int.from_bytes(page[8 + 4 * i:12 + 4 * i], "big"))
        trunk = int.from_bytes(page[0:4], "big")
    return free


def scan_leaf_pages(path: Path) -> dict[int, Row]:
    """Rows of the outbox table read from its leaf pages directly, whatever points at them
    (12 fields, seq stored as the rowid); overflow chains are followed."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size < 512:
            return {}
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:  # not all in memory
            return _scan(data)


def _scan(data: mmap.mmap) -> dict[int, Row]:
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    usable_size = page_size - data[20]
    free = _freelist(data, page_size)
    limit_local = usable_size - 35
    min_local = ((usable_size - 12) * 32 // 255) - 23
    rows: dict[int, Row] = {}
    for number in range(1, len(data) // page_size + 1):
        if number in free:
            continue
        start = (number - 1) * page_size
        head = start + (100 if number == 1 else 0)
        if data[head] != 0x0D:  # a table leaf
            continue
        cells = int.from_bytes(data[head + 3:head + 5], "big")
        for i in range(cells):
            try:
                at = start + int.from_bytes(data[head + 8 + 2 * i:head + 10 + 2 * i], "big")
                size, at = _varint(data, at)
                rowid, at = _varint(data, at)
                if size <= limit_local:
                    payload = data[at:at + size]
                else:
                    local = min_local + (size - min_local) % (usable_size - 4)
                    local = local if local <= limit_local else min_local
                    payload = data[at:at + local]
                    overflow = int.from_bytes(data[at + local:at + local + 4], "big")
                    seen: set[int] = set()
                    while overflow and len(payload) < size and overflow not in seen:
                        seen.add(overflow)
                        page = data[(overflow - 1) * page_size:overflow * page_size]
                        payload += page[4:usable_size][:size - len(payload)]
                        overflow = int.from_bytes(page[0:4], "big")
                values = _record(payload)
            except (ValueError, IndexError, UnicodeDecodeError):
                continue  # this cell is part of the damage
            if len(values) == len(COLUMNS):
                rows.setdefault(rowid, (rowid, *values[1:]))
    return rows


def _read_rows(conn: sqlite3.Connection, high_hint: int) -> tuple[list[Row], int]:
    select = f"SELECT {', '.join(COLUMNS)} FROM outbox"
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'"
                        ).fetchone() is None:
            return [], 0
        return conn.execute(select + " ORDER BY seq").fetchall(), 0
    except sqlite3.DatabaseError as exc:
        log.warning("outbox scan stopped (%s); reading around the damage", exc)
    high = high_hint
    for probe in ("SELECT max(seq) FROM outbox", "SELECT high_water FROM outbox_usage"):
        try:
            high = max(high, int(conn.execute(probe).fetchone()[0] or 0))
        except (sqlite3.DatabaseError, TypeError, ValueError):
            pass
    if not high:
        try:
            high = int(conn.execute("PRAGMA page_count").fetchone()[0]) * 64
        except sqlite3.DatabaseError:
            high = 0
    rows: list[Row] = []
    unreadable = 0
    for start in range(1, high + 1, _CHUNK):
        try:
            rows += conn.execute(select + " WHERE seq >= ? AND seq < ? ORDER BY seq",
                                 (start, start + _CHUNK)).fetchall()
            continue
        except sqlite3.DatabaseError:
            pass
        for seq in range(start, min(start + _CHUNK, high + 1)):
            try:
                rows += conn.execute(select + " WHERE seq = ?", (seq,)).fetchall()
            except sqlite3.DatabaseError:
                unreadable += 1
    return rows, unreadable


def usable(row: Row, streams: tuple[str, ...], states: tuple[str, ...],
           opens: Callable[[bytes, str, str], object] | None) -> bool:
    """A recovered row is kept only when it is whole: known stream and state, a payload that
    (when a key is given) still authenticates against its own key and stream."""
    _, key, stream, created_at, _, _, state, _, _, _, _, payload = row
    if not (isinstance(key, str) and key and stream in streams and state in states
            and isinstance(created_at, int | float)):
        return False
    if payload is None:
        return state == "sent"
    if not isinstance(payload, bytes):
        return False
    if opens is not None:
        try:
            opens(payload, key, str(stream))
        except Exception:  # noqa: BLE001 - PayloadSealError or garbage that is not JSON
            return False
    return True
