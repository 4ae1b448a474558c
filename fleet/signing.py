"""Terminal authentication: the kiosk's request signature, checked on central's side.

The contract is the kiosk's (``kiosk/central/signing.py``, also in ``fleet-api.json``):
HMAC-SHA256 with the terminal's key over
``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nSHA256(BODY)`` plus ``\\nIDEMPOTENCY-KEY`` when the
request carries one. Re-implemented here because fleet imports no terminal code; the tests
sign with the kiosk's own signer, so the two cannot drift apart. The timestamp window is
checked here; that a nonce is new is the database's job (``store.remember_nonce``), so a
request replayed to another replica is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

H_TERMINAL = "X-Kiosk-Terminal"
H_TIMESTAMP = "X-Kiosk-Timestamp"
H_NONCE = "X-Kiosk-Nonce"
H_BODY_SHA256 = "X-Kiosk-Content-SHA256"
H_SIGNATURE = "X-Kiosk-Signature"
H_IDEMPOTENCY_KEY = "Idempotency-Key"

_NONCE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class AuthError(Exception):
    """A request that does not prove it comes from an enrolled terminal, now, once."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class SignedRequest:
    """The signature headers of one request, checked for shape (not yet for truth)."""

    terminal_id: str
    timestamp: int
    nonce: str
    body_sha256: str
    signature: str
    idempotency_key: str | None


def parse_headers(headers: Mapping[str, str]) -> SignedRequest:
    """The five headers, or AuthError(unsigned | bad_timestamp | bad_request)."""
    values = [headers.get(h) for h in (H_TERMINAL, H_TIMESTAMP, H_NONCE, H_BODY_SHA256,
                                        H_SIGNATURE)]
    terminal, ts, nonce, body_sha, mac = values
    if not (terminal and ts and nonce and body_sha and mac):
        raise AuthError("unsigned", "signature headers missing")
    try:
        timestamp = int(ts)
    except ValueError:
        raise AuthError("bad_timestamp", "timestamp is not an integer") from None
    if not _NONCE.match(nonce) or not _HEX64.match(body_sha) or not _HEX64.match(mac):
        raise AuthError("unsigned", "nonce, body hash or signature malformed")
    return SignedRequest(terminal, timestamp, nonce, body_sha, mac,
                         headers.get(H_IDEMPOTENCY_KEY))


def canonical(method: str, target: str, signed: SignedRequest) -> bytes:
    lines = [method.upper(), target, str(signed.timestamp), signed.nonce, signed.body_sha256]
    if signed.idempotency_key is not None:
        lines.append(signed.idempotency_key)
    return "\n".join(lines).encode()


def verify(signed: SignedRequest, key: bytes, method: str, target: str, body: bytes,
           now: float, max_skew_s: int) -> None:
    """Raise AuthError unless the request is fresh, its body is the signed body and the MAC
    is the terminal's. ``target`` is the path with its query string, as the terminal sent it."""
    skew = abs(now - signed.timestamp)
    if skew > max_skew_s:
        raise AuthError("stale_timestamp", f"timestamp {skew:.0f} s from server time")
    if hashlib.sha256(body).hexdigest() != signed.body_sha256:
        raise AuthError("body_mismatch", "body hash does not match the body")
    expected = hmac.new(key, canonical(method, target, signed), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signed.signature):
        raise AuthError("bad_signature", "signature does not match")


def sign(terminal_id: str, key: bytes, method: str, target: str, body: bytes, timestamp: int,
         nonce: str) -> dict[str, str]:
    """Headers for a request (fleet's own tools and benchmarks; the kiosk has its own)."""
    body_sha = hashlib.sha256(body).hexdigest()
    signed = SignedRequest(terminal_id, timestamp, nonce, body_sha, "", None)
    mac = hmac.new(key, canonical(method, target, signed), hashlib.sha256).hexdigest()
    return {H_TERMINAL: terminal_id, H_TIMESTAMP: str(timestamp), H_NONCE: nonce,
            H_BODY_SHA256: body_sha, H_SIGNATURE: mac}
