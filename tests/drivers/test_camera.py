"""Camera: capture thread, sources by URI, unplug/replug recovery — through real OpenCV
decoding of real files (no camera device exists on the test machine)."""

from __future__ import annotations

import queue
import threading

import cv2
import numpy as np
import pytest

from drivers.base import DeviceState
from drivers.camera import Camera, CameraError
from tests.fixtures.camera import make_frames, read_clip, write_clip

WAIT = 10.0  # generous bound for a thread to react; never a speed assertion


class Recorder:
    """Collects frames and statuses from the capture thread."""

    def __init__(self, camera: Camera) -> None:
        self.frames: queue.Queue = queue.Queue()
        self.statuses: list = []
        self.changed = threading.Condition()
        camera.on_frame(self.frames.put)
        camera.on_status(self._status)

    def _status(self, status) -> None:
        with self.changed:
            self.statuses.append(status)
            self.changed.notify_all()

    def wait_status(self, state: DeviceState, fault: str | None = None, after: int = 0):
        def seen():
            return next((s for s in self.statuses[after:]
                         if s.state == state and (fault is None or s.fault == fault)), None)
        with self.changed:
            assert self.changed.wait_for(seen, WAIT), f"no {state}/{fault} in {self.statuses}"
            return seen()

    def next_frames(self, n: int) -> list[np.ndarray]:
        return [self.frames.get(timeout=WAIT) for _ in range(n)]

    def drain(self) -> None:
        while not self.frames.empty():
            self.frames.get_nowait()


@pytest.fixture
def short_clip(tmp_path):
    """Five distinguishable frames (brightness 40, 80, … 200) at a fast pace."""
    frames = [np.full((120, 160, 3), 40 * (i + 1), np.uint8) for i in range(5)]
    return write_clip(tmp_path / "short.avi", frames, fps=100.0)


@pytest.fixture
def opened():
    cameras: list[Camera] = []

    def make(uri: str, **kw) -> tuple[Camera, Recorder]:
        cam = Camera(uri, retry_interval=0.05, **kw)
        rec = Recorder(cam)
        cameras.append(cam)
        cam.open()
        return cam, rec

    yield make
    for cam in cameras:
        cam.close()


def test_sim_feed_delivers_frames_of_the_requested_size(opened):
    cam, rec = opened("sim?width=320&height=240&fps=60")
    first, second = rec.next_frames(2)
    assert first.shape == (240, 320, 3) and first.dtype == np.uint8
    assert not np.array_equal(first, second)  # the pattern moves: a frozen preview would show
    assert cam.wait_ready(WAIT).state == DeviceState.READY


def test_clip_frames_arrive_in_order_and_loop(opened, short_clip):
    cam, rec = opened(f"camera://{short_clip}")
    levels = [int(f.mean().round(-1)) for f in rec.next_frames(12)]
    start = levels.index(40)
    assert levels[start:start + 6] == [40, 80, 120, 160, 200, 40]


def test_clip_is_paced_at_its_own_fps_unless_the_uri_says_otherwise(short_clip):
    assert Camera(f"camera://{short_clip}")._make_source().fps == pytest.approx(100.0)
    assert Camera(f"camera://{short_clip}?fps=7")._make_source().fps == 7.0


def test_clip_frames_match_the_decoded_file(opened, camera_clips):
    expected = read_clip(camera_clips["live"])
    cam, rec = opened(f"camera://{camera_clips['live']}?fps=200")
    got = rec.next_frames(3)
    assert any(np.array_equal(got[0], e) for e in expected)
    assert got[0].shape == (480, 640, 3)


def test_image_folder_plays_in_name_order(opened, tmp_path):
    for i, level in enumerate((50, 150, 250)):
        cv2.imwrite(str(tmp_path / f"frame{i:02d}.png"), np.full((60, 80, 3), level, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    cam, rec = opened(f"camera://{tmp_path}?fps=100")
    assert [int(f.mean()) for f in rec.next_frames(4)] == [50, 150, 250, 50]


def test_vanished_clip_reports_disconnected_then_recovers(opened, short_clip):
    cam, rec = opened(f"camera://{short_clip}")
    rec.wait_status(DeviceState.READY)
    hidden = short_clip.with_suffix(".away")
    short_clip.rename(hidden)  # the "cable" is pulled
    mark = len(rec.statuses)
    fault = rec.wait_status(DeviceState.ERROR, "disconnected")
    assert "vanished" in fault.detail or "not found" in fault.detail
    assert cam.status().state == DeviceState.ERROR
    with pytest.raises(CameraError) as err:
        cam.wait_ready(0.2)
    assert err.value.fault == "disconnected"
    hidden.rename(short_clip)  # plugged back in
    rec.wait_status(DeviceState.READY, after=mark)
    rec.drain()
    assert rec.next_frames(2)[0].shape == (120, 160, 3)


def test_missing_source_keeps_retrying_until_it_appears(opened, tmp_path, short_clip):
    target = tmp_path / "later.avi"
    cam, rec = opened(f"camera://{target}")
    rec.wait_status(DeviceState.ERROR, "disconnected")
    with pytest.raises(CameraError) as err:
        cam.wait_ready(WAIT, first_attempt=True)
    assert err.value.native  # the OS cause is kept for the technician
    short_clip.rename(target)
    assert cam.wait_ready(WAIT).state == DeviceState.READY


def test_close_stops_the_thread_and_goes_offline(short_clip):
    cam = Camera(f"camera://{short_clip}")
    rec = Recorder(cam)
    cam.open()
    rec.next_frames(1)
    cam.close()
    assert cam.status().state == DeviceState.OFFLINE
    assert not any(t.name == "camera-capture" for t in threading.enumerate())
    rec.drain()
    delivered = cam.frames_delivered
    assert rec.frames.empty() and cam.frames_delivered == delivered


@pytest.mark.expected_errors(r"camera: listener for 'frame' failed")
def test_a_failing_frame_listener_does_not_stop_the_preview(opened):
    cam = Camera("sim?fps=100")
    cam.on_frame(lambda frame: 1 / 0)
    rec = Recorder(cam)
    cam.open()
    try:
        assert len(rec.next_frames(3)) == 3
    finally:
        cam.close()


@pytest.mark.parametrize("uri, fragment", [
    ("tcp://127.0.0.1:9100", "not a camera URI"),
    ("camera://front", "neither a device index nor a path"),
    ("camera://0?fps=fast", "not a number"),
    ("camera://0?width=-5", "must be positive"),
    ("no-scheme", "no scheme"),
])
def test_bad_uri_is_a_config_error(uri, fragment):
    with pytest.raises(CameraError, match=fragment) as err:
        Camera(uri)
    assert err.value.fault == "config"


def test_device_index_that_does_not_exist_is_disconnected():
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    cam = Camera("camera://63?width=320&height=240")
    cam.open()
    try:
        with pytest.raises(CameraError) as err:
            cam.wait_ready(WAIT, first_attempt=True)
    finally:
        cam.close()
    assert err.value.fault == "disconnected" and "/dev/video63" in str(err.value)


def test_live_clip_frames_are_fresh_arrays(opened, camera_clips):
    """Listeners may keep a frame (the face capture keeps its best one): the thread must not
    overwrite it in place with the next frame."""
    cam, rec = opened(f"camera://{camera_clips['live']}?fps=200")
    first = rec.next_frames(1)[0]
    snapshot = first.copy()
    rec.next_frames(5)
    assert np.array_equal(first, snapshot)
    assert cam.latest() is not None


def test_make_frames_rejects_unknown_kind():
    with pytest.raises(ValueError):
        make_frames("sideways")
