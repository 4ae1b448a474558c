"""The only code that talks HTTP to central operations' fleet service (contract:
``fleet/fleet-api.json``), the terminal's second counterpart beside the government platform.

The fleet is central's side, not terminal code: the kiosk never imports ``fleet`` and speaks
to it over HTTP only. The transport is the central client's own (:class:`CentralClient`,
composed, not copied): the same signing (``kiosk.central.signing``, the fleet checks the
same five headers), no redirects, a wall-clock deadline per call, a cap on the reply's bytes.
What differs is the contract every reply is checked against — the fleet's OpenAPI document,
read from the file ``fleet/fleet-api.json`` that ships in the same wheel — and the errors:
each failure is a :class:`FleetError` subclass that is also the matching central error, so
the heartbeat and the outbox's sync worker treat "fleet down" exactly like "central down".

The fleet enrolment gives the terminal its own fleet identity and key (``[fleet]
terminal_id``, ``key_file``), separate from the government platform's: central operations'
database never holds the key that signs residents' applications, and a terminal revoked
in the console keeps serving residents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kiosk.central.contract import Contract
from kiosk.central.errors import (
    BadResponse,
    CentralError,
    CentralUnavailable,
    Rejected,
    Unauthorized,
)
from kiosk.json_types import JSON
from kiosk.paths import ROOT

if TYPE_CHECKING:
    from kiosk.central.client import CentralClient

FLEET_DOC = ROOT / "fleet" / "fleet-api.json"  # read as a file: the kiosk never imports fleet
MAX_FLEET_REPLY_BYTES = 256 * 1024  # the fleet answers small JSON objects
T = TypeVar("T")


class FleetError(CentralError):
    """Base of every fleet-service failure (also a :class:`CentralError`)."""

    message_key = "fleet.error"


class FleetUnavailable(FleetError, CentralUnavailable):
    """The fleet service is down, slow, unreachable or its database is (503): keep the data
    (telemetry stays in the outbox) and try again later."""

    message_key = "fleet.unavailable"


class FleetBadResponse(FleetUnavailable, BadResponse):
    """An answer that is not the fleet's: a redirect, HTML, too large, or breaking the
    fleet document. Never retried."""

    message_key = "fleet.bad_response"


class FleetUnauthorized(FleetError, Unauthorized):
    """The fleet refused this terminal (401/403): unknown, revoked, bad signature, clock
    off by more than 300 s. A technician's problem: re-enrol with ``kiosk enroll``."""

    message_key = "fleet.unauthorized"


class FleetRefused(FleetError, Rejected):
    """The fleet refused the request's content (400/404/409/413/415): ``code`` says why
    (bad_request, personal_data, too_large, bad_code, terminal_enrolled, no_such_command …)."""

    message_key = "fleet.refused"


# the fleet document through the one contract loader (read and compiled on first use)
FLEET_CONTRACT = Contract(FLEET_DOC, error=FleetBadResponse, name="fleet ")


def fleet_document() -> dict[str, Any]:
    """The fleet's OpenAPI document (read once). (Any: JSON checked by the fleet's tests.)"""
    return FLEET_CONTRACT.document()


def validate_fleet_reply(operation_id: str, status: int, body: object) -> None:
    """FleetBadResponse unless ``body`` is what the fleet document says ``operation_id``
    answers with ``status``; the message names the field and the rule, never the value."""
    FLEET_CONTRACT.validate(operation_id, status, body)


# refusals of what was sent, not of who sent it (the fleet answers bad_code with 403)
_CONTENT_CODES = frozenset({"bad_request", "personal_data", "too_large", "unsupported_media_type",
                            "bad_code", "terminal_enrolled", "no_such_command", "not_delivered"})


def _as_fleet(exc: CentralError) -> FleetError:
    """The transport's central error as the fleet error a caller tells apart."""
    if isinstance(exc, FleetError):
        return exc
    kw: dict[str, Any] = {"status": exc.status, "code": exc.code, "retry_after": exc.retry_after}
    detail = f"fleet: {exc.detail}"
    kind: type[FleetError]
    if isinstance(exc, BadResponse):
        kind = FleetBadResponse
    elif isinstance(exc, CentralUnavailable):
        kind = FleetUnavailable
    elif exc.code in _CONTENT_CODES:  # the request's content, whatever the status says
        kind = FleetRefused
    elif exc.status in (401, 403):
        kind = FleetUnauthorized
    elif exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
        kind = FleetRefused
    else:
        kind = FleetUnavailable  # 429 and anything else: try again later
    out = kind(detail, **kw)
    if hasattr(exc, "phase"):  # a CentralTimeout's: the heartbeat and retries read it
        setattr(out, "phase", exc.phase)  # noqa: B010
    return out


