"""The only code that talks HTTP to the central platform (contract: ``config/central-api.json``).

One ``requests.Session`` per client, so TLS connections are reused across a visit. Each call has
explicit connect/read timeouts and is signed (``kiosk.central.signing``). Only idempotent calls are
retried, with backoff: reads, verifications, the transaction batch (the server deduplicates by
key) and writes that carry an ``Idempotency-Key`` (submit, ticket, booking, evaluation — the
server answers a repeated key with the first reply). Heartbeats are never retried: the next
one comes anyway. A read timeout is not retried either: the platform is up but slow, and a
resident should not wait three read timeouts; connect errors, connect timeouts and 5xx are. Every failure becomes a :class:`CentralError` subclass with a
``message_key`` the screens turn into a plain sentence; responses are checked before use.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast
from urllib.parse import urlencode, urlsplit

from drivers.identity import Identity
from kiosk.central.errors import (
    BadResponse,
    CentralError,
    CentralTimeout,
    CentralUnavailable,
    NotEligible,
    NotFound,
    RateLimited,
    Rejected,
    Unauthorized,
)
from kiosk.central.signing import sign_headers
from kiosk.json_types import JSON

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)



# The replies the operations return: the keys below are checked (``_require``) before a reply
# is handed out; anything else central sends is there too, unchecked.
class FaceMatch(TypedDict):
    match: bool
    score: float


class IdentityCheck(TypedDict):
    verified: bool


class QueryReply(TypedDict):
    service_id: str
    kind: str
    reference: str
    rows: list[JSON]
    total_rows: int
    fields: JSON
    document_id: NotRequired[str | None]  # in the contract, not checked: read with .get()


class Application(TypedDict):
    application_number: str
    status: str
    fields: JSON


class Ticket(TypedDict):
    ticket_number: str
    window: str
    waiting: int
    issued_at: str


class Slot(TypedDict):
    slot_id: str
    start: str
    end: str
    available: int


class Slots(TypedDict):
    date: str
    slots: list[Slot]


class Booking(TypedDict):
    booking_number: str
    date: str
    time: str
    hall: str


class Evaluation(TypedDict):
    evaluation_id: str
    received_at: str


def _identity_json(identity: Identity | None) -> JSON | None:
    """Only what central needs to find the person: no photo, no address."""
    if identity is None:
        return None
    return {"card_type": identity.card_type, "id_number": identity.id_number,
            "name": identity.name, "card_number": identity.card_number, "source": identity.source}


def _require(data: object, shape: dict[str, type | tuple[type, ...]], what: str) -> dict[str, Any]:
    """Check a reply has the keys and types we are about to use; BadResponse otherwise.
    (Any: parsed JSON whose shape only this check knows; the operations cast it to theirs.)"""
    if not isinstance(data, dict):
        raise BadResponse(f"{what}: expected a JSON object, got {type(data).__name__}")
    for key, kind in shape.items():
        if key not in data:
            raise BadResponse(f"{what}: missing {key!r}")
        if not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
            raise BadResponse(f"{what}: {key!r} has type {type(data[key]).__name__}")
    return data


class CentralClient:
    """Signed, timed, typed access to the platform for one terminal."""

    def __init__(self, base_url: str, terminal_id: str, key: bytes, *, ca_bundle: str | None = None,
                 client_cert: str | tuple[str, str] | None = None,
                 timeout: tuple[float, float] = (3.05, 10), retries: int = 2, backoff: float = 0.3):
        self.base_url = base_url.rstrip("/")
        self._prefix = urlsplit(self.base_url).path  # signed path includes any base path
        self.terminal_id = terminal_id
        self._key = key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        # Passed on every call: a session-level ``verify`` loses to REQUESTS_CA_BUNDLE in the
        # environment (requests#3829); the configured CA must win.
        self._verify: str | bool = ca_bundle or True
        self._cert = client_cert or None
        self._http: requests.Session | None = None
        self._http_lock = threading.Lock()

    @property
    def _session(self) -> requests.Session:
        """The HTTP session, made on the first call: requests (and urllib3) load then, not
        while the terminal starts up and paints its first screen."""
        with self._http_lock:
            if self._http is None:
                import requests

                self._http = requests.Session()
                self._http.headers["User-Agent"] = f"kiosk-terminal/{self.terminal_id}"
            return self._http

    def close(self) -> None:
        with self._http_lock:
            if self._http is not None:
                self._http.close()

    def __enter__(self) -> CentralClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------
    def _request(self, method: str, path: str, *, body: object = None,
                 params: dict[str, str] | None = None,
                 idempotent: bool, timeout: tuple[float, float] | None = None,
                 headers: dict[str, str] | None = None) -> requests.Response:
        target = path + ("?" + urlencode(params) if params else "")
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                return self._send_once(method, target, data, timeout or self.timeout, headers)
            except CentralUnavailable as exc:
                if attempt + 1 >= attempts or getattr(exc, "phase", None) == "read":
                    raise
                delay = self.backoff * (3 ** attempt)
                log.info("central %s %s: %s; retry %d in %.1fs", method, path, exc.detail,
                         attempt + 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _send_once(self, method: str, target: str, data: bytes, timeout: tuple[float, float],
                   extra: dict[str, str] | None) -> requests.Response:
        headers = sign_headers(self.terminal_id, self._key, method, self._prefix + target, data)
        if data:
            headers["Content-Type"] = "application/json"
        headers.update(extra or {})
        import requests  # already loaded by the session

        try:
            resp = self._session.request(method, self.base_url + target, data=data or None,
                                         headers=headers, timeout=timeout, verify=self._verify,
                                         cert=self._cert)
        except requests.Timeout as exc:
            err = CentralTimeout(f"{method} {target}: timed out ({exc.__class__.__name__})")
            err.phase = "connect" if isinstance(exc, requests.ConnectTimeout) else "read"
            raise err from exc
        except requests.ConnectionError as exc:
            raise CentralUnavailable(f"{method} {target}: {exc.__class__.__name__}: {exc}") from exc
        except requests.RequestException as exc:
            raise CentralUnavailable(f"{method} {target}: {exc}") from exc
        if resp.status_code >= 400:
            raise self._error(resp, f"{method} {target}")
        return resp

    @staticmethod
    def _error(resp: requests.Response, what: str) -> CentralError:
        status = resp.status_code
        code, message = None, resp.reason
        try:
            err = resp.json().get("error", {})
            code, message = err.get("code"), err.get("message", message)
        except (ValueError, AttributeError):
            pass
        detail = f"{what}: HTTP {status} {code or ''} {message or ''}".strip()
        if status >= 500:
            return CentralUnavailable(detail, status=status, code=code)
        if status == 401 or code == "unauthorized":
            return Unauthorized(detail, status=status, code=code)
        if status == 403:
            return NotEligible(detail, status=status, code=code)
        if status == 404:
            return NotFound(detail, status=status, code=code)
        if status == 429:
            try:
                retry_after = float(resp.headers.get("Retry-After", "1"))
            except ValueError:
                retry_after = 1.0
            return RateLimited(detail, status=status, code=code, retry_after=retry_after)
        if status in (400, 409, 422):
            return Rejected(detail, status=status, code=code)
        return BadResponse(detail, status=status, code=code)

    def _json(self, method: str, path: str, shape: dict[str, type | tuple[type, ...]],
              **kw: Any) -> dict[str, Any]:  # Any: _require's checked JSON; kw go to _request
        resp = self._request(method, path, **kw)
        try:
            data = resp.json()
        except ValueError as exc:
            raise BadResponse(f"{method} {path}: reply is not JSON") from exc
        return _require(data, shape, f"{method} {path}")

    # -- operations ----------------------------------------------------------------------
    def verify_identity(self, identity: Identity, face_jpeg: bytes | None = None) -> IdentityCheck:
        """Is this card genuine and current (and, with a face image, is it this person)?"""
        body = {"identity": _identity_json(identity),
                "face_jpeg": base64.b64encode(face_jpeg).decode() if face_jpeg else None}
        return cast(IdentityCheck, self._json("POST", "/v1/identity:verify", {"verified": bool},
                                              body=body, idempotent=True))

    def verify_face(self, identity: Identity, jpeg: bytes) -> FaceMatch:
        """Does the face in ``jpeg`` match the card holder? ``{"match": bool, "score": float}``."""
        body = {"identity": _identity_json(identity), "jpeg": base64.b64encode(jpeg).decode()}
        return cast(FaceMatch, self._json("POST", "/v1/identity:verifyFace",
                                          {"match": bool, "score": (int, float)},
                                          body=body, idempotent=True))

    def query(self, service_id: str, identity: Identity | None, inputs: dict[str, str], *,
              page: int = 1, page_size: int = 50, lang: str = "zh_CN") -> QueryReply:
        """Run a read-only service; the reply's ``kind`` says which of rows/fields to read."""
        body = {"identity": _identity_json(identity), "inputs": inputs, "page": page,
                "page_size": page_size, "lang": lang}
        data = cast(QueryReply, self._json(
            "POST", f"/v1/services/{service_id}:query",
            {"service_id": str, "kind": str, "reference": str, "rows": list, "total_rows": int,
             "fields": dict}, body=body, idempotent=True))
        if data["service_id"] != service_id:
            raise BadResponse(f"query {service_id}: reply is for {data['service_id']}")
        if not all(isinstance(row, dict) for row in data["rows"]):
            raise BadResponse(f"query {service_id}: rows must be objects")
        return data

    def submit(self, service_id: str, identity: Identity | None, inputs: dict[str, str], *,
               idempotency_key: str | None = None) -> Application:
        """File an application; a repeated ``idempotency_key`` returns the first application."""
        body = {"identity": _identity_json(identity), "inputs": inputs}
        return cast(Application, self._json(
            "POST", f"/v1/services/{service_id}:submit",
            {"application_number": str, "status": str, "fields": dict}, body=body,
            idempotent=True, headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex}))

    def fetch_document(self, doc_id: str) -> bytes:
        """The PDF to print, as central issued it."""
        resp = self._request("GET", f"/v1/documents/{doc_id}", idempotent=True)
        if not resp.content.startswith(b"%PDF-"):
            raise BadResponse(f"document {doc_id}: not a PDF "
                              f"({resp.headers.get('Content-Type')}, {len(resp.content)} bytes)")
        return resp.content

    def queue_ticket(self, business: str, identity: Identity | None = None, *,
                     service_id: str | None = None, idempotency_key: str | None = None) -> Ticket:
        body = {"business": business, "service_id": service_id, "identity": _identity_json(identity)}
        return cast(Ticket, self._json(
            "POST", "/v1/queue/tickets",
            {"ticket_number": str, "window": str, "waiting": int, "issued_at": str},
            body=body, idempotent=True,
            headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex}))

    def appointment_slots(self, business: str, date: str) -> Slots:
        data = cast(Slots, self._json("GET", "/v1/appointments/slots", {"date": str, "slots": list},
                                      params={"business": business, "date": date}, idempotent=True))
        for slot in data["slots"]:
            _require(slot, {"slot_id": str, "start": str, "end": str, "available": int}, "slot")
        return data

    def book_appointment(self, slot_id: str, identity: Identity | None, *, business: str,
                         mobile: str | None = None, idempotency_key: str | None = None) -> Booking:
        body = {"slot_id": slot_id, "business": business, "mobile": mobile,
                "identity": _identity_json(identity)}
        return cast(Booking, self._json(
            "POST", "/v1/appointments",
            {"booking_number": str, "date": str, "time": str, "hall": str},
            body=body, idempotent=True,
            headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex}))

    def evaluate(self, payload: JSON, *, idempotency_key: str | None = None) -> Evaluation:
        """好差评: ``payload`` has ``rating`` and optionally service_id, application_number, comment."""
        return cast(Evaluation, self._json(
            "POST", "/v1/evaluations", {"evaluation_id": str, "received_at": str},
            body=payload, idempotent=True,
            headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex}))

    def upload_transactions(self, transactions: list[dict]) -> dict:
        """Batch upload from the outbox; keys central already has come back as accepted."""
        data = self._json("POST", "/v1/transactions:batch", {"accepted": list, "rejected": list},
                          body={"transactions": transactions}, idempotent=True)
        for item in data["rejected"]:
            _require(item, {"key": str, "reason": str}, "rejected transaction")
        return data

    def heartbeat(self, payload: dict) -> dict:
        """Report health; the reply's ``commands`` are remote commands to run (not retried)."""
        data = self._json("POST", f"/v1/terminals/{self.terminal_id}/heartbeat",
                          {"commands": list, "server_time": str}, body=payload, idempotent=False)
        for cmd in data["commands"]:
            _require(cmd, {"id": str, "command": str}, "remote command")
        return data

    def enroll(self, code: str) -> dict:
        """Trade a single-use enrolment code for ``{"terminal_id", "key" (hex)}``. Central
        does not check this request's signature; never retried (a used code stays used)."""
        data = self._json("POST", "/v1/terminals:enroll", {"terminal_id": str, "key": str},
                          body={"code": code}, idempotent=False)
        return data

    def update_metadata(self) -> dict:
        """What software/catalog versions central offers this terminal."""
        return self._json("GET", "/v1/updates", {"software": dict, "catalog": dict}, idempotent=True)
