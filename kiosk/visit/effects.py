"""What a visit does outside itself — call central, print, record a rating — behind the
:class:`kiosk.visit.flow.Effects` port. Every method blocks; the app runs them on workers."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol, cast

from drivers.identity import Identity

if TYPE_CHECKING:
    from drivers.escpos_elements import ReceiptDoc
    from kiosk.catalog.services import Service
    from kiosk.central.client import CentralClient
    from kiosk.visit.service_result import ServiceResult

log = logging.getLogger(__name__)
_QUEUE_STREAMS = {"appointment": "appointment", "evaluation": "evaluation"}


# The devices as a visit sees them: just the calls made here (drivers/ has the real ones).
class ReceiptPrinterPort(Protocol):
    def print_job(self, job_id: str, doc: ReceiptDoc) -> object: ...


class DocumentPrinterPort(Protocol):
    def print_job(self, job_id: str, pdf: bytes) -> object: ...


class PinReaderPort(Protocol):
    """The social-security card reader: raises WrongPin(remaining) / PinBlocked."""

    def verify_pin(self, pin: str) -> None: ...


class OutboxPort(Protocol):
    """:class:`offline_queue.Outbox`: ``put`` keeps ``payload`` (encrypted) and returns its key."""

    def put(self, stream: str, payload: dict[str, object]) -> str: ...


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
                 outbox: OutboxPort | None = None, sscard: PinReaderPort | None = None) -> None:
        self.client = client
        self.sscard = sscard
        self.terminal_id = terminal_id
        self.receipt_printer = receipt_printer
        self.document_printer = document_printer
        self.outbox = outbox

    def run_service(self, service: Service, identity: Identity | None,
                    inputs: dict[str, str]) -> ServiceResult:
        """Run it at central; when central is down and the catalog allows queuing, keep the
        request in the outbox (encrypted) and give the resident a local reference instead."""
        from kiosk.central.errors import CentralUnavailable
        from kiosk.visit.service_run import ServiceRun

        run = ServiceRun(service, self.client)
        try:
            return run.execute(identity, inputs)
        except CentralUnavailable:
            if service.offline != "may_queue" or self.outbox is None:
                raise
        applicant = identity.to_json() if identity else None
        if applicant:
            applicant.pop("photo_wlt", None)  # central has the photo already; keep only what it needs
        payload: dict[str, object] = {
            "service": service.id, "call": service.call, "identity": applicant,
            "inputs": run.clean(inputs), "terminal": self.terminal_id, "queued_at": time.time()}
        key = self.outbox.put(_QUEUE_STREAMS.get(service.call, "submission"), payload)
        log.warning("central down: %s queued offline as %s", service.id, key)
        return run.queued_result(inputs, key)

    def print_result(self, service: Service, result: ServiceResult, identity: Identity | None,
                     lang: str, job_id: str) -> None:
        request = result.print_request(lang, identity, self.terminal_id)
        if request is None:
            raise NothingToPrint(f"{service.id} has nothing to print")
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
        """Ratings go through the outbox so a network outage never loses one."""
        if self.outbox is not None:
            self.outbox.put("evaluation", payload)
        else:
            self.client.evaluate(payload)

    def verify_pin(self, pin: str) -> None:
        """Raises the reader's WrongPin(remaining) / PinBlocked; returns when the PIN is right."""
        if self.sscard is None:
            raise PrinterMissing("no social-security card reader configured")
        self.sscard.verify_pin(pin)

    def verify_face(self, identity: Identity, jpeg: bytes) -> bool:
        return bool(self.client.verify_face(identity, jpeg)["match"])
