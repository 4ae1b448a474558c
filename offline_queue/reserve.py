"""Room kept on disk for draining: a full disk must still let the outbox empty itself.

Delivering writes too: a claim, a "sent" mark and the checkpoint behind them need WAL frames,
and after a restart SQLite must create its -shm and -wal before it reads anything. On a disk
filled to the brim by something else (logs, a runaway download) none of that fits, so nothing
queued could reach central until someone freed space. ``outbox.sqlite.reserve`` is a file of
allocated zeros made while there is plenty of room; when a write of the drain (or opening the
file) fails with "disk full", it is given back to the filesystem and the write tried again.
While it is given back, puts are refused unless the disk has that much room again, so new
submissions cannot eat the space the drain needs; it is made again once the disk has room.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

RESERVE_BYTES = 8 * 1024 * 1024  # a full WAL between checkpoints (1000 pages) and then some
_PLENTY = 2  # make the reserve only when the disk has this many times its size free


class DiskReserve:
    """The reserve file beside one outbox; every method is cheap when nothing changes."""

    def __init__(self, db: Path, size: int = RESERVE_BYTES):
        self.path = db.with_name(db.name + ".reserve")
        self.size = size
        self.released = False  # this process gave it back and has not made it again

    def held(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size
        except OSError:
            return False

    def _free(self) -> int:
        try:
            return shutil.disk_usage(self.path.parent).free
        except OSError:
            return 0

    def ensure(self) -> bool:
        """Make (or complete) the reserve when the disk has plenty of room; True if held."""
        if self.size <= 0:
            return False
        if self.held():
            self.released = False
            return True
        if self._free() < _PLENTY * self.size:
            return False
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            log.warning("outbox disk reserve %s not made: %s", self.path, exc)
            return False
        try:
            os.fchmod(fd, 0o600)
            os.posix_fallocate(fd, 0, self.size)
        except OSError as exc:
            log.warning("outbox disk reserve %s not made: %s", self.path, exc)
            os.close(fd)
            self.path.unlink(missing_ok=True)
            return False
        os.close(fd)
        self.released = False
        return True

    def release(self) -> bool:
        """Give the reserve back to the filesystem; True when there was one to give."""
        try:
            size = self.path.stat().st_size
            self.path.unlink()
        except OSError:
            return False
        self.released = True
        log.warning("disk full: released the outbox's %d MiB reserve %s so queued transactions "
                    "can still be sent", size // (1024 * 1024), self.path)
        return size > 0

    def leaves_room_for_puts(self) -> bool:
        """While the reserve is given back, a put may only use room beyond its size."""
        return not self.released or self.ensure() or self._free() >= 2 * self.size
