"""The old theme API, kept as a shim over :mod:`screens.design` (where colours, sizes and the
generated style sheet now live) so screens not yet moved keep working."""

from __future__ import annotations

from screens.design import COLOURS, ELDERLY, FONT_FAMILY, QSS_FILE, STANDARD, Tokens, stylesheet
from screens.design import tokens as sizes

Sizes = Tokens

__all__ = ["COLOURS", "ELDERLY", "FONT_FAMILY", "QSS_FILE", "STANDARD", "Sizes", "sizes",
           "stylesheet"]
