"""The terminal's secret key material on disk: created once, readable by its owner only.

The outbox seals payloads with a key derived from this secret, so losing the file makes
queued transactions undecryptable (the sync worker parks them as ``dead``) — which is why a
damaged file is an error and never silently replaced.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
KEY_BYTES = 32


class SecretStoreError(Exception):
    """The key file exists but cannot be used; carries the errno when the OS refused."""

    def __init__(self, message: str, *, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


def load_or_create_key(path: str | os.PathLike[str]) -> bytes:
    """Return the 32-byte secret at ``path``, creating it (0600, directory 0700) if absent."""
    path = Path(path)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(path.parent.stat().st_mode) & 0o077:
            path.parent.chmod(0o700)
            log.warning("tightened permissions of %s to 0700", path.parent)
    except OSError as exc:
        raise SecretStoreError(f"cannot prepare {path.parent}: {exc.strerror}", errno=exc.errno) from exc
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    return _create(path)


def _read(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SecretStoreError(f"cannot read {path}: {exc.strerror}", errno=exc.errno) from exc
    with os.fdopen(fd, "rb") as f:
        mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
        if mode & 0o077:
            os.fchmod(f.fileno(), 0o600)
            log.warning("tightened permissions of %s from %o to 0600", path, mode)
        key = f.read(KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise SecretStoreError(f"{path} holds {len(key)} bytes, not a {KEY_BYTES}-byte key; "
                               "restore it from backup (a new key cannot open queued data)")
    return key


def _create(path: Path) -> bytes:
    """Write a new key atomically: temp file 0600, fsync, link into place (never overwrite)."""
    key = os.urandom(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process created the key meanwhile
        except FileExistsError:
            return _read(path)
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise SecretStoreError(f"cannot create {path}: {exc.strerror}", errno=exc.errno) from exc
    log.info("created a new terminal key at %s", path)
    return key
