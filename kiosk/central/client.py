"""The only code that talks HTTP to the central platform (contract: ``config/central-api.json``).

One ``requests.Session`` per client, so TLS connections are reused across a visit. Each call has
explicit connect/read timeouts and is signed (``kiosk.central.signing``). Only idempotent calls are
retried, with backoff: reads, verifications, the transaction batch (the server deduplicates by
key) and writes that carry an ``Idempotency-Key`` (submit, ticket, booking, evaluation — the
server answers a repeated key with the first reply); writes without one never are. (Heartbeats,
remote commands and enrolment are the fleet service's, ``kiosk.central.fleet_client``, which
composes this transport.) A read timeout is not retried either (also one in the middle of a body):
the platform is up but slow, and a resident should not wait three read timeouts; connect
errors, connect timeouts and 5xx are.

What the network cannot do to a call: redirect it (a 3xx is :class:`Redirected`, never
followed: the signed request would go to another host, whose answer is not central's); hold
it past its wall-clock ``deadline`` (all attempts together; socket timeouts bound each read,
so a timer cuts the connection of a server that drips); make it read more than
``max_reply_bytes`` (``max_document_bytes`` for PDFs), counted decompressed, a chunk at a time.
Every failure becomes a :class:`CentralError` subclass with a ``message_key`` the screens turn
into a plain sentence — HTML, garbage, non-UTF-8 or nested-too-deep JSON included
(:class:`BadResponse`) — and replies are checked before use.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, NotRequired, TypedDict, cast
from urllib.parse import urlencode, urlsplit

from drivers.identity import Identity
from kiosk.central.contract import validate_response
from kiosk.central.errors import (
    AppCodeRefused,
    BadResponse,
    CentralError,
    CentralTimeout,
    CentralUnavailable,
    NotEligible,
    NotFound,
    RateLimited,
    Redirected,
    Rejected,
    ResponseTooLarge,
    Unauthorized,
)
from kiosk.central.signing import sign_headers
from kiosk.json_types import JSON

if TYPE_CHECKING:
    import requests
    from urllib3._base_connection import BaseHTTPConnection

log = logging.getLogger(__name__)


# Limits of one call: a wall-clock deadline (socket timeouts bound each read, not the call) and
# the bytes a reply may have once decompressed (a JSON reply; a document may be larger).
DEFAULT_DEADLINE = 20.0
MAX_REPLY_BYTES = 4 * 1024 * 1024
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
MAX_JSON_DEPTH = 64  # central's replies nest a few levels; deeper is an attack, not data
_CHUNK = 16 * 1024  # bytes decoded per read, so a gzip bomb inflates a chunk at a time
_local = threading.local()  # this thread's call: its _Deadline, and a time_limit() bound


class Reply(NamedTuple):
    """Central's answer, read whole within the call's limits."""

    status: int
    reason: str
    headers: Mapping[str, str]  # case-insensitive (requests' CaseInsensitiveDict)
    body: bytes


class _Deadline:
    """One attempt's wall-clock limit. When it passes, a timer shuts the connection's socket
    down, which ends whatever read or write the calling thread is blocked in — also a server
    dripping a byte per second, which no socket timeout ever trips."""

    def __init__(self, seconds: float):
        self.fired = False
        self._conn: object = None
        self._done = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._arm(seconds)

    def _arm(self, seconds: float) -> None:
        timer = threading.Timer(max(0.0, seconds), self._fire)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def watch(self, conn: object) -> None:
        """The connection this attempt uses (from the pool, then from the response)."""
        with self._lock:
            self._conn = conn

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            sock = getattr(self._conn, "sock", None)
            if not isinstance(sock, socket.socket):  # still connecting (its timeout bounds that)
                self._arm(0.05)
                return
        try:  # the plain socket's shutdown: SSLSocket.shutdown would drop its TLS state under a reader
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass

    def cancel(self) -> None:
        with self._lock:
            self._done = True
            timer = self._timer
        if timer is not None:
            timer.cancel()


def _timeout(what: str, phase: str, why: str) -> CentralTimeout:
    err = CentralTimeout(f"{what}: timed out ({why})")
    err.phase = phase
    return err


def _is_read_timeout(exc: BaseException) -> bool:
    """A socket read that waited too long, however requests wrapped it (mid-body it arrives
    as a ConnectionError: it must not be retried like a refused connection)."""
    from urllib3.exceptions import ReadTimeoutError

    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (ReadTimeoutError, TimeoutError)):
            return True
        todo.extend(a for a in e.args if isinstance(a, BaseException))
        todo.extend(c for c in (e.__cause__, e.__context__) if c is not None)
    return False


def _read_body(resp: requests.Response, limit: int, what: str) -> bytes:
    """The body, decompressed, a chunk at a time; ResponseTooLarge as soon as it passes
    ``limit`` (the rest is never read: the connection is dropped)."""
    declared = resp.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"{what}: reply of {declared} bytes, limit {limit}",
                               status=resp.status_code)
    body = bytearray()
    for chunk in resp.iter_content(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise ResponseTooLarge(f"{what}: reply over {limit} bytes decompressed; not read further",
                                   status=resp.status_code)
    return bytes(body)


def _parse_json(body: bytes) -> object:
    """Central's JSON (UTF-8, RFC 8259); BadResponse for anything else, never another error."""
    try:
        data: object = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise BadResponse(f"reply is not UTF-8 (byte {exc.start})") from exc
    except RecursionError as exc:
        raise BadResponse("reply is nested too deeply") from exc
    except ValueError as exc:
        raise BadResponse(f"reply is not JSON ({body[:40]!r}…, {len(body)} bytes)") from exc
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:  # iteratively: what reads the reply next may recurse
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadResponse(f"reply is nested deeper than {MAX_JSON_DEPTH}")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return data


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _session() -> requests.Session:
    """A requests session whose connections a _Deadline can cut (pools tell it which)."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTPPool(HTTPConnectionPool):
        def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
            conn = super()._get_conn(timeout)
            _watch(conn)
            return conn

    class WatchedHTTPSPool(HTTPSConnectionPool):
        def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
            conn = super()._get_conn(timeout)
            _watch(conn)
            return conn

    pools = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}

    class DeadlineAdapter(HTTPAdapter):
        def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                             **pool_kwargs: Any) -> None:  # Any: urllib3's pool options
            super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:  # Any: as requests
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if not proxy.lower().startswith("socks"):  # SOCKS has pools of its own
                manager.pool_classes_by_scheme = pools
            return manager

    http = requests.Session()
    http.mount("http://", DeadlineAdapter())
    http.mount("https://", DeadlineAdapter())
    return http


def _watch(conn: object) -> None:
    deadline: _Deadline | None = getattr(_local, "deadline", None)
    if deadline is not None:
        deadline.watch(conn)


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
                 timeout: tuple[float, float] = (3.05, 10), retries: int = 2, backoff: float = 0.3,
                 deadline: float = DEFAULT_DEADLINE, max_reply_bytes: int = MAX_REPLY_BYTES,
                 max_document_bytes: int = MAX_DOCUMENT_BYTES):
        self.base_url = base_url.rstrip("/")
        self._prefix = urlsplit(self.base_url).path  # signed path includes any base path
        self.terminal_id = terminal_id
        self._key = key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.deadline = deadline  # seconds per call, all its attempts together
        self.max_reply_bytes, self.max_document_bytes = max_reply_bytes, max_document_bytes
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
                self._http = _session()
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
    @contextlib.contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """Bound every call this thread makes inside the block by one shared deadline (a
        visit's service run: the resident waits for all its calls together, not each)."""
        outer = getattr(_local, "limit", None)
        limit = time.monotonic() + seconds
        _local.limit = limit if outer is None else min(outer, limit)
        try:
            yield
        finally:
            _local.limit = outer

    def _request(self, method: str, path: str, *, body: object = None, raw: bytes | None = None,
                 params: dict[str, str] | None = None,
                 idempotent: bool, timeout: tuple[float, float] | None = None,
                 headers: dict[str, str] | None = None, max_bytes: int | None = None) -> Reply:
        """One call, its attempts inside one wall-clock deadline (``self.deadline``, or less
        under :meth:`time_limit`)."""
        target = path + ("?" + urlencode(params) if params else "")
        # ``raw``: bytes sent as they are (the fleet's screenshot); the caller names their type
        data = raw if raw is not None else (
            b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
        expires = time.monotonic() + self.deadline
        limit = getattr(_local, "limit", None)
        if limit is not None:
            expires = min(expires, limit)
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                return self._send_once(method, target, data, timeout or self.timeout, headers,
                                       expires, max_bytes or self.max_reply_bytes)
            except CentralUnavailable as exc:
                delay = self.backoff * (3 ** attempt)
                # Not retried: a slow platform (read timeout, spent deadline), an answer that
                # is not central's (the same request gets the same answer), the last attempt.
                if (attempt + 1 >= attempts or isinstance(exc, BadResponse)
                        or getattr(exc, "phase", None) in ("read", "deadline")
                        or time.monotonic() + delay >= expires):
                    raise
                log.info("central %s %s: %s; retry %d in %.1fs", method, path, exc.detail,
                         attempt + 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _send_once(self, method: str, target: str, data: bytes, timeout: tuple[float, float],
                   extra: dict[str, str] | None, expires: float, max_bytes: int) -> Reply:
        what = f"{method} {target}"
        left = expires - time.monotonic()
        if left <= 0:
            raise _timeout(what, "deadline", f"no time left of the call's {self.deadline:g}s")
        extra = dict(extra or {})
        headers = sign_headers(self.terminal_id, self._key, method, self._prefix + target, data,
                               idempotency_key=extra.pop("Idempotency-Key", None))  # signed too
        if data:
            headers["Content-Type"] = "application/json"
        headers.update(extra or {})
        import requests  # already loaded by the session
        import urllib3.exceptions

        session = self._session
        deadline = _Deadline(left)
        _local.deadline = deadline
        try:
            # Never follow a redirect: it would re-send the signed headers and the body to
            # another host, and that host's answer is not central's.
            resp = session.request(method, self.base_url + target, data=data or None,
                                   headers=headers, timeout=(min(timeout[0], left), min(timeout[1], left)),
                                   verify=self._verify, cert=self._cert, allow_redirects=False,
                                   stream=True)
            try:
                conn = getattr(resp.raw, "connection", None)  # the body's connection, to cut
                if conn is not None:
                    deadline.watch(conn)
                if 300 <= resp.status_code < 400:
                    raise Redirected(f"{what}: HTTP {resp.status_code} to "
                                     f"{urlsplit(resp.headers.get('Location', '')).netloc or '?'}"
                                     " (not followed)", status=resp.status_code)
                reply = Reply(resp.status_code, resp.reason or "", resp.headers,
                              _read_body(resp, max_bytes, what))
            finally:
                resp.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if deadline.fired:
                raise _timeout(what, "deadline", f"took longer than {left:.1f}s") from exc
            if isinstance(exc, requests.Timeout) or _is_read_timeout(exc):
                phase = "connect" if isinstance(exc, requests.ConnectTimeout) else "read"
                raise _timeout(what, phase, f"{phase} timeout, {exc.__class__.__name__}") from exc
            if isinstance(exc, requests.exceptions.ContentDecodingError):
                raise BadResponse(f"{what}: body does not decode ({exc})") from exc
            if isinstance(exc, requests.ConnectionError):
                raise CentralUnavailable(f"{what}: {exc.__class__.__name__}: {exc}") from exc
            raise CentralUnavailable(f"{what}: {exc}") from exc
        finally:
            _local.deadline = None
            deadline.cancel()
        if reply.status >= 400:
            raise self._error(reply, what)
        return reply

    @staticmethod
    def _error(reply: Reply, what: str) -> CentralError:
        status = reply.status
        code, message = None, reply.reason
        try:
            envelope = _parse_json(reply.body)
        except BadResponse:
            envelope = None
        err = envelope.get("error") if isinstance(envelope, dict) else None
        if isinstance(err, dict):
            code = err.get("code") if isinstance(err.get("code"), str) else None
            message = str(err.get("message") or message)
        detail = f"{what}: HTTP {status} {code or ''} {message or ''}".strip()
        if status >= 500:
            return CentralUnavailable(detail, status=status, code=code)
        if not isinstance(err, dict) and status != 429:
            # central refuses in its Error envelope; a bare 4xx page is a proxy's or a portal's
            return BadResponse(f"{detail} (not central's error reply: "
                               f"{reply.headers.get('Content-Type') or 'no content type'})",
                               status=status)
        if status == 401 or code == "unauthorized":
            return Unauthorized(detail, status=status, code=code)
        if status == 403:
            return NotEligible(detail, status=status, code=code)
        if status == 404:
            return NotFound(detail, status=status, code=code)
        if status == 429:
            try:
                retry_after = float(reply.headers.get("Retry-After", "1"))
            except ValueError:
                retry_after = 1.0
            return RateLimited(detail, status=status, code=code, retry_after=retry_after)
        if status in (400, 409, 422):
            return Rejected(detail, status=status, code=code)
        return BadResponse(detail, status=status, code=code)

    def _json(self, method: str, path: str, shape: dict[str, type | tuple[type, ...]],
              **kw: Any) -> dict[str, Any]:  # Any: _require's checked JSON; kw go to _request
        reply = self._request(method, path, **kw)
        try:
            data = _parse_json(reply.body)
        except BadResponse as exc:
            raise BadResponse(f"{method} {path}: {exc.detail}", status=reply.status) from exc
        validate_response((method, path), reply.status, data)  # the document's shape, then ours
        return _require(data, shape, f"{method} {path}")

    # -- operations ----------------------------------------------------------------------
    def verify_identity(self, identity: Identity, face_jpeg: bytes | None = None) -> IdentityCheck:
        """Is this card genuine and current (and, with a face image, is it this person)?"""
        body = {"identity": _identity_json(identity),
                "face_jpeg": base64.b64encode(face_jpeg).decode() if face_jpeg else None}
        return cast(IdentityCheck, self._json("POST", "/v1/identity:verify", {"verified": bool},
                                              body=body, idempotent=True))

    def identify_by_code(self, code: str, *, scanned_by: str | None = None) -> Identity:
        """The resident a phone's code (网络身份码) names, as an :class:`Identity` with source
        ``app_code``. Never retried: a code works once, so a second try would only be
        refused as used. A refusal is :class:`AppCodeRefused` with its reason."""
        try:
            data = self._json("POST", "/v1/identity/code", {"identity": dict, "person_token": str},
                              body={"code": code, "scanned_by": scanned_by}, idempotent=False)
        except CentralError as exc:
            if exc.code in AppCodeRefused.REASONS and exc.status is not None and exc.status < 500:
                raise AppCodeRefused(exc.detail, reason=exc.code, status=exc.status) from None
            raise
        ident = data["identity"]
        return Identity(card_type=ident.get("card_type") or "resident", name=ident.get("name") or "",
                        id_number=ident["id_number"], card_number=ident.get("card_number"),
                        source="app_code")

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
        reply = self._request("GET", f"/v1/documents/{doc_id}", idempotent=True,
                              max_bytes=self.max_document_bytes)
        if not reply.body.startswith(b"%PDF-"):
            raise BadResponse(f"document {doc_id}: not a PDF "
                              f"({reply.headers.get('Content-Type')}, {len(reply.body)} bytes)")
        return reply.body

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

    def update_metadata(self) -> dict:
        """What software/catalog versions central offers this terminal."""
        return self._json("GET", "/v1/updates", {"software": dict, "catalog": dict}, idempotent=True)
