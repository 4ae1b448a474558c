"""The platform's operations (config/central-api.json): each takes the app and a request and
returns ``(status, body)``; a body of ``bytes`` is sent as a PDF, anything else as JSON."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from simulators.central import app_codes, contract, data
from simulators.central.pdf import one_page

_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RATINGS = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
HALL = "越秀区政务服务中心"
TICKET_PREFIX = {"shebao": "A", "yibao": "B", "gjj": "C", "tax": "D", "budongchan": "E",
                 "huzheng": "F", "general": "G"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    terminal: str | None
    headers: dict[str, str] = field(default_factory=dict)


def id_number_ok(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return "10X98765432"[sum(int(d) * w for d, w in zip(number[:17], _W, strict=True)) % 11] == number[17].upper()


def _now() -> dt.datetime:
    """Central's clock in its own zone, offset included on the wire (+08:00), so a terminal
    never has to guess which zone a time is in."""
    return dt.datetime.now(data.CST).replace(microsecond=0)


def _identity(body: Any, required: bool) -> dict | None:
    ident = body.get("identity") if isinstance(body, dict) else None
    if ident is None:
        if required:
            raise ApiError(400, "identity_required", "this service needs the resident's identity")
        return None
    if not isinstance(ident, dict) or not isinstance(ident.get("id_number"), str):
        raise ApiError(400, "bad_request", "identity.id_number is required")
    return ident


def _body(req: Request) -> dict:
    if not isinstance(req.body, dict):
        raise ApiError(400, "bad_request", "a JSON object body is required")
    return req.body


def _service(app, service_id: str):
    service = app.services.get(service_id)
    if service is None:
        raise ApiError(404, "unknown_service", f"no service {service_id}")
    if service_id in app.state.faults.get("services_down", []):
        raise ApiError(503, "service_down", f"{service_id} is temporarily unavailable")
    return service


def face_match(jpeg: bytes) -> dict:
    """Test convention: a mostly pure-red top-left 16×16 block means 'not the card holder'."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise ApiError(400, "bad_image", f"face image is not a readable JPEG: {exc}") from None
    block = image.crop((0, 0, min(16, image.width), min(16, image.height)))
    pixels = list(block.getdata())
    red = sum(1 for r, g, b in pixels if r > 200 and g < 60 and b < 60)
    match = red * 2 <= len(pixels)
    score = 0.93 if match else 0.12
    return {"match": match, "score": score}


def verify_identity(app, req: Request) -> tuple[int, Any]:
    body = _body(req)
    ident = _identity(body, required=True)
    face = None
    if body.get("face_jpeg"):
        try:
            face = face_match(base64.b64decode(body["face_jpeg"], validate=True))
        except binascii.Error:
            raise ApiError(400, "bad_request", "face_jpeg is not base64") from None
    reason = None
    if not id_number_ok(ident["id_number"]):
        reason = "invalid_id_number"
    elif face is not None and not face["match"]:
        reason = "face_mismatch"
    token = hashlib.sha256(("person|" + ident["id_number"]).encode()).hexdigest()[:24]
    return 200, {"verified": reason is None, "reason": reason, "face": face, "person_token": token}


_CODE_STATUS = {"code_unknown": 404, "code_used": 409, "code_expired": 410}


def identify_by_code(app, req: Request) -> tuple[int, Any]:
    """A phone's code → the person it names, once: the nonce is spent under the state lock, so
    two terminals posting the same code at once get one identity and one ``code_used``."""
    body = _body(req)
    try:
        person, nonce = app_codes.read(body["code"])
    except app_codes.CodeRefused as exc:
        raise ApiError(_CODE_STATUS[exc.reason], exc.reason, str(exc)) from None
    with app.state.lock:
        if nonce in app.state.used_codes:
            raise ApiError(409, "code_used", "this code has been used already")
        app.state.used_codes.add(nonce)
    ident = app_codes.identity(person)
    token = hashlib.sha256(("person|" + ident["id_number"]).encode()).hexdigest()[:24]
    return 200, {"identity": ident, "person_token": token}


