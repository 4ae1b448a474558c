"""On-screen keypads fit for each kind of field: digits for ID and phone numbers, letters and
digits for plates and application numbers. No system keyboard ever appears."""

from __future__ import annotations

import math
from collections.abc import Callable

from screens.qt import QEvent, QObject, QRect, QSize, QSizePolicy, Qt, QWidget
from screens.widgets import button

BACKSPACE, CLEAR = "⌫", "clear"
PAGE = "⇄"  # the paged letter pad's turn key (never sent to the field)
PROVINCES = "粤京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵青藏川宁琼"

LAYOUTS: dict[str, list[str]] = {
    "digits": ["123", "456", "789", "C0⌫"],
    "id": ["123", "456", "789", "X0⌫"],
    # Alphabetical, seven across: large keys even in senior mode, and no QWERTY to know.
    "alnum": ["1234567", "890ABCD", "EFGHIJK", "LMNOPQR", "STUVWXY", "Z⌫"],
    "province": [PROVINCES[i:i + 7] for i in range(0, len(PROVINCES), 7)],
    # Pinyin letters only, in the same alphabetical order (ü is typed as v, as on any IME).
    "letters": ["ABCDEFG", "HIJKLMN", "OPQRSTU", "VWXYZ⌫"],
    "letters_wide": ["ABCDEFGHI", "JKLMNOPQR", "STUVWXYZ⌫"],  # short landscape panels
    # a short senior panel (1280×1024, 1366×768): half the alphabet at a time, senior-sized,
    # and a key that turns to the other half (A–M ⇄ N–Z)
    "letters_paged": ["ABCDE", "FGHIJ", "KLMNO", "PQRST", "UVWXY", "Z⌫" + PAGE],
}
PAGED_HALVES = ("ABCDEFGHIJKLM", "NOPQRSTUVWXYZ")
# Which keypad a field kind gets (choice fields get buttons, not a keypad).
FOR_KIND = {"id_number": "id", "mobile": "digits", "year": "digits", "number": "digits",
            "date": "digits", "month": "digits", "date_range": "digits",
            "month_range": "digits", "application_number": "alnum", "plate": "alnum",
            "text": "alnum"}


