"""Device-neutral receipt elements: what a receipt says, not how a printer says it.

``kiosk.documents.receipts`` builds a :class:`ReceiptDoc` from a template; the encoder in
``drivers.escpos_encoder`` turns it into bytes for one printer profile (GB18030 text or a
raster image, native or image QR). Keeping the two apart lets one template print on every
model in ``config/printers/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class Text:
    """One paragraph; wrapped to the paper width. ``size`` n (1-4) is n times wide and tall."""

    text: str
    align: Align = "left"
    bold: bool = False
    size: int = 1


@dataclass(frozen=True)
class Pair:
    """A label on the left and its value on the right (wraps the value when too long)."""

    label: str
    value: str


@dataclass(frozen=True)
class Rule:
    """A separator line across the paper."""

    char: str = "-"


@dataclass(frozen=True)
class Table:
    """A short result table. A value is never split: columns are taken by ``priority``
    (lower first, default their order) while they fit the paper, and the rest are left off
    with ``left_off`` printed under the table (``{columns}`` names them). Only columns marked
    in ``wrap`` (free text) may break, at spaces or between CJK characters. ``align`` per
    column; by default the last column is right-aligned."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[Align, ...] = ()
    priority: tuple[int, ...] = ()
    wrap: tuple[bool, ...] = ()
    left_off: str = ""


@dataclass(frozen=True)
class QrCode:
    data: str
    caption: str = ""


@dataclass(frozen=True)
class Barcode:
    """CODE128 barcode (reference numbers): scanners at the counter read it."""

    data: str


@dataclass(frozen=True)
class Logo:
    path: Path


@dataclass(frozen=True)
class Feed:
    lines: int = 1


Element = Text | Pair | Rule | Table | QrCode | Barcode | Logo | Feed


@dataclass(frozen=True)
class ReceiptDoc:
    """A whole receipt. ``cut`` ends it with a (partial) cut where the printer has a cutter."""

    elements: tuple[Element, ...] = field(default_factory=tuple)
    cut: bool = True
    title: str = ""  # for logs and the technician screen; never personal data
