"""What Chinese text entry raises."""

from __future__ import annotations


class ImeError(Exception):
    """Base of everything ``kiosk.ime`` raises."""


class ImeUnavailable(ImeError):
    """A library or model text entry needs is not installed (``scripts/setup.sh`` installs it).

    ``part`` names it (``libzinnia``, ``handwriting model``, ``libopencc``) so the doctor and
    the technician can say what to install; the pads then fall back to what still works."""

    def __init__(self, part: str, detail: str):
        super().__init__(f"{part} unavailable: {detail}")
        self.part = part
        self.detail = detail
