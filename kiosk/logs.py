"""Logging: a named logger per subsystem, JSON lines to a rotating file, and a filter that
masks personal data in every record before any handler sees it.

Masking rules: ID / permit numbers keep their first 6 and last 4 characters, mobile numbers
keep 3 + 4 digits, and names the current session registered (:func:`remember_sensitive`) keep
their first character. The filter sits on the handlers, so drivers' and libraries' records
are masked too.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import threading
import time
from pathlib import Path

from drivers.identity import mask_id_number, mask_name

_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{7,8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")

_sensitive: set[str] = set()
_sensitive_lock = threading.Lock()


def remember_sensitive(*values: str | None) -> None:
    """Mask these strings (a resident's name, address) wherever they appear in a log record."""
    with _sensitive_lock:
        _sensitive.update(v for v in values if v and len(v) >= 2)


def forget_sensitive(*values: str | None) -> None:
    with _sensitive_lock:
        for v in values:
            _sensitive.discard(v)


def mask_text(text: str) -> str:
    """Mask ID numbers, mobile numbers and remembered names in ``text``."""
    text = _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    with _sensitive_lock:
        names = sorted(_sensitive, key=len, reverse=True)
    for name in names:
        if name in text:
            text = text.replace(name, mask_name(name))
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
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
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
