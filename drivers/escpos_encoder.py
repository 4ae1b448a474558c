"""Encode a :class:`ReceiptDoc` into ESC/POS bytes for one printer profile.

Why not ``Escpos.text()``: python-escpos's magic encoder picks a code page per character and
knows no GB18030, so CJK text (and strings of CJK punctuation alone) ends up as "?" or in a
Japanese code page. We send ``FS &`` (Chinese character mode) and GB18030 bytes ourselves;
GB18030 covers traditional characters, so zh_HK prints correctly too. Printers without a
Chinese font get every line that is not plain code-page text as a raster image drawn with
the CJK font on the printer's own character grid. Images, QR codes and the raster format
come from python-escpos (``EscposImage``, ``Dummy.qr``) so the wire format stays theirs.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import qrcode
from escpos.image import EscposImage
from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

from drivers.escpos_elements import Barcode, Feed, Logo, QrCode, ReceiptDoc
from drivers.escpos_layout import Block, PrintLine, char_cells, layout, text_cells

log = logging.getLogger(__name__)

ESC, GS, FS, LF = b"\x1b", b"\x1d", b"\x1c", b"\n"
INIT = ESC + b"@"
CHINESE_ON, CHINESE_OFF = FS + b"&", FS + b"."
ALIGN = {"left": 0, "center": 1, "right": 2}
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
RASTER_BAND = 960  # dots per GS v 0 band: printers with small buffers choke on taller ones


@dataclass(frozen=True)
class PrinterProfile:
    """A printer model's quirks, read from ``config/printers/<name>.toml``."""

    name: str
    paper_width_mm: int = 80
    dots_width: int = 576
    columns: int = 48
    chinese_font: bool = True
    native_qr: bool = True
    qr_module_size: int = 6
    native_barcode: bool = True
    cutter: str = "partial"  # partial | full | none
    feed_before_cut: int = 4
    status: bool = True
    presenter_status: int = 0  # n of the DLE EOT n that reports paper in the presenter; 0: none
    codepage: int = 0
    description: str = ""

    @property
    def cell_width(self) -> int:
        return self.dots_width // self.columns


class _Emitter:
    """Collects bytes and remembers the text style so each change is sent once."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.out = bytearray()
        self.align, self.bold, self.size = 0, False, 1

    def style(self, align: str, bold: bool, size: int) -> None:
        a = ALIGN[align]
        if a != self.align:
            self.out += ESC + b"a" + bytes([a])
            self.align = a
        if bold != self.bold:
            self.out += ESC + b"E" + bytes([1 if bold else 0])
            self.bold = bold
        if size != self.size:
            n = (size - 1) * 0x11
            self.out += GS + b"!" + bytes([n])
            self.size = size


def encode_receipt(doc: ReceiptDoc, profile: PrinterProfile) -> bytes:
    """ESC/POS bytes for ``doc`` on a printer described by ``profile``."""
    em = _Emitter(profile)
    em.out += INIT
    if profile.chinese_font:
        em.out += CHINESE_ON
    else:
        em.out += CHINESE_OFF + ESC + b"t" + bytes([profile.codepage])
    blocks = layout(doc, profile.columns)
    pending: list[PrintLine] = []  # lines waiting to be drawn as one raster image

    def flush_raster() -> None:
        if pending:
            em.style("left", False, 1)
            em.out += raster_bytes(render_lines(pending, profile))
            pending.clear()

    for block in blocks:
        if isinstance(block, PrintLine):
            data = _encode_line_text(block.text, profile)
            if data is None:
                pending.append(block)
                continue
            flush_raster()
            em.style(block.align, block.bold, block.size)
            em.out += data + LF
            continue
        flush_raster()
        _encode_graphic(em, block)
    flush_raster()
    em.style("left", False, 1)
    if doc.cut:
        em.out += ESC + b"d" + bytes([profile.feed_before_cut])
        if profile.cutter == "partial":
            em.out += GS + b"V\x01"
        elif profile.cutter == "full":
            em.out += GS + b"V\x00"
    return bytes(em.out)


def _encode_line_text(text: str, profile: PrinterProfile) -> bytes | None:
    """Bytes for one line as printer text, or None when it must go as an image."""
    if profile.chinese_font:
        return text.encode("gb18030", errors="replace")
    try:
        return text.encode("cp437")
    except UnicodeEncodeError:
        return None


def _encode_graphic(em: _Emitter, block: Block) -> None:
    profile = em.profile
    if isinstance(block, Feed):
        em.out += ESC + b"d" + bytes([max(0, min(block.lines, 255))])
    elif isinstance(block, QrCode):
        em.style("center", False, 1)
        if profile.native_qr:
            dummy = Dummy()
            dummy.qr(block.data, ec=1, size=profile.qr_module_size, native=True)  # ec M
            em.out += dummy.output + LF
        else:
            em.out += raster_bytes(qr_image(block.data, profile))
        if block.caption:
            data = _encode_line_text(block.caption, profile)
            if data is None:
                em.style("left", False, 1)
                em.out += raster_bytes(render_lines([PrintLine(block.caption, "center")], profile))
            else:
                em.out += data + LF
        em.style("left", False, 1)
    elif isinstance(block, Barcode):
        em.style("center", False, 1)
        if profile.native_barcode:
            payload = b"{B" + block.data.encode("ascii", errors="replace")
            em.out += (GS + b"h\x50" + GS + b"w\x02" + GS + b"H\x02" + GS + b"f\x00"
                       + GS + b"k\x49" + bytes([len(payload)]) + payload + LF)
        else:
            em.out += raster_bytes(barcode_image(block.data, profile))
        em.style("left", False, 1)
    elif isinstance(block, Logo):
        em.out += raster_bytes(logo_image(str(block.path), profile.dots_width))


# -- raster helpers -----------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(CJK_FONT), px)


def render_lines(lines: list[PrintLine], profile: PrinterProfile) -> Image.Image:
    """Draw text lines on the printer's character grid (half cell = ``cell_width`` dots)."""
    cell = profile.cell_width
    base = cell * 2  # a full-width glyph is square: 24 dots on a 12-dot grid
    heights = [base * line.size + 6 for line in lines]
    img = Image.new("L", (profile.dots_width, sum(heights)), 255)
    draw = ImageDraw.Draw(img)
    y = 0
    for line, h in zip(lines, heights, strict=True):
        size = line.size
        font = _font(base * size)
        width = text_cells(line.text) * cell * size
        x = {"left": 0, "center": (profile.dots_width - width) // 2,
             "right": profile.dots_width - width}[line.align]
        for ch in line.text:
            w = char_cells(ch) * cell * size
            if not ch.isspace():
                glyph_w = draw.textlength(ch, font=font)
                gx = x + (w - glyph_w) / 2
                draw.text((gx, y + 2), ch, font=font, fill=0,
                          stroke_width=1 if line.bold else 0, stroke_fill=0)
            x += w
        y += h
    return img.point(lambda v: 0 if v < 140 else 255)


