"""What a visit does outside itself — call central, print, record a rating — behind the
:class:`kiosk.visit.flow.Effects` port. Every method blocks; the app runs them on workers."""

from __future__ import annotations

import logging
import time
from typing import Any

from drivers.identity import Identity

log = logging.getLogger(__name__)
_QUEUE_STREAMS = {"appointment": "appointment", "evaluation": "evaluation"}


class NothingToPrint(Exception):
    fault = "nothing_to_print"
    message_key = "errors.print_failed"


class PrinterMissing(Exception):
    """The service prints on a device this terminal does not have."""

    fault = "offline"


class VisitEffects:
    def __init__(self, client: Any, *, terminal_id: str, receipt_printer: Any = None,
                 document_printer: Any = None, outbox: Any = None, sscard: Any = None) -> None:
        self.client = client
        self.sscard = sscard
        self.terminal_id = terminal_id
        self.receipt_printer = receipt_printer
        self.document_printer = document_printer
        self.outbox = outbox

    def run_service(self, service: Any, identity: Identity | None, inputs: dict[str, str]) -> Any:
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
        payload = {"service": service.id, "call": service.call, "identity": applicant,
                   "inputs": run.clean(inputs), "terminal": self.terminal_id,
                   "queued_at": time.time()}
        key = self.outbox.put(_QUEUE_STREAMS.get(service.call, "submission"), payload)
        log.warning("central down: %s queued offline as %s", service.id, key)
        return run.queued_result(inputs, key)

    def print_result(self, service: Any, result: Any, identity: Identity | None, lang: str,
                     job_id: str) -> None:
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
                pdf = request.context.get("pdf")
                if not pdf:
                    raise NothingToPrint(f"{service.id}: central sent no document")
            else:
                from kiosk.documents.a4 import render_a4

                pdf = render_a4(request.template, request.context, lang)
            self.document_printer.print_job(job_id, pdf)

    def record_evaluation(self, payload: dict[str, Any]) -> None:
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
