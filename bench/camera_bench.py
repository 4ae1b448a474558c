"""Camera and face-gate figures on one core: detection fps at 640×480, the full gate,
time from "face steady" to capture, and preview fps while the gate runs on a worker thread.

Run: ``.venv/bin/python bench/camera_bench.py`` (needs the dev extra scikit-image for the
astronaut test face). Goal: detection ≥ 25 fps on one core.
"""

from __future__ import annotations

import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from drivers.camera import Camera  # noqa: E402
from drivers.face import FaceCapture, FaceDetector, FaceGate, LivenessCheck  # noqa: E402
from tests.fixtures.camera import make_frames, write_clip  # noqa: E402

FPS = 30.0


def one_core() -> None:
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def as_from_camera(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Round-trip through JPEG in memory, as MJPG camera frames arrive."""
    return [cv2.imdecode(cv2.imencode(".jpg", f)[1], cv2.IMREAD_COLOR) for f in frames]


def per_frame_ms(fn, frames: list[np.ndarray], repeat: int = 3) -> float:
    """Best of ``repeat`` passes: the machine is shared, the minimum is the code's own cost."""
    fn(frames[0])  # warm-up
    passes = []
    for _ in range(repeat):
        start = time.perf_counter()
        for frame in frames:
            fn(frame)
        passes.append((time.perf_counter() - start) * 1000 / len(frames))
    return min(passes)


def detection_figures(frames: list[np.ndarray]) -> None:
    naive = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]

    def baseline(g):
        return naive.detectMultiScale(g, 1.2, 5, minSize=(64, 64))

    rows = [("frontal cascade, full 640x480, scale 1.2 (baseline)", per_frame_ms(baseline, gray))]
    for every in (1, 5, 10):
        detector = FaceDetector((640, 480), min_face=72, full_scan_every=every)
        rows.append((f"FaceDetector, full scan every {every} frame(s)",
                     per_frame_ms(lambda g, d=detector: d.detect(g), gray)))
    gate = FaceGate((640, 480))
    rows.append(("FaceGate.assess (detect + size/centre/light/sharpness + eyes)",
                 per_frame_ms(gate.assess, frames)))
    capture = FaceCapture(FaceGate((640, 480)), LivenessCheck(), steady_frames=8)

    def feed(frame):
        capture.reset() if capture.feed(frame).done else None

    rows.append(("FaceCapture.feed (gate + liveness)", per_frame_ms(feed, frames)))
    print("detection on 640x480, one core:")
    for label, ms in rows:
        print(f"  {label:64s} {ms:6.1f} ms/frame  {1000 / ms:6.1f} fps")


def steady_to_capture(trials: int = 10) -> None:
    """From the first frame of the good run that ends in capture, to the JPEG in hand."""
    in_frames, wall_ms, encode_ms = [], [], []
    lead_in = as_from_camera(make_frames("no_face", 10))
    for seed in range(trials):
        live = as_from_camera(make_frames("live", 60, seed=seed))
        capture = FaceCapture(FaceGate((640, 480)), LivenessCheck(), steady_frames=8)
        steady_at = None
        started = time.perf_counter()
        for i, frame in enumerate(lead_in + live[seed:]):
            state = capture.feed(frame)
            ok = capture.last_verdict is not None and capture.last_verdict.ok
            if ok and steady_at is None:
                steady_at, started = i, time.perf_counter()
            elif not ok and not state.done:
                steady_at = None
            if state.done:
                t0 = time.perf_counter()
                capture.best_jpeg()
                encode_ms.append((time.perf_counter() - t0) * 1000)
                frames = i - steady_at + 1
                in_frames.append(frames)
                # at the camera's pace the frames arrive every 1/FPS s; processing overlaps
                wall_ms.append(max(frames / FPS * 1000,
                                   (time.perf_counter() - started) * 1000) + encode_ms[-1])
                break
    print(f"face steady -> capture ({trials} trials, steady_frames=8, liveness window 15):")
    print(f"  frames: median {statistics.median(in_frames)}, max {max(in_frames)}")
    print(f"  time at {FPS:g} fps incl. JPEG: median {statistics.median(wall_ms):.0f} ms, "
          f"max {max(wall_ms):.0f} ms (JPEG encode {statistics.median(encode_ms):.1f} ms)")


def preview_while_gating(seconds: float = 5.0) -> None:
    """The preview must keep its rate while the gate works on a worker thread."""
    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "live.avi", make_frames("live", 90))
        camera = Camera(f"camera://{clip}")
        latest: queue.Queue = queue.Queue(maxsize=1)
        shown, gated = [0], [0]
        stop = threading.Event()

        def on_frame(frame):
            shown[0] += 1  # the GUI would paint this frame
            if latest.full():  # drop the stale one: the gate always sees the newest
                try:
                    latest.get_nowait()
                except queue.Empty:
                    pass
            latest.put_nowait(frame)

        def worker():
            capture = FaceCapture(FaceGate((640, 480)), LivenessCheck(), steady_frames=8)
            while not stop.is_set():
                try:
                    frame = latest.get(timeout=0.1)
                except queue.Empty:
                    continue
                if capture.feed(frame).done:
                    capture.reset()
                gated[0] += 1

        camera.on_frame(on_frame)
        thread = threading.Thread(target=worker)
        camera.open()
        thread.start()
        camera.wait_ready(5.0)
        s0, g0, t0 = shown[0], gated[0], time.perf_counter()
        time.sleep(seconds)
        s1, g1, t1 = shown[0], gated[0], time.perf_counter()
        stop.set()
        thread.join()
        camera.close()
    print(f"preview while gating, one core, {seconds:g} s of a 30 fps clip:")
    print(f"  preview {(s1 - s0) / (t1 - t0):.1f} fps, gate {(g1 - g0) / (t1 - t0):.1f} fps")


def main() -> None:
    one_core()
    frames = as_from_camera(make_frames("live", 60)) + as_from_camera(make_frames("two_faces", 20))
    detection_figures(frames)
    steady_to_capture()
    preview_while_gating()


if __name__ == "__main__":
    main()
