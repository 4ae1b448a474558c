"""Screen texts in 简体中文, 繁體中文 and English, from ``config/i18n/<lang>.toml``.

Files are nested TOML tables flattened to dotted keys (``home.title``). Texts use
``{name}`` placeholders. A key missing in one language is a bug the tests catch; at run time
it falls back to zh_CN, then to the key itself, so a resident never sees a crash.
"""

from __future__ import annotations

import logging
import tomllib
from functools import cache
from pathlib import Path

from kiosk.paths import CONFIG_DIR

log = logging.getLogger(__name__)
I18N_DIR = CONFIG_DIR / "i18n"
LANGUAGES = ("zh_CN", "zh_HK", "en")
FALLBACK = "zh_CN"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = str(value)
    return out


@cache
def load_texts(lang: str, directory: Path = I18N_DIR) -> dict[str, str]:
    with open(directory / f"{lang}.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


class Translator:
    """``t("home.title")`` in the current language; switch with :meth:`set_language`."""

    def __init__(self, lang: str = FALLBACK):
        self.lang = lang

    def set_language(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang

    def t(self, key: str, **values: object) -> str:
        text = load_texts(self.lang).get(key)
        if text is None:
            log.warning("missing text %s for %s", key, self.lang)
            text = load_texts(FALLBACK).get(key, key)
        try:
            return text.format(**values) if values else text
        except (KeyError, IndexError, ValueError):
            log.warning("text %s for %s needs other values", key, self.lang)
            return text
