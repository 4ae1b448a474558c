"""The face step (刷脸): camera frames go through the quality gate and liveness check on the
camera's thread; the screen gets each frame with a prompt, and the flow gets the one chosen
frame as JPEG. Frames are never written anywhere."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from drivers.face import CaptureState, FaceCapture, FaceGate, LivenessCheck
from kiosk.visit.camera_tap import CameraTap, FrameSource

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


class FaceStep(CameraTap):
    def __init__(self, camera: FrameSource, on_update: Callable[[np.ndarray, CaptureState], None],
                 on_done: Callable[[bytes], None], *, frame_size: tuple[int, int] = (640, 480),
                 steady_frames: int = 8) -> None:
        self.on_update = on_update
        self.on_done = on_done
        self.capture = FaceCapture(FaceGate(frame_size), LivenessCheck(), steady_frames=steady_frames)
        super().__init__(camera)

    def reset(self) -> None:
        self.capture.reset()

    def look(self, frame: np.ndarray) -> None:
        state = self.capture.feed(frame)
        self.on_update(frame, state)
        if not state.done:
            return
        self.stop()
        try:
            jpeg = self.capture.best_jpeg()
        except Exception as exc:  # never leave the resident on a frozen screen
            log.error("face capture failed: %s", exc)
            self.capture.reset()
            self._active.set()
            return
        self.on_done(jpeg)
