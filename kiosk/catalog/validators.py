"""Checks for what a resident types into a service's form, one function per field kind.

The catalog names a kind per input (``id_number``, ``mobile``, ``plate`` …) and may tune it
with options (``min``/``max``, ``pattern``, ``max_days`` …); the messages a resident sees live
in the catalog entry, not here, so a wording fix is a data change.

Values arrive as the on-screen keyboard produced them; :func:`normalise` trims spaces and
upper-cases what is case-insensitive (ID ``x``, plates) before checking and sending.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from drivers.identity import id_number_valid

Options = Mapping[str, Any]

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Ordinary plates: province, issuing-office letter, 5 characters (I and O are never used);
# new-energy plates have 6; the last may be 挂/学/警/港/澳.
_PLATE = re.compile(rf"^[{_PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警港澳]$")
_APPLICATION = re.compile(r"^[A-Z]{2}\d{14}$")  # e.g. GZ20261124000123
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def normalise(kind: str, value: str) -> str:
    """The form we check and send: no spaces; upper case where case carries no meaning."""
    value = (value or "").strip()
    if kind in ("id_number", "plate", "application_number", "mobile", "date", "month",
                "date_range", "month_range", "year", "number"):
        value = value.replace(" ", "")
    if kind in ("id_number", "plate", "application_number"):
        value = value.upper()
    return value


def _date(text: str) -> dt.date | None:
    if not _DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _month(text: str) -> tuple[int, int] | None:
    if not _MONTH.match(text):
        return None
    year, month = int(text[:4]), int(text[5:])
    return (year, month) if 1 <= month <= 12 else None


def _id_number(value: str, opts: Options) -> bool:
    if not id_number_valid(value):
        return False
    try:  # digits 7-14 are the birth date: a check digit alone lets 19991399 through
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return True


def _mobile(value: str, opts: Options) -> bool:
    return bool(_MOBILE.match(value))


def _plate(value: str, opts: Options) -> bool:
    return bool(_PLATE.match(value))


def _application_number(value: str, opts: Options) -> bool:
    pattern = opts.get("pattern")
    return bool(re.fullmatch(pattern, value) if pattern else _APPLICATION.match(value))


def _date_kind(value: str, opts: Options) -> bool:
    day = _date(value)
    if day is None:
        return False
    if opts.get("past_only") and day > dt.date.today():
        return False
    if opts.get("future_only") and day < dt.date.today():
        return False
    return True


def _date_range(value: str, opts: Options) -> bool:
    """``YYYY-MM-DD/YYYY-MM-DD`` (ISO 8601 interval), start ≤ end, at most ``max_days``."""
    start_text, sep, end_text = value.partition("/")
    start, end = _date(start_text), _date(end_text)
    if not sep or start is None or end is None or start > end:
        return False
    max_days = opts.get("max_days")
    return max_days is None or (end - start).days + 1 <= int(max_days)


def _month_range(value: str, opts: Options) -> bool:
    """``YYYY-MM/YYYY-MM``, start ≤ end, at most ``max_months`` months inclusive."""
    start_text, sep, end_text = value.partition("/")
    start, end = _month(start_text), _month(end_text)
    if not sep or start is None or end is None or start > end:
        return False
    months = (end[0] - start[0]) * 12 + end[1] - start[1] + 1
    max_months = opts.get("max_months")
    return max_months is None or months <= int(max_months)


def _month_kind(value: str, opts: Options) -> bool:
    return _month(value) is not None


def _year(value: str, opts: Options) -> bool:
    if not (len(value) == 4 and value.isdigit()):
        return False
    low = int(opts.get("min", 1990))
    high = int(opts.get("max", dt.date.today().year))
    return low <= int(value) <= high


def _number(value: str, opts: Options) -> bool:
    if not value.isdigit():
        return False
    return int(opts.get("min", 0)) <= int(value) <= int(opts.get("max", 10**12))


def _text(value: str, opts: Options) -> bool:
    if not int(opts.get("min_len", 1)) <= len(value) <= int(opts.get("max_len", 200)):
        return False
    pattern = opts.get("pattern")
    return bool(re.fullmatch(pattern, value)) if pattern else True


def _choice(value: str, opts: Options) -> bool:
    return value in {o["value"] for o in opts.get("options", [])}


CHECKS: dict[str, Callable[[str, Options], bool]] = {
    "id_number": _id_number,
    "mobile": _mobile,
    "plate": _plate,
    "application_number": _application_number,
    "date": _date_kind,
    "date_range": _date_range,
    "month": _month_kind,
    "month_range": _month_range,
    "year": _year,
    "number": _number,
    "text": _text,
    "choice": _choice,
}
KINDS = tuple(CHECKS)


def check(kind: str, value: str, options: Options | None = None) -> bool:
    """True when an already-normalised ``value`` is acceptable for a field of ``kind``."""
    try:
        return CHECKS[kind](value, options or {})
    except (ValueError, re.error):
        return False
