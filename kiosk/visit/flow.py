"""The resident's visit as a Qt-free state machine.

Screens observe the flow (``on_change``) and send intents (``start``, ``choose_service``,
``card_read`` …); the flow never blocks: work outside it (central calls, printing, ratings)
goes through :class:`Effects` on ``run_async``, and results come back as intents carrying the
session they belong to, so a late answer can never show up in the next resident's visit.

    attract ─▶ home ─▶ intro ─▶ place_card ─▶ processing ─▶ result ─▶ printing ─▶ take_documents
       ▲                                                        │                       │
       └──────────── session wiped ◀── goodbye ◀── rating ◀─────┴───────────────────────┘

Any step can fail into ``error`` (a plain sentence and a way forward) and every step but
attract, processing and printing ends in an idle-timeout countdown; processing gives up after
``processing_timeout`` (central did not answer: the error step says so and counts down). What a service needs
before it runs (card, PIN, face, inputs) is walked through in ``kiosk.visit.gates``.
"""

from __future__ import annotations

import logging
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

from drivers.identity import Identity
from kiosk.visit.gates import Gates
from kiosk.visit.session import Session
from kiosk.visit.steps import _BUSY_STEPS, _CARD_NEEDED_STEPS, GOODBYE_SECONDS, RATING_LEVELS, Step

if TYPE_CHECKING:
    from kiosk.catalog.services import Catalog, Service
    from kiosk.visit.service_result import ServiceResult

log = logging.getLogger(__name__)
T = TypeVar("T")
# Seconds a visit waits in processing before it tells the resident central did not answer:
# a little longer than the run's own deadline (service_run.RUN_DEADLINE), so normally the
# client's timeout comes first; this one holds even when the worker is stuck elsewhere.
PROCESSING_TIMEOUT = 45.0


class Effects(Protocol):
    """What a visit needs from the world; each call may block (it runs off the GUI thread)."""

    def run_service(self, service: Service, identity: Identity | None,
                    inputs: dict[str, str], *, attempt: str | None = None) -> ServiceResult: ...

    def print_result(self, service: Service, result: ServiceResult, identity: Identity | None,
                     lang: str, job_id: str) -> None: ...

    def record_evaluation(self, payload: dict[str, object]) -> None: ...

    def verify_pin(self, pin: str) -> None: ...

    def verify_face(self, identity: Identity, jpeg: bytes) -> bool: ...

    def identify_by_code(self, code: str, scanned_by: str) -> Identity: ...


class RunAsync(Protocol):
    """Run ``fn`` somewhere, then hand its value to ``on_done`` or its exception to
    ``on_error`` (the app: on a worker, answering on the GUI thread)."""

    def __call__(self, fn: Callable[[], T], on_done: Callable[[T], None],
                 on_error: Callable[[BaseException], None], /) -> None: ...


# errors a second try may cure (a network blip, a busy platform, a printer's cover closed)
RETRY_HELPS = frozenset({"central.unavailable", "central.timeout", "central.error",
                         "central.rate_limited", "central.bad_response", "errors.service_failed",
                         "errors.printer_unavailable", "errors.print_failed"})
def staff_code(key: str) -> str:
    """The short code an error screen shows for the hall's staff ("C417"): a letter for where
    it came from, three digits from the message key; the log line carries both."""
    letter = {"central": "C", "errors": "E", "card": "K", "service": "S"}.get(key.split(".")[0], "X")
    return f"{letter}{zlib.crc32(key.encode()) % 1000:03d}"


TAKE_CARD_REMINDERS = 2  # reminders on the take-your-card step before the visit ends
# What the take-your-documents step waits for besides cards: a receipt the printer reports
# still in its presenter ("mouth"). It lives in ``cards_on_reader`` like a card on a reader.
RECEIPT = "receipt"
CARDS = frozenset({"id_card", "ss_card"})


def run_inline(fn: Callable[[], T], on_done: Callable[[T], None],
               on_error: Callable[[BaseException], None]) -> None:
    """``run_async`` for tests and scripts: do it now, on this thread."""
    try:
        value = fn()
    except Exception as exc:
        on_error(exc)
    else:
        on_done(value)


