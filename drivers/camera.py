"""The camera: one capture thread that delivers BGR frames by callback and survives unplugging.

Sources come from a device URI so config picks the hardware:

- ``camera://0?width=640&height=480&fps=30`` — a V4L2 device by index;
- ``camera:///path/clip.avi`` — a video file, looping, paced at the clip's own fps;
- ``camera:///path/folder`` — a folder of still images (sorted by name), looping, paced at
  ``?fps=`` (default 30);
- ``sim`` or ``sim?width=320&height=240&fps=15`` — a generated test pattern (moving bars, no face), for a terminal without a camera.

Frames stay in memory: nothing here writes to disk. A read failure (device unplugged, clip
deleted) reports ``error``/``disconnected`` and the thread keeps retrying until the source is
back, then reports ``ready`` again — the app never has to reopen the device itself.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

import cv2
import numpy as np

from drivers.base import Device, DeviceError, DeviceState, DeviceStatus
from drivers.uri import DeviceUri, parse_device_uri

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
FrameListener = Callable[[np.ndarray], None]


class CameraError(DeviceError):
    """The camera URI is malformed or the source could not be read; ``native`` keeps the
    OpenCV backend or OS cause (errno) when there is one."""

    fault = "camera"


class _Source:
    """One open capture source. ``read`` returns a frame or raises CameraError(disconnected)."""

    fps: float = 30.0

    def read(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def release(self) -> None:
        pass


class _DeviceSource(_Source):
    """A real V4L2 camera. Unplugging makes ``read`` fail; we then reopen by index."""

    def __init__(self, index: int, width: int, height: int, fps: float) -> None:
        self._cap = cv2.VideoCapture(index, cv2.CAP_V4L2)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraError(f"camera {index} cannot be opened", fault="disconnected",
                              native=f"/dev/video{index}")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a stale queue
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or fps
        self._index = index

    def read(self) -> np.ndarray:
        ok, frame = self._cap.read()  # blocks until the device delivers: that is the pacing
        if not ok or frame is None:
            raise CameraError(f"camera {self._index} stopped delivering frames",
                              fault="disconnected", native=f"/dev/video{self._index}")
        return frame

    def release(self) -> None:
        self._cap.release()


class _ClipSource(_Source):
    """A video file played in a loop. The file is re-checked every frame, so deleting it
    behaves like unplugging a camera (an open handle would otherwise keep playing)."""

    def __init__(self, path: Path, fps: float | None) -> None:
        self._path = path
        self._cap = self._open()
        self.fps = fps or self._cap.get(cv2.CAP_PROP_FPS) or 30.0

    def _open(self) -> cv2.VideoCapture:
        if not self._path.is_file():
            raise CameraError(f"clip {self._path} not found", fault="disconnected",
                              native=os.strerror(2))
        cap = cv2.VideoCapture(str(self._path))
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"clip {self._path} cannot be decoded", fault="disconnected")
        return cap

    def read(self) -> np.ndarray:
        if not self._path.is_file():
            raise CameraError(f"clip {self._path} vanished", fault="disconnected",
                              native=os.strerror(2))
        ok, frame = self._cap.read()
        if not ok:  # end of clip: loop from the start
            self._cap.release()
            self._cap = self._open()
            ok, frame = self._cap.read()
            if not ok:
                raise CameraError(f"clip {self._path} has no frames", fault="disconnected")
        return frame

    def release(self) -> None:
        self._cap.release()


class _FolderSource(_Source):
    """Still images from a folder, in name order, looping."""

    def __init__(self, path: Path, fps: float | None) -> None:
        self._path = path
        self.fps = fps or 30.0
        self._files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise CameraError(f"folder {path} holds no images", fault="disconnected")
        self._next = 0

    def read(self) -> np.ndarray:
        path = self._files[self._next % len(self._files)]
        self._next += 1
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise CameraError(f"image {path.name} unreadable or gone", fault="disconnected")
        return frame


class _SimSource(_Source):
    """A synthetic feed: moving colour bars and a frame counter, so a preview visibly runs."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        self.fps = fps
        self._size = (width, height)
        self._n = 0
        ramp = np.linspace(0, 255, width, dtype=np.float32)
        self._base = np.dstack([ramp, ramp[::-1], np.full(width, 128, np.float32)])

    def read(self) -> np.ndarray:
        width, height = self._size
        shift = (self._n * 4) % width
        row = np.roll(self._base, shift, axis=1).astype(np.uint8)
        frame = np.repeat(row, height, axis=0)
        cv2.putText(frame, f"SIM {self._n:06d}", (20, height - 20), cv2.FONT_HERSHEY_SIMPLEX,
                    1.0, (255, 255, 255), 2)
        self._n += 1
        return frame


def _positive(params: dict[str, str], name: str, default: float) -> float:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise CameraError(f"camera URI parameter {name}={raw!r} is not a number",
                          fault="config") from None
    if value <= 0:
        raise CameraError(f"camera URI parameter {name}={raw!r} must be positive", fault="config")
    return value


