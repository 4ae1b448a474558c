"""Read an application number from the QR code on a receipt the resident holds up to the
camera, so nobody has to type sixteen characters. Qt-free: frames arrive on the camera's
thread, every third one is decoded, the first number found is handed on once."""

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


class QrScanner(CameraTap):
    def __init__(self, camera: FrameSource, on_found: Callable[[str], None], *,
                 every: int = 3) -> None:
        self.on_found = on_found
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
        number = application_number_in(text)
        if number:
            self.stop()
            self.on_found(number)
