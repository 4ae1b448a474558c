"""Colours and sizes for the standard and senior modes, applied to one QSS file.

Sizes follow the accessibility goals: standard text >= 32 px and touch targets >= 96 px;
senior mode text >= 40 px and targets >= 120 px. Colours keep text contrast >= 7:1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

QSS_FILE = Path(__file__).with_name("theme.qss")
FONT_FAMILY = "WenQuanYi Zen Hei"

COLOURS = {
    "text": "#111111",
    "muted": "#333333",
    "background": "#ffffff",
    "surface": "#eef3f8",
    "border": "#5b6b7b",
    "primary": "#0a4a85",
    "on_primary": "#ffffff",
    "focus": "#b35900",
    "warn_bg": "#fff4e5",
    "warn_text": "#7a2e00",
}


@dataclass(frozen=True)
class Sizes:
    text_px: int
    title_px: int
    target_px: int
    lang_px: int
    rows_per_page: int
    tiles_per_page: int


STANDARD = Sizes(text_px=32, title_px=48, target_px=96, lang_px=150, rows_per_page=8,
                 tiles_per_page=8)
ELDERLY = Sizes(text_px=42, title_px=60, target_px=128, lang_px=200, rows_per_page=5,
                tiles_per_page=3)


def sizes(elderly: bool) -> Sizes:
    return ELDERLY if elderly else STANDARD


@cache
def stylesheet(elderly: bool) -> str:
    qss = QSS_FILE.read_text(encoding="utf-8")
    values = {**COLOURS, **{k: str(v) for k, v in asdict(sizes(elderly)).items()}}
    for name, value in values.items():
        qss = qss.replace(f"@{name}@", value)
    return qss
