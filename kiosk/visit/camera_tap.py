"""A listener on the camera that only works while switched on: the face step and the QR
reader both see every frame but look at them only while their screen needs them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np


class FrameSource(Protocol):
    """What a tap needs of :class:`drivers.camera.Camera`: every BGR frame, by callback."""

    def on_frame(self, callback: Callable[[np.ndarray], None]) -> None: ...


class CameraTap:
    """Subclasses implement ``reset()`` (called on start) and ``look(frame)``."""

    def __init__(self, camera: FrameSource) -> None:
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

    def look(self, frame: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _frame(self, frame: np.ndarray) -> None:  # the camera's thread
        if not self._active.is_set():
            return
        with self._lock:
            self.look(frame)
