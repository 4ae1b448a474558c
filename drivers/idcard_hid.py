"""GA 467 frames inside USB HID reports (hidapi, through the ctypes ``hid`` package).

HID readers carry the frame without its 5-byte preamble: :func:`hid_reports` strips it and
cuts the rest into reports of the model's size (report id first, zero padded);
:class:`HidReassembler` takes input reports, reads LEN from the first, drops the padding and
restores the preamble, so the reader's ordinary :class:`drivers.ga467.FrameDecoder` sees a
whole GA 467 frame. The ``hid`` package loads ``libhidapi-*.so`` when first imported; that
happens in :meth:`HidTransport.open`, so a terminal without hidapi fails only when configured.
"""

from __future__ import annotations

import errno
import logging
import time
from typing import Any

from drivers import ga467
from drivers.idcard_errors import PortError
from drivers.reader_models import ReaderModel, ReaderModelError

log = logging.getLogger(__name__)


def hid_reports(frame: bytes, model: ReaderModel) -> list[bytes]:
    """The output reports that carry one request ``frame``, byte-exact."""
    payload = frame[len(ga467.PREAMBLE):] if model.strip_preamble else frame
    size = model.report_size
    return [bytes([model.report_id]) + payload[i:i + size].ljust(size, b"\0")
            for i in range(0, len(payload), size)]


class HidReassembler:
    """Input reports in, GA 467 bytes out: preamble restored, padding after LEN dropped."""

    def __init__(self, model: ReaderModel) -> None:
        self.model = model
        self._expect = 0  # bytes of the current reply still to come
        self._head = b""  # the first bytes of a reply until both LEN bytes are in

    def reset(self) -> None:
        self._expect, self._head = 0, b""

    def feed(self, report: bytes) -> bytes:
        if not self.model.strip_preamble:
            return report  # whole frames in reports: the decoder resynchronises past padding
        if self._expect:
            data = report[:self._expect]
            self._expect -= len(data)
            return data
        head = self._head + report
        if len(head) < 2:
            self._head = head
            return b""
        self._head = b""
        length = int.from_bytes(head[:2], "big")
        if not 2 <= length <= ga467.MAX_LEN:  # not a reply start: hand it on to be refused
            return ga467.PREAMBLE + head
        total = 2 + length
        data = head[:total]
        self._expect = total - len(data)
        return ga467.PREAMBLE + data


def _hid_module() -> Any:
    try:
        import hid
    except ImportError as exc:  # the hid package is missing, or it found no libhidapi
        raise PortError(f"USB HID needs hidapi (the hid package and libhidapi): {exc}",
                        fault="port_missing", native=errno.ENOENT) from None
    return hid


class HidTransport:
    """One reader of a ``hid`` model (``hid://261a:0007?model=ss628-100h``)."""

    kind = "hid"

    def __init__(self, model: ReaderModel, *, path: bytes | None = None) -> None:
        if model.transport != "hid" or model.vid is None or model.pid is None:
            raise ReaderModelError(f"model {model.model} is not a USB HID reader")
        self.model = model
        self.path = path  # pinned hidraw path; None: the first device with the ids
        self.description = f"hid {model.usb_id} {model.name}"
        self._device: Any = None
        self._hid: Any = None
        self._reassembler = HidReassembler(model)

    def open(self) -> None:
        hid = _hid_module()
        found = [info for info in hid.enumerate(self.model.vid, self.model.pid)
                 if self.path is None or info["path"] == self.path]
        if not found:
            raise PortError(f"no USB HID device {self.model.usb_id} ({self.model.name})",
                            fault="port_missing", native=errno.ENODEV)
        path = found[0]["path"]
        try:
            self._device = hid.Device(path=path)
        except hid.HIDException as exc:
            raise PortError(f"cannot open HID {self.model.usb_id}: {exc}",
                            fault="port_missing") from None
        self._hid = hid
        self.description = (f"hid {self.model.usb_id} {self.model.name} "
                            f"({path.decode(errors='replace')})")
        self._reassembler.reset()

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            device.close()

    def is_open(self) -> bool:
        return self._device is not None

    def _open_device(self) -> Any:
        if self._device is None:
            raise PortError("HID reader is not open", fault="disconnected")
        return self._device

    def _failed(self, what: str, exc: BaseException) -> PortError:
        self.close()
        return PortError(f"HID {self.model.usb_id} {what} failed: {exc}", fault="disconnected")

    def discard_input(self) -> None:
        self._reassembler.reset()

    def write(self, frame: bytes) -> None:
        device = self._open_device()
        try:
            for report in hid_reports(frame, self.model):
                device.write(report)
        except self._hid.HIDException as exc:
            raise self._failed("write", exc) from None

    def read(self, deadline: float) -> bytes:
        device = self._open_device()
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            return b""
        try:
            report = device.read(self.model.report_size, timeout=remaining_ms)
        except self._hid.HIDException as exc:
            raise self._failed("read", exc) from None
        return self._reassembler.feed(report) if report else b""

    def wire_time(self, nbytes: int) -> float:
        return 0.001 * (nbytes // max(1, self.model.report_size) + 1)  # a report a millisecond