class Reflow(QWidget):
    """Its visible child widgets in a grid whose column count follows the space it is given:
    ``columns`` across when the rows fit the height, else more columns (fewer rows) as long
    as each cell stays as wide as its widest widget needs — keys and choices never shrink
    below the mode's target, and no row is cut or overlapped on a short panel."""

    def __init__(self, columns: int = 1, parent: QWidget | None = None, *, gap: int = 6):
        super().__init__(parent)
        self.columns = columns
        self.gap = gap
        self.items: list[QWidget] = []
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)

    def add(self, widget: QWidget) -> QWidget:
        widget.setParent(self)
        self.items.append(widget)
        self.relayout()
        return widget

    def take(self, widget: QWidget) -> None:
        """Stop placing ``widget`` (it moves to another grid or layout)."""
        if widget in self.items:
            self.items.remove(widget)
            self.relayout()

    def shown(self) -> list[QWidget]:
        return [w for w in self.items if not w.isHidden()]

    def _cell(self) -> QSize:
        widths = [max(w.minimumSize().width(), w.minimumSizeHint().width()) for w in self.shown()]
        heights = [max(w.minimumSize().height(), w.minimumSizeHint().height())
                   for w in self.shown()]
        return QSize(max(widths, default=1), max(heights, default=1))

    def _height(self, rows: int, cell: QSize) -> int:
        return rows * cell.height() + max(rows - 1, 0) * self.gap

    def grid(self, width: int, height: int | None = None) -> tuple[int, int]:
        """(columns, rows) for this width and, when given, this height."""
        count = len(self.shown())
        if not count:
            return 1, 0
        cell = self._cell()
        widest = max(1, min(count, (width + self.gap) // (cell.width() + self.gap)))
        columns = min(self.columns, widest, count)
        if height is not None:
            while columns < widest and self._height(math.ceil(count / columns), cell) > height:
                columns += 1
        return columns, math.ceil(count / columns)

    def width_for_height(self, height: int) -> int:
        """How wide the grid must be for its rows to fit ``height`` (placed beside others)."""
        count = len(self.shown())
        cell = self._cell()
        rows = max(1, (height + self.gap) // (cell.height() + self.gap))
        columns = max(self.columns if rows * self.columns >= count else 1,
                      math.ceil(count / rows))
        return columns * (cell.width() + self.gap) - self.gap

    def _width_now(self) -> int:
        return self.width() if self.width() > 1 else self.window().width()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        cell = self._cell()
        _, rows = self.grid(self._width_now())
        return QSize(cell.width() * self.columns, self._height(rows, cell))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        cell = self._cell()
        columns, rows = self.grid(self._width_now(), 0)
        return QSize(cell.width(), self._height(rows, cell))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.relayout()

    def relayout(self) -> None:
        shown = self.shown()
        if not shown:
            return
        cell = self._cell()
        columns, rows = self.grid(self.width(), self.height())
        width = (self.width() - self.gap * (columns - 1)) // columns
        spare = max(0, self.height() - self._height(rows, cell))
        height = cell.height() + min(spare // max(rows, 1), cell.height() // 4)
        for i, widget in enumerate(shown):
            r, c = divmod(i, columns)
            widget.setGeometry(QRect(c * (width + self.gap), r * (height + self.gap), width, height))
        self.updateGeometry()


class Keypad(Reflow):
    """A grid of large keys; each press calls ``on_key`` with the character, ⌫ or clear.
    Its rows reflow to more columns where the panel is short (1920×1080, 1366×768)."""

    def __init__(self, layout: str, on_key: Callable[[str], None], parent: QWidget | None = None,
                 *, clear_text: str = "C"):
        super().__init__(len(LAYOUTS[layout][0]), parent, gap=4)  # seven senior keys in 1080
        self.layout_name = layout
        self.half = 0
        self.keys: dict[str, QWidget] = {}
        for row in LAYOUTS[layout]:
            for key in row:
                value = CLEAR if (key == "C" and layout == "digits") else key
                text = clear_text if value == CLEAR else key
                action = self.turn if value == PAGE else (lambda v=value: on_key(v))
                self.keys[value] = self.add(button(text, on_click=action, role="key",
                                                   name=f"key_{value}"))
        if layout == "letters_paged":
            self._show_half()

    def turn(self) -> None:
        """The paged pad shows the other half of the alphabet."""
        self.half = 1 - self.half
        self._show_half()

    def _show_half(self) -> None:
        shown, other = PAGED_HALVES[self.half], PAGED_HALVES[1 - self.half]
        for letter, key in self.keys.items():
            if letter.isalpha() and len(letter) == 1:
                key.setHidden(letter not in shown)
        page = self.keys[PAGE]
        page.setText(f"{other[0]}–{other[-1]}")
        page.setAccessibleName(f"{other[0]}–{other[-1]}")
        self.relayout()

    def set_clear_text(self, text: str) -> None:
        """The clear key speaks the resident's language: its word changes, the keys stay
        (a new pad per language cost a switch milliseconds of widgets made and dropped)."""
        for key in self.items:
            if key.objectName() == f"key_{CLEAR}" and key.text() != text:
                key.setText(text)
                self.relayout()


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


def max_length(kind: str) -> int | None:
    """How many characters a field of this kind takes at most (None: no limit of its own)."""
    return _MAX_LEN.get(kind)


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


_KEY_PRESS = QEvent.KeyPress
_FOCUS_IN = QEvent.FocusIn
_SPEAKER_WATCHES = frozenset({_KEY_PRESS, _FOCUS_IN, QEvent.MouseButtonPress, QEvent.TouchBegin})


class FocusSpeaker(QObject):
    """Says the name of each control a keypad user moves to (Tab, arrows): a blind or
    low-vision resident hears where they are. Installed on the application; it speaks only
    while the last input came from keys, so touch users hear the screens' guidance alone."""

    _SILENT = (Qt.MouseFocusReason, Qt.ActiveWindowFocusReason, Qt.PopupFocusReason)

    def __init__(self, say: Callable[[str], None], parent: QObject | None = None):
        super().__init__(parent)
        self._say = say
        self.keyboard = False  # did the resident's last input come from keys?

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        # every event of the application passes here, hundreds per screen switch: the kinds
        # are compared with module constants (a ``QEvent.X`` lookup costs a microsecond)
        kind = event.type()
        if kind not in _SPEAKER_WATCHES:
            return False
        if kind is _KEY_PRESS:
            self.keyboard = True
        elif kind is not _FOCUS_IN:
            self.keyboard = False
        elif (self.keyboard and isinstance(watched, QWidget)
              and event.reason() not in self._SILENT):
            text = spoken_name(watched)
            if text:
                self._say(text)
        return False


def spoken_name(widget: QWidget) -> str:
    """What a control is called aloud: its accessible name, else its text."""
    name = widget.accessibleName().strip()
    if not name:
        text = getattr(widget, "text", None)
        name = text().strip() if callable(text) else ""
    return name
