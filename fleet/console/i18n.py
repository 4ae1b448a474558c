"""The console's two languages: 简体中文 (default) and English, strings in ``i18n/*.toml``."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LANGUAGES = ("zh_CN", "en")
DEFAULT = "zh_CN"
_DIR = Path(__file__).with_name("i18n")


@cache
def strings(lang: str) -> dict[str, str]:
    with (_DIR / f"{lang}.toml").open("rb") as f:
        return {k: str(v) for k, v in tomllib.load(f).items()}


class Translator:
    """``t("key", n=3)``: the string in this language, falling back to the key itself (a
    missing string shows as its key rather than breaking the page)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self._strings = strings(self.lang)

    def __call__(self, key: str, **values: object) -> str:
        text = self._strings.get(key, key)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._strings

    def ago(self, seconds: float | None) -> str:
        """"3 分钟前" / "3 min ago"; "从未" / "never" for a terminal that never spoke."""
        return self("never") if seconds is None else self("ago", d=self.duration(seconds))

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return self("never")
        s = max(0, int(seconds))
        if s < 120:
            return self("seconds", n=s)
        if s < 2 * 3600:
            return self("minutes", n=s // 60)
        if s < 2 * 86400:
            return self("hours", n=s // 3600)
        return self("days", n=s // 86400)
