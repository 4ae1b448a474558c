"""Logging: a named logger per subsystem, JSON lines to a rotating file, and a filter that
masks personal data in every record before any handler sees it.

Masking works two ways, because neither alone is enough:

- **By pattern**: resident ID numbers (18 digits, or 15 for first-generation cards; ``X``;
  glued to letters, or spaced/dashed into groups) keep their first 6 and last 4 characters;
  mobile numbers (``+86``/``0086``, spaced or dashed) keep 3 + 4 digits; permit numbers
  (往来港澳通行证 ``C``/``W`` + 8 digits, 回乡证 ``H``/``M`` + 8 or 10 digits, and any value
  logged after a pass/permit keyword, e.g. a 台胞证 number) keep their letter and last 2.
- **By value**: the session registers the resident's name, English name, address and numbers
  (:func:`remember_sensitive`); these are masked wherever they appear (first character kept),
  also inside ``\\uXXXX`` (``json.dumps``) and ``\\xNN`` (bytes repr) escapes. A name logged
  *after* the session ended (a late central reply, the outbox syncing) must still be masked,
  so an ended session's values stay registered for :data:`RETAIN_SECONDS`, for at most
  :data:`RETAIN_SESSIONS` ended sessions, then are wiped (checked on every record).

What is kept is not the plaintext: each value is held as a keyed BLAKE2b digest (a random key
per process), with an index of first character → lengths to know which windows of a line
to hash. That index reveals what a masked log line shows anyway (first character, length).
Short names are brute-forceable from digest and key, so this bounds, not removes, exposure.

The filter sits on the handlers, so drivers' and libraries' records are masked too. Log
files and their directory are created 0600 / 0700 whatever the process umask.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import logging.handlers
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from drivers.identity import mask_id_number, mask_name

RETAIN_SECONDS = 600.0
RETAIN_SESSIONS = 4

# 15 or 18 digits (last may be X), optionally grouped with single spaces or dashes; the
# candidate is checked for a plausible birth date before it is masked (see _id_sub).
_ID_RE = re.compile(r"(?<!\d)\d(?:[ -]?\d){13,16}[ -]?[\dXx](?!\d)")
# starts at the literal 1 (fast); "+86"/"0086"/"86" glued in front stays as it is
_PHONE_RE = re.compile(r"(?:(?<!\d)|(?<=(?<!\d)86)|(?<=(?<!\d)0086))"
                       r"(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
# 往来港澳通行证 C/W + 8 digits; 港澳居民来往内地通行证 (回乡证) H/M + 8 digits (+ 2 issue digits)
_HK_MO_PASS_RE = re.compile(r"(?<![A-Za-z0-9])([CWHM])(\d{8}(?:\d{2})?)(?!\d)")
# any number right after a permit keyword or field name: 台胞证 12345678, pass_number='...'
_PASS_CONTEXT_RE = re.compile(
    r"((?:台胞证|通行证|回乡证|居住证|permit|pass(?:_?number|port)?)['\"]?\s*(?:号码?)?\s*[:=：]?"
    r"\s*['\"]?)([A-Za-z]?\d{7,10}[A-Za-z]?|[A-Za-z]\d{6,10})(?![0-9A-Za-z])",
    re.IGNORECASE)
_U_ESCAPES_RE = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8})+")
_X_ESCAPES_RE = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _plausible_date(year: int, month: int, day: int) -> bool:
    return 1870 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31


def _id_sub(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = raw.replace(" ", "").replace("-", "")
    body = digits[:-1]
    if len(digits) == 18 and body.isdigit() and digits[0] != "0":
        if _plausible_date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14])):
            return mask_id_number(digits.upper())
    elif len(digits) == 15 and digits.isdigit() and digits[0] != "0":
        if _plausible_date(1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12])):
            return mask_id_number(digits)
    return raw


def _mask_pass(number: str) -> str:
    return number[0] + "*" * (len(number) - 3) + number[-2:]


def _digest(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), key=_KEY,
                           digest_size=16).digest()


def _normal(text: str) -> str:
    """Case-fold ASCII only, so that lengths (and so positions) stay as they are."""
    return text.translate(_ASCII_LOWER)


_KEY = os.urandom(32)


@dataclass
class _Owner:
    """One session's registered values, as digests; ``ended`` starts the retention clock."""

    digests: set[bytes] = field(default_factory=set)
    index: dict[str, set[int]] = field(default_factory=dict)  # first char -> lengths
    ended: float | None = None


