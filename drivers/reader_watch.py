"""``idcard = "auto"``: find the ID-card reader among the devices plugged in, and follow it.

:class:`ReaderWatcher` lists USB devices (pyusb), HID devices (hidapi, when installed) and
serial ports (pyserial), matches each against the model files in ``config/readers``, and diffs
the listing against the previous one, like Odoo's IoT box interfaces: added and removed ids,
and for each device not used, why. :class:`AutoTransport` is the transport
:class:`drivers.idcard.IdCardReader` runs on: every (re)open lists again and opens the first
known reader, so a reader unplugged and plugged back, or swapped for another model, works
again through the reader's own reconnect loop, without a restart. Listing functions are
injectable, so tests can present virtual buses.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import usb.core

from drivers.idcard_errors import PortError
from drivers.idcard_transport import ReaderTransport, SerialTransport
from drivers.reader_models import ReaderModel, load_models

log = logging.getLogger(__name__)

USB_CLASS_HUB = 9
_ORDER = {"usb": 0, "hid": 1, "serial": 2, "sdk": 3}  # which kind wins when several are found


@dataclass(frozen=True)
class FoundDevice:
    """One device seen on a bus; ``model`` is None and ``reason`` says why when not usable."""

    id: str  # usb:1:4 | hid:/dev/hidraw0 | serial:/dev/ttyUSB0 | sdk:sdtapi
    kind: str  # the bus it was seen on: usb | hid | serial | sdk
    vid: int | None
    pid: int | None
    where: str  # bus/address, hidraw path, tty path, library
    model: ReaderModel | None = None
    reason: str = ""

    @property
    def usb_id(self) -> str:
        return "" if self.vid is None or self.pid is None else f"{self.vid:04x}:{self.pid:04x}"

    def line(self) -> str:
        """What the technician reads: ``usb 0400:c35a bus 1 address 4: SS628-100U``."""
        ids = f" {self.usb_id}" if self.usb_id else ""
        what = self.model.name if self.model is not None and not self.reason else self.reason
        return f"{self.kind}{ids} {self.where}: {what}"


def _list_usb(backend: Any) -> list[Any]:
    return list(usb.core.find(find_all=True, backend=backend) or [])


def _list_hid() -> list[dict[str, Any]]:
    import hid

    return list(hid.enumerate())


def _list_serial() -> list[Any]:
    from serial.tools import list_ports

    return list(list_ports.comports())


def _sdk_loads(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


class ReaderWatcher:
    """Lists the buses, matches model files, remembers the last listing to diff against."""

    def __init__(self, models: list[ReaderModel] | None = None, *, usb_backend: Any = None,
                 list_usb: Callable[[], Iterable[Any]] | None = None,
                 list_hid: Callable[[], Iterable[dict[str, Any]]] | None = None,
                 list_serial: Callable[[], Iterable[Any]] | None = None,
                 sdk_loads: Callable[[str], bool] = _sdk_loads) -> None:
        self.models = load_models() if models is None else models
        self.usb_backend = usb_backend
        self._list_usb = list_usb or (lambda: _list_usb(self.usb_backend))
        self._list_hid = list_hid or _list_hid
        self._list_serial = list_serial or _list_serial
        self._sdk_loads = sdk_loads
        self.devices: dict[str, FoundDevice] = {}
        self.notes: list[str] = []  # buses that could not be listed, and why

    def _model(self, kind: str, vid: int | None, pid: int | None) -> ReaderModel | None:
        return next((m for m in self.models if m.transport == kind and m.vid is not None
                     and (m.vid, m.pid) == (vid, pid)), None)

    def _any_model(self, vid: int | None, pid: int | None) -> ReaderModel | None:
        return next((m for m in self.models if m.vid is not None and (m.vid, m.pid) == (vid, pid)),
                    None)

    def list_devices(self) -> dict[str, FoundDevice]:
        """One listing of every bus (no diff, no state change)."""
        found: dict[str, FoundDevice] = {}
        notes: list[str] = []
        hid_ok = True
        try:
            hid_devices = list(self._list_hid())
        except ImportError:  # no hid package, or it found no libhidapi-*.so
            hid_ok, hid_devices = False, []
            notes.append("hid: not listed (no hidapi library)")
        except OSError as exc:
            hid_ok, hid_devices = False, []
            notes.append(f"hid: not listed ({exc})")
        for info in hid_devices:
            vid, pid = info.get("vendor_id"), info.get("product_id")
            path = info.get("path", b"")
            where = path.decode(errors="replace") if isinstance(path, bytes) else str(path)
            model = self._model("hid", vid, pid)
            if model is not None:
                found[f"hid:{where}"] = FoundDevice(f"hid:{where}", "hid", vid, pid, where, model)
        try:
            usb_devices = list(self._list_usb())
        except (usb.core.NoBackendError, usb.core.USBError, OSError) as exc:  # no libusb, no access
            usb_devices = []
            notes.append(f"usb: not listed ({type(exc).__name__}: {exc})")
        for dev in usb_devices:
            if getattr(dev, "bDeviceClass", None) == USB_CLASS_HUB:
                continue
            vid, pid = dev.idVendor, dev.idProduct
            where = f"bus {dev.bus} address {dev.address}"
            ident = f"usb:{dev.bus}:{dev.address}"
            model = self._any_model(vid, pid)
            reason = ""
            if model is None:
                reason = f"no model file in config/readers for {vid:04x}:{pid:04x}"
            elif model.transport == "hid":
                if hid_ok:
                    continue  # listed (or not) by hidapi above
                reason = f"{model.model} is a HID reader, but hidapi is not available"
            elif model.transport == "serial":
                continue  # a USB-serial bridge: its tty is listed below
            elif model.transport != "usb":
                reason = f"{model.model} is used through its {model.transport}"
            found[ident] = FoundDevice(ident, "usb", vid, pid, where, model if not reason else None,
                                       reason)
        try:
            ports = list(self._list_serial())
        except (ImportError, OSError) as exc:
            ports = []
            notes.append(f"serial: not listed ({exc})")
        for port in ports:
            vid, pid = getattr(port, "vid", None), getattr(port, "pid", None)
            ident = f"serial:{port.device}"
            model = self._model("serial", vid, pid) if vid is not None else None
            reason = ""
            if vid is None:
                reason = "no USB ids: a reader on a board UART needs serial:///dev/… in config"
            elif model is None:
                reason = f"no serial model file in config/readers for {vid:04x}:{pid:04x}"
            found[ident] = FoundDevice(ident, "serial", vid, pid, port.device, model, reason)
        if not any(d.model is not None and not d.reason for d in found.values()):
            for model in self.models:
                if model.transport == "sdk" and self._sdk_loads(model.library):
                    ident = f"sdk:{model.model}"
                    found[ident] = FoundDevice(ident, "sdk", None, None, model.library, model)
        self.notes = notes
        return found

    def scan(self) -> tuple[list[FoundDevice], list[FoundDevice]]:
        """List again; returns (added, removed) since the last scan and logs them."""
        now = self.list_devices()
        added = [d for key, d in now.items() if self.devices.get(key) != d]
        removed = [d for key, d in self.devices.items() if key not in now]
        self.devices = now
        for device in added:
            log.info("device added: %s", device.line())
        for device in removed:
            log.info("device removed: %s", device.line())
        return added, removed

    def readers(self) -> list[FoundDevice]:
        """Known readers in the last listing, best first."""
        usable = [d for d in self.devices.values() if d.model is not None and not d.reason]
        return sorted(usable, key=lambda d: (_ORDER[d.kind], d.id))

    def unused(self) -> list[FoundDevice]:
        """Devices seen but not used as a reader, each with its reason."""
        return [d for d in self.devices.values() if d.reason]

    def transport_for(self, device: FoundDevice) -> ReaderTransport:
        model = device.model
        if model is None:
            raise PortError(f"{device.line()}", fault="port_missing")
        if device.kind == "usb":
            from drivers.idcard_usb import UsbBulkTransport

            bus, _, address = device.id.removeprefix("usb:").partition(":")
            return UsbBulkTransport(model, backend=self.usb_backend, bus=int(bus),
                                    address=int(address))  # this one, if two are plugged
        if device.kind == "hid":
            from drivers.idcard_hid import HidTransport

            return HidTransport(model, path=device.where.encode())
        if device.kind == "sdk":
            from drivers.idcard_sdk import SdkTransport

            return SdkTransport(model)
        return SerialTransport(device.where, model.baud)


class AutoTransport:
    """The transport of ``idcard = "auto"``: lists on every open, delegates to what it found."""

    kind = "auto"

    def __init__(self, watcher: ReaderWatcher | None = None) -> None:
        self.watcher = watcher if watcher is not None else ReaderWatcher()
        self.inner: ReaderTransport | None = None
        self.found: FoundDevice | None = None
        self.description = "auto: no reader found yet"

    def open(self) -> None:
        self.watcher.scan()
        tried: list[str] = []
        for device in self.watcher.readers():
            transport = self.watcher.transport_for(device)
            try:
                transport.open()
            except PortError as exc:
                tried.append(f"{device.line()} ({exc})")
                continue
            self.inner, self.found = transport, device
            self.description = f"auto: {transport.description} [{device.model.model}]" \
                if device.model else f"auto: {transport.description}"
            log.info("idcard auto: using %s", device.line())
            return
        seen = len(self.watcher.devices)
        detail = "; ".join(tried) if tried else f"{seen} device(s) seen, none a known reader"
        self.description = "auto: no reader found"
        raise PortError(f"no known ID-card reader found: {detail}", fault="port_missing")

    def close(self) -> None:
        inner, self.inner = self.inner, None
        if inner is not None:
            inner.close()

    def is_open(self) -> bool:
        return self.inner is not None and self.inner.is_open()

    def _inner(self) -> ReaderTransport:
        inner = self.inner
        if inner is None or not inner.is_open():
            raise PortError("no reader open", fault="disconnected")
        return inner

    def discard_input(self) -> None:
        self._inner().discard_input()

    def write(self, frame: bytes) -> None:
        self._inner().write(frame)

    def read(self, deadline: float) -> bytes:
        return self._inner().read(deadline)

    def wire_time(self, nbytes: int) -> float:
        return self.inner.wire_time(nbytes) if self.inner is not None else 0.0