class Camera(Device):
    """A camera device. Listeners registered with :meth:`on_frame` get every frame on the
    capture thread and must return quickly (hand the frame to a queue or a signal); they must
    not modify it, because the same array goes to every listener."""

    kind = "camera"

    def __init__(self, uri: str = "sim", *, name: str | None = None,
                 retry_interval: float = 0.5) -> None:
        super().__init__(name)
        try:
            if uri.startswith("sim?"):  # the synthetic feed takes size and fps parameters
                parsed = DeviceUri("sim", params=dict(parse_qsl(uri[4:])))
            else:
                parsed = parse_device_uri(uri)
        except ValueError as exc:
            raise CameraError(str(exc), fault="config") from exc
        if parsed.scheme not in ("camera", "sim"):
            raise CameraError(f"not a camera URI: {uri!r} (expected camera://0, "
                              "camera:///path/clip.avi or sim)", fault="config")
        self._uri = parsed
        self._width = int(_positive(parsed.params, "width", 640))
        self._height = int(_positive(parsed.params, "height", 480))
        self._fps_param = parsed.params.get("fps")
        self._fps = _positive(parsed.params, "fps", 30.0)
        if parsed.scheme == "camera" and not parsed.path and not parsed.host.isdigit():
            raise CameraError(f"camera URI {uri!r} names neither a device index nor a path",
                              fault="config")
        self._retry = retry_interval
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._settled = threading.Event()  # set on every ready or error: an attempt finished
        self._thread: threading.Thread | None = None
        self._latest: np.ndarray | None = None
        self._last_error: CameraError | None = None
        self.frames_delivered = 0

    # -- events ---------------------------------------------------------------------------
    def on_frame(self, callback: FrameListener) -> None:
        self.subscribe("frame", callback)

    def latest(self) -> np.ndarray | None:
        """The newest frame, for a consumer that prefers polling to callbacks."""
        return self._latest

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        """Start the capture thread; returns at once. Watch ``on_status`` or call
        :meth:`wait_ready` — a missing camera shows as error/disconnected and is retried."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._last_error = None
        self._set_status(DeviceState.STARTING)
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-capture",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=5.0)
        self._ready.clear()
        self._settled.clear()
        self._latest = None
        self._set_status(DeviceState.OFFLINE)

    def wait_ready(self, timeout: float, *, first_attempt: bool = False) -> DeviceStatus:
        """Block until the source delivers, or raise CameraError with the latest fault.

        With ``first_attempt`` give up as soon as one attempt to open the source failed
        (technician checks); otherwise keep waiting through retries (a camera being plugged in).
        """
        deadline = time.monotonic() + timeout
        while not self._ready.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or (first_attempt and self._settled.is_set()):
                break
            self._ready.wait(min(left, 0.05))
        if not self._ready.is_set():
            if self._last_error is not None:
                raise self._last_error
            raise CameraError(f"camera not ready after {timeout:g} s", fault="timeout")
        return self.status()

    # -- capture thread -------------------------------------------------------------------
    def _make_source(self) -> _Source:
        fps = float(self._fps_param) if self._fps_param else None
        if self._uri.scheme == "sim":
            return _SimSource(self._width, self._height, self._fps)
        if self._uri.path:
            path = Path(self._uri.path)
            if path.is_dir():
                return _FolderSource(path, fps)
            return _ClipSource(path, fps)
        return _DeviceSource(int(self._uri.host), self._width, self._height, self._fps)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                source = self._make_source()
            except CameraError as exc:
                self._fault(exc)
                self._stop.wait(self._retry)
                continue
            try:
                self._pump(source)
            except CameraError as exc:
                self._fault(exc)
                self._stop.wait(self._retry)
            finally:
                source.release()

    def _fault(self, exc: CameraError) -> None:
        self._last_error = exc
        self._ready.clear()
        self._set_status(DeviceState.ERROR, exc.fault, str(exc))
        self._settled.set()

    def _pump(self, source: _Source) -> None:
        """Read and deliver frames until stopped; file sources are paced to their fps."""
        paced = not isinstance(source, _DeviceSource)
        period = 1.0 / source.fps
        due = time.monotonic()
        while not self._stop.is_set():
            frame = source.read()
            if not self._ready.is_set():
                self._set_status(DeviceState.READY, None,
                                 f"{frame.shape[1]}x{frame.shape[0]} at {source.fps:g} fps")
                self._last_error = None
                self._ready.set()
                self._settled.set()
            self._latest = frame
            self.frames_delivered += 1
            self._emit("frame", frame)
            if paced:
                due += period
                delay = due - time.monotonic()
                if delay < -period:  # fell behind (slow listener): do not burst to catch up
                    due = time.monotonic()
                elif delay > 0:
                    self._stop.wait(delay)
