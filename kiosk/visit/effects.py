"""What a visit does outside itself — call central, print, record a rating — behind the
:class:`kiosk.visit.flow.Effects` port. Every method blocks; the app runs them on workers."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import TYPE_CHECKING, Protocol, cast

from drivers.identity import Identity
from kiosk.config import in_language

if TYPE_CHECKING:
    from collections.abc import Mapping

    from drivers.escpos_elements import ReceiptDoc
    from kiosk.catalog.services import Service
    from kiosk.central.client import CentralClient
    from kiosk.visit.service_result import ServiceResult

log = logging.getLogger(__name__)
_QUEUE_STREAMS = {"appointment": "appointment", "evaluation": "evaluation"}
_RATING_KEYS = uuid.UUID("0b6c1e52-3f4d-4a8e-b7c9-6e1d2a5f8c04")  # uuid5 namespace of 好差评 keys


# The devices as a visit sees them: just the calls made here (drivers/ has the real ones).
class ReceiptPrinterPort(Protocol):
    def print_job(self, job_id: str, doc: ReceiptDoc) -> object: ...


class DocumentPrinterPort(Protocol):
    def print_job(self, job_id: str, pdf: bytes) -> object: ...


class PinReaderPort(Protocol):
    """The social-security card reader: raises WrongPin(remaining) / PinBlocked."""

    def verify_pin(self, pin: str) -> None: ...


class OutboxPort(Protocol):
    """:class:`offline_queue.Outbox`: ``put`` keeps ``payload`` (encrypted) under ``key``
    (the request's idempotency key; a repeated key changes nothing) and returns the key."""

    def put(self, stream: str, payload: dict[str, object], key: str | None = None) -> str: ...


class NothingToPrint(Exception):
    fault = "nothing_to_print"
    message_key = "errors.print_failed"


class PrinterMissing(Exception):
    """The service prints on a device this terminal does not have."""

    fault = "offline"


class VisitEffects:
    def __init__(self, client: CentralClient, *, terminal_id: str,
                 receipt_printer: ReceiptPrinterPort | None = None,
                 document_printer: DocumentPrinterPort | None = None,
                 outbox: OutboxPort | None = None, sscard: PinReaderPort | None = None,
                 hall: Mapping[str, str] | None = None) -> None:
        self.client = client
        # printed on every receipt and A4 page: hall, hall_address, hotline ([terminal] config)
        self.hall = dict(hall or {})
        self.sscard = sscard
        self.terminal_id = terminal_id
        self.receipt_printer = receipt_printer
        self.document_printer = document_printer
        self.outbox = outbox

    def run_service(self, service: Service, identity: Identity | None,
                    inputs: dict[str, str], *, attempt: str | None = None) -> ServiceResult:
        """Run it at central; when central is down and the catalog allows queuing, keep the
        request in the outbox (encrypted) and give the resident a local reference instead.
        Online and queued, the request carries the attempt's one idempotency key: a call that
        timed out after central filed it is then filed once, not again from the outbox."""
        from kiosk.central.errors import CentralUnavailable
        from kiosk.visit.service_run import ServiceRun

        run = ServiceRun(service, self.client)
        key = run.key(inputs, attempt)
        try:
            return run.execute(identity, inputs, key=key)
        except CentralUnavailable:
            if service.offline != "may_queue" or self.outbox is None:
                raise
        applicant = identity.to_json() if identity else None
        if applicant:
            applicant.pop("photo_wlt", None)  # central has the photo already; keep only what it needs
        payload: dict[str, object] = {
            "service": service.id, "call": service.call, "identity": applicant,
            "inputs": run.clean(inputs), "terminal": self.terminal_id, "queued_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        key = self.outbox.put(_QUEUE_STREAMS.get(service.call, "submission"), payload, key=key)
        log.warning("central down: %s queued offline as %s", service.id, key)
        return run.queued_result(inputs, key)

    def print_result(self, service: Service, result: ServiceResult, identity: Identity | None,
                     lang: str, job_id: str) -> None:
        request = result.print_request(lang, identity, self.terminal_id)
        if request is None:
            raise NothingToPrint(f"{service.id} has nothing to print")
        hall = {k: in_language(self.hall, k, lang) for k in self.hall}  # in the resident's script
        request.context.update({k: v for k, v in hall.items() if k not in request.context})
        if request.kind == "receipt":
            if self.receipt_printer is None:
                raise PrinterMissing("no receipt printer configured")
            from kiosk.documents.receipts import render_receipt

            doc = render_receipt(request.template, request.context, lang)
            self.receipt_printer.print_job(job_id, doc)
        else:
            if self.document_printer is None:
                raise PrinterMissing("no A4 printer configured")
            if request.template == "central_pdf":  # a document central issued: print it as is
                pdf = cast("bytes | None", request.context.get("pdf"))  # ServiceResult.document_pdf
                if not pdf:
                    raise NothingToPrint(f"{service.id}: central sent no document")
            else:
                from kiosk.documents.a4 import render_a4

                pdf = render_a4(request.template, request.context, lang)
            self.document_printer.print_job(job_id, pdf)

    def record_evaluation(self, payload: dict[str, object]) -> None:
        """Ratings go through the outbox so a network outage never loses one; one key per
        session's rating of a service, so a repeated rating is recorded once."""
        key = None
        if payload.get("session"):
            key = uuid.uuid5(_RATING_KEYS, f"{payload['session']}\n{payload.get('service')}").hex
        if self.outbox is not None:
            self.outbox.put("evaluation", payload, key=key)
        else:
            self.client.evaluate(payload, idempotency_key=key)

    def verify_pin(self, pin: str) -> None:
        """Raises the reader's WrongPin(remaining) / PinBlocked; returns when the PIN is right."""
        if self.sscard is None:
            raise PrinterMissing("no social-security card reader configured")
        self.sscard.verify_pin(pin)

    def verify_face(self, identity: Identity, jpeg: bytes) -> bool:
        return bool(self.client.verify_face(identity, jpeg)["match"])

    def identify_by_code(self, code: str, scanned_by: str) -> Identity:
        return self.client.identify_by_code(code, scanned_by=scanned_by)
