"""How GA 467 frames reach an ID-card reader: the transport seam under :class:`IdCardReader`.

The reader class holds all protocol logic (find → select → read, retries, events); a transport
only moves whole request frames out and response bytes in, like python-escpos's ``_raw``.
:class:`SerialTransport` is the UART (and USB-serial adapter) case; USB bulk, USB HID and
vendor SDKs live in :mod:`drivers.idcard_usb`, :mod:`drivers.idcard_hid`, :mod:`drivers.idcard_sdk`;
:func:`drivers.idcard_connect.transport_for_uri` picks one from a device URI.
"""

from __future__ import annotations

import logging
import select
import termios
import time
from typing import Protocol

import serial

from drivers.idcard_errors import PortError

log = logging.getLogger(__name__)

DEFAULT_BAUD = 115200


class ReaderTransport(Protocol):
    """A byte pipe to one reader. Every method raises :class:`PortError` when the device is
    missing (``fault="port_missing"``) or vanished (``fault="disconnected"``)."""

    description: str  # for logs and the technician: "serial /dev/ttyUSB0 at 115200 baud"
    kind: str  # serial | usb | hid | sdk

    def open(self) -> None: ...

    def close(self) -> None: ...

    def is_open(self) -> bool: ...

    def discard_input(self) -> None:
        """Drop bytes left over from an earlier exchange."""

    def write(self, frame: bytes) -> None:
        """Send one whole GA 467 request frame."""

    def read(self, deadline: float) -> bytes:
        """Response bytes that arrive before ``deadline`` (``time.monotonic``); ``b""`` when
        none did. May return part of a frame: the caller's decoder reassembles."""

    def wire_time(self, nbytes: int) -> float:
        """Seconds ``nbytes`` take on the wire (stretches the per-frame timeout)."""


def _errno(exc: BaseException) -> object:
    if isinstance(exc, termios.error) and exc.args:
        return exc.args[0]
    return getattr(exc, "errno", None)


class SerialTransport:
    """A UART at ``serial:///dev/ttyUSB0?baud=115200`` (pyserial, non-blocking reads)."""

    kind = "serial"

    def __init__(self, path: str, baud: int = DEFAULT_BAUD) -> None:
        self.path = path
        self.baud = baud
        self.description = f"serial {path} at {baud} baud"
        self._port: serial.Serial | None = None

    def open(self) -> None:
        try:
            self._port = serial.Serial(self.path, self.baud, timeout=0, write_timeout=2)
        except (serial.SerialException, OSError, termios.error, ValueError) as exc:
            raise PortError(f"cannot open {self.path}: {exc}", fault="port_missing",
                            native=_errno(exc)) from None
        log.info("opened %s", self.description)

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                log.debug("closing a vanished port %s failed", self.path, exc_info=True)

    def is_open(self) -> bool:
        return self._port is not None

    def _open_port(self) -> serial.Serial:
        if self._port is None:
            raise PortError("port is not open", fault="disconnected")
        return self._port

    def _failed(self, exc: BaseException) -> PortError:
        # termios.error: tcflush on a hung-up pty; TypeError/ValueError: pyserial on a port
        # closed under it.
        return PortError(f"serial port {self.path} failed: {exc}", fault="disconnected",
                         native=_errno(exc))

    def discard_input(self) -> None:
        port = self._open_port()
        try:
            port.reset_input_buffer()
        except (serial.SerialException, OSError, termios.error, ValueError, TypeError) as exc:
            raise self._failed(exc) from None

    def write(self, frame: bytes) -> None:
        port = self._open_port()
        try:
            port.write(frame)
        except (serial.SerialException, OSError, termios.error, ValueError, TypeError) as exc:
            raise self._failed(exc) from None

    def read(self, deadline: float) -> bytes:
        port = self._open_port()
        try:
            remaining = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([port.fileno()], [], [], remaining)
            if not ready:
                return b""
            return bytes(port.read(port.in_waiting or 1))
        except (serial.SerialException, OSError, termios.error, ValueError, TypeError) as exc:
            raise self._failed(exc) from None

    def wire_time(self, nbytes: int) -> float:
        return nbytes * 10 / self.baud  # 8N1: ten bits a byte