class _SensitiveValues:
    """The values to mask by value, grouped by owner (a session id; "" for unowned)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._owners: dict[str, _Owner] = {}
        self._digests: frozenset[bytes] = frozenset()
        self._index: dict[str, tuple[int, ...]] = {}
        self._starts: re.Pattern[str] = re.compile("(?!)")  # where a remembered value may begin

    def add(self, owner: str, values: tuple[str | None, ...]) -> None:
        with self._lock:
            group = self._owners.setdefault(owner, _Owner())
            group.ended = None
            for value in values:
                value = _normal(value.strip()) if value else ""
                if len(value) < 2:
                    continue
                group.digests.add(_digest(value))
                group.index.setdefault(value[0], set()).add(len(value))
            self._rebuild()
            self._expire()  # a new visit is a good moment to wipe the old ones

    def discard(self, values: tuple[str | None, ...]) -> None:
        with self._lock:
            gone = {_digest(_normal(v.strip())) for v in values if v}
            for group in self._owners.values():
                group.digests -= gone
            self._rebuild()

    def release(self, owner: str) -> None:
        """The owner's session ended: keep its values for the retention time only."""
        with self._lock:
            group = self._owners.get(owner)
            if group is not None and group.ended is None:
                group.ended = self.clock()
            self._expire()

    def clear(self) -> None:
        with self._lock:
            self._owners.clear()
            self._rebuild()

    def _expire(self) -> None:
        now = self.clock()
        ended = sorted((g.ended, o) for o, g in self._owners.items() if g.ended is not None)
        drop = {o for t, o in ended if now - t >= RETAIN_SECONDS}
        drop.update(o for _, o in ended[:max(0, len(ended) - RETAIN_SESSIONS)])
        if drop:
            for owner in drop:
                del self._owners[owner]
            self._rebuild()

    def _rebuild(self) -> None:
        digests: set[bytes] = set()
        index: dict[str, set[int]] = {}
        for group in self._owners.values():
            digests |= group.digests
            for first, lengths in group.index.items():
                index.setdefault(first, set()).update(lengths)
        self._digests = frozenset(digests)
        self._index = {k: tuple(sorted(v, reverse=True)) for k, v in index.items()}
        self._starts = re.compile("[" + "".join(re.escape(k) for k in sorted(index)) + "]"
                                  if index else "(?!)")

    def mask(self, text: str) -> str:
        with self._lock:
            if any(g.ended is not None for g in self._owners.values()):
                self._expire()
            digests, index, starts = self._digests, self._index, self._starts
        if not index:
            return text
        norm = _normal(text)
        out: list[str] = []
        n = 0
        for start in starts.finditer(norm):
            i = start.start()
            if i < n or (norm[i].isdigit() and i and norm[i - 1].isdigit()):
                continue
            for length in index[norm[i]]:
                window = norm[i:i + length]
                if (len(window) == length and _digest(window) in digests
                        and _bounded(norm, i, length)):
                    out.append(text[n:i])
                    out.append(_mask_value(text[i:i + length]))
                    n = i + length
                    break
        out.append(text[n:])
        return "".join(out)


def _bounded(norm: str, start: int, length: int) -> bool:
    """ASCII words (an English name) match whole only; CJK names and digits match anywhere
    (Chinese has no spaces; IDs are glued to field names in the wild)."""
    end = start + length
    if norm[start].isascii() and norm[start].isalpha():
        if start and norm[start - 1].isascii() and norm[start - 1].isalpha():
            return False
        if end < len(norm) and norm[end].isascii() and norm[end].isalpha():
            return False
    if norm[end - 1].isdigit() and end < len(norm) and norm[end].isdigit():
        return False
    return True