def verify_face(app, req: Request) -> tuple[int, Any]:
    body = _body(req)
    _identity(body, required=True)
    try:
        jpeg = base64.b64decode(body.get("jpeg") or "", validate=True)
    except binascii.Error:
        raise ApiError(400, "bad_request", "jpeg is not base64") from None
    if not jpeg:
        raise ApiError(400, "bad_request", "jpeg is required")
    return 200, face_match(jpeg)


def _seed_and_checks(service, ident: dict | None, inputs: dict) -> str:
    number = inputs.get("application_number")
    if isinstance(number, str) and number.endswith("999"):
        raise ApiError(404, "no_such_application", f"no application {number}")
    if service.id in data.ELDER_ONLY:
        year = data.birth_year(ident["id_number"] if ident else None)
        if year is None or year > 1966:
            raise ApiError(403, "not_eligible", "only residents drawing a pension can use this")
    if number and service.kind == "timeline":
        return number
    return ident["id_number"] if ident else (number or "anonymous")


def query(app, req: Request, service_id: str) -> tuple[int, Any]:
    service = _service(app, service_id)
    body = _body(req)
    ident = _identity(body, required=service.auth != "none")
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise ApiError(400, "bad_request", "inputs must be an object")
    page, size = body.get("page", 1), body.get("page_size", 50)
    if not (isinstance(page, int) and page >= 1 and isinstance(size, int) and 1 <= size <= 200):
        raise ApiError(400, "bad_request", "page >= 1 and 1 <= page_size <= 200")
    seed = _seed_and_checks(service, ident, inputs)
    today = dt.date.today()
    digest = hashlib.sha256(f"{service_id}|{seed}|{sorted(inputs.items())}|{today}".encode()).hexdigest()
    reply: dict[str, Any] = {"service_id": service_id, "kind": service.kind,
                             "reference": f"Q{today:%Y%m%d}{digest[:8].upper()}",
                             "generated_at": _now().isoformat(), "rows": [], "total_rows": 0,
                             "page": page, "page_size": size, "fields": {}, "document_id": None}
    if service.kind == "table":
        rows = data.table_rows(service, seed, ident, inputs, today)
        reply["total_rows"] = len(rows)
        reply["rows"] = rows[(page - 1) * size: page * size]
    elif service.kind == "timeline":
        rows = data.timeline_rows(service, seed, today)
        reply["rows"], reply["total_rows"] = rows, len(rows)
    else:
        reply["fields"] = data.fields(service, seed, ident, inputs, today)
    if service.kind == "document":
        doc_id = f"D{digest[8:24].upper()}"
        masked = seed[:6] + "********" + seed[-4:] if len(seed) == 18 else "-"
        with app.state.lock:
            app.state.documents[doc_id] = {"service_id": service_id, "reference": reply["reference"],
                                           "holder": masked}
        reply["document_id"] = doc_id
    return 200, reply


def submit(app, req: Request, service_id: str) -> tuple[int, Any]:
    service = _service(app, service_id)
    body = _body(req)
    ident = _identity(body, required=service.auth != "none")
    inputs = body.get("inputs") or {}
    seed = _seed_and_checks(service, ident, inputs)
    now = _now()
    number = f"GZ{now:%Y%m%d}{app.state.next_number():06d}"
    fields = data.fields(service, seed, ident, inputs, now.date())
    fields.update({"application_number": number, "status": "accepted",
                   "submitted_at": now.isoformat()})
    return 200, {"service_id": service_id, "application_number": number, "status": "accepted",
                 "submitted_at": now.isoformat(), "fields": fields,
                 "reference": f"S{number[2:]}"}


def document(app, req: Request, doc_id: str) -> tuple[int, Any]:
    info = app.state.documents.get(doc_id)
    if info is None:
        raise ApiError(404, "no_such_document", f"no document {doc_id}")
    lines = ["Guangzhou Government Services - issued document", f"Document: {doc_id}",
             f"Service: {info['service_id']}", f"Reference: {info['reference']}",
             f"Holder: {info['holder']}", f"Issued: {_now().isoformat()}"]
    return 200, one_page(lines)


