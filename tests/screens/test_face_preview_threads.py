"""The face preview across threads: the camera thread hands each frame with the face gate's
state for *that* frame to the GUI thread, as one piece, however the two threads interleave."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from drivers.face import CaptureState
from kiosk.app.camera_steps import CameraSteps
from kiosk.app.kiosk_app import KioskApp
from kiosk.demo.rig import DemoRig
from kiosk.visit.flow import Step

SHOWN = 300  # frames the GUI thread must have shown (the camera sends many more)
LAST = 2**24 - 1  # frame numbers fit the three bytes of one pixel
PROMPTS = ("no_face", "move_closer", "hold_still", "ok")


class FrameFeed:
    """A camera's frame callback surface (the face step and QR reader subscribe to it)."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[np.ndarray], None]] = []

    def on_frame(self, callback: Callable[[np.ndarray], None]) -> None:
        self.callbacks.append(callback)


def numbered_frame(n: int) -> np.ndarray:
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    frame[0, 0] = (n & 0xFF, (n >> 8) & 0xFF, n >> 16)  # its number, read back when shown
    return frame


def state_for(n: int) -> CaptureState:
    return CaptureState(PROMPTS[n % len(PROMPTS)], n / LAST, False)


@pytest.fixture
def app(tmp_path, qtbot):
    rig = DemoRig(tmp_path / "rig", mode="test").start(devices=False, camera=None)
    app = KioskApp(rig.config(), tick_ms=100)
    app.start(show=True)
    yield app
    app.stop()
    rig.stop()


@pytest.fixture
def tight_switching():
    """Switch threads every 10 µs, so every interleaving gets its chance."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def test_frames_from_the_camera_thread_always_show_with_their_own_state(app, qtbot,
                                                                        tight_switching):
    steps = CameraSteps(FrameFeed(), app.flow, app.window, app.bridge, None)
    app.flow.step = Step.FACE  # the preview only draws on the face step
    app.window.show_state()
    shown: list[tuple[int, str, float]] = []
    show = app.window.show_face_frame

    def recording(image: Any, prompt_code: str, progress: float) -> None:
        pixel = image.pixelColor(0, 0)  # the preview mirrors when it paints, not before
        shown.append((pixel.blue() + (pixel.green() << 8) + (pixel.red() << 16), prompt_code,
                      progress))
        show(image, prompt_code, progress)

    app.window.show_face_frame = recording
    enough = threading.Event()
    sent: list[int] = []

    def camera_thread() -> None:  # as fast as it can: every interleaving with the GUI thread
        n = 0
        while not enough.is_set() and n < LAST:
            steps._on_update(numbered_frame(n), state_for(n))  # what FaceStep calls per frame
            n += 1
        sent.append(n)

    worker = threading.Thread(target=camera_thread, name="camera")
    worker.start()
    try:
        while len(shown) < SHOWN and worker.is_alive():  # the GUI thread as busy as the camera
            app.qt.processEvents()
    finally:
        enough.set()
        worker.join(30)
    last = sent[0] - 1
    qtbot.waitUntil(lambda: shown[-1][0] == last, timeout=10000)  # the newest frame is shown
    mismatched = [(n, code, progress) for n, code, progress in shown
                  if (code, progress) != (PROMPTS[n % len(PROMPTS)], n / LAST)]
    assert mismatched == []  # every frame with its own prompt and progress
    assert [n for n, _, _ in shown] == sorted({n for n, _, _ in shown})  # newest only, in order
    screen = app.window.screens[Step.FACE]
    assert screen.preview.progress == last / LAST


def test_every_interleaving_of_one_frame_with_the_gui_thread_keeps_frame_and_state_together(
        app, qtbot):
    """The camera thread is paused after each of its steps in turn, and the GUI thread shows
    what it finds there and then — the interleavings a scheduler could ever produce (a pause
    while the hand-over's lock is held is skipped: the GUI thread could not get in then)."""
    steps = CameraSteps(FrameFeed(), app.flow, app.window, app.bridge, None)
    app.flow.step = Step.FACE
    app.window.show_state()
    shown: list[tuple[int, str, float]] = []
    show = app.window.show_face_frame

    def recording(image: Any, prompt_code: str, progress: float) -> None:
        pixel = image.pixelColor(0, 0)
        shown.append((pixel.blue() + (pixel.green() << 8) + (pixel.red() << 16), prompt_code,
                      progress))
        show(image, prompt_code, progress)

    app.window.show_face_frame = recording
    on_update = CameraSteps._on_update.__code__

    def lock_held() -> bool:
        lock = getattr(steps, "_latest_lock", None)
        return lock is not None and lock.locked()

    step = 0
    lost: list[int] = []
    while True:
        step += 1
        paused, go = threading.Event(), threading.Event()
        counted = [0]

        def local(frame, event, arg, step=step, paused=paused, go=go, counted=counted):
            if event == "opcode" and not paused.is_set():
                counted[0] += 1
                if counted[0] >= step and not lock_held():
                    paused.set()
                    go.wait(10)
            return local

        def tracer(frame, event, arg, local=local):
            if frame.f_code is not on_update:
                return None
            frame.f_trace_opcodes = True
            return local

        first, second = 2 * step, 2 * step + 1

        def camera_thread(tracer=tracer, first=first, second=second) -> None:
            steps._on_update(numbered_frame(first), state_for(first))  # waits to be shown
            sys.settrace(tracer)
            try:
                steps._on_update(numbered_frame(second), state_for(second))  # paused midway
            finally:
                sys.settrace(None)

        worker = threading.Thread(target=camera_thread, name="camera")
        worker.start()
        while not paused.wait(0.005) and worker.is_alive():
            pass
        app.qt.processEvents()  # the GUI thread's turn, wherever the camera thread stopped
        go.set()
        worker.join(10)
        app.qt.processEvents()  # what the camera thread posted meanwhile
        if not shown or shown[-1][0] != second:
            lost.append(step)  # the newest frame never reached the screen
        if not paused.is_set():  # the whole update ran without a pause point left: all seen
            break
    assert step > 5  # the camera thread was stopped at every step of its update
    assert lost == []
    mismatched = [(n, code, progress) for n, code, progress in shown
                  if (code, progress) != (PROMPTS[n % len(PROMPTS)], n / LAST)]
    assert mismatched == []