class FleetClient:
    """Signed, timed, checked access to the fleet service for one terminal."""

    def __init__(self, transport: CentralClient) -> None:
        self._transport = transport
        self.terminal_id = transport.terminal_id
        self.base_url = transport.base_url

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> FleetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, operation_id: str, path: str, body: object = None, *,
              raw: bytes | None = None, content_type: str | None = None,
              idempotent: bool = False) -> dict[str, Any]:
        """One documented call; a reply that is not the document's is FleetBadResponse.
        (Any: a JSON object checked against the fleet document.)"""
        from kiosk.central.client import _parse_json

        headers = {"Content-Type": content_type} if content_type else None
        try:
            reply = self._transport._request("POST", path, body=body, raw=raw,
                                             idempotent=idempotent, headers=headers,
                                             max_bytes=MAX_FLEET_REPLY_BYTES)
            data = _parse_json(reply.body)
        except CentralError as exc:
            raise _as_fleet(exc) from exc
        validate_fleet_reply(operation_id, reply.status, data)
        if not isinstance(data, dict):  # the document says object; belt and braces for mypy
            raise FleetBadResponse(f"fleet {operation_id}: reply is not an object")
        return data

    def _path(self, tail: str) -> str:
        return f"/v1/terminals/{self.terminal_id}{tail}"

    # -- operations ----------------------------------------------------------------------
    def enroll(self, code: str) -> dict[str, Any]:
        """``{"terminal_id", "key" (hex), "heartbeat_interval_s"}`` for a single-use code
        from ``kiosk-fleet enrol-code``. Unsigned on the fleet's side; never retried."""
        return self._call("enroll", "/v1/enroll", {"code": code})

    def heartbeat(self, payload: JSON) -> dict[str, Any]:
        """Report health; the reply's ``commands`` (each delivered once) and ``targets``
        (rollout versions to fetch through TUF). Not retried: the next one comes anyway."""
        return self._call("heartbeat", self._path("/heartbeat"), payload)

    def ack(self, command_id: str, ok: bool, detail: str = "") -> bool:
        """A command's outcome; True when the fleet recorded it now (False: it had it)."""
        body: JSON = {"ok": ok, **({"detail": detail[:500]} if detail else {})}
        reply = self._call("ackCommand", self._path(f"/commands/{command_id}/ack"), body,
                           idempotent=True)
        return bool(reply["recorded"])

    def telemetry(self, batch_id: str, items: list[JSON]) -> dict[str, Any]:
        """A batch of usage counts (visits, failures, 好差评); the fleet counts a batch_id once."""
        return self._call("telemetry", self._path("/telemetry"),
                          {"batch_id": batch_id, "items": items}, idempotent=True)

    def diagnostics(self, payload: JSON) -> dict[str, Any]:
        """Upload masked logs, config and statuses; ``{"id", "size"}``."""
        return self._call("diagnostics", self._path("/diagnostics"), payload, idempotent=True)

    def screenshot(self, png: bytes) -> dict[str, Any]:
        """Upload a PNG of the screen between visits; ``{"id", "size"}``."""
        return self._call("screenshot", self._path("/screenshot"), raw=png,
                          content_type="image/png")

    def upload_telemetry(self, transactions: list[dict[str, object]]) -> dict[str, object]:
        """The outbox's ``telemetry`` transactions as the sync worker hands them: each item
        is one batch whose batch_id is its outbox key, so a retry never counts twice. A batch
        the fleet refuses for its content is rejected (dead, with the reason); the fleet being
        down raises FleetUnavailable and the items wait."""
        accepted: list[str] = []
        rejected: list[dict[str, str]] = []
        for item in transactions:
            key, payload = str(item["key"]), item.get("payload")
            items = payload.get("items") if isinstance(payload, dict) else None
            if not isinstance(items, list):
                rejected.append({"key": key, "reason": "not a telemetry batch"})
                continue
            try:
                self.telemetry(_batch_id(key), items)
            except FleetRefused as exc:
                rejected.append({"key": key, "reason": exc.detail[:200]})
                continue
            accepted.append(key)
        return {"accepted": accepted, "rejected": rejected}


def _batch_id(key: str) -> str:
    """The outbox key as the document's batch_id (its characters, at most 64)."""
    clean = re.sub(r"[^A-Za-z0-9_.:-]", "-", key)
    if len(clean) > 64:
        import hashlib

        clean = "k-" + hashlib.sha256(key.encode()).hexdigest()[:60]
    return clean


def is_usage_item(payload: object) -> bool:
    """A telemetry outbox payload the fleet takes (``{"items": [...]}``), as opposed to the
    heartbeat snapshots kept while the fleet was down and diagnostics bundles, which the
    sync worker sends to central's transaction batch as before."""
    return isinstance(payload, dict) and payload.get("kind") == "usage"


def split_upload(central: Callable[[list[dict[str, object]]], dict[str, object]],
                 fleet: FleetClient) -> Callable[[list[dict[str, object]]], dict[str, object]]:
    """One upload for the sync worker: usage telemetry to the fleet, the rest to central.

    The outbox has one drain (one sync lock per file), so one worker serves both. Central's
    part goes first; when the fleet is down its items are left out of the reply, so the
    worker keeps them ready (no attempt counted) and central's items are still delivered."""
    def upload(transactions: list[dict[str, object]]) -> dict[str, object]:
        mine = [t for t in transactions
                if t.get("stream") == "telemetry" and is_usage_item(t.get("payload"))]
        rest = [t for t in transactions if t not in mine]
        accepted: list[object] = []
        rejected: list[object] = []
        if rest:
            reply = central(rest)
            if not mine:
                return reply
            accepted += list(reply.get("accepted") or [])  # type: ignore[call-overload]
            rejected += list(reply.get("rejected") or [])  # type: ignore[call-overload]
        if mine:
            try:
                reply = fleet.upload_telemetry(mine)
            except FleetUnavailable:
                if not rest:
                    raise
                return {"accepted": accepted, "rejected": rejected}
            accepted += list(reply["accepted"])  # type: ignore[call-overload]
            rejected += list(reply["rejected"])  # type: ignore[call-overload]
        return {"accepted": accepted, "rejected": rejected}
    return upload
