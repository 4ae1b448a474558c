"""``SocialSecurityCardReader``: the social-security card (社会保障卡) over PC/SC via pyscard.

The reader watches two things with pyscard's monitors: readers coming and going
(``ReaderMonitor``, polled) and cards inserted and removed (``CardMonitor``, blocking on
pcscd's events). When a card arrives in our reader it is read at once on the monitor's thread
and ``on_card(identity)`` fires there (the Qt bridge hops it to the GUI thread; a card
already in the reader at :meth:`open` may be reported on the caller's thread). The
connection is kept while the card stays in, so :meth:`verify_pin` talks to the same card
session; a card that hides its holder until the PIN is given (6982) gets ``on_card_error``
first, and ``on_card`` after a successful :meth:`verify_pin`.

URIs: ``pcsc://Virtual PCD 00 00`` (exact reader name, or a prefix such as
``pcsc://ACS ACR39U``) or ``pcsc://`` (the first reader holding a card).

Protocol bytes live in :mod:`drivers.sscard_protocol`, typed errors in
:mod:`drivers.sscard_errors`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol, overload

from smartcard.CardMonitoring import CardMonitor, CardMonitoringThread, CardObserver
from smartcard.ReaderMonitoring import ReaderMonitor, ReaderObserver
from smartcard.scard import SCardCancel
from smartcard.System import readers as pcsc_readers

from drivers.base import Device, DeviceState
from drivers.identity import Identity
from drivers.sscard_errors import (
    PCSC_EXCEPTIONS,
    CardRemoved,
    CardTimeout,
    NoCard,
    PcscError,
    PinBlocked,
    ReaderNotFound,
    SecurityStatusNotSatisfied,
    SocialSecurityCardError,
    WrongPin,
    pcsc_error,
)
from drivers.sscard_protocol import CardSession
from drivers.uri import parse_device_uri

if TYPE_CHECKING:
    from smartcard.Card import Card
    from smartcard.CardConnection import CardConnection
    from smartcard.reader.Reader import Reader

log = logging.getLogger(__name__)

__all__ = ["SocialSecurityCardReader", "SocialSecurityCardError", "WrongPin", "PinBlocked",
           "CardTimeout", "CardRemoved", "NoCard", "ReaderNotFound", "PcscError",
           "SecurityStatusNotSatisfied"]

POLL_S = 0.05  # read_once's wait between looks at the reader: small against pcscd's 0.4 s
_reader_monitor: ReaderMonitor | None = None
_monitor_lock = threading.Lock()


def _shared_reader_monitor() -> ReaderMonitor:
    """pyscard's ReaderMonitor resets its observer list each time it is constructed, so the
    process builds it once."""
    global _reader_monitor
    with _monitor_lock:
        if _reader_monitor is None:
            _reader_monitor = ReaderMonitor(period=0.5, readerProc=_readers_or_none)
        return _reader_monitor


def _readers_or_none() -> list[Reader]:
    """pyscard's reader-monitor thread dies on the first PC/SC error; an outage of pcscd is
    'no readers' instead, so the thread sees them come back."""
    try:
        return pcsc_readers()
    except PCSC_EXCEPTIONS:
        return []


class _MonitorThread(Protocol):
    """What we use of pyscard's card-monitor thread (``CardMonitoringThread.instance``)."""

    stopEvent: threading.Event

    def is_alive(self) -> bool: ...


def _thread_dead(thread: _MonitorThread | None) -> bool:
    return thread is None or not thread.is_alive() or thread.stopEvent.is_set()


def _card_monitor() -> CardMonitor:
    """pyscard's CardMonitor thread ends for good when pcscd goes away (and is a process-wide
    singleton): build a fresh one when the old thread is dead, so a restarted pcscd is seen."""
    with _monitor_lock:
        thread = CardMonitoringThread.instance
        if thread is not None and _thread_dead(thread):
            request = getattr(thread.cardrequest, "pcsccardrequest", None)
            if request is not None:  # its context died with the old pcscd: nothing to release
                request.hcontext = None
            CardMonitoringThread.instance = None
            CardMonitor.instance = None
        return CardMonitor()


