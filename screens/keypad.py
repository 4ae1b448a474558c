"""On-screen keypads fit for each kind of field: digits for ID and phone numbers, letters and
digits for plates and application numbers. No system keyboard ever appears."""

from __future__ import annotations

from collections.abc import Callable

from screens.qt import QGridLayout, QWidget
from screens.widgets import button

BACKSPACE, CLEAR = "⌫", "clear"
PROVINCES = "粤京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵青藏川宁琼"

LAYOUTS: dict[str, list[str]] = {
    "digits": ["123", "456", "789", "C0⌫"],
    "id": ["123", "456", "789", "X0⌫"],
    # Alphabetical, seven across: large keys even in senior mode, and no QWERTY to know.
    "alnum": ["1234567", "890ABCD", "EFGHIJK", "LMNOPQR", "STUVWXY", "Z⌫"],
    "province": [PROVINCES[i:i + 7] for i in range(0, len(PROVINCES), 7)],
}
# Which keypad a field kind gets (choice fields get buttons, not a keypad).
FOR_KIND = {"id_number": "id", "mobile": "digits", "year": "digits", "number": "digits",
            "date": "digits", "month": "digits", "date_range": "digits",
            "month_range": "digits", "application_number": "alnum", "plate": "alnum",
            "text": "alnum"}


class Keypad(QWidget):
    """A grid of large keys; each press calls ``on_key`` with the character, ⌫ or clear."""

    def __init__(self, layout: str, on_key: Callable[[str], None], parent: QWidget | None = None,
                 *, clear_text: str = "C"):
        super().__init__(parent)
        self.layout_name = layout
        grid = QGridLayout(self)
        grid.setSpacing(6)
        grid.setContentsMargins(0, 0, 0, 0)
        for r, row in enumerate(LAYOUTS[layout]):
            for c, key in enumerate(row):
                value = CLEAR if (key == "C" and layout == "digits") else key
                text = clear_text if value == CLEAR else key
                btn = button(text, on_click=lambda v=value: on_key(v), role="key",
                             name=f"key_{value}")
                grid.addWidget(btn, r, c)


def apply_key(text: str, key: str, kind: str) -> str:
    """The field's new text after a key, with the separators dates and ranges need."""
    if key == BACKSPACE:
        raw = digits_only(text) if kind in _MASKS else text
        return format_as(raw[:-1], kind)
    if key == CLEAR:
        return ""
    if kind in _MASKS:
        return format_as(digits_only(text) + key, kind)
    limit = _MAX_LEN.get(kind)
    if limit is not None and len(text) >= limit:
        return text
    return text + key


_MASKS = {"date": "####-##-##", "month": "####-##", "month_range": "####-##/####-##",
          "date_range": "####-##-##/####-##-##"}
_MAX_LEN = {"id_number": 18, "mobile": 11, "year": 4, "plate": 8, "application_number": 16,
            "number": 9, "text": 200}


def digits_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def format_as(digits: str, kind: str) -> str:
    """Lay digits into the kind's mask: 20261124 → 2026-11-24."""
    mask = _MASKS.get(kind)
    if mask is None:
        return digits
    out, it = [], iter(digits)
    for ch in mask:
        if ch == "#":
            nxt = next(it, None)
            if nxt is None:
                break
            out.append(nxt)
        elif len(out) < len(mask) and len(digits) > sum(1 for x in out if x.isdigit()):
            out.append(ch)
    return "".join(out)


def with_mask(text: str, kind: str) -> str:
    """What is typed so far followed by the rest of the mask as blanks: 2026-1_-__."""
    mask = _MASKS.get(kind)
    if mask is None:
        return text
    return text + mask[len(text):].replace("#", "_")
