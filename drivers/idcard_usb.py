"""GA 467 frames over vendor USB bulk endpoints (pyusb): the SS628-100U family and kin.

The reader model file gives the ids, interface, endpoints and chunk size. Replies are read
one chunk at a time; a reply's length comes from its LEN bytes, so padding after the frame in
the last chunk (some readers always send whole chunks) is cut off here, byte-exact.
"""

from __future__ import annotations

import errno
import logging
import time
from typing import Any

import usb.core
import usb.util

from drivers import ga467
from drivers.idcard_errors import PortError
from drivers.reader_models import ReaderModel, ReaderModelError, model_for_uri_ids
from drivers.uri import DeviceUri

log = logging.getLogger(__name__)

_GONE = (errno.ENODEV, errno.EIO, errno.EPIPE, errno.ENOENT)


def _usb_errno(exc: BaseException) -> int | None:
    return getattr(exc, "errno", None)


class UsbBulkTransport:
    """One reader of a ``usb`` model; ``backend`` is a pyusb backend (None: libusb)."""

    kind = "usb"

    def __init__(self, model: ReaderModel, *, backend: Any = None, bus: int | None = None,
                 address: int | None = None) -> None:
        if model.transport != "usb" or model.vid is None or model.pid is None:
            raise ReaderModelError(f"model {model.model} is not a USB bulk reader")
        self.model = model
        self.backend = backend
        self.bus, self.address = bus, address  # pinned (two same readers); None: any
        self.description = f"usb {model.usb_id} {model.name}"
        self._device: Any = None
        self._expect = 0  # bytes of the current reply still to come (0: between replies)
        self._head = b""  # a reply's first bytes, until its LEN is known

    # -- lifecycle ---------------------------------------------------------------------------
    def _find(self) -> Any:
        def here(dev: Any) -> bool:
            return ((self.bus is None or dev.bus == self.bus)
                    and (self.address is None or dev.address == self.address))

        try:
            return usb.core.find(idVendor=self.model.vid, idProduct=self.model.pid,
                                 backend=self.backend, custom_match=here)
        except (usb.core.USBError, usb.core.NoBackendError) as exc:
            raise PortError(f"cannot list USB devices: {exc}", fault="port_missing",
                            native=_usb_errno(exc)) from None

    def open(self) -> None:
        device = self._find()
        if device is None:
            raise PortError(f"no USB device {self.model.usb_id} ({self.model.name})",
                            fault="port_missing", native=errno.ENODEV)
        try:
            try:
                if device.is_kernel_driver_active(self.model.interface):
                    device.detach_kernel_driver(self.model.interface)
            except (NotImplementedError, usb.core.USBError):
                pass  # backends without kernel drivers (or none bound)
            device.set_configuration()
            usb.util.claim_interface(device, self.model.interface)
        except (usb.core.USBError, ValueError) as exc:
            usb.util.dispose_resources(device)
            raise PortError(f"cannot open USB {self.model.usb_id}: {exc}", fault="port_missing",
                            native=_usb_errno(exc)) from None
        self._device = device  # a replugged reader has a new address: not pinned here
        self.description = (f"usb {self.model.usb_id} {self.model.name} "
                            f"(bus {device.bus} address {device.address})")
        self._expect, self._head = 0, b""

    def close(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        try:
            usb.util.release_interface(device, self.model.interface)
        except (usb.core.USBError, ValueError):
            log.debug("releasing a vanished USB reader failed", exc_info=True)
        usb.util.dispose_resources(device)

    def is_open(self) -> bool:
        return self._device is not None

    def _failed(self, what: str, exc: BaseException) -> PortError:
        self.close()
        return PortError(f"USB {self.model.usb_id} {what} failed: {exc}", fault="disconnected",
                         native=_usb_errno(exc))

    def _open_device(self) -> Any:
        if self._device is None:
            raise PortError("USB reader is not open", fault="disconnected")
        return self._device

    # -- bytes -------------------------------------------------------------------------------
    def discard_input(self) -> None:
        self._expect, self._head = 0, b""

    def write(self, frame: bytes) -> None:
        device = self._open_device()
        try:
            device.write(self.model.endpoint_out, frame, timeout=self.model.timeout_ms)
        except (usb.core.USBError, ValueError) as exc:
            raise self._failed("write", exc) from None

    def read(self, deadline: float) -> bytes:
        """One bulk chunk (``model.chunk`` bytes asked), trimmed to the reply's LEN."""
        device = self._open_device()
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            return b""
        try:
            chunk = bytes(device.read(self.model.endpoint_in, self.model.chunk,
                                      timeout=min(remaining_ms, self.model.timeout_ms)))
        except usb.core.USBTimeoutError:
            return b""
        except (usb.core.USBError, ValueError) as exc:
            if _usb_errno(exc) == errno.ETIMEDOUT:
                return b""
            raise self._failed("read", exc) from None
        return self._trim(chunk)

    def _trim(self, chunk: bytes) -> bytes:
        """Keep the bytes of the current reply; drop padding after its last byte. Bytes before
        a preamble pass on (the decoder resynchronises); a split header waits for more."""
        if self._expect:
            data = chunk[:self._expect]
            self._expect -= len(data)
            return data
        head, out = self._head + chunk, b""
        self._head = b""
        while True:
            start = head.find(ga467.PREAMBLE)
            if start < 0:
                keep = next((size for size in range(min(len(ga467.PREAMBLE) - 1, len(head)), 0, -1)
                             if head.endswith(ga467.PREAMBLE[:size])), 0)
                self._head = head[len(head) - keep:]
                return out + head[:len(head) - keep]
            out, head = out + head[:start], head[start:]
            if len(head) < ga467.HEADER_LEN:
                self._head = head
                return out
            length = int.from_bytes(head[len(ga467.PREAMBLE):ga467.HEADER_LEN], "big")
            if 2 <= length <= ga467.MAX_LEN:
                break
            out, head = out + head[:1], head[1:]  # a false preamble: look further
        total = ga467.HEADER_LEN + length
        data = head[:total]
        self._expect = total - len(data)
        return out + data

    def wire_time(self, nbytes: int) -> float:
        return 0.001 * (nbytes // max(1, self.model.chunk) + 1)  # one frame a millisecond


def usb_transport_for_uri(parsed: DeviceUri, *, backend: Any = None) -> UsbBulkTransport:
    """``usb://0400:c35a?model=ss628-100u``; without ``model`` the ids choose the model."""
    model = model_for_uri_ids(parsed.host, parsed.param("model"), "usb")
    return UsbBulkTransport(model, backend=backend)
