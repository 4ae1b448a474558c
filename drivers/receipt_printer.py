"""The receipt printer: ESC/POS over python-escpos transports, status through DLE EOT.

Every job is checked before (a printer known to be out of paper, open or offline never
starts one) and after (paper ran out or the cover opened mid-way → the job failed, with
the reason). Jobs carry an id; a second call with the same id prints nothing and answers
``duplicate`` — a double tap never prints two tickets.

Kiosk printers with a presenter (bezel) hold the cut receipt in their mouth until it is
taken. ESC/POS has no vendor-neutral bit for that: DLE EOT 1/2/4 leave no bit free (their
fixed bits are 0xx1xx10 and 4's free bits are the roll sensors), so kiosk models answer it
on an extra real-time status byte, the way Epson's DLE EOT 8 peeler status reports a label
"waiting to be removed". A profile with ``presenter_status = n`` (``80mm-kiosk``: n = 5)
makes every status question also ask DLE EOT n and read **bit 2 (0x04) = paper in the
presenter**, with the same fixed bits; a model whose manual names another n sets it there.
A change is announced as ``receipt_presented`` / ``receipt_taken``.
"""

from __future__ import annotations

import logging
import socket
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol, TypeGuard

from drivers.base import Device, DeviceError, DeviceState, DeviceStatus
from drivers.escpos_elements import ReceiptDoc
from drivers.escpos_encoder import PrinterProfile, encode_receipt
from drivers.uri import parse_device_uri

log = logging.getLogger(__name__)

PROFILES_DIR = Path(__file__).resolve().parent.parent / "config" / "printers"
DLE_EOT = b"\x10\x04"
STATUS_QUERY = DLE_EOT + b"\x01" + DLE_EOT + b"\x02" + DLE_EOT + b"\x04"
CHUNK = 4096

__all__ = ["PrintResult", "PrinterError", "PrinterProfile", "ReceiptPrinter", "decode_presenter",
           "decode_status", "load_profile"]


class _Transport(Protocol):
    """What we use of a python-escpos printer (Network, Serial, Usb, File, Dummy)."""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def _raw(self, msg: bytes) -> None: ...


class _SerialPort(Protocol):
    """What we use of pyserial's ``Serial`` (escpos' Serial printer's ``device``)."""

    def read(self, size: int = 1) -> bytes: ...

    def reset_input_buffer(self) -> None: ...


class _BackChannel(_Transport, Protocol):
    """A transport that can answer DLE EOT (escpos' Network and Serial printers)."""

    device: socket.socket | _SerialPort


class _Dummy(_Transport, Protocol):
    """escpos' Dummy printer: keeps what it was sent."""

    @property
    def output(self) -> bytes: ...

    def clear(self) -> None: ...


class PrinterError(DeviceError):
    """A print job could not be done; ``fault`` is paper_out, cover_open, offline, …"""

    fault = "offline"


def load_profile(name: str | Path) -> PrinterProfile:
    """Read a printer profile by name (``config/printers/<name>.toml``) or path."""
    path = Path(name)
    if path.suffix != ".toml":
        path = PROFILES_DIR / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))
        raise PrinterError(f"no printer profile {str(name)!r} (known: {', '.join(known)})",
                           fault="config", native=exc.errno) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PrinterError(f"printer profile {path} is not valid TOML: {exc}",
                           fault="config") from exc
    allowed = {f.name for f in fields(PrinterProfile)}
    unknown = set(data) - allowed
    if unknown:
        raise PrinterError(f"printer profile {path.name}: unknown keys {sorted(unknown)}",
                           fault="config")
    data.setdefault("name", path.stem)
    if data.get("cutter", "partial") not in ("partial", "full", "none"):
        raise PrinterError(f"printer profile {path.name}: cutter must be partial|full|none",
                           fault="config")
    return PrinterProfile(**data)


def decode_status(online: int, cause: int, paper: int) -> tuple[str | None, str]:
    """Map the DLE EOT 1/2/4 answer bytes to (fault, detail). Worst fault wins."""
    for byte in (online, cause, paper):
        if byte & 0x93 != 0x12:  # fixed bits: 0xx1xx10
            return "protocol", f"malformed status byte 0x{byte:02x}"
    if cause & 0x04:
        return "cover_open", "cover open"
    if paper & 0x60 or cause & 0x20:
        return "paper_out", "paper roll empty"
    if online & 0x08:
        return "offline", "printer reports offline" + (" (error)" if cause & 0x40 else "")
    if paper & 0x0C:
        return "paper_low", "paper roll near end"
    return None, ""