class Flow(Gates):
    """The visit's state. Read ``step``, ``session``, ``service``, ``error_key`` …; call intents."""

    def __init__(self, catalog: Catalog, effects: Effects, *, run_async: RunAsync = run_inline,
                 clock: Callable[[], float] = time.monotonic, language: str = "zh_CN",
                 elderly: bool = False, idle_timeout: float = 60.0, countdown: float = 20.0,
                 take_documents_timeout: float = 30.0,
                 processing_timeout: float = PROCESSING_TIMEOUT) -> None:
        self.catalog = catalog
        self.effects = effects
        self.run_async = run_async
        self.clock = clock
        self.default_language = language
        self.language = language
        self.elderly = elderly
        self.idle_timeout = idle_timeout
        self.countdown = countdown
        self.take_documents_timeout = take_documents_timeout
        self.processing_timeout = processing_timeout
        self.step = Step.ATTRACT
        self._rating: int | None = None  # this visit's 好差评, 1–5, for the usage telemetry
        self.ended_visit: dict[str, object] | None = None  # the last visit, for the telemetry
        self.session: Session | None = None
        self.error_key: str | None = None  # i18n key of the sentence the error screen shows
        self.error_detail: str = ""  # for technicians and logs, never shown to residents
        self.error_retry: str | None = None  # what 重试 on the error screen redoes: service | print
        self.card_problem: str | None = None  # i18n key shown on the place-card screen
        # (i18n key, values) on the PIN screen
        self.pin_problem: tuple[str, dict[str, object]] | None = None
        self.face_problem: str | None = None  # i18n key on the face screen
        self.input_errors: dict[str, dict[str, str]] = {}  # field -> message per language
        self.scan_field: str | None = None  # the input being read from a receipt's QR code
        self.scanned: dict[str, str] = {}  # field -> value read, for the inputs screen to take
        self.can_scan = False  # the app sets it when a camera can read QR codes
        self.can_scan_code = False  # the app sets it when a scanner (or camera) reads phone codes
        self.code_checking_for: Session | None = None  # whose scanned code central is checking
        self.code_refused: tuple[Session, str] | None = None  # the last code central refused
        self.countdown_remaining: float | None = None
        self.maintenance = False  # central ops closed this terminal (out-of-service screen)
        self.network_down = False  # central unreachable: the banner says what still works
        self.announcements: list[dict[str, str]] = []  # attract screen carousel, per language
        # Cards lying on a reader now ("id_card", "ss_card"), as the readers report them; and
        # what a resident left behind when their visit ended (the attract screen and the
        # heartbeat say so until the reader sees it taken).
        self.cards_on_reader: set[str] = set()
        self.left_behind: set[str] = set()
        self.take_reminders = 0  # times the take-your-card step has reminded this visit
        self.entered_at = clock()
        self._listeners: list[Callable[[Flow], None]] = []
        self._session_end_listeners: list[Callable[[str], None]] = []

    # -- observation ---------------------------------------------------------------------------
    def on_change(self, callback: Callable[[Flow], None]) -> None:
        self._listeners.append(callback)

    def on_session_end(self, callback: Callable[[str], None]) -> None:
        self._session_end_listeners.append(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback(self)

    def _go(self, step: Step) -> None:
        log.info("step %s -> %s", self.step, step)
        self.step = step
        self.scan_field = None
        self.entered_at = self.clock()
        self.countdown_remaining = None
        self._changed()

    @property
    def service(self) -> Service | None:
        if self.session is None or self.session.service_id is None:
            return None
        return self.catalog.get(self.session.service_id)

    @property
    def auth(self) -> str:
        """How the resident proves who they are for this service (catalog, or the fallback)."""
        service = self.service
        if service is None:
            return "none"
        return (self.session.auth_override if self.session else None) or service.auth

    @property
    def identity(self) -> Identity | None:
        return self.session.identity if self.session else None

    @property
    def result(self) -> ServiceResult | None:
        return self.session.result if self.session else None

    # -- intents from the resident -------------------------------------------------------------
    def touch(self) -> None:
        """Any touch or key: the resident is still here."""
        if self.session is not None:
            self.session.touch(self.clock())
            if self.countdown_remaining is not None:
                self.countdown_remaining = None
                self._changed()

    more_time = touch

    @property
    def idle(self) -> bool:
        """No resident mid-visit: remote commands and updates may run now."""
        return self.session is None and self.step in (Step.ATTRACT, Step.OUT_OF_SERVICE)

    def set_maintenance(self, on: bool) -> None:
        """Close or reopen the terminal; a resident mid-visit finishes first."""
        self.maintenance = on
        if on and self.session is None and self.step is Step.ATTRACT:
            self._go(Step.OUT_OF_SERVICE)
        elif not on and self.step is Step.OUT_OF_SERVICE:
            self._go(Step.ATTRACT)

    def swap_catalog(self, catalog: Catalog) -> None:
        """A reloaded or updated catalog; operations swap it only while the terminal is idle."""
        self.catalog = catalog

    def apply_session_timings(self, session: Mapping[str, float]) -> None:
        """New idle, countdown and take-your-documents timings from a reloaded config."""
        self.idle_timeout = session["idle_timeout"]
        self.countdown = session["countdown"]
        self.take_documents_timeout = session["take_documents_timeout"]

    def set_network(self, up: bool) -> None:
        if self.network_down == up:
            self.network_down = not up
            self._changed()

    def start(self) -> None:
        if self.step not in (Step.ATTRACT, Step.GOODBYE) or self.maintenance:
            return
        now = self.clock()
        self.session = Session(started=now, last_activity=now)
        log.info("session %s started", self.session.id[:8])
        self._go(Step.HOME)

    def set_language(self, lang: str) -> None:
        self.language = lang
        self.touch()
        self._changed()

    def set_elderly(self, on: bool) -> None:
        self.elderly = on
        self.touch()
        self._changed()

    def choose_service(self, service_id: str) -> None:
        if self.session is None:
            self.start()
        if self.step not in (Step.HOME, Step.SEARCH, Step.RESULT, Step.ERROR):
            return
        assert self.session is not None
        self.catalog.get(service_id)  # raises KeyError for an unknown id: a screen bug
        self.session.service_id = service_id
        self.session.result = None
        self.session.inputs = {}
        self.session.inputs_done = False
        self.session.auth_override = None
        self.card_problem = None
        self.touch()
        self._go(Step.INTRO)

    def confirm_intro(self) -> None:
        if self.step is not Step.INTRO:
            return
        self.touch()
        self._next_gate()

    def open_search(self) -> None:
        if self.step is Step.HOME:
            self.touch()
            self._go(Step.SEARCH)

    def open_help(self) -> None:
        if self.step is Step.HOME:
            self.touch()
            self._go(Step.HELP)

    def back(self) -> None:
        self.touch()
        if self.step in (Step.INTRO, Step.SEARCH, Step.HELP, Step.RESULT, Step.ERROR):
            self._go(Step.HOME)
        elif self.step in (Step.PLACE_CARD, Step.PIN, Step.FACE, Step.INPUTS):
            self._go(Step.INTRO)

    def go_home(self) -> None:
        if self.session is None or self.step in (Step.PROCESSING, Step.PRINTING):
            return
        self.touch()
        self._go(Step.HOME)

    def cancel(self) -> None:
        """The resident leaves: wipe and say goodbye."""
        if self.session is None:
            return
        self.end_session("cancelled")

    def print_result(self) -> None:
        if self.step is not Step.RESULT or self.session is None or self.session.printed:
            return
        self.touch()
        session = self.session
        # One job id per result: a double tap, or a retry, never prints twice.
        if session.print_job_id is None:
            session.print_job_id = f"{session.id[:12]}-{uuid.uuid4().hex[:8]}"
        job_id = session.print_job_id
        service, result, identity, lang = self.service, session.result, session.identity, self.language
        assert service is not None and result is not None  # the result step shows both
        self._go(Step.PRINTING)
        self.run_async(lambda: self.effects.print_result(service, result, identity, lang, job_id),
                       lambda _: self._print_done(session),
                       lambda exc: self._print_failed(session, exc))

    def finish(self) -> None:
        """Done with the result without printing: on to the rating."""
        if self.step in (Step.RESULT, Step.TAKE_DOCUMENTS):
            self.touch()
            self._go(Step.RATING)

    def documents_taken(self) -> None:
        """The resident says they took everything: believed unless a reader still sees a card."""
        if self.step is not Step.TAKE_DOCUMENTS:
            return
        if self.cards_on_reader:
            self._remind_to_take()
            return
        self._go(Step.RATING)

    def _remind_to_take(self) -> None:
        """Say and show again that the card is still on the reader (the step starts anew)."""
        self.take_reminders += 1
        log.info("%s still to be taken: reminder %d", self.waiting_to_be_taken, self.take_reminders)
        if self.session is not None:
            self.session.touch(self.clock())
        self._go(Step.TAKE_DOCUMENTS)

    def rate(self, level: str, reasons: tuple[str, ...] = ()) -> None:
        if self.step is not Step.RATING or self.session is None:
            return
        if level not in RATING_LEVELS:
            raise ValueError(f"unknown rating {level!r}")
        payload: dict[str, object] = {
            "session": self.session.id, "service": self.session.service_id, "level": level,
            "reasons": list(reasons), "language": self.language, "at": time.time()}
        self.run_async(lambda: self.effects.record_evaluation(payload), lambda _: None,
                       lambda exc: log.error("evaluation not recorded: %s", exc))
        self._rating = 5 - RATING_LEVELS.index(level)  # 好差评 5 (very satisfied) … 1
        self.end_session("finished")

    def retry(self) -> None:
        """重试 on the error screen: run the service again (the same attempt: central files it
        once) or print again; only offered where retrying can help."""
        if self.step is not Step.ERROR or self.session is None or self.error_retry is None:
            return
        what, self.error_retry, self.error_key = self.error_retry, None, None
        self.touch()
        if what == "print" and self.session.result is not None:
            self._go(Step.RESULT)
            self.print_result()
        elif what == "service" and self.service is not None:
            self._run_service()

    def skip_rating(self) -> None:
        if self.step is Step.RATING:
            self.end_session("finished")

    # -- intents from devices ------------------------------------------------------------------
    def card_read(self, identity: Identity) -> None:
        """A reader produced an identity. Taken on the intro or place-card step only."""
        self.cards_on_reader.add(identity.source)  # it lies there, asked for or not
        waiting_after_pin = (self.step is Step.PIN and self.session is not None
                             and self.session.identity is None)
        if self.session is None or not (self.step in (Step.INTRO, Step.PLACE_CARD)
                                        or waiting_after_pin):
            log.info("card read on %s: not asked for, ignored", self.step)
            return
        service = self.service
        if service is not None and self.auth == "app_code":
            self.touch()  # this service identifies by the phone's code only
            if self.step is Step.PLACE_CARD:
                self.card_problem = "app_code.scan_instead"
                self._changed()
            return
        if service is not None and self.auth == "ss_card+pin" and identity.source != "ss_card":
            self.touch()
            if self.step is Step.PLACE_CARD:
                self.card_problem = "card.need_ss_card"
                self._changed()
            return
        self.touch()
        self.session.set_identity(identity)
        self.card_problem = None
        if self.step in (Step.PLACE_CARD, Step.PIN):
            self._next_gate()
        else:
            self._changed()

    def card_error(self, key: str, detail: str = "") -> None:
        """A placed card could not become an identity (expired, misread…): say so, stay."""
        if self.step is not Step.PLACE_CARD:
            return
        log.warning("card problem %s: %s", key, detail)
        self.touch()
        self.card_problem = key
        self._changed()

    def receipt_presented(self) -> None:
        """The printer reports a receipt in its presenter: the resident must take it too."""
        if RECEIPT not in self.cards_on_reader:
            self.cards_on_reader.add(RECEIPT)
            self._changed()

    def receipt_taken(self) -> None:
        """The printer's presenter is empty again."""
        self.card_removed(RECEIPT)

    @property
    def waiting_to_be_taken(self) -> str | None:
        """What the take-your-documents reminder names: a card first, else the receipt."""
        if self.cards_on_reader & CARDS:
            return "card"
        return RECEIPT if RECEIPT in self.cards_on_reader else None

    @property
    def left_kind(self) -> str | None:
        """What the attract screen says was left behind: a card first, else the receipt."""
        if self.left_behind & CARDS:
            return "card"
        return RECEIPT if RECEIPT in self.left_behind else None

    def card_removed(self, source: str | None = None) -> None:
        """A reader saw its card go (``source`` names the reader, or ``receipt`` the printer's
        presenter; None: any card)."""
        gone = {source} if source else (set(self.cards_on_reader) - {RECEIPT}) | CARDS
        self.cards_on_reader -= gone
        if self.left_behind & gone:
            self.left_behind -= gone
            log.info("left-behind %s taken", "receipt" if source == RECEIPT else "card")
            self._changed()
        if self.session is not None and source == RECEIPT:
            if self.step is Step.TAKE_DOCUMENTS and not self.cards_on_reader:
                self._go(Step.RATING)
            return
        if self.session is None or self.session.identity is None:
            return
        if self.step in _CARD_NEEDED_STEPS:
            self.end_session("card_removed")
        elif self.step is Step.TAKE_DOCUMENTS and not self.cards_on_reader:
            self._go(Step.RATING)

    # -- clock ---------------------------------------------------------------------------------
    def tick(self) -> None:
        """Called about once a second: idle countdown and the timed steps."""
        now = self.clock()
        if self.step is Step.GOODBYE:
            if now - self.entered_at >= GOODBYE_SECONDS:
                self._to_attract()
            return
        if self.session is None or self.step is Step.ATTRACT:
            return
        if self.step is Step.TAKE_DOCUMENTS and now - self.entered_at >= self.take_documents_timeout:
            if not self.cards_on_reader:
                self._go(Step.RATING)
            elif self.take_reminders < TAKE_CARD_REMINDERS:
                self._remind_to_take()
            else:  # they walked away: the attract screen and the heartbeat carry it on
                self.end_session("card_left", say_goodbye=False)
            return
        if self.step is Step.PROCESSING and now - self.entered_at >= self.processing_timeout:
            self._central_gave_no_answer()
            return
        if self.step in _BUSY_STEPS:
            return
        idle = now - max(self.session.last_activity, self.entered_at)
        if idle < self.idle_timeout:
            if self.countdown_remaining is not None:
                self.countdown_remaining = None
                self._changed()
            return
        remaining = self.countdown - (idle - self.idle_timeout)
        if remaining <= 0:
            self.end_session("idle_timeout", say_goodbye=False)
        else:
            self.countdown_remaining = remaining
            self._changed()

    # -- internals -----------------------------------------------------------------------------
    def _run_service(self) -> None:
        assert self.session is not None
        session = self.session
        service, identity, inputs = self.service, session.identity, dict(session.inputs)
        assert service is not None  # _next_gate checked
        self._go(Step.PROCESSING)
        attempt = session.attempt(service.id)  # one idempotency key per attempt
        self.run_async(lambda: self.effects.run_service(service, identity, inputs, attempt=attempt),
                       lambda result: self._service_done(session, result),
                       lambda exc: self._service_failed(session, exc))

    def _current(self, session: Session, step: Step) -> bool:
        """Is this answer still wanted? (not when the resident left or moved on)"""
        return self.session is session and not session.ended and self.step is step

    def _service_done(self, session: Session, result: ServiceResult) -> None:
        if not self._current(session, Step.PROCESSING):
            log.info("late service result dropped")
            return
        session.result = result
        if session.service_id is not None:
            session.attempt_answered(session.service_id)
        if not getattr(result, "queued", False):
            self.network_down = False
        session.printed = False
        session.print_job_id = None
        session.touch(self.clock())
        self._go(Step.RESULT)

    def _service_failed(self, session: Session, exc: BaseException) -> None:
        if not self._current(session, Step.PROCESSING):
            return
        if getattr(exc, "message_key", "") in ("central.unavailable", "central.timeout"):
            self.network_down = True
        key = getattr(exc, "message_key", None) or "errors.service_failed"
        self._fail(key, exc, retry="service" if key in RETRY_HELPS else None)

    def _central_gave_no_answer(self) -> None:
        """The run is past its deadline: tell the resident now (the error step counts down and
        ends the visit like any other); its answer, if it ever comes, is dropped as late."""
        log.warning("no answer from central after %.0fs; the resident is told", self.processing_timeout)
        self.network_down = True
        self._fail("central.timeout", retry="service")

    def _print_done(self, session: Session) -> None:
        if self.session is not session or session.ended:
            return
        session.printed = True
        session.touch(self.clock())
        self._go(Step.TAKE_DOCUMENTS)

    def _print_failed(self, session: Session, exc: BaseException) -> None:
        if self.session is not session or session.ended:
            return
        fault = getattr(exc, "fault", None)
        key = {"paper_out": "errors.printer_paper_out", "cover_open": "errors.printer_unavailable",
               "offline": "errors.printer_unavailable"}.get(fault or "", "errors.print_failed")
        self._fail(key, exc, retry="print" if key in RETRY_HELPS else None)

    def _fail(self, key: str, exc: BaseException | None = None, retry: str | None = None) -> None:
        self.error_key = key
        self.error_retry = retry
        self.error_detail = f"{type(exc).__name__}: {exc}" if exc else ""
        log.error("visit error %s: %s [staff code %s]", key, self.error_detail, staff_code(key))
        self._go(Step.ERROR)

    def end_session(self, reason: str, say_goodbye: bool = True) -> None:
        """Wipe the resident's data now; then goodbye (they chose to leave) or attract."""
        session = self.session
        if session is None:
            return
        log.info("session %s ended: %s", session.id[:8], reason)
        if self.cards_on_reader:
            self.left_behind |= self.cards_on_reader
            log.warning("visit ended with documents not taken: %s", sorted(self.cards_on_reader))
        self.take_reminders = 0
        # what the fleet's usage telemetry may know of the visit: service, error code, rating
        self.ended_visit = {"service": session.service_id, "failure": self.error_key,
                            "rating": self._rating}
        self._rating = None
        session.end(reason)
        self.session = None
        self.error_key = None
        self.error_detail = ""
        self.error_retry = None
        self.card_problem = None
        self.scanned = {}
        for callback in list(self._session_end_listeners):
            callback(reason)
        if say_goodbye:
            self._go(Step.GOODBYE)
        else:
            self._to_attract()

    def _to_attract(self) -> None:
        self.language = self.default_language
        self._go(Step.OUT_OF_SERVICE if self.maintenance else Step.ATTRACT)
