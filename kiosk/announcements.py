"""Announcements for the attract screen, from ``config/announcements.toml`` (data only), or
from a signed announcements update (the same file inside the update's directory)."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from kiosk.i18n import LANGUAGES
from kiosk.paths import CONFIG_DIR

log = logging.getLogger(__name__)
ANNOUNCEMENTS_NAME = "announcements.toml"
ANNOUNCEMENTS_FILE = CONFIG_DIR / ANNOUNCEMENTS_NAME


class AnnouncementsError(Exception):
    """An announcements file that cannot be shown as it is; the message names file and item."""


def _items(path: Path) -> list[object]:
    try:
        with open(path, "rb") as fh:
            items = tomllib.load(fh).get("announcement", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AnnouncementsError(f"{path}: {exc}") from exc
    if not isinstance(items, list):
        raise AnnouncementsError(f"{path}: [[announcement]] must be a list of tables")
    return items


def _complete(item: object) -> bool:
    return isinstance(item, dict) and all(isinstance(item.get(lang), str) for lang in LANGUAGES)


def read_announcements(path: Path) -> list[dict[str, str]]:
    """Every announcement, or AnnouncementsError: an update is taken whole or not at all."""
    items = _items(path)
    for number, item in enumerate(items, 1):
        if not _complete(item):
            raise AnnouncementsError(f"{path}: announcement {number} lacks one of "
                                     f"{', '.join(LANGUAGES)}")
    return [dict(item) for item in items if isinstance(item, dict)]


def load_announcements(path: Path = ANNOUNCEMENTS_FILE) -> list[dict[str, str]]:
    """Each announcement as ``{lang: text}``; a broken file means none, never a crash."""
    try:
        items = _items(path)
    except AnnouncementsError as exc:
        log.error("announcements unusable: %s", exc)
        return []
    good = [dict(a) for a in items if _complete(a) and isinstance(a, dict)]
    if len(good) != len(items):
        log.warning("announcements %s: %d of %d lack a language and are skipped", path,
                    len(items) - len(good), len(items))
    return good
