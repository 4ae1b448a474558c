"""The 2D code scanner: the engine a kiosk has for the codes residents show on their phones.

Three ways in, one event (``on_code(text)``):

- ``serial:///dev/ttyACM0?baud=9600`` — the engine on a (virtual) COM port sends each code
  as its text and a CR (or CRLF/LF); read on the scanner's own thread, reconnecting after
  unplug like every device here.
- ``hid-wedge://`` (optionally ``hid-wedge://0c2e:0b61`` to name the device) — the engine
  is a USB keyboard that types the code and Enter. The app's key filter
  (``kiosk.app.scanner_keys``) tells its fast burst from a person typing with
  :class:`KeyBurst` and hands the code to :meth:`QrScanner.feed`; it never reaches a widget.
- ``camera`` — no engine: the camera's frames are decoded (``kiosk.visit.qr_scan``) and the
  text is handed to :meth:`QrScanner.feed` too.

What arrives is checked before it is a code: visible ASCII, 1–:data:`MAX_CODE` characters.
Line noise, a half-sent code or binary junk is one :class:`ScanError` event, never a code.
A code's text may be a credential: it is never logged, only its length.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.base import Device, DeviceError, DeviceState
from drivers.uri import parse_device_uri

log = logging.getLogger(__name__)
MAX_CODE = 2048  # characters; the longest phone codes are URLs of a few hundred
PARTIAL_TIMEOUT = 1.0  # s: an engine sends a code in one go; a tail older than this is junk
MODES = ("serial", "hid-wedge", "camera")


class ScanError(DeviceError):
    """Something arrived from the scanner that is not a code (``fault``: ``unreadable`` for
    bytes outside visible ASCII, ``too_long``, ``truncated`` for a code cut off mid-way)."""

    fault = "unreadable"


def code_text(raw: bytes) -> str:
    """The code in one terminated line from an engine; raises :class:`ScanError`."""
    if len(raw) > MAX_CODE:
        raise ScanError(f"scan of {len(raw)} bytes is longer than {MAX_CODE}", fault="too_long",
                        native=len(raw))
    if not raw or any(b < 0x21 or b > 0x7E for b in raw):
        raise ScanError(f"scan of {len(raw)} bytes is not visible ASCII", native=len(raw))
    return raw.decode("ascii")


class LineAssembler:
    """Bytes from the serial engine → terminated lines (CR, LF or CRLF); a line that grows
    past :data:`MAX_CODE` without its terminator is dropped as it goes."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.partial_since: float | None = None

    def feed(self, data: bytes, now: float) -> list[bytes]:
        self._buffer += data
        lines = []
        while True:
            cut = min((i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0),
                      default=-1)
            if cut < 0:
                break
            line = bytes(self._buffer[:cut])
            del self._buffer[:cut + 1]
            if line:
                lines.append(line)
        if len(self._buffer) > MAX_CODE:
            lines.append(bytes(self._buffer))  # reported as too long, then forgotten
            self._buffer.clear()
        self.partial_since = (self.partial_since or now) if self._buffer else None
        return lines

    def stale(self, now: float) -> int:
        """Drop a tail left for longer than :data:`PARTIAL_TIMEOUT`; its length (0: none)."""
        if self.partial_since is None or now - self.partial_since < PARTIAL_TIMEOUT:
            return 0
        size = len(self._buffer)
        self._buffer.clear()
        self.partial_since = None
        return size


@dataclass
class KeyBurst:
    """Tells a keyboard-wedge scanner from a person, key by key (Qt-free: the app's event
    filter asks it about each key press).

    A scanner types a whole code with a few milliseconds between keys and ends with Enter; a
    person leaves far more than :attr:`max_gap` between keys. Printable keys are held while
    they come fast (visible ASCII only: a code's alphabet); Enter after at least :attr:`min_length` held keys makes them a code
    (swallowed); a gap, a non-printable key or a short run releases the held keys to whatever
    they were typed into, in order, so slow typing still reaches its field (a little late)."""

    max_gap: float = 0.05
    min_length: int = 8
    held: list[str] = field(default_factory=list)
    last: float = 0.0

    def key(self, text: str, now: float, *, enter: bool = False) -> tuple[str, list[str], str]:
        """``(verdict, released, code)``: verdict ``held`` (swallow this key for now),
        ``code`` (swallow it: ``code`` is complete) or ``pass`` (deliver it, after the
        ``released`` keys, which the caller re-delivers first)."""
        released = self.expire(now)
        if enter:
            if len(self.held) >= self.min_length:
                code, self.held = "".join(self.held), []
                return "code", released, code
            released += self._release()
            return "pass", released, ""
        if len(text) == 1 and "!" <= text <= "~":  # what a code is made of
            self.held.append(text)
            self.last = now
            return "held", released, ""
        return "pass", released + self._release(), ""

    def expire(self, now: float) -> list[str]:
        """Held keys whose burst ended (no key for :attr:`max_gap`): deliver them."""
        if self.held and now - self.last > self.max_gap:
            return self._release()
        return []

    def _release(self) -> list[str]:
        held, self.held = self.held, []
        return held


