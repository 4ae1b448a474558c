"""A listener on the camera that only works while switched on: the face step and the QR
reader both see every frame but look at them only while their screen needs them."""

from __future__ import annotations

import threading
from typing import Any


class CameraTap:
    """Subclasses implement ``reset()`` (called on start) and ``look(frame)``."""

    def __init__(self, camera: Any) -> None:
        self._active = threading.Event()
        self._lock = threading.Lock()
        camera.on_frame(self._frame)

    def start(self) -> None:
        with self._lock:
            self.reset()
        self._active.set()

    def stop(self) -> None:
        self._active.clear()

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def reset(self) -> None:
        """Forget earlier frames (a new resident, a new try)."""

    def look(self, frame: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _frame(self, frame: Any) -> None:  # the camera's thread
        if not self._active.is_set():
            return
        with self._lock:
            self.look(frame)
