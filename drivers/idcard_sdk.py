"""Readers behind a vendor SDK (ctypes): the ``SDT_*`` (sdtapi) and ``CVR_*`` (Termb) families.

Some readers speak only a vendor protocol behind a C library. :class:`SdkTransport` plays a
GA 467 reader on top of it: each request frame the reader class writes becomes the SDK calls
that mean the same, and their results come back as the response frame a SAM would send. So
:class:`drivers.idcard.IdCardReader` keeps all protocol logic (retries, events, removal) for
these readers too. The library is loaded only in :meth:`SdkTransport.open`, from the model
file's name or the URI's ``lib``: ``sdk://sdtapi?lib=/opt/reader/libsdtapi.so&port=1001``.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import time
from pathlib import Path
from typing import Any

from drivers import ga467
from drivers.idcard_errors import PortError
from drivers.reader_models import ReaderModel, ReaderModelError, load_model
from drivers.uri import DeviceUri

log = logging.getLogger(__name__)

_SDT_PORT_ERRORS = {0x01}  # port failed to open / not open / bad number
_SDT_SILENT = {0x02, 0x03}  # receive timeout, transfer error: as a silent SAM
_CVR_TEXT, _CVR_PHOTO = "wz.txt", "zp.wlt"  # where Termb leaves the card after a read
_CVR_ACTIVE_RAW = 4
# CVR_Authenticate: 1 found and selected, 2 no card, 3 select failed, 4 no reader on the port
_CVR_FOUND, _CVR_SELECT_FAILED, _CVR_NO_READER = 1, 3, 4


class SdkTransport:
    """A reader of an ``sdk`` model; ``library`` and ``port`` override the model file."""

    kind = "sdk"

    def __init__(self, model: ReaderModel, *, library: str | None = None,
                 port: int | None = None, files_dir: str | None = None) -> None:
        if model.transport != "sdk":
            raise ReaderModelError(f"model {model.model} is not an SDK reader")
        self.model = model
        self.library = library or model.library
        self.port = model.port if port is None else port
        self.files_dir = files_dir or (os.path.dirname(self.library) if "/" in self.library
                                       else "")  # "": next to the library once it is loaded
        self.description = f"sdk {model.family} {self.library} port {self.port} ({model.name})"
        self._lib: ctypes.CDLL | None = None
        self._reply = b""
        self._authenticated = False

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        try:
            lib = ctypes.CDLL(self.library)
        except OSError as exc:
            raise PortError(f"cannot load reader SDK {self.library}: {exc}",
                            fault="port_missing", native=errno.ENOENT) from None
        try:
            if self.model.family == "SDT":
                for name in ("SDT_OpenPort", "SDT_ClosePort"):
                    getattr(lib, name).argtypes = [ctypes.c_int]
                for name in ("SDT_GetSAMStatus",):
                    getattr(lib, name).argtypes = [ctypes.c_int, ctypes.c_int]
                for name in ("SDT_GetSAMID", "SDT_StartFindIDCard", "SDT_SelectIDCard"):
                    getattr(lib, name).argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
                lib.SDT_ReadBaseMsg.argtypes = [
                    ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint),
                    ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint), ctypes.c_int]
                code = lib.SDT_OpenPort(self.port)
                ok = code == ga467.SW_OK
            else:
                lib.CVR_InitComm.argtypes = [ctypes.c_int]
                lib.CVR_Read_Content.argtypes = [ctypes.c_int]
                code = lib.CVR_InitComm(self.port)
                ok = code == 1
        except AttributeError as exc:  # the library lacks a call of its family
            raise PortError(f"reader SDK {self.library} is not a {self.model.family} SDK: {exc}",
                            fault="port_missing") from None
        if not ok:
            raise PortError(f"reader SDK {self.library}: opening port {self.port} failed "
                            f"(code 0x{code:02X})", fault="port_missing", native=code)
        self._lib, self._reply, self._authenticated = lib, b"", False
        if self.model.family == "CVR" and not self.files_dir:
            self.files_dir = _library_dir(lib.CVR_Read_Content) or os.getcwd()

    def close(self) -> None:
        lib, self._lib = self._lib, None
        if lib is None:
            return
        if self.model.family == "SDT":
            lib.SDT_ClosePort(self.port)
        else:
            lib.CVR_CloseComm()

    def is_open(self) -> bool:
        return self._lib is not None

    # -- the GA 467 face -----------------------------------------------------------------
    def discard_input(self) -> None:
        self._reply = b""

    def write(self, frame: bytes) -> None:
        lib = self._lib
        if lib is None:
            raise PortError("reader SDK is not open", fault="disconnected")
        command = (frame[7], frame[8]) if len(frame) >= 10 else (0, 0)
        if self.model.family == "SDT":
            answer = self._sdt(lib, command)
        else:
            answer = self._cvr(lib, command)
        self._reply = b"" if answer is None else ga467.encode_response((0, 0, answer[0]),
                                                                       answer[1])

    def read(self, deadline: float) -> bytes:
        reply, self._reply = self._reply, b""
        if not reply:  # a silent SDK: wait out the frame timeout like a silent SAM
            time.sleep(max(0.0, deadline - time.monotonic()))
        return reply

    def wire_time(self, nbytes: int) -> float:
        return 0.0  # the SDK call returns whole answers

    def _gone(self, code: int) -> PortError:
        self._lib = None
        return PortError(f"reader SDK {self.library} lost the reader (code 0x{code:02X})",
                         fault="disconnected", native=code)

    def _sdt(self, lib: ctypes.CDLL, command: tuple[int, int]) -> tuple[int, bytes] | None:
        data = b""
        if command == ga467.SAM_STATUS:
            code = lib.SDT_GetSAMStatus(self.port, 0)
        elif command == ga467.SAM_ID:
            buffer = ctypes.create_string_buffer(16)
            code = lib.SDT_GetSAMID(self.port, buffer, 0)
            data = buffer.raw
        elif command in (ga467.FIND_CARD, ga467.SELECT_CARD):
            buffer = ctypes.create_string_buffer(8)
            call = lib.SDT_StartFindIDCard if command == ga467.FIND_CARD else lib.SDT_SelectIDCard
            code = call(self.port, buffer, 0)
            data = buffer.raw[:4] if command == ga467.FIND_CARD else buffer.raw
        elif command == ga467.READ_TEXT_PHOTO:
            text, photo = ctypes.create_string_buffer(256), ctypes.create_string_buffer(1024)
            text_len, photo_len = ctypes.c_uint(0), ctypes.c_uint(0)
            code = lib.SDT_ReadBaseMsg(self.port, text, ctypes.byref(text_len), photo,
                                       ctypes.byref(photo_len), 0)
            if code == ga467.SW_OK:
                data = (text_len.value.to_bytes(2, "big") + photo_len.value.to_bytes(2, "big")
                        + text.raw[:text_len.value] + photo.raw[:photo_len.value])
        else:
            return (ga467.SW_UNKNOWN_COMMAND, b"")
        if code in _SDT_PORT_ERRORS:
            raise self._gone(code)
        if code in _SDT_SILENT:
            return None
        return (code, data if code in (ga467.SW_OK, ga467.SW_CARD_FOUND) else b"")

    def _cvr(self, lib: ctypes.CDLL, command: tuple[int, int]) -> tuple[int, bytes] | None:
        if command == ga467.SAM_STATUS:
            return (ga467.SW_OK, b"")  # CVR_InitComm succeeded at open
        if command == ga467.FIND_CARD:  # CVR finds and selects in one call
            code = lib.CVR_Authenticate()
            if code == _CVR_NO_READER:
                raise self._gone(code)
            self._authenticated = code == _CVR_FOUND
            if code == _CVR_SELECT_FAILED:
                return (ga467.SW_CARD_FOUND, bytes(4))  # found; the select will say it failed
            return (ga467.SW_CARD_FOUND, bytes(4)) if self._authenticated else (ga467.SW_NO_CARD,
                                                                                b"")
        if command == ga467.SELECT_CARD:
            return (ga467.SW_OK, bytes(8)) if self._authenticated else (ga467.SW_SELECT_FAILED,
                                                                        b"")
        if command == ga467.READ_TEXT_PHOTO:
            if lib.CVR_Read_Content(_CVR_ACTIVE_RAW) != 1:
                return (ga467.SW_READ_FAILED, b"")
            text_file, photo_file = Path(self.files_dir) / _CVR_TEXT, Path(self.files_dir) / _CVR_PHOTO
            try:
                text, photo = text_file.read_bytes(), photo_file.read_bytes()
            except OSError as exc:
                log.warning("CVR SDK read the card but its files are missing: %s", exc)
                return (ga467.SW_READ_FAILED, b"")
            finally:  # the resident's name, number and photo must not stay on disk
                for leftover in (text_file, photo_file):
                    leftover.unlink(missing_ok=True)
            return (ga467.SW_OK, len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
                    + text + photo)
        return (ga467.SW_UNKNOWN_COMMAND, b"")  # the CVR calls have no SAM id, no fingerprint


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _library_dir(function: Any) -> str:
    """The directory of the loaded library ``function`` lives in (dladdr), or ""."""
    info = _DlInfo()
    try:
        libc = ctypes.CDLL(None)
        found = libc.dladdr(ctypes.cast(function, ctypes.c_void_p), ctypes.byref(info))
    except (OSError, AttributeError, ctypes.ArgumentError):
        return ""
    if not found or not info.dli_fname:
        return ""
    return os.path.dirname(os.fsdecode(info.dli_fname))


def sdk_transport_for_uri(parsed: DeviceUri) -> SdkTransport:
    """``sdk://MODEL?lib=/path/lib.so&port=1001`` (``dir``: where Termb leaves its files)."""
    if not parsed.host:
        raise ValueError("sdk:// reader URI needs a model name, e.g. sdk://sdtapi?lib=…")
    model = load_model(parsed.host)
    if model.transport != "sdk":
        raise ValueError(f"model {model.model} is a {model.transport} reader, not sdk")
    port = parsed.param("port")
    try:
        port_number = int(port) if port is not None else None
    except ValueError:
        raise ValueError(f"sdk:// port must be a number, got {port!r}") from None
    return SdkTransport(model, library=parsed.param("lib"), port=port_number,
                        files_dir=parsed.param("dir"))