class QrScanner(Device):
    """A code scanner at ``serial://…``, ``hid-wedge://…`` or ``camera``; see the module."""

    kind = "qr_scanner"

    def __init__(self, uri: str, *, name: str | None = None,
                 reconnect_interval: float = 1.0) -> None:
        super().__init__(name)
        self.uri = uri
        parsed = parse_device_uri(uri if "://" in uri else f"{uri}://")
        if parsed.scheme not in MODES:
            raise ValueError(f"qr_scanner URI {uri!r}: expected serial://…, hid-wedge://… "
                             "or camera")
        self.mode = parsed.scheme
        self.path = parsed.path
        self.baud = int(parsed.param("baud", "9600"))
        self.reconnect_interval = reconnect_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.codes_seen = 0  # for the technician: how many codes since start

    @property
    def description(self) -> str:
        if self.mode == "serial":
            return f"serial {self.path} at {self.baud} baud"
        return {"hid-wedge": "USB keyboard wedge", "camera": "camera (QR decoder)"}[self.mode]

    def on_code(self, callback: Callable[[str], None]) -> None:
        self.subscribe("code", callback)

    def on_scan_error(self, callback: Callable[[ScanError], None]) -> None:
        self.subscribe("scan_error", callback)

    def open(self) -> None:
        """Serial: read on a thread (a missing port is a status, not an exception); the
        wedge and the camera are ready at once, their codes come through :meth:`feed`."""
        if self.mode != "serial":
            self._set_status(DeviceState.READY, detail=self.description)
            return
        if self._thread is not None:
            return
        self._stop.clear()
        self._set_status(DeviceState.STARTING)
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-read", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._set_status(DeviceState.OFFLINE)

    def feed(self, text: str) -> None:
        """A code from the wedge filter or the camera: checked, then ``on_code``."""
        try:
            self._deliver(code_text(text.strip().encode("ascii", "replace")))
        except ScanError as exc:
            self._refuse(exc)

    def describe(self) -> dict[str, object]:
        """For the technician and the heartbeat (not ``diagnostics``: that is the readers')."""
        return {"mode": self.mode, "scanner": self.description, "codes_seen": self.codes_seen,
                "state": str(self.status().state), "fault": self.status().fault}

    # -- internals -----------------------------------------------------------------------------
    def _deliver(self, code: str) -> None:
        self.codes_seen += 1
        log.info("%s: code of %d characters", self.name, len(code))
        self._emit("code", code)

    def _refuse(self, exc: ScanError) -> None:
        log.warning("%s: %s", self.name, exc)
        self._emit("scan_error", exc)

    def _run(self) -> None:
        import serial

        while not self._stop.is_set():
            try:
                port = serial.Serial(self.path, self.baud, timeout=0.1)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._set_status(DeviceState.OFFLINE, "disconnected",
                                 f"{self.path}: {getattr(exc, 'strerror', None) or exc}")
                self._stop.wait(self.reconnect_interval)
                continue
            self._set_status(DeviceState.READY, detail=self.description)
            try:
                self._read(port)
            except (serial.SerialException, OSError) as exc:
                self._set_status(DeviceState.OFFLINE, "disconnected", f"{self.path}: {exc}")
            finally:
                port.close()
            self._stop.wait(self.reconnect_interval)

    def _read(self, port: object) -> None:
        assembler = LineAssembler()
        while not self._stop.is_set():
            data = port.read(1)  # type: ignore[attr-defined]  # serial.Serial: the first byte,
            if data:  # then what came with it, so a code is not held back for the timeout
                data += port.read(port.in_waiting)  # type: ignore[attr-defined]
            now = time.monotonic()
            for line in assembler.feed(data, now) if data else ():
                try:
                    self._deliver(code_text(line))
                except ScanError as exc:
                    self._refuse(exc)
            cut = assembler.stale(now)
            if cut:
                self._refuse(ScanError(f"scan cut off after {cut} bytes", fault="truncated",
                                       native=cut))
