"""The design system as data: type scale, spacing grid, colours and widget states for the
standard and senior modes, and the Qt style sheet generated from them.

Screens never hard-code a colour or a size: they set a ``role`` property (and the state
properties ``selected`` / ``current``) and read sizes from :func:`tokens`. The goals:
standard text >= 32 px and touch targets >= 96 px; senior text >= 40 px, targets >= 120 px
and wider spacing; text contrast >= 7:1 in every state that carries text.
``theme.qss`` is this module's output, written for reviewers (``python -m screens.design``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

FONT_FAMILY = "WenQuanYi Zen Hei"
QSS_FILE = Path(__file__).with_name("theme.qss")

# One palette for both modes. Pairs used for text are checked >= 7:1 in tests/screens/test_theme.py.
COLOURS: dict[str, str] = {
    "text": "#111111",
    "muted": "#333333",
    "background": "#ffffff",
    "surface": "#eef3f8",
    "border": "#5b6b7b",
    "primary": "#0a4a85",
    "on_primary": "#ffffff",
    "pressed": "#e3ebf4",          # a pressed light button, darker than surface (primary >= 7:1)
    "primary_pressed": "#06325a",  # a pressed primary button
    "focus": "#b35900",
    "selected": "#0a4a85",
    "on_selected": "#ffffff",
    "disabled_bg": "#e4e4e4",
    "disabled_text": "#444444",    # >= 7:1 on disabled_bg; greyed and dashed, never mistaken for live
    "disabled_border": "#9a9a9a",
    "danger": "#8f1414",
    "on_danger": "#ffffff",
    "warn_bg": "#fff4e5",
    "warn_text": "#7a2e00",
    "ok": "#155a2a",
    "header_bg": "#0a4a85",
    "on_header": "#ffffff",
    "bar_bg": "#eef3f8",
    "step_done": "#155a2a",
    "step_todo": "#333333",
    "backdrop": "rgba(0, 0, 0, 170)",
}


@dataclass(frozen=True)
class Tokens:
    """Sizes of one mode, in pixels (and counts where a page needs one)."""

    text_px: int         # body text, buttons
    title_px: int        # screen titles, the clock
    small_px: int        # the smallest text (header details, captions): never below the goal
    target_px: int       # the smallest touch target's height and width
    nav_px: int          # the dominant 返回 / 首页 buttons' height
    gap_px: int          # the spacing grid's unit between widgets
    margin_px: int       # a screen's margin
    radius_px: int
    border_px: int
    focus_px: int
    icon_px: int         # an icon inside a button or tile
    tile_icon_px: int    # a department or service tile's icon
    lang_px: int         # kept for older screens: the width of a language button
    rows_per_page: int   # fallbacks; screens size pages from the space they really have
    tiles_per_page: int


STANDARD = Tokens(text_px=32, title_px=48, small_px=32, target_px=96, nav_px=104, gap_px=24,
                  margin_px=40, radius_px=16, border_px=3, focus_px=6, icon_px=40,
                  tile_icon_px=64, lang_px=150, rows_per_page=8, tiles_per_page=8)
ELDERLY = Tokens(text_px=42, title_px=60, small_px=40, target_px=128, nav_px=136, gap_px=36,
                 margin_px=48, radius_px=20, border_px=4, focus_px=8, icon_px=52,
                 tile_icon_px=84, lang_px=200, rows_per_page=5, tiles_per_page=3)


def tokens(elderly: bool) -> Tokens:
    """The sizes of the standard or the senior mode."""
    return ELDERLY if elderly else STANDARD


def colour(name: str) -> str:
    """One palette colour by name (painters use it instead of a literal)."""
    return COLOURS[name]


# ---- the style sheet, as rules over roles and states ---------------------------------------
# A rule is (selector, {property: value}); values may name tokens and colours as {name}.

Rule = tuple[str, dict[str, str]]

_BUTTON_ROLES = ("primary", "secondary", "danger", "tile", "choice", "chip", "nav", "tool",
                 "switch", "lang", "key", "cell", "step")


def _rules() -> list[Rule]:
    r: list[Rule] = [
        ("QWidget", {"font-family": f'"{FONT_FAMILY}"', "font-size": "{text_px}px",
                     "color": "{text}", "background": "{background}"}),
        # plain containers (exactly QWidget, no subclass) and labels show what lies beneath:
        # each filled its whole area white again over the white page, megapixels per screen
        # switch (labels that sit on a colour name it below: banner, problem, panel …)
        (".QWidget, QLabel", {"background": "transparent"}),
        ("QLabel#title, QLabel[role=\"title\"]",
         {"font-size": "{title_px}px", "font-weight": "bold", "color": "{text}"}),
        ("QLabel#subtitle, QLabel#hint, QLabel[role=\"hint\"]", {"color": "{muted}"}),
        ("QLabel#banner", {"background": "{primary}", "color": "{on_primary}",
                           "font-size": "{title_px}px", "font-weight": "bold",
                           "padding": "{gap_px}px"}),
        ("QLabel#problem, QLabel[role=\"problem\"]",
         {"background": "{warn_bg}", "color": "{warn_text}",
          "border": "{border_px}px solid {warn_text}", "border-radius": "{radius_px}px",
          "padding": "16px"}),
        ("QLabel#announcement", {"background": "{surface}", "border": "2px solid {border}",
                                 "border-radius": "20px", "padding": "{gap_px}px"}),
        ("QLabel#field", {"background": "{background}", "border": "4px solid {primary}",
                          "border-radius": "{radius_px}px", "font-size": "{title_px}px",
                          "padding": "12px"}),
        ("QLabel#tile_text", {"background": "transparent", "color": "{text}",
                              "font-weight": "bold"}),
        ("QLabel[role=\"icon\"]", {"background": "transparent"}),
        # ---- buttons: the normal look, then each role, then the states
        ("QPushButton", {"min-height": "{target_px}px", "min-width": "{target_px}px",
                         "padding": "8px 16px", "border-radius": "{radius_px}px",
                         "border": "{border_px}px solid {primary}",
                         "background": "{background}", "color": "{primary}",
                         "font-size": "{text_px}px", "font-weight": "bold"}),
        ("QPushButton:pressed", {"background": "{pressed}"}),
        ("QPushButton[role=\"primary\"], QPushButton[role=\"nav\"]",
         {"background": "{primary}", "color": "{on_primary}"}),
        ("QPushButton[role=\"primary\"]:pressed, QPushButton[role=\"nav\"]:pressed",
         {"background": "{primary_pressed}"}),
        ("QPushButton[role=\"nav\"]", {"min-height": "{nav_px}px"}),
        ("QPushButton[role=\"secondary\"]", {"background": "{surface}"}),
        ("QPushButton[role=\"danger\"]", {"background": "{danger}", "color": "{on_danger}",
                                          "border-color": "{danger}"}),
        ("QPushButton[role=\"tile\"]", {"text-align": "left", "padding": "16px 28px",
                                        "background": "{surface}", "color": "{text}",
                                        "border": "2px solid {border}"}),
        ("QPushButton[role=\"tile\"]:pressed", {"background": "{pressed}"}),
        ("QPushButton[role=\"tool\"], QPushButton[role=\"switch\"]",
         {"border-width": "2px", "padding": "4px 8px", "background": "{background}"}),
        ("QPushButton[role=\"chip\"]", {"border-width": "2px", "border-radius": "{target_px}px",
                                        "padding": "4px 20px"}),
        ("QPushButton[role=\"lang\"]", {"min-width": "{lang_px}px", "border-width": "2px"}),
        ("QPushButton[role=\"key\"]", {"padding": "0px"}),
        ("QPushButton[role=\"cell\"]", {"text-align": "left", "border-width": "2px",
                                        "color": "{text}", "border-color": "{border}"}),
        # chosen / toggled / selected: filled, so the state is visible without colour vision
        ("QPushButton[role=\"lang\"]:checked, QPushButton[role=\"choice\"]:checked, "
         "QPushButton[role=\"chip\"]:checked, QPushButton[role=\"switch\"]:checked, "
         "QPushButton[selected=\"true\"]",
         {"background": "{selected}", "color": "{on_selected}", "border-color": "{selected}"}),
        ("QPushButton:focus", {"border": "{focus_px}px solid {focus}"}),
        # disabled last, so it wins over every role: grey, dashed, never mistaken for live
        ("QPushButton:disabled",
         {"background": "{disabled_bg}", "color": "{disabled_text}",
          "border": "{border_px}px dashed {disabled_border}"}),
        # ---- the chrome
        ("QWidget#header, QWidget#header QLabel",
         {"background": "{header_bg}", "color": "{on_header}"}),
        ("QWidget#header QLabel#clock", {"font-size": "{title_px}px", "font-weight": "bold"}),
        ("QWidget#header QLabel#hall", {"font-weight": "bold"}),
        ("QWidget#header QLabel[role=\"problem\"]",
         {"background": "{warn_bg}", "color": "{warn_text}", "border": "none",
          "border-radius": "8px", "padding": "2px 8px"}),
        ("QWidget#bottombar", {"background": "{bar_bg}",
                               "border-top": "2px solid {border}"}),
        ("QWidget#steps", {"background": "{surface}", "border-bottom": "2px solid {border}"}),
        ("QWidget#steps QLabel", {"background": "transparent", "color": "{step_todo}"}),
        ("QLabel[role=\"step\"]", {"padding": "4px 8px"}),
        ("QLabel[role=\"step\"][done=\"true\"]", {"color": "{step_done}"}),
        ("QWidget#steps QLabel[role=\"step\"][current=\"true\"]",
         {"background": "{selected}", "color": "{on_selected}", "font-weight": "bold",
          "border-radius": "{radius_px}px"}),
        ("QWidget#topbar", {"background": "{surface}", "border-bottom": "2px solid {border}"}),
        ("QWidget#backdrop", {"background": "{backdrop}"}),
        ("QFrame#overlay", {"background": "{background}", "border": "6px solid {warn_text}",
                            "border-radius": "24px"}),
        ("QFrame#overlay QLabel", {"background": "transparent"}),
        ("QFrame#panel, QFrame[role=\"panel\"]",
         {"background": "{surface}", "border": "2px solid {border}",
          "border-radius": "20px"}),
        ("QFrame#panel QLabel, QFrame[role=\"panel\"] QLabel", {"background": "{surface}"}),
        # ---- tables
        ("QTableWidget", {"font-size": "{text_px}px", "gridline-color": "{border}",
                          "border": "2px solid {border}", "background": "{background}",
                          "alternate-background-color": "{surface}"}),
        ("QTableWidget::item", {"padding": "0px 4px"}),
        ("QHeaderView::section", {"background": "{primary}", "color": "{on_primary}",
                                  "font-weight": "bold", "padding": "8px", "border": "none"}),
    ]
    return r


def _fill(value: str, values: dict[str, str]) -> str:
    return value.format_map(values)


@cache
def stylesheet(elderly: bool) -> str:
    """The Qt style sheet of one mode, generated from the rules, tokens and colours (cached:
    switching mode hands Qt a string it has seen before)."""
    values = {**COLOURS, **{k: str(v) for k, v in asdict(tokens(elderly)).items()}}
    parts = [f"/* generated by screens/design.py ({'senior' if elderly else 'standard'} mode) */"]
    for selector, props in _rules():
        body = "\n".join(f"    {name}: {_fill(value, values)};" for name, value in props.items())
        parts.append(f"{selector} {{\n{body}\n}}")
    return "\n".join(parts) + "\n"


def write_qss(path: Path = QSS_FILE) -> Path:
    """Write both modes' generated style sheets for reviewers (the app never reads the file)."""
    path.write_text("/* GENERATED by `python -m screens.design`: edit screens/design.py. */\n"
                    + stylesheet(False) + "\n" + stylesheet(True), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    print(write_qss())
