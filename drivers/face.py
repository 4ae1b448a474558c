"""Face capture for 刷脸办: find the face, judge whether the frame is good enough to send,
check the person is live, and pick the one frame that leaves the terminal (as JPEG).

Plain Python + OpenCV Haar cascades (frontal face, eyes), no Qt, so the app runs it on a
worker thread while the preview keeps running. Outcomes are stable codes that screens map to
prompts (``face.<code>`` in the translations): ``ok``, ``no_face``, ``multiple_faces``,
``too_small`` (请靠近一点), ``off_centre`` (请正对摄像头), ``blurry``, ``too_dark`` (光线太暗),
``too_bright``, ``eyes_closed``; :class:`FaceCapture` adds ``hold_still`` and ``not_live``.

Speed (one core must keep up with 25+ fps): detection runs on a downscaled frame, tracks the
last face in a small region of interest, and rescans the whole frame only every few frames
(``full_scan_every``) so a second face walking in is still noticed.

Liveness is passive micro-motion: a live face in front of a kiosk never stays pixel-still for
half a second (breathing, balance, small head movements), while a printed photo held still or
propped up does. We chose it over a blink check because Haar eye detection flickers on real
video (a flicker would count as a blink, letting a photo through) and over a prompted head
turn because it costs elderly residents an extra instruction. It does not stop a photo waved
by hand or a video replay; that needs depth/IR hardware or a trained anti-spoofing model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import cv2.data  # already loaded by cv2; named so type checkers see it (cv2's stubs omit it)
import numpy as np

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x, y, width, height in frame pixels

GATE_CODES = ("ok", "no_face", "multiple_faces", "too_small", "off_centre", "blurry",
              "too_dark", "too_bright", "eyes_closed")
CAPTURE_CODES = GATE_CODES + ("hold_still", "not_live", "done")
# Fallback prompts for logs and the technician CLI; screens use the translation files.
PROMPTS_ZH = {"no_face": "请看向摄像头", "multiple_faces": "请一人刷脸",
              "too_small": "请靠近一点", "off_centre": "请正对摄像头", "blurry": "请保持不动",
              "too_dark": "光线太暗", "too_bright": "光线太亮", "eyes_closed": "请睁开眼睛",
              "hold_still": "请保持不动", "not_live": "请本人正对摄像头", "ok": "", "done": ""}

_CASCADE_WINDOW = 24  # the frontal cascade's training window, pixels


def _cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if cascade.empty():
        raise FileNotFoundError(f"OpenCV cascade {name} missing from {cv2.data.haarcascades}")
    return cascade


def _gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box: 'is this the same face?'."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / max(1, min(a[2] * a[3], b[2] * b[3]))


class FaceDetector:
    """Haar frontal-face detection tuned for speed: downscaled full scans every
    ``full_scan_every`` frames, and between them a search only around the last face."""

    def __init__(self, frame_size: tuple[int, int] = (640, 480), *, min_face: int = 72,
                 full_scan_every: int = 5, scale_factor: float = 1.15,
                 min_neighbors: int = 4, grace_frames: int = 2) -> None:
        self.frame_size = frame_size
        self.min_face = min_face
        self.full_scan_every = max(1, full_scan_every)
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self._face = _cascade("haarcascade_frontalface_default.xml")
        self._last: list[Box] = []  # faces from the latest full scan, frame pixels
        self._track: Box | None = None
        self._since_full = 0
        # A face the cascade misses for a frame or two is still there (people do not vanish in
        # 66 ms); holding it stops the prompt flickering between "closer" and "look here".
        self.grace_frames = grace_frames
        self._missed = 0

    def reset(self) -> None:
        self._last, self._track, self._since_full, self._missed = [], None, 0, 0

    def detect(self, gray: np.ndarray) -> list[Box]:
        """All faces in the frame, the tracked one first."""
        if self._track is not None and self._since_full < self.full_scan_every:
            self._since_full += 1
            near = self._search_near(gray, self._track)
            if near is not None:
                self._track = near
                others = [b for b in self._last if _overlap(b, near) < 0.3]
                return [near, *others]
        self._since_full = 1
        found = self._full_scan(gray)
        if not found and self._track is not None and self._missed < self.grace_frames:
            self._missed += 1
            return [self._track]
        self._missed = 0
        self._last = found
        self._track = max(found, key=lambda b: b[2] * b[3]) if found else None
        if self._track is None:
            return []
        return [self._track, *[b for b in self._last if b is not self._track]]

    def _run(self, image: np.ndarray, min_px: int, max_px: int) -> list[Box]:
        image = cv2.equalizeHist(image)  # dark or washed-out faces still get found
        found = self._face.detectMultiScale(image, self.scale_factor, self.min_neighbors,
                                            minSize=(min_px, min_px), maxSize=(max_px, max_px))
        return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]

    def _full_scan(self, gray: np.ndarray) -> list[Box]:
        # Shrink so the smallest face we care about just fills the cascade window.
        k = max(1.0, self.min_face / _CASCADE_WINDOW)
        h, w = gray.shape[:2]
        small = cv2.resize(gray, (int(w / k), int(h / k)), interpolation=cv2.INTER_AREA)
        # A face taller than 3/4 of the frame would be cut off by the guide oval anyway; the
        # cap removes large false positives (clothing folds, backgrounds) and saves time.
        boxes = self._run(small, _CASCADE_WINDOW, int(min(small.shape[:2]) * 0.75))
        return [(int(x * k), int(y * k), int(bw * k), int(bh * k)) for x, y, bw, bh in boxes]

    def _search_near(self, gray: np.ndarray, box: Box) -> Box | None:
        x, y, bw, bh = box
        h, w = gray.shape[:2]
        m = bw // 2
        x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(w, x + bw + m), min(h, y + bh + m)
        k = max(1.0, bw / 40)  # the tracked face becomes ~40 px: few scales, fast
        roi = gray[y0:y1, x0:x1]
        small = cv2.resize(roi, (max(1, int(roi.shape[1] / k)), max(1, int(roi.shape[0] / k))),
                           interpolation=cv2.INTER_AREA)
        found = self._run(small, max(_CASCADE_WINDOW, int(bw * 0.7 / k)),
                          max(_CASCADE_WINDOW + 1, int(bw * 1.45 / k)))
        if not found:
            return None
        bx, by, fw, fh = max(found, key=lambda b: b[2] * b[3])
        return (x0 + int(bx * k), y0 + int(by * k), int(fw * k), int(fh * k))


@dataclass(frozen=True)
class GateVerdict:
    """The gate's judgement of one frame. ``score`` (0..1) ranks frames that passed, so the
    sharpest, best-placed one is sent; ``box`` is the face in frame pixels."""

    code: str
    score: float
    box: Box | None
    faces: int = 0
    eyes: int = -1  # eyes found in the face; -1 when not looked for

    @property
    def ok(self) -> bool:
        return self.code == "ok"


class FaceGate:
    """Quality gate for the face photo the central platform will compare.

    Thresholds are constructor arguments; the defaults suit a 640×480 kiosk camera at arm's
    length: the face at least a quarter of the frame wide, its centre within the middle of the
    guide oval, a Laplacian variance (on a 128×128 face crop) above 60, mean face brightness
    between 60 and 210, and at least one open eye when ``require_eyes``.
    """

    def __init__(self, frame_size: tuple[int, int] = (640, 480), *, min_face_frac: float = 0.25,
                 centre_tolerance: tuple[float, float] = (0.12, 0.15), min_sharpness: float = 60.0,
                 min_brightness: float = 60.0, max_brightness: float = 210.0,
                 require_eyes: bool = True, full_scan_every: int = 5) -> None:
        self.frame_size = frame_size
        self.min_face_frac = min_face_frac
        self.centre_tolerance = centre_tolerance
        self.min_sharpness = min_sharpness
        self.min_brightness = min_brightness
        self.max_brightness = max_brightness
        self.require_eyes = require_eyes
        self.detector = FaceDetector(frame_size, min_face=max(48, int(frame_size[0] * 0.11)),
                                     full_scan_every=full_scan_every)
        # The eyeglasses variant also finds eyes behind glasses (many elderly residents wear
        # them) and still finds none when the eyes are shut; it costs ~1 ms more per frame.
        self._eyes = _cascade("haarcascade_eye_tree_eyeglasses.xml") if require_eyes else None

    def reset(self) -> None:
        self.detector.reset()

    @property
    def guide_oval(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Centre and semi-axes of the on-screen guide oval, for the screen to draw."""
        w, h = self.frame_size
        return (w // 2, h // 2), (int(w * 0.22), int(h * 0.38))

    def assess(self, frame: np.ndarray) -> GateVerdict:
        gray = _gray(frame)
        faces = self.detector.detect(gray)
        if not faces:
            mean = float(gray.mean())
            if mean < self.min_brightness * 0.6:
                return GateVerdict("too_dark", 0.0, None)
            if mean > self.max_brightness:
                return GateVerdict("too_bright", 0.0, None)
            return GateVerdict("no_face", 0.0, None)
        box = faces[0]
        if len(faces) > 1:
            return GateVerdict("multiple_faces", 0.0, box, len(faces))
        return self._judge(gray, box)

    def _judge(self, gray: np.ndarray, box: Box) -> GateVerdict:
        x, y, bw, bh = box
        w, h = gray.shape[1], gray.shape[0]
        size = bw / w
        dx = (x + bw / 2 - w / 2) / (w * self.centre_tolerance[0])
        dy = (y + bh / 2 - h / 2) / (h * self.centre_tolerance[1])
        off = (dx * dx + dy * dy) ** 0.5  # <= 1 inside the tolerance ellipse
        crop = cv2.resize(gray[y:y + bh, x:x + bw], (128, 128), interpolation=cv2.INTER_AREA)
        # Ignore the outer ring (hair, background edges); judge the face itself.
        inner = crop[16:112, 16:112]
        sharp = float(cv2.Laplacian(inner, cv2.CV_64F).var())
        light = float(inner.mean())
        # Absolute (not threshold-relative) so scores compare across gate settings.
        score = round(0.4 * sharp / (sharp + 100.0)
                      + 0.3 * max(0.0, 1.0 - off) + 0.3 * min(1.0, size / 0.4), 4)
        if size < self.min_face_frac:
            return GateVerdict("too_small", score, box, 1)
        if off > 1.0:
            return GateVerdict("off_centre", score, box, 1)
        if light < self.min_brightness:
            return GateVerdict("too_dark", score, box, 1)
        if light > self.max_brightness:
            return GateVerdict("too_bright", score, box, 1)
        if sharp < self.min_sharpness:
            return GateVerdict("blurry", score, box, 1)
        eyes = -1
        if self._eyes is not None:
            eyes = self._count_eyes(crop)
            if eyes == 0:
                return GateVerdict("eyes_closed", score, box, 1, eyes)
        return GateVerdict("ok", score, box, 1, eyes)

    def _count_eyes(self, face128: np.ndarray) -> int:
        # Eyes sit in the upper ~60 % of a frontal face box; an 80 px face keeps this cheap.
        assert self._eyes is not None  # only called when the gate looks for eyes
        face = cv2.resize(face128, (80, 80), interpolation=cv2.INTER_AREA)[:48]
        found = self._eyes.detectMultiScale(cv2.equalizeHist(face), 1.1, 3,
                                            minSize=(10, 10), maxSize=(40, 40))
        return min(2, len(found))


class LivenessCheck:
    """Passive liveness by natural micro-motion (see the module docstring for why).

    Each frame's face region, taken at the position where the window started, is blurred
    (sensor noise out) and normalised (light flicker out) and compared with the window's first
    one. Motion above ``threshold`` within ``window`` frames passes; a whole window without it
    marks the face ``still`` (a photo), and a new window starts in case the person moves.
    Losing the face resets everything, so swapping a live face for a photo is caught.
    """

    def __init__(self, window: int = 15, threshold: float = 0.035) -> None:
        self.window = window
        self.threshold = threshold
        self.reset()

    def reset(self) -> None:
        self.passed = False
        self.still = False
        self.motion = 0.0
        self._anchor_box: Box | None = None
        self._anchor: np.ndarray | None = None
        self._frames = 0

    @property
    def progress(self) -> float:
        return 1.0 if self.passed else min(1.0, self._frames / self.window)

    def _patch(self, gray: np.ndarray, box: Box) -> np.ndarray:
        x, y, bw, bh = box
        patch = cv2.resize(gray[y:y + bh, x:x + bw], (48, 48), interpolation=cv2.INTER_AREA)
        patch = cv2.GaussianBlur(patch.astype(np.float32), (5, 5), 0)
        return (patch - patch.mean()) / (patch.std() + 1e-3)

    def update(self, frame: np.ndarray, verdict: GateVerdict) -> bool:
        """Feed one frame with its verdict; returns whether liveness has passed."""
        if verdict.box is None or verdict.faces > 1:
            self.reset()
            return False
        if self.passed:
            return True
        gray = _gray(frame)
        if self._anchor is None or self._frames >= self.window:
            if self._anchor is not None:
                self.still = True
                log.info("liveness: face still for %d frames (motion %.3f)", self._frames,
                         self.motion)
            self._anchor_box, self._frames, self.motion = verdict.box, 0, 0.0
            self._anchor = self._patch(gray, verdict.box)
        self._frames += 1
        assert self._anchor_box is not None  # set together with _anchor
        diff = float(np.abs(self._patch(gray, self._anchor_box) - self._anchor).mean())
        self.motion = max(self.motion, diff)
        if self.motion >= self.threshold:
            self.passed, self.still = True, False
        return self.passed


@dataclass(frozen=True)
class CaptureState:
    """What the face screen shows: a prompt code, a progress bar, and whether we are done."""

    prompt_code: str
    progress: float
    done: bool


class CaptureNotReady(RuntimeError):
    """best_jpeg() was asked for before a good, live frame was captured."""


class FaceCapture:
    """Feeds frames through the gate and liveness; done once ``steady_frames`` consecutive
    frames pass the gate and liveness has passed. Keep ``steady_frames`` ≥ the gate's
    ``full_scan_every`` so every steady run includes a full-frame look for a second face."""

    def __init__(self, gate: FaceGate, liveness: LivenessCheck, steady_frames: int = 8,
                 jpeg_quality: int = 90) -> None:
        self.gate = gate
        self.liveness = liveness
        self.steady_frames = steady_frames
        self.jpeg_quality = jpeg_quality
        self.reset()

    def reset(self) -> None:
        self.gate.reset()
        self.liveness.reset()
        self._steady = 0
        self._best: tuple[float, np.ndarray, GateVerdict] | None = None
        self._done = False
        self.last_verdict: GateVerdict | None = None

    def feed(self, frame: np.ndarray) -> CaptureState:
        if self._done:
            return CaptureState("done", 1.0, True)
        verdict = self.gate.assess(frame)
        self.last_verdict = verdict
        live = self.liveness.update(frame, verdict)
        if verdict.ok:
            self._steady += 1
            if self._best is None or verdict.score > self._best[0]:
                self._best = (verdict.score, frame, verdict)
        else:
            self._steady, self._best = 0, None
        steady = min(1.0, self._steady / self.steady_frames)
        progress = round(0.5 * steady + 0.5 * self.liveness.progress, 3)
        if not verdict.ok:
            return CaptureState(verdict.code, progress, False)
        if self._steady >= self.steady_frames and live:
            assert self._best is not None  # every ok frame keeps the best so far
            self._done = True
            log.info("face captured (score %.3f)", self._best[0])
            return CaptureState("done", 1.0, True)
        if self.liveness.still:
            return CaptureState("not_live", progress, False)
        return CaptureState("hold_still", progress, False)

    @property
    def best_verdict(self) -> GateVerdict | None:
        return self._best[2] if self._best else None

    def best_jpeg(self) -> bytes:
        """The chosen frame as JPEG: the only image that leaves the process."""
        if not self._done or self._best is None:
            raise CaptureNotReady("no good live face captured yet")
        ok, buf = cv2.imencode(".jpg", self._best[1], [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise CaptureNotReady("JPEG encoding failed")
        return buf.tobytes()


def assess_all(gate: FaceGate, frames: Sequence[np.ndarray]) -> list[GateVerdict]:
    """Verdicts for a sequence of frames (technician checks, tests)."""
    return [gate.assess(f) for f in frames]