def queue_ticket(app, req: Request) -> tuple[int, Any]:
    body = _body(req)
    business = body.get("business")
    if business not in TICKET_PREFIX:
        raise ApiError(400, "bad_request", f"business must be one of {', '.join(TICKET_PREFIX)}")
    n = app.state.next_number()
    rng = data.rng_for("ticket", business, n)
    return 200, {"ticket_number": f"{TICKET_PREFIX[business]}{n:03d}", "business": business,
                 "window": f"{rng.randint(1, 24):02d}", "waiting": rng.randint(0, 15),
                 "issued_at": _now().isoformat(), "hall": HALL}


_SLOT_TIMES = [("09:00", "10:00"), ("10:00", "11:00"), ("11:00", "12:00"),
               ("14:00", "15:00"), ("15:00", "16:00"), ("16:00", "17:00")]


def _capacity(business: str, day: str, start: str) -> int:
    """0-5 places; the first slot of each half-day always has some, so a demo can book."""
    low = 2 if start in ("09:00", "14:00") else 0
    return data.rng_for("slot", business, day, start).randint(low, 5)


def appointment_slots(app, req: Request) -> tuple[int, Any]:
    business, day = req.query.get("business"), req.query.get("date", "")
    if business not in TICKET_PREFIX:
        raise ApiError(400, "bad_request", "business is required")
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise ApiError(400, "bad_request", "date must be YYYY-MM-DD") from None
    slots = []
    if date.weekday() < 6:
        for start, end in _SLOT_TIMES:
            slot_id = f"{business}-{date:%Y%m%d}-{start.replace(':', '')}"
            free = _capacity(business, day, start) - app.state.bookings.get(slot_id, 0)
            slots.append({"slot_id": slot_id, "start": start, "end": end, "available": max(free, 0)})
    return 200, {"date": day, "business": business, "slots": slots}


def book_appointment(app, req: Request) -> tuple[int, Any]:
    body = _body(req)
    slot_id = body.get("slot_id", "")
    m = re.fullmatch(r"([a-z]+)-(\d{8})-(\d{4})", slot_id or "")
    if not m or m.group(1) not in TICKET_PREFIX:
        raise ApiError(404, "no_such_slot", f"no slot {slot_id}")
    business, day, hhmm = m.groups()
    iso_day = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    start = f"{hhmm[:2]}:{hhmm[2:]}"
    ends = dict(_SLOT_TIMES)
    if start not in ends:
        raise ApiError(404, "no_such_slot", f"no slot {slot_id}")
    with app.state.lock:
        if _capacity(business, iso_day, start) - app.state.bookings.get(slot_id, 0) <= 0:
            raise ApiError(409, "slot_full", "this time slot is fully booked")
        app.state.bookings[slot_id] = app.state.bookings.get(slot_id, 0) + 1
    n = app.state.next_number()
    return 200, {"booking_number": f"YY{day}{n:04d}", "slot_id": slot_id, "date": iso_day,
                 "time": f"{start}-{ends[start]}", "hall": HALL, "business": business}


def evaluate(app, req: Request) -> tuple[int, Any]:
    body = _body(req)
    if body.get("rating") not in RATINGS:
        raise ApiError(400, "bad_request", f"rating must be one of {', '.join(RATINGS)}")
    n = app.state.next_number()
    record = {"evaluation_id": f"E{dt.date.today():%Y%m%d}{n:06d}", "received_at": _now().isoformat()}
    with app.state.lock:
        app.state.evaluations.append({**body, **record, "terminal": req.terminal})
    return 200, record


def transactions_batch(app, req: Request) -> tuple[int, Any]:
    body = _body(req)
    items = body.get("transactions")
    if not isinstance(items, list):
        raise ApiError(400, "bad_request", "transactions must be a list")
    accepted, rejected = [], []
    with app.state.lock:
        for item in items:  # one by one: a bad item must not hold back the others
            key = item.get("key") if isinstance(item, dict) else None
            problem = contract.violation(contract.component("Transaction"), item)
            if problem:
                rejected.append({"key": key if isinstance(key, str) else "", "reason": problem})
                continue
            app.state.transactions.setdefault(key, {**item, "terminal": req.terminal})
            accepted.append(key)
    return 200, {"accepted": accepted, "rejected": rejected}


def updates(app, req: Request) -> tuple[int, Any]:
    return 200, app.state.updates
