"""Request signing: how central knows a request comes from this terminal, now, once.

Every request carries five headers; the signature is HMAC-SHA256 with the terminal's key over
``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nSHA256(BODY)``, and for a write that carries an
``Idempotency-Key`` one more line, ``\\nIDEMPOTENCY-KEY``. The timestamp bounds replay to a
short window (central rejects > 300 s), the nonce makes each request single-use inside it, the
body hash ties the signature to exactly these bytes, and the signed key stops anyone on the way
from swapping it (central answers a repeated key with its cached first reply: a swapped key
would hand one resident another's application). Retries are signed afresh, with the same key.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
import uuid
from pathlib import Path

H_TERMINAL = "X-Kiosk-Terminal"
H_TIMESTAMP = "X-Kiosk-Timestamp"
H_NONCE = "X-Kiosk-Nonce"
H_BODY_SHA256 = "X-Kiosk-Content-SHA256"
H_SIGNATURE = "X-Kiosk-Signature"
H_IDEMPOTENCY_KEY = "Idempotency-Key"


class KeyFileError(Exception):
    """The terminal key file is missing or not hex; carries the path and the cause."""


def load_key(path: str | Path) -> bytes:
    """Read a hex key file; ``#`` lines and blank lines are ignored."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read terminal key: {exc}") from exc
    hex_text = "".join(line.strip() for line in text.splitlines()
                       if line.strip() and not line.lstrip().startswith("#"))
    try:
        key = binascii.unhexlify(hex_text)
    except (binascii.Error, ValueError) as exc:
        raise KeyFileError(f"{path}: terminal key is not hex: {exc}") from exc
    if len(key) < 16:
        raise KeyFileError(f"{path}: terminal key too short ({len(key)} bytes, need >= 16)")
    return key


def canonical(method: str, path: str, timestamp: str, nonce: str, body_sha256: str,
              idempotency_key: str | None = None) -> bytes:
    """The exact bytes that are signed; central rebuilds them from the request it received.
    A request with an idempotency key has a sixth line, so adding, dropping or changing the
    key on the way breaks the signature."""
    lines = [method.upper(), path, timestamp, nonce, body_sha256]
    if idempotency_key is not None:
        lines.append(idempotency_key)
    return "\n".join(lines).encode()


def sign_headers(terminal_id: str, key: bytes, method: str, path: str, body: bytes, *,
                 timestamp: int | None = None, nonce: str | None = None,
                 idempotency_key: str | None = None) -> dict[str, str]:
    """Headers for one request. ``path`` is the request target as sent, query string included;
    ``idempotency_key`` is signed and sent as ``Idempotency-Key`` (so the two cannot differ)."""
    if idempotency_key is not None and (not idempotency_key or "\n" in idempotency_key
                                        or not idempotency_key.isascii()):
        raise ValueError("an idempotency key is a non-empty line of ASCII")
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or uuid.uuid4().hex
    body_sha = hashlib.sha256(body).hexdigest()
    text = canonical(method, path, ts, nonce, body_sha, idempotency_key)
    mac = hmac.new(key, text, hashlib.sha256).hexdigest()
    headers = {H_TERMINAL: terminal_id, H_TIMESTAMP: ts, H_NONCE: nonce,
               H_BODY_SHA256: body_sha, H_SIGNATURE: mac}
    if idempotency_key is not None:
        headers[H_IDEMPOTENCY_KEY] = idempotency_key
    return headers
