"""The GA 467 resident ID-card reader, over any :mod:`drivers.idcard_transport`.

:class:`IdCardReader` polls the SAM (find → select → read) on its own thread, turns each
placed card into one :class:`drivers.identity.Identity` (or one typed :class:`IdCardError`),
tells when the card leaves, and reconnects by itself when the port vanishes and returns.
The bytes travel over a transport chosen by the URI (serial, USB bulk, USB HID, vendor SDK,
or ``auto``: :mod:`drivers.idcard_connect`). Frames are built and taken apart by
:mod:`drivers.ga467`; the card text by :mod:`drivers.idcard_text`; the WLT photo is decoded
only on request, where a decoder is configured (:mod:`drivers.idcard_photo`). Callbacks run
on the reader's thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from drivers import ga467
from drivers.base import Device, DeviceState
from drivers.idcard_connect import transport_for_uri
from drivers.idcard_errors import (
    BadLength,
    CardDataError,
    CardExpired,
    CardTimeout,
    ChecksumError,
    FingerprintUnavailable,
    FrameError,
    IdCardError,
    InvalidIdNumber,
    MalformedResponse,
    NoResponse,
    PortError,
    ReadFailed,
    SamError,
    SelectFailed,
    TruncatedFrame,
)
from drivers.idcard_photo import PhotoDecoder
from drivers.idcard_text import parse_card_text
from drivers.idcard_transport import DEFAULT_BAUD, ReaderTransport
from drivers.identity import Identity

__all__ = [
    "DEFAULT_BAUD", "CardDataError", "CardExpired", "CardTimeout", "ChecksumError",
    "FingerprintUnavailable", "FrameError",
    "IdCardError", "IdCardReader", "InvalidIdNumber", "MalformedResponse", "NoResponse",
    "PortError", "ReadFailed", "SamError", "SelectFailed", "TruncatedFrame",
]

log = logging.getLogger(__name__)
READ_ATTEMPTS = 3  # per placement, for errors a second look may cure (misread, moved card)
REMOVAL_POLLS = 2  # consecutive "no card" answers before a card counts as taken away: one
# missed find (RF hiccup) must not end a resident's session
AUTO_RELIST_INTERVAL = 2.0
# Longest response per command, to stretch the frame timeout by its wire time at low bauds.
_MAX_RESPONSE = {ga467.READ_TEXT_PHOTO: 1300, ga467.READ_TEXT_PHOTO_FP: 2330}
_RETRYABLE_FRAME = (ChecksumError, TruncatedFrame, NoResponse, BadLength, MalformedResponse)
_TRANSIENT = (FrameError, SelectFailed, ReadFailed, CardDataError)


class IdCardReader(Device):
    """A GA 467 SAM reader at ``serial:///dev/ttyUSB0?baud=115200``,
    ``usb://0400:c35a?model=ss628-100u``, ``hid://…``, ``sdk://…`` or ``auto`` (each may add
    ``wlt=/path/libwlt2bmp.so``); or over a ready ``transport``."""

    kind = "idcard"

    def __init__(self, uri: str = "", *, poll_interval: float = 0.1, frame_timeout: float = 0.3,
                 reconnect_interval: float | None = None, with_fingerprint: bool = False,
                 name: str | None = None, transport: ReaderTransport | None = None,
                 photo_decoder: str | None = None) -> None:
        super().__init__(name)
        base, _, query = uri.partition("?")
        wlt = dict(parse_qsl(query)).get("wlt")
        if base == "auto":  # "auto?wlt=…": only the decoder is a parameter
            uri = base
        self.transport = transport if transport is not None else transport_for_uri(uri)
        self.photo_decoder = PhotoDecoder(photo_decoder or wlt)
        self.poll_interval = min(poll_interval, 0.15)
        self.frame_timeout = frame_timeout
        if reconnect_interval is None:  # auto lists every bus on each try: every few seconds
            reconnect_interval = AUTO_RELIST_INTERVAL if self.transport.kind == "auto" else 0.5
        self.reconnect_interval = reconnect_interval
        self.with_fingerprint = with_fingerprint
        self._decoder = ga467.FrameDecoder()
        self._lock = threading.RLock()  # one exchange on the wire at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiters: list[queue.Queue] = []
        # Per placement: None (no card), "reading" or "done" (identity or error reported).
        self._placement: str | None = None
        self._attempts = 0
        self._last_error: IdCardError | None = None
        self._misses = 0

    # -- events ----------------------------------------------------------------------------
    def on_card(self, callback: Callable[[Identity], None]) -> None:
        self.subscribe("card", callback)

    def on_card_removed(self, callback: Callable[[], None]) -> None:
        self.subscribe("card_removed", callback)

    def on_card_error(self, callback: Callable[[IdCardError], None]) -> None:
        self.subscribe("card_error", callback)

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        """Start polling on a thread; the port is (re)opened there, so a missing port is a
        status (offline) rather than an exception."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._set_status(DeviceState.STARTING)
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-poll", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop polling promptly, close the port."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self._lock:
            self._close_port()
        self._set_status(DeviceState.OFFLINE)

    def read_once(self, timeout: float) -> Identity:
        """Wait up to ``timeout`` s for one card; raises :class:`CardTimeout` or the card's
        :class:`IdCardError`. Uses the poll thread when it runs, else the port directly."""
        if self._thread is not None:
            return self._wait_for_event(timeout)
        with self._lock:
            opened_here = not self.transport.is_open()
            if opened_here:
                self._open_port()
            deadline = time.monotonic() + timeout
            try:
                if opened_here:
                    self._check_sam(deadline)
                return self._read_until(deadline)
            finally:
                if opened_here:
                    self._close_port()

    def sam_id(self) -> str:
        """The SAM module's id (hex), for the technician screen; opens the port if needed."""
        with self._lock:
            opened_here = not self.transport.is_open()
            if opened_here:
                self._open_port()
            try:
                response = self._transact(ga467.SAM_ID)
                ga467.check_status(response)
                return response.data.hex()
            finally:
                if opened_here:
                    self._close_port()

    def read_fingerprint(self, timeout: float = 3.0) -> bytes:
        """The placed card's fingerprint data (GA 467 ``30 10``: 1024 bytes, two minutiae
        records) for a comparison the caller makes at once. Handed over and never kept: it is
        not on the :class:`Identity`, not logged, not queued. Raises
        :class:`FingerprintUnavailable` when the reader lacks the command or the card has no
        fingerprint, :class:`CardTimeout` when no card is placed within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            opened_here = not self.transport.is_open()
            if opened_here:
                self._open_port()
            try:
                while not self._find_card(deadline):
                    if time.monotonic() >= deadline:
                        raise CardTimeout("no card for the fingerprint read")
                    time.sleep(self.poll_interval)
                ga467.check_status(self._transact(ga467.SELECT_CARD, deadline))
                response = self._transact(ga467.READ_TEXT_PHOTO_FP, deadline)
                if response.sw3 == ga467.SW_UNKNOWN_COMMAND:
                    raise FingerprintUnavailable("this reader has no fingerprint command",
                                                 fault="no_fingerprint_command",
                                                 native=response.sw)
                ga467.check_status(response)
                record = ga467.split_read_data(response.data, with_fingerprint=True)
            finally:
                if opened_here:
                    self._close_port()
        if not record.fingerprint or not any(record.fingerprint):
            raise FingerprintUnavailable("the card carries no fingerprint data")
        return record.fingerprint

    def decode_photo(self, identity: Identity) -> bytes | None:
        """The card photo as a BMP when a WLT decoder is configured; else None, never an error."""
        return self.photo_decoder.decode(identity.photo_wlt)

    def diagnostics(self, *, may_open: bool = True) -> dict[str, object]:
        """What doctor and the technician screen show: transport, reader, SAM id, photo
        decoder, and for ``auto`` the devices seen but not used and why. ``may_open`` False:
        ask the SAM only if the port is already open (the running app's own reader)."""
        info: dict[str, object] = {"transport": self.transport.kind,
                                   "reader": self.transport.description}
        info["sam_id"] = None
        if may_open or self.transport.is_open():
            try:
                info["sam_id"] = self.sam_id()
                info["reader"] = self.transport.description  # auto: now says what it found
            except IdCardError as exc:
                info["sam_error"] = f"{exc.fault}: {exc}"
        watcher = getattr(self.transport, "watcher", None)
        if watcher is not None:
            info["not_used"] = [device.line() for device in watcher.unused()]
            info["bus_notes"] = list(watcher.notes)
        self.photo_decoder.check()
        info["photo_decoder"] = self.photo_decoder.state
        return info

    # -- poll thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                try:
                    wait = self._poll_step()
                except Exception as exc:  # a bug must not silently end polling: log, reconnect
                    log.exception("%s: poll failed unexpectedly", self.name)
                    self._close_port()
                    self._set_status(DeviceState.ERROR, "internal", type(exc).__name__)
                    wait = self.reconnect_interval
            self._stop.wait(wait)

    def _poll_step(self) -> float:
        """One round of the poll loop; returns how long to wait before the next."""
        if not self.transport.is_open():
            try:
                self._open_port()
                self._check_sam()
            except PortError as exc:
                self._close_port()
                self._set_status(DeviceState.OFFLINE, exc.fault, str(exc))
                return self.reconnect_interval
            except IdCardError as exc:
                self._close_port()
                fault = "no_sam" if isinstance(exc, SamError) else exc.fault
                self._set_status(DeviceState.ERROR, fault, str(exc))
                return self.reconnect_interval
            self._set_status(DeviceState.READY)
        try:
            self._poll_card()
        except PortError as exc:
            log.warning("%s: port lost: %s", self.name, exc)
            self._close_port()
            self._card_gone()
            self._set_status(DeviceState.OFFLINE, "disconnected", str(exc))
            return self.reconnect_interval
        except IdCardError as exc:
            self._set_status(DeviceState.ERROR, exc.fault, str(exc))
        return self.poll_interval

    def _poll_card(self) -> None:
        found = self._find_card()
        if not found:
            self._misses += 1
            if self._misses >= REMOVAL_POLLS:
                self._card_gone()
            self._set_status(DeviceState.READY)
            return
        self._misses = 0
        if self._placement == "done":
            self._set_status(DeviceState.READY)
            return
        if self._placement is None:
            self._placement, self._attempts, self._last_error = "reading", 0, None
        self._set_status(DeviceState.BUSY)
        try:
            identity = self._read_card()
        except PortError:
            raise
        except IdCardError as exc:
            self._attempts += 1
            self._last_error = exc
            if isinstance(exc, _TRANSIENT) and self._attempts < READ_ATTEMPTS:
                log.info("%s: read attempt %d failed: %s", self.name, self._attempts, exc)
                return
            self._placement = "done"
            self._set_status(DeviceState.READY)
            self._deliver("card_error", exc)
            return
        self._placement = "done"
        self._set_status(DeviceState.READY)
        self._deliver("card", identity)

    def _card_gone(self) -> None:
        placement, self._placement = self._placement, None
        if placement is None:
            return
        if placement == "reading" and self._last_error is not None:
            self._deliver("card_error", self._last_error)
        self._emit("card_removed")

    def _deliver(self, event: str, payload: object) -> None:
        if event == "card":
            log.info("%s: card read: %r", self.name, payload)
        else:
            log.warning("%s: card not accepted: %s", self.name, payload)
        for waiter in list(self._waiters):
            waiter.put((event, payload))
        self._emit(event, payload)

    def _wait_for_event(self, timeout: float) -> Identity:
        waiter: queue.Queue = queue.Queue()
        self._waiters.append(waiter)
        try:
            event, payload = waiter.get(timeout=timeout)
        except queue.Empty:
            raise CardTimeout(f"no card within {timeout:g} s") from None
        finally:
            self._waiters.remove(waiter)
        if event == "card_error":
            raise payload
        return payload

    # -- the card conversation ---------------------------------------------------------------
    # ``deadline`` (time.monotonic) is the caller's: read_once must end by it at any baud, so
    # every exchange is cut there with CardTimeout; the poll thread passes None.
    def _read_until(self, deadline: float) -> Identity:
        attempts = 0
        while True:
            if self._find_card(deadline):
                try:
                    return self._read_card(deadline)
                except _TRANSIENT as exc:
                    attempts += 1
                    if attempts >= READ_ATTEMPTS:
                        raise
                    log.info("%s: read attempt %d failed: %s", self.name, attempts, exc)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CardTimeout("no card before the timeout")
            time.sleep(min(self.poll_interval, remaining))

    def _check_sam(self, deadline: float | None = None) -> None:
        ga467.check_status(self._transact(ga467.SAM_STATUS, deadline))

    def _find_card(self, deadline: float | None = None) -> bool:
        response = self._transact(ga467.FIND_CARD, deadline)
        if response.sw3 == ga467.SW_NO_CARD:
            return False
        ga467.check_status(response, ok=ga467.SW_CARD_FOUND)
        return True

    def _read_card(self, deadline: float | None = None) -> Identity:
        ga467.check_status(self._transact(ga467.SELECT_CARD, deadline))
        command = ga467.READ_TEXT_PHOTO_FP if self.with_fingerprint else ga467.READ_TEXT_PHOTO
        response = self._transact(command, deadline)
        ga467.check_status(response)
        record = ga467.split_read_data(response.data, with_fingerprint=self.with_fingerprint)
        return parse_card_text(record.text, record.photo)

    def _transact(self, command: tuple[int, int], deadline: float | None = None
                  ) -> ga467.Response:
        """One request/response; a damaged or missing response is retried once."""
        try:
            return self._exchange(command, deadline)
        except _RETRYABLE_FRAME as exc:
            log.warning("%s: command %02X %02X: %s; retrying once", self.name, *command, exc)
        return self._exchange(command, deadline)

    def _exchange(self, command: tuple[int, int], deadline: float | None = None
                  ) -> ga467.Response:
        transport = self.transport
        if not transport.is_open():
            raise PortError("port is not open", fault="disconnected")
        timeout = self.frame_timeout + transport.wire_time(_MAX_RESPONSE.get(command, 64))
        transport.discard_input()
        self._decoder.reset()
        transport.write(ga467.encode_request(command))
        frame_deadline = time.monotonic() + timeout
        cut = False
        if deadline is not None and deadline < frame_deadline:
            frame_deadline, cut = deadline, True
        bad_length: BadLength | None = None
        while True:
            try:
                response = self._decoder.next_response()
            except BadLength as exc:  # a false preamble in garbage: look further
                bad_length = exc
                continue
            if response is not None:
                return response
            if time.monotonic() >= frame_deadline:
                if cut:
                    raise CardTimeout(
                        f"timeout reached while the reader answered {command[0]:02X} "
                        f"{command[1]:02X} ({self._decoder.pending()} bytes so far)")
                if self._decoder.in_frame():
                    raise TruncatedFrame(
                        f"response to {command[0]:02X} {command[1]:02X} stopped after "
                        f"{self._decoder.pending()} bytes", native=self._decoder.pending())
                if bad_length is not None:
                    raise bad_length
                raise NoResponse(f"no response to {command[0]:02X} {command[1]:02X} "
                                 f"within {timeout:.2f} s")
            self._decoder.feed(transport.read(frame_deadline))

    # -- port --------------------------------------------------------------------------------
    def _open_port(self) -> None:
        self.transport.open()
        log.info("%s: opened %s", self.name, self.transport.description)

    def _close_port(self) -> None:
        self.transport.close()
