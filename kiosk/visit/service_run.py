"""Run one catalog service, Qt-free: check the form, call central, shape what the resident sees
and what gets printed. ``kiosk.visit.flow`` calls this off the GUI thread; screens only read the
:class:`ServiceResult` (formatted text in the resident's language).

Which central call is made follows the entry's ``call`` (query, document, submit, ticket,
appointment, evaluation); only that dispatch is code — everything else comes from the catalog.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from drivers.identity import Identity, mask_id_number
from kiosk.catalog import validators
from kiosk.catalog.services import Service
from kiosk.central.errors import Rejected
from kiosk.visit.service_result import PrintRequest, ServiceResult

if TYPE_CHECKING:
    from kiosk.central.client import CentralClient
    from kiosk.json_types import JSON

log = logging.getLogger(__name__)
MAX_ROWS = 500  # more than any screen or A4 print shows; stops a runaway paging loop
PAGE_SIZE = 100
# Seconds a resident waits for central in one run, all its calls together (pages, document):
# the client cuts the calls at this deadline; the flow's PROCESSING_TIMEOUT is a little longer.
RUN_DEADLINE = 40.0

__all__ = ["ServiceRun", "ServiceResult", "PrintRequest", "InputErrors", "IdentityRequired",
           "NoSlotAvailable", "attempt_key"]
# Names idempotency keys of service attempts (uuid5): any fixed UUID works, it must never change.
_ATTEMPT_KEYS = uuid.UUID("5d2f7a3e-8c1b-4f0e-9a6d-2b7c4e1f9a30")


def attempt_key(attempt: str, service_id: str, inputs: Mapping[str, str]) -> str:
    """The one idempotency key of a resident's attempt at a service: sent online, reused on
    every retry and as the outbox key, so central files the attempt once however it arrives.
    ``attempt`` names the session and its attempt count (``Session.attempt``); the cleaned
    inputs are part of it, so changed answers are a new request rather than a replay of the
    first one. One-way (uuid5 over a random session id): the key reveals none of the inputs."""
    digest = hashlib.sha256(json.dumps(dict(inputs), sort_keys=True, ensure_ascii=False)
                            .encode()).hexdigest()
    return uuid.uuid5(_ATTEMPT_KEYS, f"{attempt}\n{service_id}\n{digest}").hex


class InputErrors(Exception):
    """The form has fields to fix; ``errors`` maps field name -> message per language."""

    def __init__(self, errors: dict[str, dict[str, str]]):
        super().__init__(", ".join(errors))
        self.errors = errors


class IdentityRequired(Exception):
    """A service that needs an identity was run without one: a flow bug, not a resident error."""


class NoSlotAvailable(Rejected):
    """No free appointment slot on the chosen day and time of day."""

    message_key = "service.no_slot"


class ServiceRun:
    """One service, one client. ``validate`` is cheap and local; ``execute`` talks to central
    (the client may be None for a run that only validates, as the flow's input gate does)."""

    def __init__(self, service: Service, client: CentralClient | None):
        self.service = service
        self.client = client

    @property
    def _central(self) -> CentralClient:
        assert self.client is not None, "a ServiceRun without a client can only validate"
        return self.client

    def validate(self, inputs: dict[str, str]) -> dict[str, dict[str, str]]:
        """Field -> its own error message in each language, for every field that needs fixing."""
        errors: dict[str, dict[str, str]] = {}
        for f in self.service.inputs:
            value = validators.normalise(f.kind, inputs.get(f.name, ""))
            if not value:
                if f.required:
                    errors[f.name] = dict(f.errors)
                continue
            if not validators.check(f.kind, value, f.options):
                errors[f.name] = dict(f.errors)
        return errors

    def clean(self, inputs: dict[str, str]) -> dict[str, str]:
        """The normalised values central receives; empty optional fields are left out."""
        out = {}
        for f in self.service.inputs:
            value = validators.normalise(f.kind, inputs.get(f.name, ""))
            if value:
                out[f.name] = value
        return out

    def key(self, inputs: dict[str, str], attempt: str | None = None) -> str:
        """This run's idempotency key (:func:`attempt_key`); without an ``attempt`` (a run
        outside a visit) the run is its own attempt and gets a fresh key."""
        return attempt_key(attempt or uuid.uuid4().hex, self.service.id, self.clean(inputs))

    def execute(self, identity: Identity | None, inputs: dict[str, str], *,
                key: str | None = None) -> ServiceResult:
        """Call central for this service; raises InputErrors or a CentralError subclass.
        ``key`` is the attempt's idempotency key for calls that change something at central."""
        errors = self.validate(inputs)
        if errors:
            raise InputErrors(errors)
        if self.service.auth != "none" and identity is None:
            raise IdentityRequired(f"{self.service.id} needs {self.service.auth}")
        values = self.clean(inputs)
        with self._central.time_limit(RUN_DEADLINE):
            result = self._dispatch(identity, values, key or self.key(inputs))
        result.inputs = values
        return result

    def _dispatch(self, identity: Identity | None, values: dict[str, str],
                  key: str) -> ServiceResult:
        call = self.service.call
        log.info("run %s (%s) for %s", self.service.id, call,
                 mask_id_number(identity.id_number) if identity else "anonymous")
        if call in ("query", "document"):
            return self._query(identity, values)
        if call == "submit":
            application = self._central.submit(self.service.id, identity, values,
                                               idempotency_key=key)
            return self._result(application["application_number"], fields=application["fields"],
                                raw=application)
        if call == "ticket":
            ticket = self._central.queue_ticket(values.get("business", "general"), identity,
                                                service_id=self.service.id, idempotency_key=key)
            return self._result(ticket["ticket_number"], fields=ticket, raw=ticket)
        if call == "appointment":
            return self._appointment(identity, values, key)
        if call == "evaluation":
            payload: JSON = {"key": key, "service_id": self.service.id, **values}
            evaluation = self._central.evaluate(payload, idempotency_key=key)
            return self._result(evaluation["evaluation_id"], fields=evaluation, raw=evaluation)
        raise AssertionError(f"catalog allowed unknown call {call!r}")

    def queued_result(self, inputs: dict[str, str], key: str) -> ServiceResult:
        """What the resident gets when central is down and the entry says ``may_queue``:
        the flow put the request in the outbox under ``key``; this prints the offline receipt."""
        result = self._result(key, fields={}, raw={"queued": True})
        result.queued = True
        return result

    # -- per call ------------------------------------------------------------------------
    def _query(self, identity: Identity | None, values: dict[str, str]) -> ServiceResult:
        reply = self._central.query(self.service.id, identity, values, page=1, page_size=PAGE_SIZE)
        rows = list(reply["rows"])
        total = reply["total_rows"]
        page = 1
        while len(rows) < min(total, MAX_ROWS) and reply["rows"]:
            page += 1
            reply = self._central.query(self.service.id, identity, values, page=page,
                                        page_size=PAGE_SIZE)
            rows.extend(reply["rows"])
        pdf = None
        doc_id = reply.get("document_id")
        if self.service.result.kind == "document" and doc_id:
            pdf = self._central.fetch_document(doc_id)
        return self._result(reply["reference"], rows=rows[:MAX_ROWS], total=total,
                            fields=reply["fields"], document_id=doc_id, pdf=pdf, raw=reply)

    def _appointment(self, identity: Identity | None, values: dict[str, str],
                     key: str) -> ServiceResult:
        business, date = values.get("business", "general"), values["date"]
        afternoon = values.get("period") == "pm"
        slots = self._central.appointment_slots(business, date)["slots"]
        free = [s for s in slots if s["available"] > 0 and (s["start"] >= "12:00") == afternoon]
        if not free:
            raise NoSlotAvailable(f"no free slot for {business} on {date}", code="no_free_slot")
        reply = self._central.book_appointment(free[0]["slot_id"], identity, business=business,
                                               mobile=values.get("mobile"), idempotency_key=key)
        return self._result(reply["booking_number"], fields=reply, raw=reply)

    def _result(self, reference: str, *, rows: list[JSON] | None = None, total: int | None = None,
                fields: Mapping[str, object] | None = None, document_id: str | None = None,
                pdf: bytes | None = None, raw: Mapping[str, object] | None = None) -> ServiceResult:
        rows = rows or []
        return ServiceResult(service=self.service, kind=self.service.result.kind,
                             reference=reference, rows=rows,
                             total_rows=len(rows) if total is None else total,
                             fields=fields or {}, document_id=document_id, document_pdf=pdf,
                             created_at=dt.datetime.now().replace(microsecond=0), raw=raw or {})
