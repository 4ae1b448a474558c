"""Turn decoded items into what a person would see: a PNG strip of paper and a text file."""

from __future__ import annotations

import functools
import io

import qrcode
from PIL import Image, ImageDraw, ImageFont

from simulators.printer.decoder import Bar, Cut, Feed, Item, Qr, Raster, TextLine

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
HALF = 12  # font A: 12 x 24 dots; a Chinese character takes 24 x 24
LINE = 30  # default line spacing in dots


@functools.lru_cache(maxsize=8)
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_PATH, px)


def _cells(ch: str) -> int:
    if ch < "\x80":
        return 1
    try:
        return 2 if len(ch.encode("gb18030")) > 1 else 1
    except UnicodeEncodeError:
        return 1


def to_text(items: list[Item], paper_out: bool = False) -> str:
    """One printed line per line, with markers for what is not text."""
    out: list[str] = []
    for it in items:
        if isinstance(it, TextLine):
            out.append(it.text.rstrip())
        elif isinstance(it, Qr):
            out.append(f"[QR:{it.data}]")
        elif isinstance(it, Bar):
            out.append(f"[BARCODE:{it.data}]")
        elif isinstance(it, Raster):
            out.append(f"[IMAGE:{it.image.width}x{it.image.height}]")
        elif isinstance(it, Cut):
            out.append("[CUT]")
    if paper_out:
        out.append("[PAPER OUT]")
    return "\n".join(out) + "\n"


def _text_image(line: TextLine, dots: int) -> Image.Image:
    w_mul, h_mul = line.width, line.height
    img = Image.new("L", (dots, 24 * h_mul + (LINE - 24)), 255)
    draw = ImageDraw.Draw(img)
    font = _font(24 * h_mul)
    width = sum(_cells(c) for c in line.text) * HALF * w_mul
    x = {0: 0, 1: (dots - width) // 2, 2: dots - width}.get(line.align, 0)
    for ch in line.text:
        cw = _cells(ch) * HALF * w_mul
        if not ch.isspace():
            gw = draw.textlength(ch, font=font)
            glyph = Image.new("L", (max(1, int(gw) + 2), 24 * h_mul + 4), 255)
            ImageDraw.Draw(glyph).text((1, 0), ch, font=font, fill=0,
                                       stroke_width=1 if line.bold else 0, stroke_fill=0)
            if w_mul > 1 and _cells(ch) == 1 or glyph.width > cw:  # stretch to the cell
                glyph = glyph.resize((cw, glyph.height))
            img.paste(glyph, (x + (cw - glyph.width) // 2, 2), None)
        x += cw
    return img


def _qr_image(qr: Qr) -> Image.Image:
    code = qrcode.QRCode(border=1, box_size=max(1, qr.module))
    code.add_data(qr.data)
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


def _bar_image(bar: Bar) -> Image.Image:
    try:
        import barcode
        from barcode.writer import ImageWriter

        buf = io.BytesIO()
        barcode.get("code128", bar.data, writer=ImageWriter()).write(
            buf, {"module_width": 0.25, "module_height": bar.height / 8.0, "dpi": 203,
                  "font_size": 8})
        return Image.open(buf).convert("L")
    except Exception:  # noqa: BLE001 - an unprintable barcode shows as a labelled box
        img = Image.new("L", (300, 60), 255)
        ImageDraw.Draw(img).rectangle((0, 0, 299, 59), outline=0)
        ImageDraw.Draw(img).text((8, 20), bar.data, font=_font(20), fill=0)
        return img


def _place(pic: Image.Image, align: int, dots: int) -> Image.Image:
    if pic.width > dots:
        pic = pic.crop((0, 0, dots, pic.height))
    row = Image.new("L", (dots, pic.height), 255)
    x = {0: 0, 1: (dots - pic.width) // 2, 2: dots - pic.width}.get(align, 0)
    row.paste(pic.convert("L"), (x, 0))
    return row


def to_png(items: list[Item], dots: int, paper_out: bool = False) -> Image.Image:
    """The receipt as printed on a strip ``dots`` wide (203 dpi)."""
    rows: list[Image.Image] = []
    for it in items:
        if isinstance(it, TextLine):
            rows.append(_text_image(it, dots))
        elif isinstance(it, Raster):
            rows.append(_place(it.image, it.align, dots))
        elif isinstance(it, Qr):
            rows.append(_place(_qr_image(it), it.align, dots))
        elif isinstance(it, Bar):
            rows.append(_place(_bar_image(it), it.align, dots))
        elif isinstance(it, Feed):
            rows.append(Image.new("L", (dots, LINE * it.lines), 255))
        elif isinstance(it, Cut):
            cut = Image.new("L", (dots, 12), 255)
            ImageDraw.Draw(cut).line((0, 6, dots, 6), fill=128, width=1)
            rows.append(cut)
    if paper_out:
        end = Image.new("L", (dots, 40), 255)
        ImageDraw.Draw(end).text((8, 8), "[PAPER OUT]", font=_font(24), fill=0)
        rows.append(end)
    height = max(1, sum(r.height for r in rows)) + 16
    paper = Image.new("L", (dots + 16, height), 255)
    y = 8
    for r in rows:
        paper.paste(r, (8, y))
        y += r.height
    return paper
