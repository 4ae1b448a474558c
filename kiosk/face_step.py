"""The face step (刷脸): camera frames go through the quality gate and liveness check on the
camera's thread; the screen gets each frame with a prompt, and the flow gets the one chosen
frame as JPEG. Frames are never written anywhere."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from drivers.face import CaptureState, FaceCapture, FaceGate, LivenessCheck

log = logging.getLogger(__name__)


class FaceStep:
    def __init__(self, camera: Any, on_update: Callable[[Any, CaptureState], None],
                 on_done: Callable[[bytes], None], *, frame_size: tuple[int, int] = (640, 480),
                 steady_frames: int = 8) -> None:
        self.camera = camera
        self.on_update = on_update
        self.on_done = on_done
        self.capture = FaceCapture(FaceGate(frame_size), LivenessCheck(), steady_frames=steady_frames)
        self._active = threading.Event()
        self._lock = threading.Lock()
        camera.on_frame(self._frame)

    def start(self) -> None:
        with self._lock:
            self.capture.reset()
        self._active.set()

    def stop(self) -> None:
        self._active.clear()

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def _frame(self, frame: Any) -> None:
        if not self._active.is_set():
            return
        with self._lock:
            state = self.capture.feed(frame)
            self.on_update(frame, state)
            if state.done:
                self._active.clear()
                try:
                    jpeg = self.capture.best_jpeg()
                except Exception as exc:  # never leave the resident on a frozen screen
                    log.error("face capture failed: %s", exc)
                    self.start()
                    return
                self.on_done(jpeg)
