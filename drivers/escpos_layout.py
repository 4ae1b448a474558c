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


def _table_lines(table: Table, columns: int) -> list[PrintLine]:
    n = len(table.columns)
    if n == 0:
        return []
    gap = 1
    natural = [max([text_cells(table.columns[i])] + [text_cells(r[i]) for r in table.rows
                                                     if i < len(r)]) for i in range(n)]
    budget = columns - gap * (n - 1)
    widths = list(natural)
    while sum(widths) > budget:  # shrink the widest column until it fits
        widest = max(range(n), key=lambda i: widths[i])
        if widths[widest] <= 2:
            break
        widths[widest] -= 1
    widths[-1] += max(0, budget - sum(widths))

    def row_lines(cells: tuple[str, ...]) -> list[str]:
        wrapped = [wrap(cells[i] if i < len(cells) else "", widths[i]) for i in range(n)]
        height = max(len(w) for w in wrapped)
        out = []
        for k in range(height):
            parts = [pad(wrapped[i][k] if k < len(wrapped[i]) else "", widths[i],
                         "right" if i == n - 1 and n > 1 else "left") for i in range(n)]
            out.append((" " * gap).join(parts).rstrip())
        return out

    lines = [PrintLine(t, bold=True) for t in row_lines(table.columns)]
    lines.append(PrintLine("-" * columns))
    for row in table.rows:
        lines += [PrintLine(t) for t in row_lines(row)]
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
