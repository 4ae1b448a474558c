"""A4 documents as PDF, drawn with reportlab's canvas (CJK TrueType font embedded as subset).

Why reportlab and not QPdfWriter: with the PySide6 6.12 wheels on Python 3.11 every call of
a void Qt method (QPainter.setPen, drawLine, …) drops one reference to ``None``; a page of
drawing costs hundreds, and a long-running kiosk dies with "deallocating None" after a few
documents. reportlab is pure Python, needs no QGuiApplication, runs in any thread, embeds a
font subset with a ToUnicode map (pdftotext reads Chinese back), and is fast enough.

We lay out by hand in two passes (place, then paint) so that table headers repeat on every
page, rows never split, and every page carries its footer (verification code, QR, terminal,
time, page x of y, "自助终端打印") with the page total known.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

import qrcode
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from drivers.identity import mask_id_number, mask_name
from kiosk.documents.a4_templates import A4Template, A4TemplateError, load_a4_template

log = logging.getLogger(__name__)

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
FONT = "WQYZenHei"
PAGE_W, PAGE_H = A4  # points
MM = 72 / 25.4
MARGIN = 17 * MM
FOOTER_H = 30 * MM
LEADING = 1.35  # line height as a multiple of the font size
REQUIRED = ("verification_code", "terminal_id", "printed_at")


@functools.cache
def _register_font() -> str:
    try:
        pdfmetrics.registerFont(TTFont(FONT, CJK_FONT, subfontIndex=0))
    except (OSError, ValueError) as exc:  # TTFError is a ValueError subclass in reportlab
        raise A4TemplateError(f"CJK font {CJK_FONT} could not be loaded: {exc}") from exc
    return FONT


def _width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT, size)


_TOKEN = re.compile(r"[A-Za-z0-9.,:;/()\-+_@%#*'\"¥]+ ?|.")  # a word, a number, or one character
# numbers, amounts, dates, months ("2026年10月", "Oct 2026"), times: never wrapped
_WHOLE = re.compile(r"^([\d\s.,:;/()\-+%¥—年月日]*|[A-Z][a-z]{2} \d{4})$")


def wrap_text(text: str, size: float, width: float) -> list[str]:
    """Break into lines no wider than ``width``: between any CJK characters, at spaces in
    Latin text, and inside a word only when the word alone is too wide."""
    lines: list[str] = []
    for para in str(text).split("\n"):
        tokens = _TOKEN.findall(para)
        line = ""
        for tok in tokens:
            if _width(line + tok.rstrip(), size) <= width:
                line += tok
                continue
            if line.strip():
                lines.append(line.rstrip())
                line = ""
            while _width(tok.rstrip(), size) > width and len(tok) > 1:  # over-long word
                cut = len(tok) - 1
                while cut > 1 and _width(tok[:cut], size) > width:
                    cut -= 1
                lines.append(tok[:cut])
                tok = tok[cut:]
            line = tok.lstrip() if not line else line + tok
        lines.append(line.rstrip())
    return lines


@dataclass
class _Page:
    ops: list[tuple] = field(default_factory=list)


class _Layout:
    """Pass 1 places everything on pages, top-down ``y`` in points from the page top."""

    def __init__(self) -> None:
        self.pages: list[_Page] = []
        self.left, self.right = MARGIN, PAGE_W - MARGIN
        self.bottom = PAGE_H - MARGIN - FOOTER_H
        self.y = 0.0
        self.new_page()

    @property
    def width(self) -> float:
        return self.right - self.left

    def new_page(self) -> None:
        self.pages.append(_Page())
        self.y = MARGIN

    def ensure(self, height: float) -> bool:
        """Start a new page when ``height`` does not fit; True if it did."""
        if self.y + height > self.bottom:
            self.new_page()
            return True
        return False

    def text(self, text: str, size: float, *, x: float | None = None, width: float | None = None,
             align: str = "left", bold: bool = False, gap: float = 0.0) -> float:
        x = self.left if x is None else x
        width = self.width if width is None else width
        lines = wrap_text(text, size, width)
        for i, line in enumerate(lines):
            self.pages[-1].ops.append(("text", x, self.y + size * (1 + i * LEADING), width,
                                       line, size, align, bold))
        h = size * LEADING * len(lines)
        self.y += h + gap
        return h


def render_a4(template: str, context: Mapping[str, object], lang: str) -> bytes:
    """The document ``template`` filled with ``context`` in ``lang``, as PDF bytes."""
    tpl = load_a4_template(template, lang)
    missing = [k for k in REQUIRED if not context.get(k)]
    if missing:
        raise A4TemplateError(f"A4 {template}: context lacks {', '.join(missing)}")
    _register_font()
    lay = _Layout()
    _place_header(lay, tpl, context)
    _place_table(lay, tpl, context)
    _place_closing(lay, tpl, context)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(tpl.title)
    canvas.setCreator("kiosk-terminal")
    canvas.setSubject(f"{tpl.common['verification']} {context['verification_code']}")
    for number, page in enumerate(lay.pages, start=1):
        _paint_page(canvas, page, tpl, context, number, len(lay.pages))
        canvas.showPage()
    canvas.save()
    log.debug("rendered %s (%s): %d pages", template, lang, len(lay.pages))
    return out.getvalue()


def _value(context: Mapping[str, object], key: str, mask: str | None) -> str:
    value = context.get(key)
    text = "—" if value in (None, "") else str(value)
    if value and mask == "id":
        return mask_id_number(text)
    if value and mask == "name":
        return mask_name(text)
    return text


def _fill(text: str, context: Mapping[str, object], tpl: A4Template) -> str:
    masks = {key: mask for key, _, mask in tpl.fields}
    return re.sub(r"\{([a-z_]+)\}", lambda m: _value(context, m[1], masks.get(m[1])), text)


def _place_header(lay: _Layout, tpl: A4Template, ctx: Mapping[str, object]) -> None:
    lay.text(tpl.title, 18, align="center", bold=True, gap=2 * MM)
    lay.text(tpl.issuer, 10, align="center", gap=6 * MM)
    half = lay.width / 2
    label_w = 30 * MM
    for i in range(0, len(tpl.fields), 2):
        top, tallest = lay.y, 0.0
        for j, (key, label, mask) in enumerate(tpl.fields[i:i + 2]):
            x = lay.left + j * half
            lay.y = top
            lay.text(label + tpl.common["colon"], 10, x=x, width=label_w, bold=True)
            lay.y = top
            tallest = max(tallest, lay.text(_value(ctx, key, mask), 10, x=x + label_w,
                                            width=half - label_w - 2 * MM))
        lay.y = top + tallest + 1.5 * MM
    lay.y += 3 * MM
    if tpl.intro:
        lay.text(_fill(tpl.intro, ctx, tpl), 10, gap=4 * MM)


def _rows(tpl: A4Template, ctx: Mapping[str, object]) -> list[list[str]]:
    out = []
    # rows are dicts keyed by column or lists of cells (anything else fails here, as it did)
    for row in cast("Iterable[Iterable[object]]", ctx.get(tpl.rows_key) or []):
        if isinstance(row, dict):
            out.append(["" if row.get(c.key) is None else str(row.get(c.key)) for c in tpl.columns])
        else:
            cells = [str(v) for v in row][:len(tpl.columns)]
            out.append(cells + [""] * (len(tpl.columns) - len(cells)))
    return out


def _totals(tpl: A4Template, rows: list[list[str]]) -> list[str] | None:
    if not tpl.totals or not rows:
        return None
    total = [""] * len(tpl.columns)
    total[0] = tpl.total_label
    for idx, col in enumerate(tpl.columns):
        if col.key in tpl.totals:
            try:
                total[idx] = f"{sum(float(r[idx].replace(',', '') or 0) for r in rows):,.2f}"
            except ValueError:  # a non-numeric cell: show no total rather than a wrong one
                total[idx] = ""
    return total


def _whole(col_align: str, cells: list[str]) -> bool:
    """A column printed unwrapped: right/centre-aligned figures and codes, or one whose
    every cell is a number, amount, date or time."""
    return col_align in ("right", "center") or all(_WHOLE.match(c) for c in cells if c)


def column_widths(tpl: A4Template, header: list[str], rows: list[list[str]], total: float,
                  size: float, pad: float) -> tuple[list[float], list[bool]] | None:
    """Widths from the content: a figure column as wide as its widest value, a text column
    at least as wide as its widest word, the rest shared by the template's weights; None
    when the figures alone do not fit at this font ``size``."""
    least, whole = [], []
    for i, col in enumerate(tpl.columns):
        cells = [r[i] for r in rows]
        keep = _whole(col.align, cells)
        head = max((_width(t.strip(), size) for t in _TOKEN.findall(header[i])), default=0)
        if keep:
            body = max((_width(c, size) for c in cells), default=0)
        else:
            body = max((_width(t.strip(), size) for c in cells for t in _TOKEN.findall(c)), default=0)
        least.append(max(head, body) + 2 * pad + 0.5)
        whole.append(keep)
    if sum(least) > total:
        return None
    weights = sum(c.width for c in tpl.columns)
    wanted = [max(m, total * c.width / weights) for m, c in zip(least, tpl.columns, strict=True)]
    slack = sum(wanted) - sum(least)
    room = total - sum(least)
    if slack > 0:
        wanted = [m + (w - m) * room / slack for m, w in zip(least, wanted, strict=True)]
    return wanted, whole


def _place_table(lay: _Layout, tpl: A4Template, ctx: Mapping[str, object]) -> None:
    if not tpl.columns:
        return
    rows = _rows(tpl, ctx)
    total = _totals(tpl, rows)
    header = [c.label for c in tpl.columns]
    pad, size = 1.6 * MM, 9.0
    fitted = None
    while fitted is None:  # a smaller type before a cut figure: 9 pt down to 6 pt
        fitted = column_widths(tpl, header, rows + ([total] if total else []), lay.width, size, pad)
        if fitted is None:
            if size <= 6.0:
                raise A4TemplateError(f"A4 {tpl.name}: the table's figures do not fit the page")
            size -= 0.5
    widths, whole = fitted
    xs, x = [], lay.left
    for w in widths:
        xs.append((x, w))
        x += w

    def wrapped(cells: list[str], head: bool = False) -> list[list[str]]:
        return [[t] if whole[i] and not head else wrap_text(t, size, w - 2 * pad)
                for i, (t, (_, w)) in enumerate(zip(cells, xs, strict=False))]

    def place_row(cells: list[str], bold: bool, shade: bool, head: bool = False) -> None:
        parts = wrapped(cells, head)
        h = max(len(p) for p in parts) * size * LEADING + 2 * pad
        page = lay.pages[-1]
        page.ops.append(("row", lay.left, lay.y, lay.width, h, shade, [cx for cx, _ in xs]))
        for (cx, w), lines, col in zip(xs, parts, tpl.columns, strict=False):
            for k, line in enumerate(lines):
                page.ops.append(("text", cx + pad, lay.y + pad + size * (0.95 + k * LEADING),
                                 w - 2 * pad, line, size, col.align, bold))
        lay.y += h

    def height(cells: list[str], head: bool = False) -> float:
        return max(len(p) for p in wrapped(cells, head)) * size * LEADING + 2 * pad

    lay.ensure(height(header, True) * 2)
    place_row(header, True, True, True)
    if not rows:
        place_row([tpl.common["no_records"]] + [""] * (len(xs) - 1), False, False, True)
    for cells in rows + ([total] if total else []):
        if lay.ensure(height(cells)):  # the table goes on: repeat its title and header
            lay.text(f"{tpl.title}{tpl.common['continued']}", 11, bold=True, gap=3 * MM)
            place_row(header, True, True, True)
        place_row(cells, cells is total, cells is total)
    lay.y += 5 * MM


def _place_closing(lay: _Layout, tpl: A4Template, ctx: Mapping[str, object]) -> None:
    if tpl.statement:
        lay.ensure(len(wrap_text(tpl.statement, 10, lay.width)) * 10 * LEADING)
        lay.text(tpl.statement, 10, gap=3 * MM)
    hint = tpl.common["verify_hint"]
    lay.ensure(len(wrap_text(hint, 9, lay.width)) * 9 * LEADING + 11 * LEADING + MM)
    colon = tpl.common["colon"]
    lay.text(f"{tpl.common['verification']}{colon}{ctx['verification_code']}", 11, bold=True, gap=MM)
    lay.text(hint, 9)


# -- painting -----------------------------------------------------------------------------
def _draw(c: Canvas, x: float, y_top: float, width: float, text: str, size: float,
          align: str, bold: bool) -> None:
    """Draw one line; ``y_top`` is the baseline measured from the page top."""
    y = PAGE_H - y_top
    c.setFont(FONT, size)
    mode = 2 if bold else 0  # fill + stroke: the font has no bold face
    if align == "center":
        x += (width - _width(text, size)) / 2
    elif align == "right":
        x += width - _width(text, size)
    c.drawString(x, y, text, mode=mode)


def _paint_page(c: Canvas, page: _Page, tpl: A4Template, ctx: Mapping[str, object],
                number: int, total: int) -> None:
    _paint_watermark(c, tpl.common["self_service"].split(" ")[0])
    c.setFillGray(0)
    c.setStrokeGray(0)
    c.setLineWidth(0.3)
    for op in page.ops:
        if op[0] == "text":
            _draw(c, *op[1:])
        elif op[0] == "row":
            _, x, y, w, h, shade, xs = op
            if shade:
                c.setFillGray(0.9)
                c.rect(x, PAGE_H - y - h, w, h, stroke=0, fill=1)
                c.setFillGray(0)
            c.setLineWidth(0.5)
            c.rect(x, PAGE_H - y - h, w, h, stroke=1, fill=0)
            for cx in xs[1:]:
                c.line(cx, PAGE_H - y, cx, PAGE_H - y - h)
            c.setLineWidth(0.3)
    _paint_footer(c, tpl, ctx, number, total)


def _paint_watermark(c: Canvas, text: str) -> None:
    c.saveState()
    c.translate(PAGE_W / 2, PAGE_H / 2)
    c.rotate(35)
    c.setFillGray(0.9)
    c.setFont(FONT, 54)
    c.drawCentredString(0, -20, text)
    c.restoreState()


def _paint_footer(c: Canvas, tpl: A4Template, ctx: Mapping[str, object], number: int,
                  total: int) -> None:
    top = PAGE_H - MARGIN - FOOTER_H + 3 * MM  # from the page top
    c.setLineWidth(0.8)
    c.line(MARGIN, PAGE_H - top, PAGE_W - MARGIN, PAGE_H - top)
    qr = FOOTER_H - 11 * MM
    _paint_qr(c, str(ctx.get("verify_url") or ctx["verification_code"]),
              PAGE_W - MARGIN - qr, PAGE_H - top - 2 * MM - qr, qr)
    com = tpl.common
    colon = com["colon"]
    _draw(c, PAGE_W - MARGIN - qr - 4 * MM, top + 2 * MM + qr + 4 * MM, qr + 8 * MM, com["scan"],
          8.5, "center", False)  # "扫码验真" under the QR
    hall = "  ".join(str(ctx[k]) for k in ("hall", "hall_address") if ctx.get(k))
    if ctx.get("hotline"):
        hall += f"    {com['hotline']}{colon}{ctx['hotline']}"
    lines = [
        (com["self_service"], True),
        (f"{com['verification']}{colon}{ctx['verification_code']}", False),
        (f"{com['terminal']}{colon}{ctx['terminal_id']}    {com['printed_at']}{colon}{ctx['printed_at']}", False),
        (hall, False),
        (com["page"].format(page=number, pages=total), False),
    ]
    y = top + 2 * MM
    for text, bold in (line for line in lines if line[0]):
        y += 4.8 * MM
        _draw(c, MARGIN, y, PAGE_W - 2 * MARGIN - qr, text, 9.5, "left", bold)


def _paint_qr(c: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Vector QR: one filled square per dark module, sharp at any printer resolution."""
    matrix = _qr_matrix(data)
    cell = size / len(matrix)
    c.setFillGray(0)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        for k, dark in enumerate(row):
            if dark:
                path.rect(x + k * cell, y + size - (r + 1) * cell, cell, cell)
    c.drawPath(path, stroke=0, fill=1)


@functools.lru_cache(maxsize=32)
def _qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())
