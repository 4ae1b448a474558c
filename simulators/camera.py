"""``kiosk-sim camera``: camera feeds from files, built from scikit-image's astronaut (a real
face, shipped with the package, so nothing is downloaded).

Each clip is a 640×480 MJPG .avi at 30 fps with mild sensor noise. The kiosk reads it as
``camera:///path/clip.avi``; the demo, the tests and the bench use the same clips.

Kinds: ``live`` (centred, small natural motion: passes), ``off_centre``, ``small``, ``blurred``,
``dark``, ``bright``, ``eyes_closed``, ``two_faces``, ``no_face``, ``still`` (a photo held
perfectly still: liveness must fail) and ``mismatch`` (``live`` with the top-left 16×16 pixels
pure red, which the central simulator treats as a face that does not match).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

SIZE = (640, 480)
FPS = 30.0
FRAMES = 45
FACE_CENTRE = (224.0, 113.0)  # in the astronaut image (512×512)
# Eyes in the astronaut image (x, y, w, h), as OpenCV's eye cascade finds them.
ASTRONAUT_EYES = ((187, 86, 30, 30), (233, 90, 27, 27))

CLIP_KINDS = ("live", "off_centre", "small", "blurred", "dark", "bright", "eyes_closed",
              "two_faces", "no_face", "still", "mismatch")


def astronaut(eyes_closed: bool = False) -> np.ndarray:
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    if eyes_closed:
        skin = tuple(int(v) for v in image[128, 212])  # a cheek pixel
        for x, y, w, h in ASTRONAUT_EYES:
            centre = (x + w // 2, y + h // 2 + 1)
            cv2.ellipse(image, centre, (w // 2 - 1, h // 3), 0, 0, 360, skin, -1)
            cv2.ellipse(image, centre, (w // 3, h // 8), 0, 0, 180, (60, 50, 60), 1)
    return image


def _place(src: np.ndarray, scale: float, centre: tuple[float, float], size=SIZE,
           source_point=FACE_CENTRE) -> np.ndarray:
    """Put ``source_point`` of ``src``, scaled, at ``centre`` of a frame of ``size``."""
    sx, sy = source_point
    m = np.float32([[scale, 0, centre[0] - sx * scale], [0, scale, centre[1] - sy * scale]])
    return cv2.warpAffine(src, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _sway(i: int) -> tuple[float, float]:
    """Natural motion: a slow sway of a few pixels, like a person standing at a kiosk."""
    t = i / FPS
    return 5.0 * math.sin(2 * math.pi * t / 1.3), 3.0 * math.sin(2 * math.pi * t / 1.7 + 1.0)


def make_frames(kind: str, n: int = FRAMES, seed: int = 7) -> list[np.ndarray]:
    """Frames (BGR, 640×480) of one clip kind, deterministic for a seed."""
    if kind not in CLIP_KINDS:
        raise ValueError(f"unknown clip kind {kind!r}")
    cv2.setRNGSeed(seed)
    noise = np.empty((SIZE[1], SIZE[0], 3), np.int16)
    src = astronaut(eyes_closed=kind == "eyes_closed")
    w, h = SIZE
    frames = []
    for i in range(n):
        dx, dy = (0.0, 0.0) if kind == "still" else _sway(i)
        if kind == "off_centre":
            frame = _place(src, 2.0, (w / 2 + 175 + dx, h / 2 + dy))
        elif kind == "small":
            frame = _place(src, 1.0, (w / 2 + dx, h / 2 + dy))
        elif kind == "two_faces":
            left = _place(src, 1.4, (w / 4 + dx, h / 2 + dy), size=(w // 2, h))
            right = _place(src, 1.4, (w / 4 - dx, h / 2 - dy), size=(w // 2, h))
            frame = np.hstack([left, right])
        elif kind == "no_face":  # the suit and flag, no head
            frame = _place(src, 1.5, (w / 2 + dx, h / 2 + dy), source_point=(330.0, 420.0))
        else:
            frame = _place(src, 2.0, (w / 2 + dx, h / 2 + dy))
        if kind == "blurred":
            frame = cv2.GaussianBlur(frame, (0, 0), 4.0)
        elif kind == "dark":
            frame = cv2.convertScaleAbs(frame, alpha=0.2)
        elif kind == "bright":
            frame = cv2.convertScaleAbs(frame, alpha=0.3, beta=180)
        cv2.randn(noise, (0, 0, 0), (2.0, 2.0, 2.0))  # sensor noise: no two real frames are identical
        frame = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        if kind == "mismatch":
            frame[:16, :16] = (0, 0, 255)
        frames.append(frame)
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: float = FPS) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                             (frames[0].shape[1], frames[0].shape[0]))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return path


def read_clip(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return frames
            frames.append(frame)
    finally:
        cap.release()




def make_qr_frames(text: str, n: int = FRAMES) -> list[np.ndarray]:
    """A receipt's QR code held up to the camera, swaying a little, on a grey room."""
    code = cv2.QRCodeEncoder.create().encode(text)
    code = cv2.resize(code, (264, 264), interpolation=cv2.INTER_NEAREST)
    paper = cv2.copyMakeBorder(code, 28, 28, 28, 28, cv2.BORDER_CONSTANT, value=255)
    paper = cv2.cvtColor(paper, cv2.COLOR_GRAY2BGR)
    frames = []
    for i in range(n):
        frame = np.full((SIZE[1], SIZE[0], 3), 120, np.uint8)
        dx, dy = _sway(i)
        x, y = int(SIZE[0] / 2 - paper.shape[1] / 2 + dx), int(SIZE[1] / 2 - paper.shape[0] / 2 + dy)
        frame[y:y + paper.shape[0], x:x + paper.shape[1]] = paper
        frames.append(frame)
    return frames


def register(sub) -> None:
    p = sub.add_parser("camera", help="write a camera clip (a face, or a QR code) for camera:///PATH")
    p.add_argument("--kind", default="live", choices=(*CLIP_KINDS, "qr"))
    p.add_argument("--text", default="https://zwfw.example.gz.cn/v/GZ20261124000123",
                   help="what the QR code says (--kind qr)")
    p.add_argument("--out", required=True, help="the .avi file to write")
    p.add_argument("--frames", type=int, default=FRAMES * 2)
    p.set_defaults(func=_run)


def _run(args) -> int:
    frames = (make_qr_frames(args.text, n=args.frames) if args.kind == "qr"
              else make_frames(args.kind, n=args.frames))
    path = write_clip(Path(args.out), frames)
    print(f"camera://{path.resolve()}", flush=True)
    return 0
