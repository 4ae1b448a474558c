"""Lay a receipt out in printer character cells, the same way for the text and image paths.

A thermal printer's font has half-width cells for single-byte characters and full-width
cells (two half cells) for every multi-byte GB18030 character — CJK ideographs and CJK
punctuation alike. Measuring by GB18030 byte length therefore matches what the printer does,
and the raster path draws on the same grid so both paths wrap identically.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.escpos_elements import (
    Align,
    Barcode,
    Element,
    Feed,
    Logo,
    Pair,
    QrCode,
    ReceiptDoc,
    Rule,
    Table,
    Text,
)


@dataclass(frozen=True)
class PrintLine:
    """One printed line of text, already wrapped and padded to the paper."""

    text: str
    align: Align = "left"
    bold: bool = False
    size: int = 1


Block = PrintLine | QrCode | Barcode | Logo | Feed


def char_cells(ch: str) -> int:
    """Half-width cells a character takes on the printer: 2 for multi-byte GB18030."""
    if ch < "\x80":
        return 1
    try:
        return 2 if len(ch.encode("gb18030")) > 1 else 1
    except UnicodeEncodeError:  # lone surrogates and the like: printed as "?"
        return 1


def text_cells(text: str) -> int:
    return sum(char_cells(ch) for ch in text)


_NO_LINE_START = set("、，。：；！？）」』】》〉,.:;!?)")  # closing punctuation (禁则)


def wrap(text: str, width: int) -> list[str]:
    """Wrap to ``width`` cells; breaks at spaces for Latin words, anywhere between CJK."""
    if width <= 0:
        raise ValueError("width must be positive")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, cells = "", 0
        for ch in paragraph:
            w = char_cells(ch)
            if cells + w > width:
                cut = line.rfind(" ")
                if ch != " " and cut > 0 and all(char_cells(c) == 1 for c in line[cut:]):
                    lines.append(line[:cut].rstrip())
                    line = line[cut + 1:]
                elif ch in _NO_LINE_START and len(line) > 1 and char_cells(line[-1]) == 2:
                    lines.append(line[:-1].rstrip())  # "、" never starts a line: take one along
                    line = line[-1]
                else:
                    lines.append(line.rstrip())
                    line = ""
                cells = text_cells(line)
                if ch == " " and not line:
                    continue
            line += ch
            cells += w
        lines.append(line.rstrip())
    return lines


def pad(text: str, width: int, align: Align = "left") -> str:
    """Pad with spaces to exactly ``width`` cells (text must already fit)."""
    gap = max(0, width - text_cells(text))
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _pair_lines(pair: Pair, columns: int) -> list[PrintLine]:
    label, value = pair.label, pair.value
    room = columns - text_cells(label) - 1
    if room >= text_cells(value) and room > 0:
        return [PrintLine(label + " " * (columns - text_cells(label) - text_cells(value)) + value)]
    # Too long for one line: label on its own, the value wrapped and right-aligned under it.
    out = [PrintLine(label)]
    out += [PrintLine(pad(part, columns, "right")) for part in wrap(value, columns)]
    return out


def _min_word_cells(text: str, cjk_breaks: bool = True) -> int:
    """The narrowest a wrapped text can get: its longest Latin word, and one CJK character
    (or, with ``cjk_breaks`` off, its longest CJK word: a short header reads better whole)."""
    widths = [text_cells(word) if word.isascii() or not cjk_breaks
              else max(char_cells(c) for c in word) for word in text.split()]
    return max(widths, default=0)


@dataclass(frozen=True)
class TableFit:
    """Which columns of a table a paper ``columns`` wide shows, and how wide each is."""

    shown: tuple[int, ...]  # column indexes in their table order
    widths: tuple[int, ...]  # cells per shown column
    left_off: tuple[int, ...]  # columns that could not fit without splitting a value


def fit_table(table: Table, columns: int, gap: int = 1) -> TableFit:
    """Take columns by priority while their widest value fits whole; never split a value.
    A header may wrap at its spaces (or between CJK characters), a value only when its
    column is marked ``wrap``. The first column by priority is always shown."""
    n = len(table.columns)
    wraps = [bool(table.wrap[i]) if i < len(table.wrap) else False for i in range(n)]
    values = [[r[i] if i < len(r) else "" for r in table.rows] for i in range(n)]
    natural = [max([text_cells(table.columns[i])] + [text_cells(v) for v in values[i]])
               for i in range(n)]
    least = []
    for i in range(n):
        head = _min_word_cells(table.columns[i], cjk_breaks=False)
        if wraps[i]:
            least.append(max([head, min(natural[i], 8)] + [_min_word_cells(v) for v in values[i]]))
        else:
            least.append(max([head] + [text_cells(v) for v in values[i]]))
    order = sorted(range(n), key=lambda i: (table.priority[i] if i < len(table.priority) else i, i))
    chosen: list[int] = []
    used = -gap
    for i in order:
        need = min(least[i], columns) if not chosen else least[i]
        if used + gap + need <= columns:
            chosen.append(i)
            used += gap + need
    widths = {i: min(least[i], columns) for i in chosen}
    for i in sorted(chosen, key=order.index):  # spare room: whole headers, unwrapped text
        spare = columns - (sum(widths.values()) + gap * (len(chosen) - 1))
        widths[i] += max(0, min(spare, natural[i] - widths[i]))
    shown = tuple(sorted(chosen))
    spare = columns - (sum(widths.values()) + gap * (len(chosen) - 1))
    for k, i in enumerate(shown):  # what is left spreads the columns across the paper
        widths[i] += spare // len(shown) + (1 if k < spare % len(shown) else 0)
    return TableFit(shown, tuple(widths[i] for i in shown),
                    tuple(i for i in range(n) if i not in widths))


def _table_lines(table: Table, columns: int) -> list[PrintLine]:
    n = len(table.columns)
    if n == 0:
        return []
    gap = 1
    fit = fit_table(table, columns, gap)
    aligns: list[Align] = [table.align[i] if i < len(table.align) else
                           ("right" if i == n - 1 and n > 1 else "left") for i in range(n)]
    widths = dict(zip(fit.shown, fit.widths, strict=True))

    def row_lines(cells: tuple[str, ...], header: bool) -> list[str]:
        wrapped = {}
        for i in fit.shown:
            text = cells[i] if i < len(cells) else ""
            breakable = (header or (i < len(table.wrap) and table.wrap[i])
                         or text_cells(text) > widths[i])  # wider than the paper itself
            wrapped[i] = wrap(text, widths[i]) if breakable else [text]
        height = max(len(w) for w in wrapped.values())
        out = []
        for k in range(height):
            parts = [pad(wrapped[i][k] if k < len(wrapped[i]) else "", widths[i], aligns[i])
                     for i in fit.shown]
            out.append((" " * gap).join(parts).rstrip())
        return out

    lines = [PrintLine(t, bold=True) for t in row_lines(table.columns, True)]
    lines.append(PrintLine("-" * columns))
    for row in table.rows:
        lines += [PrintLine(t) for t in row_lines(row, False)]
    if fit.left_off and table.left_off:
        sep = ", " if table.left_off.isascii() else "、"
        names = sep.join(table.columns[i] for i in fit.left_off)
        lines += [PrintLine(part) for part in wrap(table.left_off.format(columns=names), columns)]
    return lines


def layout(doc: ReceiptDoc, columns: int) -> list[Block]:
    """Turn elements into printed lines and graphic blocks for a printer ``columns`` wide."""
    blocks: list[Block] = []
    for el in doc.elements:
        blocks.extend(_layout_one(el, columns))
    return blocks


def _layout_one(el: Element, columns: int) -> list[Block]:
    if isinstance(el, Text):
        size = max(1, min(el.size, 4))  # GS ! allows 8; 4 is already 1/4 of the width
        return [PrintLine(part, el.align, el.bold, size) for part in wrap(el.text, columns // size)]
    if isinstance(el, Pair):
        return list(_pair_lines(el, columns))
    if isinstance(el, Rule):
        return [PrintLine((el.char or "-")[0] * columns)]
    if isinstance(el, Table):
        return list(_table_lines(el, columns))
    if isinstance(el, (QrCode, Barcode, Logo, Feed)):
        return [el]
    raise TypeError(f"not a receipt element: {el!r}")