def raster_bytes(img: Image.Image) -> bytes:
    """``GS v 0`` bands for a picture (black on white), at most ``RASTER_BAND`` dots tall."""
    out = bytearray()
    for top in range(0, img.height, RASTER_BAND):
        band = EscposImage(img.crop((0, top, img.width, min(img.height, top + RASTER_BAND))))
        out += (GS + b"v0\x00" + band.width_bytes.to_bytes(2, "little")
                + band.height.to_bytes(2, "little") + band.to_raster_format())
    return bytes(out)


def _centered(img: Image.Image, width: int) -> Image.Image:
    canvas = Image.new("L", (width, img.height), 255)
    canvas.paste(img.convert("L"), ((width - img.width) // 2, 0))
    return canvas


def qr_image(data: str, profile: PrinterProfile) -> Image.Image:
    code = qrcode.QRCode(border=2, box_size=profile.qr_module_size,
                         error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    img = code.make_image().get_image().convert("L")
    if img.width > profile.dots_width:
        img = img.resize((profile.dots_width, profile.dots_width), Image.Resampling.NEAREST)
    return _centered(img, profile.dots_width)


def barcode_image(data: str, profile: PrinterProfile) -> Image.Image:
    import barcode
    from barcode.writer import ImageWriter

    buf = io.BytesIO()
    barcode.get("code128", data, writer=ImageWriter()).write(
        buf, {"module_width": 0.25, "module_height": 8.0, "dpi": 203, "font_size": 8,
              "quiet_zone": 2.0})
    img = Image.open(buf).convert("L")
    if img.width > profile.dots_width:
        img = img.resize((profile.dots_width, img.height * profile.dots_width // img.width))
    return _centered(img, profile.dots_width)


@functools.lru_cache(maxsize=4)
def logo_image(path: str, dots_width: int) -> Image.Image:
    """The logo scaled to at most half the paper and 160 dots tall, centered, 1-bit clean."""
    img = Image.open(path).convert("L")
    scale = min(dots_width / 2 / img.width, 160 / img.height, 1.0)
    img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))))
    img = img.point(lambda v: 0 if v < 140 else 255)
    return _centered(img, dots_width)
