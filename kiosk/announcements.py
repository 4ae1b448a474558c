"""Announcements for the attract screen, from ``config/announcements.toml`` (data only)."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from kiosk.i18n import LANGUAGES
from kiosk.paths import CONFIG_DIR

log = logging.getLogger(__name__)
ANNOUNCEMENTS_FILE = CONFIG_DIR / "announcements.toml"


def load_announcements(path: Path = ANNOUNCEMENTS_FILE) -> list[dict[str, str]]:
    """Each announcement as ``{lang: text}``; a broken file means none, never a crash."""
    try:
        with open(path, "rb") as fh:
            items = tomllib.load(fh).get("announcement", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.error("announcements %s unusable: %s", path, exc)
        return []
    good = [a for a in items if isinstance(a, dict) and all(isinstance(a.get(lang), str)
                                                            for lang in LANGUAGES)]
    if len(good) != len(items):
        log.warning("announcements %s: %d of %d lack a language and are skipped", path,
                    len(items) - len(good), len(items))
    return good