def _halt_card_monitor() -> None:
    thread = CardMonitoringThread.instance
    if thread is not None:
        thread.stop()


def stop_card_monitor(timeout: float = 2.0) -> None:
    """Stop pyscard's card-monitor thread now (it otherwise sleeps in pcscd for up to 60 s):
    for process shutdown and test teardown. The next :meth:`open` starts a new one."""
    with _monitor_lock:
        thread = CardMonitoringThread.instance
        if thread is None:
            return
        thread.stop()
        request = getattr(thread.cardrequest, "pcsccardrequest", None)
        if request is not None and getattr(request, "hcontext", None) is not None:
            SCardCancel(request.hcontext)  # wakes SCardGetStatusChange
        thread.join(timeout)
        CardMonitoringThread.instance = None
        CardMonitor.instance = None


def list_readers() -> list[str]:
    """Reader names pcscd knows; PcscError when pcscd cannot be reached."""
    try:
        return [str(r) for r in pcsc_readers()]
    except PCSC_EXCEPTIONS as exc:
        raise pcsc_error(exc, "list readers") from exc


class _Watch(ReaderObserver, CardObserver):
    """Adapter: pyscard calls ``update(observable, (added, removed))`` on its thread."""

    def __init__(self, handler: Callable[[list[Reader], list[Reader]], None]
                 | Callable[[list[Card], list[Card]], None]) -> None:
        self._handler = handler

    def update(self, observable: object,
               handlers: tuple[list[Reader], list[Reader]] | tuple[list[Card], list[Card]]) -> None:
        added, removed = handlers
        try:
            self._handler(list(added), list(removed))
        except Exception:  # an error here would end pyscard's monitor thread for good
            log.exception("sscard: handling reader/card change failed")


