"""``kiosk camera check``: read frames from a camera and say whether a face photo would pass.

For technicians placing or cleaning a camera: it reads N frames through the real capture
thread, runs the face quality gate on each, and reports the delivered frame rate, how many
frames held exactly one face, and the best verdict (``ok`` or the reason it failed). No frame
is written anywhere. Exit 0 done, 3 the source opened but fewer frames came before the timeout
(the JSON still reports what came), 4 the source cannot be opened (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from typing import TYPE_CHECKING, TypedDict

from kiosk.exit_codes import EXIT_DEVICE, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE

if TYPE_CHECKING:  # OpenCV and numpy load when the command runs, not when the parser is built
    import numpy as np

    from drivers.face import GateVerdict

OPEN_TIMEOUT = 5.0


class CameraReport(TypedDict):
    frames: int
    fps: float
    faces: int
    best_quality: str


def check(uri: str, frames: int, timeout: float) -> tuple[CameraReport, bool]:
    """Read ``frames`` frames and judge them; returns (report, all frames came)."""
    from drivers.camera import Camera
    from drivers.face import FaceGate

    camera = Camera(uri)
    inbox: queue.Queue[tuple[float, np.ndarray]] = queue.Queue(maxsize=frames)

    def take(frame: np.ndarray) -> None:
        if not inbox.full():
            inbox.put((time.monotonic(), frame))

    camera.on_frame(take)
    camera.open()
    try:
        camera.wait_ready(min(timeout, OPEN_TIMEOUT), first_attempt=True)
        got: list[tuple[float, np.ndarray]] = []
        deadline = time.monotonic() + timeout
        while len(got) < frames and (left := deadline - time.monotonic()) > 0:
            try:
                got.append(inbox.get(timeout=left))
            except queue.Empty:
                break
    finally:
        camera.close()
    verdicts: list[GateVerdict] = []
    gate = None
    for _, frame in got:
        if gate is None:
            gate = FaceGate(frame_size=(frame.shape[1], frame.shape[0]))
        verdicts.append(gate.assess(frame))
    span = got[-1][0] - got[0][0] if len(got) > 1 else 0.0
    best = max(verdicts, key=_rank, default=None)
    report: CameraReport = {"frames": len(got),
                            "fps": round((len(got) - 1) / span, 1) if span > 0 else 0.0,
                            "faces": sum(1 for v in verdicts if v.faces == 1),
                            "best_quality": best.code if best else "no_face"}
    return report, len(got) >= frames


def _rank(verdict: GateVerdict) -> tuple[int, float]:
    """``ok`` beats any failure; among failures, a single face beats none or several."""
    return (2 if verdict.ok else 1 if verdict.faces == 1 else 0, verdict.score)


def run(args: argparse.Namespace) -> int:
    if args.frames < 1:
        print("kiosk camera: --frames must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    import cv2

    from drivers.camera import CameraError
    from drivers.face import PROMPTS_ZH

    # OpenCV's own warnings (one per retry) would bury our one-line diagnosis.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        report, complete = check(args.uri, args.frames, args.timeout)
    except CameraError as exc:
        print(f"kiosk camera: {exc.fault}: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.fault == "config" else EXIT_DEVICE
    if args.json:
        print(json.dumps(report))
    else:
        hint = PROMPTS_ZH.get(report["best_quality"], "")
        print(f"frames: {report['frames']}  fps: {report['fps']}  one face in: "
              f"{report['faces']}  best: {report['best_quality']} {hint}".rstrip())
    if not complete:
        print(f"kiosk camera: only {report['frames']} of {args.frames} frames within "
              f"{args.timeout:g} s", file=sys.stderr)
        return EXIT_TIMEOUT
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("camera", help="camera diagnostics",
                                   description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    chk = actions.add_parser("check", help="read frames and run the face quality gate")
    chk.add_argument("--uri", required=True,
                     help='camera URI: "camera://0?width=640&height=480&fps=30", '
                          '"camera:///path/clip.avi" or "sim"')
    chk.add_argument("--json", action="store_true", help="print one JSON object")
    chk.add_argument("--frames", type=int, default=60, help="frames to read (default 60)")
    chk.add_argument("--timeout", type=float, default=15.0,
                     help="seconds to wait for the frames (default 15)")
    chk.set_defaults(func=run)
