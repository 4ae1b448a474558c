"""The theme meets the accessibility goals: text contrast >= 7:1, large text and targets."""

import re

import pytest

from screens.design import QSS_FILE, write_qss
from screens.theme import COLOURS, ELDERLY, STANDARD, stylesheet


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# every (text, background) pair the stylesheet uses
PAIRS = [("text", "background"), ("muted", "background"), ("text", "surface"),
         ("primary", "background"), ("primary", "surface"), ("on_primary", "primary"),
         ("warn_text", "warn_bg"), ("disabled_text", "disabled_bg"), ("on_selected", "selected"),
         ("on_danger", "danger"), ("on_header", "header_bg"), ("primary", "pressed"),
         ("on_primary", "primary_pressed"), ("step_done", "surface"), ("step_todo", "surface"),
         ("text", "pressed")]


@pytest.mark.parametrize("fg, bg", PAIRS)
def test_text_contrast_is_at_least_7_to_1(fg, bg):
    assert contrast(COLOURS[fg], COLOURS[bg]) >= 7.0


def test_sizes_meet_the_goals():
    assert STANDARD.text_px >= 32 and STANDARD.target_px >= 96
    assert ELDERLY.text_px >= 40 and ELDERLY.target_px >= 120
    assert ELDERLY.rows_per_page < STANDARD.rows_per_page


@pytest.mark.parametrize("elderly", [False, True])
def test_stylesheet_is_fully_filled_in(elderly):
    qss = stylesheet(elderly)
    assert "@" not in qss
    sizes = [int(px) for px in re.findall(r"font-size: (\d+)px", qss)]
    assert min(sizes) >= (40 if elderly else 32)


def test_every_state_has_a_rule_in_both_modes():
    """Pressed, focus, disabled and selected are styled (a disabled "上一页" must not look live)."""
    for elderly in (False, True):
        qss = stylesheet(elderly)
        for state in ("QPushButton:pressed", "QPushButton:focus", "QPushButton:disabled",
                      "QPushButton[selected=\"true\"]", 'QPushButton[role="choice"]:checked'):
            assert state in qss, state


def test_the_shipped_qss_file_is_the_generated_one(tmp_path):
    """screens/theme.qss is for reviewers: it must say what the app really applies."""
    assert write_qss(tmp_path / "theme.qss").read_text(encoding="utf-8") == \
        QSS_FILE.read_text(encoding="utf-8")
