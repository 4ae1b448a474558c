"""What a service needs from the resident before it runs — a card (or the identity code on
their phone, where the service takes it), the social-security card's PIN, a face check,
typed inputs (or one read from a receipt's QR code) — as the part
of :class:`kiosk.visit.flow.Flow` that walks through them in order (``_next_gate``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk.visit.session import Session
from kiosk.visit.steps import FACE_ATTEMPTS, Step

if TYPE_CHECKING:
    from drivers.identity import Identity
    from kiosk.catalog.services import Service
    from kiosk.visit.flow import Effects, RunAsync

log = logging.getLogger(__name__)


class Gates:
    """Mixed into Flow: every method here uses Flow's state and its ``_go``/``_fail``.

    Typing: the Flow attributes and methods the gates use are declared below as annotations
    only (Flow sets and defines them), so the mixin is checked against Flow's own types."""

    step: Step
    session: Session | None
    effects: Effects
    run_async: RunAsync
    language: str
    card_problem: str | None
    pin_problem: tuple[str, dict[str, object]] | None
    face_problem: str | None
    input_errors: dict[str, dict[str, str]]
    scan_field: str | None
    scanned: dict[str, str]
    code_checking_for: Session | None
    code_refused: tuple[Session, str] | None

    if TYPE_CHECKING:
        @property
        def service(self) -> Service | None: ...

        @property
        def auth(self) -> str: ...

        @property
        def identity(self) -> Identity | None: ...

        def touch(self) -> None: ...

        def _changed(self) -> None: ...

        def _go(self, step: Step) -> None: ...

        def _fail(self, key: str, exc: BaseException | None = None) -> None: ...

        def _current(self, session: Session, step: Step) -> bool: ...

        def _run_service(self) -> None: ...

    def _next_gate(self) -> None:
        """Go to the first thing this service still needs from the resident, or run it."""
        session, service = self.session, self.service
        assert session is not None and service is not None
        auth = self.auth
        if auth != "none" and session.identity is None:
            self._go(Step.PLACE_CARD)
        elif auth == "ss_card+pin" and not session.pin_ok:
            self.pin_problem = None
            self._go(Step.PIN)
        elif auth == "id_card+face" and not session.face_ok:
            self.face_problem = None
            self._go(Step.FACE)
        elif service.inputs and not session.inputs_done:
            self.input_errors = {}
            self._go(Step.INPUTS)
        else:
            self._run_service()

    def code_scanned(self, code: str, scanned_by: str = "scanner") -> None:
        """A phone's code (网络身份码) from the scanner or the camera: central says whose it
        is. Taken on the place-card step of a service that accepts it, one at a time (a
        scanner repeating itself must not send the code twice)."""
        service, session = self.service, self.session
        if (self.step is not Step.PLACE_CARD or session is None or service is None
                or not service.accepts_app_code or self.code_checking_for is session
                or session.identity is not None or self.code_refused == (session, code)):
            log.info("phone code on %s: not asked for, ignored", self.step)
            return
        self.touch()
        self.code_checking_for = session
        self.card_problem = "app_code.checking"
        self._changed()
        self.run_async(lambda: self.effects.identify_by_code(code, scanned_by),
                       lambda identity: self._code_identified(session, identity),
                       lambda exc: self._code_refused(session, code, exc))

    def _code_identified(self, session: Session, identity: Identity) -> None:
        self.code_checking_for = None
        if not self._current(session, Step.PLACE_CARD):
            return
        session.set_identity(identity)
        self.card_problem = None
        self._next_gate()

    def _code_refused(self, session: Session, code: str, exc: BaseException) -> None:
        """Expired, used, unknown, or central not answering: say which, stay for another.
        The same code read again (a scanner in continuous mode, the camera) is not sent."""
        self.code_checking_for = None
        self.code_refused = (session, code)
        if not self._current(session, Step.PLACE_CARD):
            return
        key = getattr(exc, "message_key", None) or "app_code.failed"
        log.warning("phone code refused: %s", key)
        self.card_problem = key if key.startswith(("app_code.", "central.")) else "app_code.failed"
        self._changed()

    def submit_pin(self, pin: str) -> None:
        if self.step is not Step.PIN or self.session is None:
            return
        self.touch()
        session = self.session
        self.run_async(lambda: self.effects.verify_pin(pin),
                       lambda _: self._pin_ok(session),
                       lambda exc: self._pin_failed(session, exc))

    def card_needs_pin(self) -> None:
        """A social-security card that shows its holder only after the PIN: ask for it first;
        the reader delivers the card once the PIN is right."""
        if self.step is not Step.PLACE_CARD or self.session is None:
            return
        self.touch()
        self.card_problem = None
        self.pin_problem = None
        self._go(Step.PIN)

    def _pin_ok(self, session: Session) -> None:
        if not self._current(session, Step.PIN):
            return
        session.pin_ok = True
        if session.identity is None:  # the card is being read now; card_read moves on
            self.pin_problem = ("pin.reading", {})
            self._changed()
        else:
            self._next_gate()

    def _pin_failed(self, session: Session, exc: BaseException) -> None:
        if not self._current(session, Step.PIN):
            return
        remaining = getattr(exc, "remaining", None)
        if remaining is not None and remaining > 0:
            self.pin_problem = ("pin.wrong", {"tries": remaining})
            self._changed()
        elif getattr(exc, "fault", "") in ("pin_blocked", "blocked") or remaining == 0:
            self._fail("errors.pin_blocked", exc)
        else:
            self._fail(getattr(exc, "message_key", None) or "errors.card_failed", exc)

    def face_captured(self, jpeg: bytes) -> None:
        """The camera step chose a good, live frame: central compares it with the card."""
        if self.step is not Step.FACE or self.session is None or self.identity is None:
            return
        self.touch()
        session, identity = self.session, self.identity
        self.face_problem = "face.verifying"
        self._changed()
        self.run_async(lambda: self.effects.verify_face(identity, jpeg),
                       lambda match: self._face_checked(session, bool(match)),
                       lambda exc: self._face_error(session, exc))

    def _face_checked(self, session: Session, match: bool) -> None:
        if not self._current(session, Step.FACE):
            return
        if match:
            session.face_ok = True
            self._next_gate()
            return
        session.face_failures += 1
        self.face_problem = ("face.give_up" if session.face_failures >= FACE_ATTEMPTS
                             else "face.no_match")
        self._changed()

    def _face_error(self, session: Session, exc: BaseException) -> None:
        if self._current(session, Step.FACE):
            self._fail(getattr(exc, "message_key", None) or "errors.service_failed", exc)

    def face_retry(self) -> None:
        if self.step is Step.FACE and self.face_problem != "face.give_up":
            self.touch()
            self.face_problem = None
            self._changed()

    def use_ss_card_instead(self) -> None:
        """After three failed face checks: the social-security card and its PIN instead."""
        if self.step is not Step.FACE or self.session is None:
            return
        self.touch()
        self.session.identity = None
        self.session.auth_override = "ss_card+pin"
        self.card_problem = "card.use_ss_card"
        self._go(Step.PLACE_CARD)

    def input_error(self, name: str, value: str) -> str | None:
        """The field's own message in the current language when ``value`` is not acceptable."""
        service = self.service
        if service is None:
            return None
        from kiosk.visit.service_run import ServiceRun

        field = next((f for f in service.inputs if f.name == name), None)
        if field is None:
            return None
        errors = ServiceRun(service, None).validate({name: value})
        return field.error(self.language) if name in errors else None

    def scan_qr(self, field: str | None) -> None:
        """Start (or with None, stop) reading ``field`` from a QR code held to the camera."""
        if self.step is Step.INPUTS:
            self.touch()
            self.scan_field = field
            self._changed()

    def qr_found(self, value: str) -> None:
        if self.step is Step.INPUTS and self.scan_field is not None:
            self.touch()
            self.scanned[self.scan_field] = value
            self.scan_field = None
            self._changed()

    def submit_inputs(self, values: dict[str, str]) -> None:
        if self.step is not Step.INPUTS or self.session is None:
            return
        self.touch()
        from kiosk.visit.service_run import ServiceRun

        service = self.service
        assert service is not None  # the inputs step belongs to the chosen service
        errors = ServiceRun(service, None).validate(values)
        if errors:
            self.input_errors = errors
            self._changed()
            return
        self.session.inputs = dict(values)
        self.session.inputs_done = True
        self.input_errors = {}
        self._next_gate()