def _mask_value(value: str) -> str:
    if value[:-1].isdigit():
        if len(value) == 11:
            return f"{value[:3]}****{value[-4:]}"
        return mask_id_number(value)
    return mask_name(value)


_values = _SensitiveValues()


def remember_sensitive(*values: str | None, owner: str = "") -> None:
    """Mask these strings (a resident's name, address, numbers) wherever they appear in a log
    record, until :func:`release_sensitive` (``owner``) plus the retention time."""
    _values.add(owner, values)


def release_sensitive(owner: str) -> None:
    """``owner``'s session ended: its values stay masked for a while, then are wiped."""
    _values.release(owner)


def forget_sensitive(*values: str | None) -> None:
    """Stop masking these values now (tests; a resident's data is released, not forgotten)."""
    _values.discard(values)


def _mask_escaped(text: str, pattern: re.Pattern[str],
                  decode: Callable[[str], str]) -> str:
    """Decode escape runs, mask them, and keep the decoded form only where it changed."""

    def sub(match: re.Match[str]) -> str:
        run = match.group(0)
        try:
            decoded = decode(run)
        except (ValueError, UnicodeError):
            return run
        masked = _values.mask(decoded)
        return masked if masked != decoded else run

    return pattern.sub(sub, text)


def _decode_u(run: str) -> str:
    if "\\U" in run:
        return run.encode("ascii").decode("unicode_escape")
    decoded: str = json.loads(f'"{run}"')  # joins surrogate pairs, as json.dumps wrote them
    return decoded


def _decode_x(run: str) -> str:
    return bytes.fromhex(run.replace("\\x", "")).decode("utf-8")


def mask_text(text: str) -> str:
    """Mask ID, mobile and permit numbers and remembered values in ``text``."""
    if "\\u" in text or "\\U" in text:
        text = _mask_escaped(text, _U_ESCAPES_RE, _decode_u)
    if "\\x" in text:
        text = _mask_escaped(text, _X_ESCAPES_RE, _decode_x)
    text = _values.mask(text)
    text = _ID_RE.sub(_id_sub, text)
    text = _PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _HK_MO_PASS_RE.sub(lambda m: _mask_pass(m.group(0)), text)
    text = _PASS_CONTEXT_RE.sub(lambda m: m.group(1) + _mask_pass(m.group(2)), text)
    return text


class MaskingFilter(logging.Filter):
    """Rewrites each record's message (args merged) and exception text, masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
            + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by this user only: 0700 whatever the umask; an
    existing directory we own is tightened too."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except PermissionError:  # a directory packaging made for us; its owner decides
        pass
    return path


def open_private(path: Path, mode: str = "wb", encoding: str | None = None) -> IO:
    """Open ``path`` for writing as a 0600 file whatever the umask (created so, never
    widened later); ``mode`` "w"/"a" with or without "b"."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    flags |= os.O_APPEND if "a" in mode else os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older file from before this rule
    except OSError:
        pass
    return os.fdopen(fd, mode, encoding=encoding)


def write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to a 0600 file (screenshots, receipts: they show a resident)."""
    with open_private(path, "wb") as out:
        out.write(data)
    return path


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file whose every generation is created 0600 (rotation renames keep it)."""

    def _open(self) -> io.TextIOWrapper:
        stream = open_private(Path(self.baseFilename), "a", encoding=self.encoding)
        assert isinstance(stream, io.TextIOWrapper)
        return stream


def setup_logging(log_dir: Path | None, level: str = "INFO", max_bytes: int = 5_000_000,
                  backups: int = 5, stderr: bool = True) -> None:
    """Install the masking handlers on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_kiosk", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    handlers: list[logging.Handler] = []
    if log_dir is not None:
        private_dir(log_dir)
        file_handler = PrivateRotatingFileHandler(
            log_dir / "kiosk.jsonl", maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        file_handler.setFormatter(JsonLineFormatter())
        handlers.append(file_handler)
    if stderr:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        stream.setLevel(logging.WARNING)
        handlers.append(stream)
    for handler in handlers:
        handler.addFilter(MaskingFilter())
        handler._kiosk = True  # type: ignore[attr-defined]
        root.addHandler(handler)
