"""The camera's two jobs in a visit, wired to Qt: the face step (frames through the face gate
on the camera thread, the newest one shown with its prompt, changed prompts spoken) and the
QR scan of a receipt held up while an input wants an application number."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QImage

from kiosk.visit.face_step import FaceStep
from kiosk.visit.qr_scan import QrScanner
from kiosk.visit.steps import Step

if TYPE_CHECKING:
    from drivers.camera import Camera
    from kiosk.app.bridge import Bridge
    from kiosk.visit.flow import Flow
    from kiosk.voice.speaker import Voice
    from screens.window import KioskWindow

PROMPT_GAP_S = 2.5  # a changed prompt is spoken at most this often: guidance, not chatter
_SILENT_PROMPTS = ("ok", "hold_still", "done")


@dataclass(frozen=True)
class FaceUpdate:
    """One camera frame with the face gate's state *for that frame*: handed from the camera
    thread to the GUI thread as one object, so the two can never come from different frames."""

    frame: Any  # BGR ndarray
    prompt_code: str
    progress: float


class CameraSteps:
    """Starts and stops the face step and the QR scanner as the flow moves."""

    def __init__(self, camera: Camera, flow: Flow, window: KioskWindow, bridge: Bridge,
                 voice: Voice | None) -> None:
        self.flow, self.window, self.bridge, self.voice = flow, window, bridge, voice
        self._latest: FaceUpdate | None = None  # newest update not yet shown
        self._latest_lock = threading.Lock()
        self._spoken_code: str | None = None
        self._spoken_at = 0.0
        self.face_step = FaceStep(camera, self._on_update, bridge.on_gui(flow.face_captured))
        self.qr_scanner = QrScanner(camera, bridge.on_gui(flow.qr_found))
        flow.can_scan = True
        flow.on_change(self._follow)

    def _say_prompt(self, code: str) -> None:
        now = time.monotonic()
        if (self.voice is None or code == self._spoken_code or code in _SILENT_PROMPTS
                or now - self._spoken_at < PROMPT_GAP_S):
            return
        self._spoken_code, self._spoken_at = code, now
        self.voice.say(self.window.t.t(f"face.prompt.{code}"), self.flow.language,
                       slow=self.flow.elderly)

    def _show_latest(self) -> None:
        with self._latest_lock:
            update, self._latest = self._latest, None
        if update is None or self.flow.step is not Step.FACE:
            return
        frame = update.frame
        h, w = frame.shape[:2]
        image = QImage(frame.data, w, h, 3 * w, QImage.Format_BGR888).copy()
        self.window.show_face_frame(image, update.prompt_code, update.progress)
        self._say_prompt(update.prompt_code)

    def _on_update(self, frame: Any, state: Any) -> None:  # camera thread
        update = FaceUpdate(frame, state.prompt_code, float(state.progress))
        with self._latest_lock:
            pending = self._latest is not None
            self._latest = update
        if not pending:  # stale frames are dropped: the screen gets the newest one only
            self.bridge.post(self._show_latest)

    def _follow(self, flow: Flow) -> None:
        wanted = flow.step is Step.FACE and flow.face_problem is None
        if wanted and not self.face_step.active:
            self.face_step.start()
        elif not wanted and self.face_step.active:
            self.face_step.stop()
        scanning = flow.scan_field is not None
        if scanning and not self.qr_scanner.active:
            self.qr_scanner.start()
        elif not scanning and self.qr_scanner.active:
            self.qr_scanner.stop()
