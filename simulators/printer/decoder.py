"""An ESC/POS decoder written from the command reference, independent of the kiosk's encoder.

It turns a byte stream into printed items (text lines with their style, raster images, QR
codes, barcodes, feeds, cuts). Real-time status requests (DLE EOT n) are reported to a
callback as soon as they are parsed, as a printer answers them at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

log = logging.getLogger(__name__)

ESC, GS, FS, DLE, LF, CR, HT = 0x1B, 0x1D, 0x1C, 0x10, 0x0A, 0x0D, 0x09
CODEPAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252",
             17: "cp866", 18: "cp852", 19: "cp858"}
# ESC commands followed by a fixed number of parameter bytes (that we can safely skip).
ESC_FIXED = {ord(c): n for c, n in {
    "!": 1, "-": 1, "2": 0, "3": 1, "E": 1, "G": 1, "M": 1, "R": 1, "V": 1, "a": 1, "d": 1,
    "t": 1, "{": 1, "J": 1, "K": 1, "e": 1, " ": 1, "$": 2, "\\": 2, "p": 3, "c": 2, "=": 1,
    "U": 1, "L": 0, "S": 0, "T": 1, "W": 8, "i": 0, "m": 0, "r": 1, "%": 1, "?": 1}.items()}
GS_FIXED = {ord(c): n for c, n in {
    "!": 1, "B": 1, "H": 1, "L": 2, "W": 2, "a": 1, "b": 1, "f": 1, "h": 1, "w": 1,
    "r": 1, "I": 1, "P": 2, "$": 2, "\\": 2, "^": 3, ":": 0, "E": 1}.items()}
FS_FIXED = {ord(c): n for c, n in {"&": 0, ".": 0, "!": 1, "-": 1, "C": 1, "W": 1, "S": 2,
                                   "p": 2}.items()}


@dataclass
class TextLine:
    text: str
    align: int = 0
    bold: bool = False
    width: int = 1
    height: int = 1


@dataclass
class Raster:
    image: Image.Image  # mode "1", black = printed dot
    align: int = 0


@dataclass
class Qr:
    data: str
    module: int = 3
    align: int = 0


@dataclass
class Bar:
    data: str
    kind: int = 73
    height: int = 162
    align: int = 0


@dataclass
class Feed:
    lines: int


@dataclass
class Cut:
    partial: bool
    end: int = -1  # offset in ``print_bytes`` just after the cut command


@dataclass
class Init:
    """ESC @: a printer without a cutter starts its next job here."""

    start: int = -1  # offset in ``print_bytes`` where the ESC @ begins


Item = TextLine | Raster | Qr | Bar | Feed | Cut | Init


class Incomplete(Exception):
    """The command is not all here yet; wait for more bytes."""


@dataclass
class PrinterState:
    align: int = 0
    bold: bool = False
    width: int = 1
    height: int = 1
    chinese: bool = False
    codepage: int = 0
    qr_module: int = 3
    qr_data: bytes = b""
    bar_height: int = 162
    line: bytearray = field(default_factory=bytearray)


class EscPosDecoder:
    """Feed bytes with :meth:`feed`; printed items come out of :meth:`take`."""

    def __init__(self, on_status_request: Callable[[int], None] | None = None) -> None:
        self.state = PrinterState()
        self._buf = bytearray()
        self._items: list[Item] = []
        self._on_status = on_status_request or (lambda n: None)
        self.unknown: list[str] = []
        self.print_bytes = bytearray()  # the stream without real-time requests

    def feed(self, data: bytes) -> None:
        self._buf += data
        pos = 0
        while pos < len(self._buf):
            try:
                end = self._step(pos)
            except Incomplete:
                break
            if self._items and isinstance(self._items[-1], Init) and self._items[-1].start < 0:
                self._items[-1].start = len(self.print_bytes)
            if self._buf[pos] != DLE:
                self.print_bytes += self._buf[pos:end]
            if self._items and isinstance(self._items[-1], Cut) and self._items[-1].end < 0:
                self._items[-1].end = len(self.print_bytes)
            pos = end
        del self._buf[:pos]

    def flush_line(self) -> None:
        """End of job or image: whatever text is pending is printed as a line."""
        if self.state.line:
            self._print_line()

    def take(self) -> list[Item]:
        items, self._items = self._items, []
        return items

    # -- one command ---------------------------------------------------------------------
    def _need(self, pos: int, n: int) -> bytes:
        if pos + n > len(self._buf):
            raise Incomplete
        return bytes(self._buf[pos:pos + n])

    def _step(self, pos: int) -> int:
        b = self._buf[pos]
        st = self.state
        if b == LF:
            self._print_line()
            return pos + 1
        if b == CR:
            return pos + 1
        if b == HT:
            st.line += b"    "
            return pos + 1
        if b == DLE:
            return self._dle(pos)
        if b == ESC:
            return self._esc(pos)
        if b == GS:
            return self._gs(pos)
        if b == FS:
            return self._fs(pos)
        st.line.append(b)
        return pos + 1

    def _dle(self, pos: int) -> int:
        cmd = self._need(pos, 2)[1]
        if cmd == 0x04:  # DLE EOT n
            n = self._need(pos, 3)[2]
            self._on_status(n)
            return pos + 3
        if cmd == 0x14:  # DLE DC4 fn m t
            self._need(pos, 5)
            return pos + 5
        if cmd == 0x05:  # DLE ENQ n
            self._need(pos, 3)
            return pos + 3
        self.state.line.append(DLE)
        return pos + 1

    def _esc(self, pos: int) -> int:
        cmd = self._need(pos, 2)[1]
        st = self.state
        if cmd == ord("@"):
            self.flush_line()
            self.state = PrinterState()  # Chinese mode off until FS &
            self._items.append(Init())
            return pos + 2
        if cmd == ord("*"):  # ESC * m nL nH d…  column bit image
            m, nl, nh = self._need(pos, 5)[2:5]
            n = nl + 256 * nh
            per_col = 3 if m >= 32 else 1
            data = self._need(pos, 5 + n * per_col)[5:]
            self.flush_line()
            self._items.append(Raster(_column_image(data, n, per_col), st.align))
            return pos + 5 + n * per_col
        if cmd not in ESC_FIXED:
            self.unknown.append(f"ESC 0x{cmd:02x}")
            return pos + 2
        args = self._need(pos, 2 + ESC_FIXED[cmd])[2:]
        if cmd == ord("a"):
            st.align = args[0] % 48 if args[0] >= 48 else args[0]
        elif cmd == ord("E") or cmd == ord("G"):
            st.bold = bool(args[0] & 1)
        elif cmd == ord("!"):
            st.bold = bool(args[0] & 0x08)
            st.height = 2 if args[0] & 0x10 else 1
            st.width = 2 if args[0] & 0x20 else 1
        elif cmd == ord("t"):
            st.codepage = args[0]
        elif cmd == ord("d"):
            self.flush_line()
            self._items.append(Feed(args[0]))
        elif cmd == ord("J"):
            self.flush_line()
        return pos + 2 + len(args)

    def _gs(self, pos: int) -> int:
        cmd = self._need(pos, 2)[1]
        st = self.state
        if cmd == ord("v"):  # GS v 0 m xL xH yL yH d…
            head = self._need(pos, 8)
            xb = head[4] + 256 * head[5]
            h = head[6] + 256 * head[7]
            data = self._need(pos, 8 + xb * h)[8:]
            self.flush_line()
            img = Image.frombytes("1", (xb * 8, h), data)
            img = Image.eval(img.convert("L"), lambda v: 255 - v).convert("1")
            self._items.append(Raster(img, st.align))  # "1": 0 black → printed dots
            return pos + 8 + xb * h
        if cmd == ord("(") or cmd == ord("8"):
            return self._gs_function(pos, cmd)
        if cmd == ord("k"):
            return self._barcode(pos)
        if cmd == ord("V"):
            m = self._need(pos, 3)[2]
            length = 4 if m in (65, 66, 97, 98, 103, 104) else 3
            self._need(pos, length)
            self.flush_line()
            self._items.append(Cut(partial=m in (1, 49, 66, 98, 104)))
            return pos + length
        if cmd not in GS_FIXED:
            self.unknown.append(f"GS 0x{cmd:02x}")
            return pos + 2
        args = self._need(pos, 2 + GS_FIXED[cmd])[2:]
        if cmd == ord("!"):
            st.width = (args[0] >> 4 & 7) + 1
            st.height = (args[0] & 7) + 1
        elif cmd == ord("h"):
            st.bar_height = args[0]
        return pos + 2 + len(args)

    def _gs_function(self, pos: int, cmd: int) -> int:
        if cmd == ord("8"):  # GS 8 L p1..p4 m fn …
            head = self._need(pos, 7)
            n = int.from_bytes(head[3:7], "little")
            return pos + 7 + len(self._need(pos + 7, n))
        head = self._need(pos, 5)
        sub, n = head[2], head[3] + 256 * head[4]
        body = self._need(pos + 5, n)
        if sub == ord("k") and len(body) >= 2 and body[0] == 49:  # QR code functions
            fn = body[1]
            if fn == 67:
                self.state.qr_module = body[2]
            elif fn == 80:
                self.state.qr_data = bytes(body[3:])
            elif fn == 81:
                self.flush_line()
                self._items.append(Qr(self.state.qr_data.decode("utf-8", "replace"),
                                      self.state.qr_module, self.state.align))
        elif sub == ord("L") and len(body) >= 2 and body[1] in (112, 50):
            if body[1] == 112:  # GS ( L fn 112: store raster graphics
                w = body[7] + 256 * body[8]
                h = body[9] + 256 * body[10]
                img = Image.frombytes("1", ((w + 7) // 8 * 8, h), bytes(body[11:]))
                self._pending_graphic = Image.eval(img.convert("L"), lambda v: 255 - v)
            elif getattr(self, "_pending_graphic", None) is not None:
                self.flush_line()
                self._items.append(Raster(self._pending_graphic.convert("1"), self.state.align))
                self._pending_graphic = None
        return pos + 5 + n

    def _barcode(self, pos: int) -> int:
        m = self._need(pos, 3)[2]
        if m <= 6:  # NUL-terminated form
            end = self._buf.find(b"\x00", pos + 3)
            if end < 0:
                raise Incomplete
            data = bytes(self._buf[pos + 3:end])
            nxt = end + 1
        else:
            n = self._need(pos, 4)[3]
            data = self._need(pos, 4 + n)[4:]
            nxt = pos + 4 + n
        text = data.decode("ascii", "replace")
        if m == 73 and text[:1] == "{":  # CODE128 code-set prefix: {A {B {C
            text = text[2:]
        self.flush_line()
        self._items.append(Bar(text, m, self.state.bar_height, self.state.align))
        return nxt

    def _fs(self, pos: int) -> int:
        cmd = self._need(pos, 2)[1]
        if cmd not in FS_FIXED:
            self.unknown.append(f"FS 0x{cmd:02x}")
            return pos + 2
        args = self._need(pos, 2 + FS_FIXED[cmd])[2:]
        if cmd == ord("&"):
            self.state.chinese = True
        elif cmd == ord("."):
            self.state.chinese = False
        return pos + 2 + len(args)

    def _print_line(self) -> None:
        st = self.state
        raw = bytes(st.line)
        st.line.clear()
        if st.chinese:
            text = raw.decode("gb18030", errors="replace")
        else:
            text = raw.decode(CODEPAGES.get(st.codepage, "cp437"), errors="replace")
        self._items.append(TextLine(text, st.align, st.bold, st.width, st.height))


def _column_image(data: bytes, n: int, per_col: int) -> Image.Image:
    img = Image.new("1", (n, per_col * 8), 1)
    px = img.load()
    for x in range(n):
        for k in range(per_col):
            byte = data[x * per_col + k]
            for bit in range(8):
                if byte & (0x80 >> bit):
                    px[x, k * 8 + bit] = 0
    return img
