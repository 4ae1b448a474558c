"""Chinese text entry on the touch screen: a handwriting pad (write a character with a finger,
pick it from the candidates) and a pinyin pad (tap letters, pick the word), side by side in
one :class:`ChinesePad` that fields taking Chinese get instead of the A–Z keypad.

Why handwriting first: a 75-year-old Cantonese speaker may not know pinyin, but writes
characters. Recognition and candidates come from the Qt-free :mod:`kiosk.ime`; zh_HK shows
Traditional candidates. When the recognizer or OpenCC is missing the pad says so and pinyin
still works: text entry degrades, it never takes the screen down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from kiosk.i18n import Translator
from kiosk.ime import ImeError, to_script
from kiosk.ime.handwriting import shared_recognizer
from kiosk.ime.pinyin import MAX_PINYIN, shared_dictionary
from screens.design import colour, tokens
from screens.keypad import BACKSPACE, Keypad
from screens.qt import (
    QBoxLayout,
    QColor,
    QGridLayout,
    QHBoxLayout,
    QPainter,
    QPen,
    QPointF,
    QRectF,
    QSizePolicy,
    Qt,
    QVBoxLayout,
    QWidget,
)
from screens.widgets import button, clear_layout, label

log = logging.getLogger(__name__)

OnText = Callable[[str], None]
OnKey = Callable[[str], None]


class HandwritingCanvas(QWidget):
    """The box a resident writes one character in; strokes are kept in widget coordinates."""

    def __init__(self, on_stroke: Callable[[], None], parent: QWidget | None = None,
                 *, elderly: bool = False, hint: str = ""):
        super().__init__(parent)
        self.hint = hint  # drawn faintly in the empty box: no extra line of text needed
        self.hint_px = tokens(elderly).text_px  # body size, whatever the box's shape
        self.setObjectName("handwriting_canvas")
        self.setProperty("role", "canvas")
        self.setAttribute(Qt.WA_StyledBackground, False)
        self.setAttribute(Qt.WA_AcceptTouchEvents, False)  # Qt turns touches into mouse events
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        side = 320 if elderly else 300
        self.setMinimumSize(side, side)
        self.strokes: list[list[tuple[float, float]]] = []
        self._drawing: list[tuple[float, float]] | None = None
        self._on_stroke = on_stroke
        self._pen_px = 14 if elderly else 10

    # -- what the resident does --------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.LeftButton:
            self._drawing = [self._point(event)]
            self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drawing is not None:
            point = self._point(event)
            if point != self._drawing[-1]:
                self._drawing.append(point)
                self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drawing is None or event.button() != Qt.LeftButton:
            return
        stroke, self._drawing = self._drawing, None
        self.strokes.append(stroke)
        self.update()
        self._on_stroke()

    def _point(self, event) -> tuple[float, float]:
        pos = event.position()
        return (min(max(pos.x(), 0.0), float(self.width())),
                min(max(pos.y(), 0.0), float(self.height())))

    def undo(self) -> None:
        if self.strokes:
            self.strokes.pop()
            self.update()

    def clear(self) -> None:
        self.strokes = []
        self._drawing = None
        self.update()

    # -- drawing -----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        box = QRectF(2, 2, self.width() - 4, self.height() - 4)
        painter.fillRect(box, QColor(colour("background")))
        guide = QPen(QColor(colour("disabled_border")), 2, Qt.DashLine)
        painter.setPen(guide)  # 田字格: the squared guide a Chinese exercise book has
        painter.drawLine(QPointF(box.center().x(), box.top()), QPointF(box.center().x(),
                                                                         box.bottom()))
        painter.drawLine(QPointF(box.left(), box.center().y()), QPointF(box.right(),
                                                                          box.center().y()))
        painter.setPen(QPen(QColor(colour("border")), 4))
        painter.drawRoundedRect(box, 12, 12)
        if self.hint and not self.strokes and not self._drawing:
            painter.setPen(QColor(colour("muted")))
            font = painter.font()
            font.setPixelSize(self.hint_px)
            painter.setFont(font)
            painter.drawText(box.adjusted(16, 16, -16, -16), Qt.AlignHCenter | Qt.AlignTop
                             | Qt.TextWordWrap, self.hint)
        ink = QPen(QColor(colour("text")), self._pen_px, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        painter.setPen(ink)
        for stroke in [*self.strokes, *([self._drawing] if self._drawing else [])]:
            if len(stroke) == 1:
                painter.drawPoint(QPointF(*stroke[0]))
            for a, b in zip(stroke, stroke[1:], strict=False):
                painter.drawLine(QPointF(*a), QPointF(*b))
        painter.end()


class CandidateBar(QWidget):
    """Large candidate keys, a page at a time, as many as fit the space the bar really has
    (more columns in landscape, fewer and bigger keys in senior mode); a tap commits one."""

    def __init__(self, on_pick: OnText, *, key_px: int, gap_px: int, text_px: int = 32,
                 more_text: str = "›", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("candidates")
        self.setProperty("role", "candidates")
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(key_px * 2 + gap_px, key_px)
        self._on_pick = on_pick
        self._key_px = key_px
        self._gap_px = gap_px
        self._text_px = text_px
        self._more_text = more_text
        self._grid_size = (1, 2)  # rows, columns
        self.candidates: list[str] = []
        self.page = 0  # index of the first candidate shown
        self._end = 0  # one past the last candidate shown
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(gap_px // 2)

    def show_candidates(self, candidates: Sequence[str]) -> None:
        self.candidates = list(dict.fromkeys(candidates))
        self.page = 0
        self._fill()

    def next_page(self) -> None:
        self.page = 0 if self._end >= len(self.candidates) else self._end
        self._fill()

    def visible(self) -> list[str]:
        return self.candidates[self.page:self._end]

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        step = self._key_px + self._gap_px // 2
        size = (max(1, (self.height() + self._gap_px // 2) // step),
                max(2, (self.width() + self._gap_px // 2) // step))
        if size != self._grid_size:
            self._grid_size = size
            self.page = 0
            self._fill()
        super().resizeEvent(event)

    def _cells(self, text: str) -> int:
        """Key cells a candidate needs: a word of four characters gets a wider key, never a
        cut one (the key's text is as large as the keypad's)."""
        width = len(text) * self._text_px * 6 // 5 + 2 * self._gap_px
        step = self._key_px + self._gap_px // 2
        return max(1, -(-(width + self._gap_px // 2) // step))

    def _fill(self) -> None:
        clear_layout(self._grid)
        rows, columns = self._grid_size
        # Pack candidates row by row from the page start; keep one cell for "more" if needed.
        placed: list[tuple[str, int, int, int]] = []
        r = c = 0
        i = self.page
        while i < len(self.candidates):
            need = min(self._cells(self.candidates[i]), columns)
            if c + need > columns:
                r, c = r + 1, 0
            if r >= rows:
                break
            placed.append((self.candidates[i], r, c, need))
            c += need
            i += 1
        more_needed = i < len(self.candidates) or self.page > 0
        if more_needed:
            while placed and (placed[-1][1] == rows - 1 and placed[-1][2] + placed[-1][3]
                              > columns - 1):
                placed.pop()
                i -= 1
        self._end = self.page + len(placed)
        for n, (text, row, col, span) in enumerate(placed):
            btn = button(text, on_click=lambda v=text: self._on_pick(v), role="key",
                         name=f"candidate_{n}")
            btn.setAccessibleName(text)
            self._grid.addWidget(btn, row, col, 1, span)
        if more_needed:
            more = button(self._more_text, on_click=self.next_page, role="key",
                          name="candidates_more")
            more.setAccessibleName(self._more_text)
            self._grid.addWidget(more, rows - 1, columns - 1)
        for r in range(rows):
            self._grid.setRowStretch(r, 1)
        for c in range(columns):
            self._grid.setColumnStretch(c, 1)


def _common(char: str) -> bool:
    """A character residents write (GB2312's 6 763 and its radicals), not a rare variant the
    model also knows: rare ones crowd the row and confuse."""
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _in_script(candidates: Iterable[str], lang: str) -> list[str]:
    """Candidates as the screen language writes them (Traditional in zh_HK), no duplicates."""
    try:
        converted = [to_script(c, lang) for c in candidates]
    except ImeError as exc:  # no OpenCC: Simplified candidates are still better than none
        log.warning("candidates stay Simplified: %s", exc)
        converted = list(candidates)
    return list(dict.fromkeys(converted))


class HandwritingPad(QWidget):
    """Write a character, pick it. ``on_text`` gets the chosen character; the ⌫ key sends
    :data:`BACKSPACE` to ``on_key`` (it deletes from the field, not from the drawing)."""

    def __init__(self, on_text: OnText, on_key: OnKey | None, t: Translator, *,
                 elderly: bool = False, touch: Callable[[], None] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("handwriting_pad")
        self.setProperty("role", "pad")
        self.setAccessibleName(t.t("ime.write_here"))
        self._on_text = on_text
        self._touch = touch or (lambda: None)
        self._lang = t.lang
        self.problem = ""
        size = tokens(elderly)
        self.canvas = HandwritingCanvas(self._recognise, elderly=elderly,
                                        hint=t.t("ime.write_here"))
        self.canvas.setAccessibleName(t.t("ime.write_here"))
        self.bar = CandidateBar(self._pick, key_px=size.target_px, gap_px=size.gap_px,
                                text_px=size.text_px, more_text=t.t("ime.more"))
        self.undo_button = button(t.t("ime.undo"), on_click=self._undo, role="secondary",
                                  name="ime_undo")
        self.rewrite_button = button(t.t("ime.rewrite"), on_click=self._rewrite,
                                     role="secondary", name="ime_rewrite")
        tools = QGridLayout()
        tools.setSpacing(size.gap_px // 2)
        self.tools = tools
        self.tool_buttons = [self.undo_button, self.rewrite_button]
        if on_key is not None:
            self.delete_button = button(t.t("ime.delete"), on_click=lambda: on_key(BACKSPACE),
                                        role="secondary", name="ime_delete")
            self.tool_buttons.append(self.delete_button)
        self.tools_across = 0
        self.fit_tools()
        side = QVBoxLayout()
        side.setSpacing(size.gap_px // 2)
        side.addWidget(self.bar, 1)
        side.addLayout(tools)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(size.gap_px)
        row.addWidget(self.canvas, 1)
        row.addLayout(side, 1)
        self._update_tools()

    def fit_tools(self, width: int | None = None) -> None:
        """撤销 / 重写 / 删除 on one row, or, when the pad has only ``width`` pixels (a
        short landscape panel, where it shares the width with what was found), as many a
        row as fit beside the canvas, the rest below: never on top of each other."""
        count = len(self.tool_buttons)
        across = count
        if width is not None:
            gap = self.tools.spacing()
            side = width - self.canvas.minimumWidth() - self.layout().spacing()
            widest = max(b.sizeHint().width() for b in self.tool_buttons)
            across = max(1, min(count, (side + gap) // (widest + gap)))
        if across == self.tools_across:
            return
        self.tools_across = across
        for btn in self.tool_buttons:
            self.tools.removeWidget(btn)
        for i, btn in enumerate(self.tool_buttons):
            self.tools.addWidget(btn, i // across, i % across)

    def _recognise(self) -> None:
        self._touch()
        try:
            found = shared_recognizer().candidates(
                self.canvas.strokes, (self.canvas.width(), self.canvas.height()), limit=24)
        except ImeError as exc:
            log.error("handwriting unavailable: %s", exc)
            self.problem = str(exc)
            found = []
        self.bar.show_candidates(_in_script([c for c in found if _common(c)], self._lang))
        self._update_tools()

    def _pick(self, text: str) -> None:
        self._touch()
        self.canvas.clear()
        self.bar.show_candidates([])
        self._update_tools()
        self._on_text(text)

    def _undo(self) -> None:
        self.canvas.undo()
        self._recognise()

    def _rewrite(self) -> None:
        self._touch()
        self.canvas.clear()
        self.bar.show_candidates([])
        self._update_tools()

    def _update_tools(self) -> None:
        has = bool(self.canvas.strokes)
        self.undo_button.setEnabled(has)
        self.rewrite_button.setEnabled(has)


class PinyinPad(QWidget):
    """Tap pinyin letters, pick the word: ``shebao`` offers 社保 first. ⌫ takes back a letter
    while pinyin is typed, and deletes from the field (``on_key``) once none is left."""

    def __init__(self, on_text: OnText, on_key: OnKey | None, t: Translator, *,
                 elderly: bool = False, extra_words: Iterable[str] = (),
                 touch: Callable[[], None] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("pinyin_pad")
        self.setProperty("role", "pad")
        self.setAccessibleName(t.t("ime.type_pinyin"))
        self._on_text = on_text
        self._on_key = on_key
        self._touch = touch or (lambda: None)
        self._lang = t.lang
        self._extra_words = tuple(extra_words)
        self.letters = ""
        size = tokens(elderly)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(size.gap_px // 2)
        self.typed = label(" ", kind="field", wrap=False, align=Qt.AlignCenter)
        self.typed.setObjectName("pinyin_typed")
        self.typed.setProperty("role", "input")
        self.typed.setAccessibleName(t.t("ime.type_pinyin"))
        self.typed.setMinimumWidth(size.target_px * 2)
        self.typed.setFixedHeight(size.target_px)
        self.bar = CandidateBar(self._pick, key_px=size.target_px, gap_px=size.gap_px,
                                text_px=size.text_px, more_text=t.t("ime.more"))
        self.bar.setFixedHeight(size.target_px)
        line = QHBoxLayout()
        line.setSpacing(size.gap_px // 2)
        line.addWidget(self.typed)
        line.addWidget(self.bar, 1)
        box.addLayout(line)
        self._box = box
        self._size = size
        self._clear_text = t.t("common.clear")
        self.keys = Keypad("letters", self._key, clear_text=self._clear_text)
        box.addWidget(self.keys)
        self._show()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Too short for five rows of keys (a senior on a landscape panel): nine letters a
        row in three rows, when nine keys of full size fit across."""
        target = self._size.target_px
        short = self.height() < 5 * target + 4 * (self._size.gap_px // 2)
        wide = self.width() >= 9 * target + 8 * 6
        layout = "letters_wide" if short and wide else "letters"
        if layout != self.keys.layout_name:
            self._box.removeWidget(self.keys)
            self.keys.setParent(None)
            self.keys.deleteLater()
            self.keys = Keypad(layout, self._key, clear_text=self._clear_text)
            self._box.addWidget(self.keys)
        super().resizeEvent(event)

    def _key(self, key: str) -> None:
        self._touch()
        if key == BACKSPACE:
            if self.letters:
                self.letters = self.letters[:-1]
            elif self._on_key is not None:
                self._on_key(BACKSPACE)
        elif len(self.letters) < MAX_PINYIN:
            self.letters += key.lower()
        self._show()

    def _pick(self, text: str) -> None:
        self._touch()
        self.letters = ""
        self._show()
        self._on_text(text)

    def _show(self) -> None:
        self.typed.setText(self.letters or " ")
        found: list[str] = []
        if self.letters:
            try:
                found = shared_dictionary(self._extra_words).candidates(self.letters, limit=30)
            except (OSError, ValueError) as exc:  # a damaged word list: say nothing is found
                log.error("pinyin list unreadable: %s", exc)
        self.bar.show_candidates(_in_script(found, self._lang))


class ChinesePad(QWidget):
    """Handwriting and pinyin, one chosen at a time by two large switches (手写 first)."""

    MODES = ("handwriting", "pinyin")

    def __init__(self, on_text: OnText, on_key: OnKey | None, t: Translator, *,
                 elderly: bool = False, extra_words: Iterable[str] = (),
                 touch: Callable[[], None] | None = None, mode: str = "handwriting",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("chinese_pad")
        self.setProperty("role", "pad")
        size = tokens(elderly)
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(size.gap_px // 2)
        self.switch_bar = QWidget()
        self.switch_bar.setObjectName("ime_switches")
        switches = QHBoxLayout(self.switch_bar)
        switches.setContentsMargins(0, 0, 0, 0)
        switches.setSpacing(size.gap_px // 2)
        self.switches = {}
        for name in self.MODES:
            btn = button(t.t(f"ime.{name}"), on_click=lambda m=name: self.set_mode(m),
                         role="chip", name=f"ime_{name}")
            btn.setCheckable(True)
            btn.setAccessibleName(t.t(f"ime.{name}"))
            self.switches[name] = btn
            switches.addWidget(btn)
        self._box.addWidget(self.switch_bar)
        self.handwriting = HandwritingPad(on_text, on_key, t, elderly=elderly, touch=touch)
        self.pinyin = PinyinPad(on_text, on_key, t, elderly=elderly, extra_words=extra_words,
                                touch=touch)
        self._box.addWidget(self.handwriting, 1)
        self._box.addWidget(self.pinyin, 1)
        self.mode = ""
        self.set_mode(mode)

    def dock_switches(self, layout: QBoxLayout | None) -> None:
        """Put the 手写 / 拼音 switches in ``layout`` (beside the field's name, or under it in
        landscape, so the pad keeps its height for keys), or back on top of the pad (None)."""
        if layout is None:
            if self._box.indexOf(self.switch_bar) < 0:
                self._box.insertWidget(0, self.switch_bar)
        else:
            layout.addWidget(self.switch_bar)

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown text entry mode {mode!r}")
        self.mode = mode
        self.handwriting.setVisible(mode == "handwriting")
        self.pinyin.setVisible(mode == "pinyin")
        for name, btn in self.switches.items():
            btn.setChecked(name == mode)
            btn.setProperty("selected", name == mode)
            btn.style().unpolish(btn)  # a changed property restyles only when repolished
            btn.style().polish(btn)
