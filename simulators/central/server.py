"""HTTP plumbing: routing, signature checks, idempotency replay, fault injection, admin API."""

from __future__ import annotations

import argparse
import binascii
import json
import logging
import math
import re
import signal
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from simulators.central import app_codes, catalog, contract, routes
from simulators.central.routes import ApiError, Request
from simulators.central.signature import SignatureError, Verifier
from simulators.central.state import State

log = logging.getLogger(__name__)
DEMO_TERMINAL = "GZ-DEMO-0001"
DEFAULT_KEY_FILE = Path(__file__).resolve().parents[2] / "config" / "demo-terminal.key"
_SID = r"(?P<sid>[a-z][a-z0-9_]*)"

API_ROUTES: list[tuple[str, re.Pattern, Any, bool, str]] = [  # method, path, handler, replay, operationId
    ("POST", re.compile(r"/v1/identity:verify"), routes.verify_identity, False, "verifyIdentity"),
    ("POST", re.compile(r"/v1/identity:verifyFace"), routes.verify_face, False, "verifyFace"),
    ("POST", re.compile(r"/v1/identity/code"), routes.identify_by_code, False, "identifyByCode"),
    ("POST", re.compile(rf"/v1/services/{_SID}:query"), routes.query, False, "queryService"),
    ("POST", re.compile(rf"/v1/services/{_SID}:submit"), routes.submit, True, "submitApplication"),
    ("GET", re.compile(r"/v1/documents/(?P<doc>[A-Za-z0-9_-]+)"), routes.document, False, "fetchDocument"),
    ("POST", re.compile(r"/v1/queue/tickets"), routes.queue_ticket, True, "takeTicket"),
    ("GET", re.compile(r"/v1/appointments/slots"), routes.appointment_slots, False, "appointmentSlots"),
    ("POST", re.compile(r"/v1/appointments"), routes.book_appointment, True, "bookAppointment"),
    ("POST", re.compile(r"/v1/evaluations"), routes.evaluate, True, "evaluate"),
    ("POST", re.compile(r"/v1/transactions:batch"), routes.transactions_batch, False, "uploadTransactions"),
    ("GET", re.compile(r"/v1/updates"), routes.updates, False, "updateMetadata"),
]


