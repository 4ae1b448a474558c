"""Read a QR code held up to the camera: the application number on a receipt, so nobody has
to type sixteen characters, or (where there is no scanner engine) the identity code a
resident's phone shows. Qt-free: frames arrive on the camera's thread, every third one is
decoded, the first value found is handed on once."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2

from kiosk.visit.camera_tap import CameraTap, FrameSource

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
APPLICATION_NUMBER = re.compile(r"[A-Z]{2}\d{14}")


def application_number_in(text: str) -> str | None:
    """The application number a receipt's QR carries (e.g. at the end of its progress URL)."""
    found = APPLICATION_NUMBER.findall(text or "")
    return found[-1] if found else None


def phone_code_in(text: str) -> str | None:
    """A phone's identity code is the QR's whole text; checking it is central's business and
    the scanner driver's (``drivers.qr_scanner.code_text``), so anything non-empty goes on."""
    return text.strip() or None


class QrScanner(CameraTap):
    def __init__(self, camera: FrameSource, on_found: Callable[[str], None], *,
                 every: int = 3,
                 extract: Callable[[str], str | None] = application_number_in) -> None:
        self.on_found = on_found
        self.extract = extract
        self.every = every
        self._detector = cv2.QRCodeDetector()
        self._count = 0
        super().__init__(camera)

    def reset(self) -> None:
        self._count = 0

    def look(self, frame: np.ndarray) -> None:
        self._count += 1
        if self._count % self.every:
            return
        try:
            text, _points, _ = self._detector.detectAndDecode(frame)
        except cv2.error as exc:  # a bad frame is just skipped
            log.debug("QR decode failed: %s", exc)
            return
        value = self.extract(text)
        if value:
            self.stop()
            self.on_found(value)