class SocialSecurityCardReader(Device):
    """A PC/SC reader where residents insert their social-security card."""

    kind = "sscard"

    def __init__(self, uri: str = "pcsc://", *, name: str | None = None) -> None:
        super().__init__(name)
        parsed = parse_device_uri(uri)
        if parsed.scheme != "pcsc":
            raise ValueError(f"social-security card reader needs a pcsc:// URI, not {uri!r}")
        self.reader_name = (parsed.host + parsed.path).strip()
        self._io = threading.RLock()  # one card conversation at a time
        self._conn: CardConnection | None = None  # pyscard connection to the card now in the reader
        self._card_reader: str | None = None  # reader holding that card
        self._card_in: str | None = None  # reader whose card we announced (even if read failed)
        self._pending_pin = False  # card said 6982: identity follows verify_pin
        self._reader_watch: _Watch | None = None
        self._card_watch: _Watch | None = None

    # -- events ----------------------------------------------------------------------------
    def on_card(self, callback: Callable[[Identity], None]) -> None:
        self.subscribe("card", callback)

    def on_card_removed(self, callback: Callable[[], None]) -> None:
        self.subscribe("card_removed", callback)

    def on_card_error(self, callback: Callable[[SocialSecurityCardError], None]) -> None:
        self.subscribe("card_error", callback)

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        """Start watching; a card already in the reader is read at once."""
        if self._card_watch is not None:
            return
        self._set_status(DeviceState.STARTING)
        try:
            present = [r for r in list_readers() if self._matches(r)]
        except PcscError as exc:
            self._set_status(DeviceState.ERROR, exc.fault, str(exc))
            present = []
        else:
            if present:
                self._set_status(DeviceState.READY, None, f"reader {present[0]}")
            else:
                self._set_status(DeviceState.OFFLINE, "no_reader",
                                 f"reader {self.reader_name or '(any)'} not connected")
        self._reader_watch = _Watch(self._readers_changed)
        self._card_watch = _Watch(self._cards_changed)
        _shared_reader_monitor().addObserver(self._reader_watch)
        _card_monitor().addObserver(self._card_watch)  # reports cards already present

    def close(self) -> None:
        if self._card_watch is not None:
            with _monitor_lock:  # leave a dead monitor dead: building one would start a thread
                monitor = CardMonitor.instance
                if monitor is not None and self._card_watch in monitor.obs:
                    monitor.deleteObserver(self._card_watch)
        if self._reader_watch is not None:
            monitor = _shared_reader_monitor()
            thread = getattr(monitor, "rmthread", None)
            deadline = time.monotonic() + 2
            # pyscard starts the thread asynchronously and joins it in deleteObserver: joining
            # one not yet started raises, and leaves the monitor unable to start again
            while thread is not None and thread.ident is None and time.monotonic() < deadline:
                time.sleep(0.01)
            monitor.deleteObserver(self._reader_watch)
        self._card_watch = self._reader_watch = None
        with self._io:
            self._drop_connection()
            self._card_in = None
        self._set_status(DeviceState.OFFLINE, None, "closed")

    # -- commands --------------------------------------------------------------------------
    def verify_pin(self, pin: str) -> None:
        """Check the resident's PIN on the card in the reader.

        Raises WrongPin(remaining), PinBlocked, NoCard, CardRemoved. When the card had hidden
        its holder until now (6982), the identity is read and ``on_card`` fires.
        """
        with self._io:
            session = self._session_or_connect()
            try:
                session.verify_pin(pin)
            except PCSC_EXCEPTIONS as exc:
                raise self._lost(exc, "verify PIN") from exc
            log.info("%s: PIN verified", self.name)
            if self._pending_pin:
                self._pending_pin = False
                self._read_and_emit(session)

    def read_once(self, timeout: float, pin: str | None = None) -> Identity:
        """Block until a card is in the reader and read it (the technician CLI's way).

        Raises CardTimeout when no card came, ReaderNotFound when the reader never showed
        up, and the card's own typed errors otherwise. With ``pin``, VERIFY comes first.
        """
        deadline = time.monotonic() + timeout
        saw_reader = False
        while True:
            with self._io:
                names = [r for r in list_readers() if self._matches(r)]
                saw_reader = saw_reader or bool(names)
                session = self._session_or_connect(names, quiet=True)
                if session is not None:
                    try:
                        if pin is not None:
                            session.verify_pin(pin)
                        identity = session.read_identity()
                    except PCSC_EXCEPTIONS as exc:
                        raise self._lost(exc, "read card") from exc
                    finally:
                        if self._card_watch is None:  # not monitoring: leave nothing open
                            self._drop_connection()
                    return identity
            if time.monotonic() >= deadline:
                if not saw_reader:
                    raise ReaderNotFound(f"reader {self.reader_name or '(any)'} not connected",
                                         native=", ".join(list_readers()) or "no readers")
                raise CardTimeout(f"no card within {timeout:g} s")
            time.sleep(POLL_S)

    # -- internals -------------------------------------------------------------------------
    def _matches(self, reader: str) -> bool:
        return not self.reader_name or reader == self.reader_name or \
            reader.startswith(self.reader_name)

    def _connect(self, reader_names: list[str]) -> CardConnection | None:
        """Connect to the first listed reader holding a card, or return None."""
        try:
            available = pcsc_readers()
        except PCSC_EXCEPTIONS as exc:
            raise pcsc_error(exc, "list readers") from exc
        for reader in available:
            if str(reader) not in reader_names:
                continue
            conn = reader.createConnection()
            try:
                conn.connect()
            except PCSC_EXCEPTIONS as exc:
                if type(exc).__name__ != "NoCardException":
                    log.info("%s: connect to %s failed: %s", self.name, reader, exc)
                try:
                    conn.release()
                except PCSC_EXCEPTIONS:
                    pass
                continue
            self._conn, self._card_reader = conn, str(reader)
            return conn
        return None

    @overload
    def _session_or_connect(self, names: list[str] | None = None,
                            quiet: Literal[False] = False) -> CardSession: ...

    @overload
    def _session_or_connect(self, names: list[str] | None = None, *,
                            quiet: bool) -> CardSession | None: ...

    def _session_or_connect(self, names: list[str] | None = None,
                            quiet: bool = False) -> CardSession | None:
        conn = self._conn
        if conn is None:
            if names is None:
                names = [r for r in list_readers() if self._matches(r)]
            conn = self._connect(names)  # also kept as self._conn
            if conn is None:
                if quiet:
                    return None
                raise NoCard("no social-security card in the reader")
        return CardSession(conn.transmit)

    def _drop_connection(self) -> None:
        conn, self._conn, self._card_reader = self._conn, None, None
        self._pending_pin = False
        if conn is not None:
            try:
                conn.disconnect()
            except PCSC_EXCEPTIONS:
                pass  # the card is gone already
            try:
                conn.release()
            except PCSC_EXCEPTIONS:  # pcscd is gone: so is the context; don't retry in __del__
                getattr(conn, "component", conn).hcontext = None

    def _lost(self, exc: Exception, doing: str) -> SocialSecurityCardError:
        err = pcsc_error(exc, doing)
        if isinstance(err, CardRemoved):
            self._drop_connection()
        return err

    def _read_and_emit(self, session: CardSession) -> None:
        """Read the card in the reader; emit on_card or on_card_error. Caller holds _io."""
        self._set_status(DeviceState.BUSY, None, "reading card")
        started = time.perf_counter()
        try:
            identity = session.read_identity()
        except PCSC_EXCEPTIONS as exc:
            self._card_failed(self._lost(exc, "read card"))
            return
        except SecurityStatusNotSatisfied as exc:
            self._pending_pin = True
            self._set_status(DeviceState.READY, exc.fault, "card needs the PIN")
            self._emit("card_error", exc)
            return
        except SocialSecurityCardError as exc:
            self._card_failed(exc)
            return
        log.info("%s: read %r in %.0f ms (%d APDUs)", self.name, identity,
                 (time.perf_counter() - started) * 1000, session.apdus)
        self._set_status(DeviceState.READY, None, f"card read in {self._card_reader}")
        self._emit("card", identity)

    def _card_failed(self, err: SocialSecurityCardError) -> None:
        log.warning("%s: card read failed: %s", self.name, err)
        self._set_status(DeviceState.ERROR, err.fault, str(err))
        self._emit("card_error", err)

    def _readers_changed(self, added: list[Reader], removed: list[Reader]) -> None:
        ours_added = [str(r) for r in added if self._matches(str(r))]
        ours_removed = [str(r) for r in removed if self._matches(str(r))]
        if ours_removed:
            with self._io:
                had_card = self._card_in in ours_removed
                if had_card:
                    self._card_in = None
                    self._drop_connection()
            if had_card:
                self._emit("card_removed")
            try:
                still = [r for r in list_readers() if self._matches(r)]
            except PcscError as exc:
                _halt_card_monitor()  # it would spin on errors until pcscd is back
                self._set_status(DeviceState.ERROR, exc.fault, str(exc))
            else:
                if not still:
                    self._set_status(DeviceState.OFFLINE, "no_reader",
                                     f"reader {', '.join(ours_removed)} unplugged")
        if ours_added:
            self._revive_card_monitor()
            self._set_status(DeviceState.READY, None, f"reader {ours_added[0]}")

    def _revive_card_monitor(self) -> None:
        """pcscd came back after an outage: pyscard's card monitor died with it."""
        if self._card_watch is not None and _thread_dead(CardMonitoringThread.instance):
            log.info("%s: restarting the card monitor", self.name)
            _card_monitor().addObserver(self._card_watch)

    def _cards_changed(self, added: list[Card], removed: list[Card]) -> None:
        for card in removed:
            reader = str(card.reader)
            with self._io:
                ours = self._card_in == reader
                if ours:
                    self._card_in = None
                    if self._card_reader == reader:
                        self._drop_connection()
            if ours:
                log.info("%s: card removed from %s", self.name, reader)
                self._set_status(DeviceState.READY, None, f"reader {reader}")
                self._emit("card_removed")
        for card in added:
            reader = str(card.reader)
            if not self._matches(reader):
                continue
            with self._io:
                if self._card_in is not None:
                    continue  # we already hold a card (pcsc:// with two readers)
                self._card_in = reader
                try:
                    conn = self._conn if self._conn is not None else self._connect([reader])
                    if conn is None:
                        continue  # pulled again before we got to it
                except SocialSecurityCardError as exc:
                    self._card_failed(exc)
                    continue
                self._read_and_emit(CardSession(conn.transmit))