class App:
    def __init__(self, services: dict, keys: dict[str, bytes], verify_signatures: bool = True):
        self.services = services
        self.verifier = Verifier(keys)
        self.verify_signatures = verify_signatures
        self.state = State()

    def fault(self) -> ApiError | str | None:
        """The fault this /v1 call suffers, if any ("drop" = close without answering)."""
        faults = self.state.faults
        if faults.get("latency"):
            time.sleep(float(faults["latency"]))
        if faults.get("drop"):
            return "drop"
        if faults.get("down"):
            return ApiError(503, "platform_down", "the platform is down for maintenance")
        if faults.get("rate_limited"):
            return ApiError(429, "rate_limited", "too many requests", {"Retry-After": "2"})
        rate = float(faults.get("error_rate") or 0)
        if rate > 0:
            with self.state.lock:
                self.state.calls += 1
                calls = self.state.calls
            if math.ceil(calls * rate) != math.ceil((calls - 1) * rate):  # 1st call fails
                return ApiError(500, "internal", "injected server error")
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses one connection
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK stall
    server_version = "central-sim/1"
    app: App  # set on the subclass built in serve()

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("%s " + fmt, self.address_string(), *args)

    def __getattr__(self, name: str) -> Any:
        """Every method reaches ``_handle`` (GET, POST, PUT, HEAD, OPTIONS, anything): the
        stdlib would answer an unknown one with a 501 HTML page; the document says 405 JSON."""
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return lambda: self._handle(name[3:])
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals (bad request line, header too long …) in the one Error body."""
        self.close_connection = True
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "error"
        body = {"error": {"code": "bad_http" if code < 500 else "internal",
                          "message": message or explain or phrase}}
        self._send(code, body, {"Connection": "close"})

    def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
        if isinstance(body, bytes):
            payload, ctype = body, "application/pdf"
        else:
            payload, ctype = json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(payload)

    def _error(self, err: ApiError) -> None:
        self._send(err.status, {"error": {"code": err.code, "message": err.message}}, err.headers)

    def _handle(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Content-Length is not a number")
            return
        raw = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        path, query = split.path, dict(parse_qsl(split.query))
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = ...
        if path.startswith("/_admin/"):
            try:
                self._send(*admin(self.app, method, path, query, body))
            except ApiError as err:
                self._error(err)
            return
        self._api(method, path, query, raw, body)

    def _api(self, method: str, path: str, query: dict, raw: bytes, body: Any) -> None:
        app, status, terminal = self.app, 500, None
        entry = {"method": method, "path": self.path, "terminal": None, "status": None,
                 "body": _trim(None if body is ... else body)}
        with app.state.lock:  # logged on arrival, so a test sees a request still in progress
            app.state.received.append(entry)
            del app.state.received[:-2000]
        try:
            handler, replay, m, operation_id = _route(method, path)
            if app.verify_signatures:
                try:
                    terminal = app.verifier.check(method, self.path, self.headers, raw)
                except SignatureError as exc:
                    raise ApiError(401, exc.code, str(exc)) from None
            else:
                terminal = self.headers.get("X-Kiosk-Terminal")
            fault = app.fault()
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if isinstance(fault, ApiError):
                raise fault
            if body is ...:
                raise ApiError(400, "bad_request", "body is not JSON")
            refusal = contract.request_refusal(operation_id, query, self.headers, body, bool(raw))
            if refusal:
                raise ApiError(400, "bad_request", refusal)
            req = Request(method, path, query, body, terminal, dict(self.headers))
            idem = self.headers.get("Idempotency-Key") if replay else None
            cached = app.state.idempotent_replies.get((terminal or "", idem)) if idem else None
            if cached:
                status, reply = cached
            else:
                status, reply = handler(app, req, *m.groups())
                if idem:
                    with app.state.lock:
                        app.state.idempotent_replies[(terminal or "", idem)] = (status, reply)
            self._send(status, reply)
        except ApiError as err:
            status = err.status
            self._error(err)
        except OSError:
            status = 0
        except Exception as exc:  # a simulator bug must answer 500, not drop the connection
            log.exception("handler failed")
            status = 500
            self._error(ApiError(500, "internal", f"{type(exc).__name__}: {exc}"))
        finally:
            with app.state.lock:
                entry.update(terminal=terminal, status=status)


def _trim(value: Any) -> Any:
    """Keep the received log small: a base64 face image becomes ``<N chars>``."""
    if isinstance(value, str) and len(value) > 512:
        return f"<{len(value)} chars>"
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trim(v) for v in value]
    return value


def _route(method: str, path: str) -> tuple[Any, bool, re.Match, str]:
    """The handler for this method and path; 405 with Allow if the path is known under other
    methods, 404 if it is not known at all (both before the signature: nothing to check it for)."""
    allowed = []
    for route_method, pattern, handler, replay, operation_id in API_ROUTES:
        m = pattern.fullmatch(path)
        if m and route_method == method:
            return handler, replay, m, operation_id
        if m:
            allowed.append(route_method)
    if allowed:
        raise ApiError(405, "method_not_allowed", f"{method} is not declared for this path",
                       {"Allow": ", ".join(sorted(allowed))})
    raise ApiError(404, "no_such_operation", f"no operation at {path}")


def _app_code(body: Any) -> dict:
    """``{"person"?, "lifetime"?}`` → a fresh phone code (see ``app_codes``)."""
    body = body if isinstance(body, dict) else {}
    lifetime = body.get("lifetime", app_codes.LIFETIME_S)
    if not isinstance(lifetime, (int, float)):
        raise ApiError(400, "bad_request", "lifetime must be seconds")
    try:
        return {"code": app_codes.mint(str(body.get("person", "resident")), lifetime=lifetime)}
    except ValueError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None


def admin(app: App, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
    """Test and demo control: what was received, faults, update offers, phone codes, reset."""
    state = app.state
    with state.lock:
        if (method, path) == ("GET", "/_admin/received"):
            wanted = query.get("path", "")
            return 200, {"requests": [r for r in state.received if wanted in r["path"]]}
        if (method, path) == ("GET", "/_admin/transactions"):
            return 200, {"transactions": list(state.transactions.values())}
        if (method, path) == ("GET", "/_admin/evaluations"):
            return 200, {"evaluations": list(state.evaluations)}
        if path == "/_admin/faults":
            if method == "POST":
                if not isinstance(body, dict) or set(body) - set(state.faults):
                    raise ApiError(400, "bad_request", f"faults: {', '.join(state.faults)}")
                state.faults.update(body)
            return 200, {"faults": state.faults}
        if (method, path) == ("POST", "/_admin/reset"):
            state.reset()
            app.verifier.reset()
            return 200, {"reset": True}
        if (method, path) == ("POST", "/_admin/app-codes"):
            return 200, _app_code(body)
        if (method, path) == ("POST", "/_admin/updates") and isinstance(body, dict):
            state.updates.update(body)
            return 200, state.updates
    raise ApiError(404, "no_such_admin_operation", f"{method} {path}")


def _keys(args: argparse.Namespace) -> dict[str, bytes]:
    key_file = Path(args.key_file) if args.key_file else DEFAULT_KEY_FILE
    lines = [ln.strip() for ln in key_file.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    keys = {DEMO_TERMINAL: binascii.unhexlify("".join(lines))}
    for item in args.terminal:
        tid, _, hexkey = item.partition("=")
        keys[tid] = binascii.unhexlify(hexkey)
    return keys


def serve(args: argparse.Namespace) -> int:
    host, _, port = args.listen.rpartition(":")
    app = App(catalog.load(Path(args.catalog) if args.catalog else None), _keys(args),
              verify_signatures=not args.no_signatures)
    app.state.faults.update(latency=args.latency, error_rate=args.error_rate, down=args.down,
                            services_down=list(args.service_down))
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), handler)
    server.daemon_threads = True
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"{scheme}://{server.server_address[0]}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.stdout.flush()
    return 0