PRESENTER_PAPER = 0x04  # bit 2 of the presenter status byte: a receipt waits in the mouth


def decode_presenter(byte: int) -> bool:
    """The presenter status byte → is a receipt waiting to be taken? (fixed bits checked)."""
    if byte & 0x93 != 0x12:
        raise PrinterError(f"malformed presenter status byte 0x{byte:02x}", fault="protocol")
    return bool(byte & PRESENTER_PAPER)


@dataclass(frozen=True)
class PrintResult:
    job_id: str
    status: str  # "ok" | "duplicate"
    bytes_sent: int = 0
    warning: str | None = None  # e.g. paper_low after the job: tell the technician


class ReceiptPrinter(Device):
    """One ESC/POS printer at ``uri`` (usb://, serial://, tcp://, file://, sim)."""

    kind = "receipt_printer"

    def __init__(self, uri: str, profile: PrinterProfile | None = None, *,
                 journal: Path | None = None, timeout: float = 3.0,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.uri = uri
        self.profile = profile or load_profile("80mm-cjk")
        self.timeout = timeout
        self._journal = journal
        self._printer: _Transport | None = None  # python-escpos printer object (the transport seam)
        self._lock = threading.RLock()
        self._done: dict[str, PrintResult] = {}
        self._wanted = False  # open() was called and close() not: reconnect when lost
        self.sim_output = bytearray()  # what a ``sim`` printer received
        self.receipt_waiting = False  # the presenter holds a receipt (profiles with a presenter)
        if journal is not None and journal.exists():
            for line in journal.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._done[line.strip()] = PrintResult(line.strip(), "ok")

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            self._set_status(DeviceState.STARTING)
            self._wanted = True
            self._connect()
            self.status()

    def close(self) -> None:
        with self._lock:
            self._wanted = False
            printer, self._printer = self._printer, None
            if printer is not None:
                try:
                    printer.close()
                except OSError as exc:
                    log.debug("%s: close: %s", self.name, exc)
            self._set_status(DeviceState.OFFLINE)

    def _connect(self) -> None:
        from escpos import printer as escpos_printer
        from escpos.exceptions import Error as EscposError

        uri = parse_device_uri(self.uri)
        try:
            if uri.scheme == "tcp":
                host, _, port = uri.host.rpartition(":")
                dev = escpos_printer.Network(host or uri.host, int(port or 9100),
                                             timeout=self.timeout)
            elif uri.scheme == "serial":
                dev = escpos_printer.Serial(uri.path, baudrate=int(uri.param("baud", "9600")),
                                            timeout=self.timeout)
            elif uri.scheme == "usb":
                vid, _, pid = uri.host.partition(":")
                if not escpos_printer.Usb.is_usable():
                    raise PrinterError("USB printers need pyusb, which is not installed",
                                       fault="offline")
                dev = escpos_printer.Usb(int(vid, 16), int(pid, 16), timeout=int(self.timeout * 1000))
            elif uri.scheme == "file":
                dev = escpos_printer.File(uri.path)
            elif uri.scheme == "sim":
                dev = escpos_printer.Dummy()
            else:
                raise PrinterError(f"unsupported printer URI {self.uri!r}", fault="config")
            dev.open()
        except PrinterError:
            self._set_status(DeviceState.OFFLINE, "offline", "cannot connect")
            raise
        except (OSError, ValueError, EscposError) as exc:  # escpos wraps OSError in its own
            self._set_status(DeviceState.OFFLINE, "offline", f"cannot connect: {type(exc).__name__}")
            cause = exc if isinstance(exc, OSError) else exc.__context__  # escpos wraps OSError
            native = getattr(cause, "strerror", None) or type(exc).__name__
            raise PrinterError(f"cannot open printer {self.uri}", fault="offline",
                               native=native) from exc
        self._printer = dev
        log.info("%s: connected to %s (profile %s)", self.name, self.uri, self.profile.name)

    def on_receipt_presented(self, callback: Callable[[], None]) -> None:
        self.subscribe("receipt_presented", callback)

    def on_receipt_taken(self, callback: Callable[[], None]) -> None:
        self.subscribe("receipt_taken", callback)

    # -- status ------------------------------------------------------------------------------
    def status(self) -> DeviceStatus:
        """Ask the printer now (DLE EOT); a printer that does not answer is offline."""
        with self._lock:
            if self._printer is None:
                if not self._wanted:
                    return self._status
                try:  # unplugged or restarted since: try once, cheaply, per status poll
                    self._connect()
                except PrinterError:
                    return self._status
            fault, detail = self._query()
            if fault is None:
                self._set_status(DeviceState.READY)
            elif fault == "paper_low":
                self._set_status(DeviceState.READY, fault, detail)
            elif fault == "offline":
                self._set_status(DeviceState.OFFLINE, fault, detail)
            else:
                self._set_status(DeviceState.ERROR, fault, detail)
            return self._status

    def _query(self) -> tuple[str | None, str]:
        printer = self._printer
        if not self.profile.status or not _answers_status(printer):
            return None, ""  # file and sim printers cannot answer: assume ready
        presenter = self.profile.presenter_status
        query = STATUS_QUERY + (DLE_EOT + bytes([presenter]) if presenter else b"")
        want = 4 if presenter else 3
        try:
            self._drain(printer.device)
            printer._raw(query)
            answer = self._read_exact(printer.device, want)
        except (OSError, TimeoutError) as exc:
            self._drop()
            return "offline", f"no status answer ({type(exc).__name__})"
        if len(answer) < want:
            self._drop()
            return "offline", "no status answer"
        if presenter:
            try:
                self._presenter_seen(decode_presenter(answer[3]))
            except PrinterError as exc:
                return "protocol", str(exc)
        return decode_status(*answer[:3])

    def _presenter_seen(self, waiting: bool) -> None:
        if waiting == self.receipt_waiting:
            return
        self.receipt_waiting = waiting
        log.info("%s: receipt %s", self.name, "waiting in the presenter" if waiting else "taken")
        self._emit("receipt_presented" if waiting else "receipt_taken")

    def _read_exact(self, dev: socket.socket | _SerialPort, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = dev.recv(n - len(data)) if isinstance(dev, socket.socket) else dev.read(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def _drain(self, dev: socket.socket | _SerialPort) -> None:
        """Throw away stale status bytes so each answer lines up with its question."""
        if isinstance(dev, socket.socket):
            dev.setblocking(False)
            try:
                while dev.recv(64):
                    pass
            except (BlockingIOError, OSError):
                pass
            finally:
                dev.settimeout(self.timeout)
        elif hasattr(dev, "reset_input_buffer"):
            dev.reset_input_buffer()

    def _drop(self) -> None:
        assert self._printer is not None  # only dropped while connected
        try:
            self._printer.close()
        except OSError:
            pass
        self._printer = None

    # -- jobs --------------------------------------------------------------------------------
    def print_job(self, job_id: str, doc: ReceiptDoc | bytes) -> PrintResult:
        """Print once per ``job_id``; raise PrinterError(fault=…) when it cannot or did not."""
        with self._lock:
            if job_id in self._done:
                log.info("%s: job %s already printed; not printing again", self.name, job_id)
                return PrintResult(job_id, "duplicate")
            data = doc if isinstance(doc, bytes) else encode_receipt(doc, self.profile)
            if self._printer is None:
                self._connect()  # reconnect after an unplug or a dropped socket
            before = self.status()
            if before.fault not in (None, "paper_low"):
                raise PrinterError(f"job {job_id} not started: {before.detail}",
                                   fault=before.fault)
            self._set_status(DeviceState.BUSY, before.fault, before.detail)
            printer = self._printer
            assert printer is not None  # status() kept the connection, or we raised above
            try:
                for start in range(0, len(data), CHUNK):
                    printer._raw(data[start:start + CHUNK])
                if isinstance(printer, _dummy_type()):
                    self.sim_output += printer.output
                    printer.clear()
            except (OSError, TimeoutError) as exc:
                self._drop()
                self._set_status(DeviceState.OFFLINE, "offline", "connection lost during job")
                raise PrinterError(f"job {job_id} failed: connection lost while sending",
                                   fault="offline", native=getattr(exc, "errno", None)) from exc
            after = self.status()
            if after.fault not in (None, "paper_low"):
                raise PrinterError(f"job {job_id} failed mid-way: {after.detail}",
                                   fault=after.fault)
            result = PrintResult(job_id, "ok", len(data), after.fault)
            self._remember(result)
            log.info("%s: job %s printed (%d bytes)", self.name, job_id, len(data))
            self._emit("job_done", result)
            return result

    def _remember(self, result: PrintResult) -> None:
        self._done[result.job_id] = result
        if self._journal is not None:
            with self._journal.open("a", encoding="utf-8") as fh:
                fh.write(result.job_id + "\n")


def _answers_status(printer: object) -> TypeGuard[_BackChannel]:
    """Only transports with a back channel (TCP, serial) can answer DLE EOT."""
    from escpos.printer import Network, Serial

    return isinstance(printer, (Network, Serial))


def _dummy_type() -> type[_Dummy]:
    from escpos.printer import Dummy

    return Dummy
