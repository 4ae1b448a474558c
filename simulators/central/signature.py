"""Checks the terminal's request signature (independent of kiosk.central.signing, same contract).

HMAC-SHA256 over ``METHOD\\nTARGET\\nTIMESTAMP\\nNONCE\\nSHA256(BODY)``, plus
``\\nIDEMPOTENCY-KEY`` when the request has an ``Idempotency-Key`` header (the key selects a
cached reply, so it must be the terminal's, not whatever a middlebox put there); stale timestamps
(> 300 s either way) and nonces seen before are refused, so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time

MAX_SKEW = 300


class SignatureError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Verifier:
    def __init__(self, keys: dict[str, bytes]):
        self.keys = dict(keys)
        self._nonces: dict[str, float] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._nonces.clear()

    def check(self, method: str, target: str, headers, body: bytes) -> str:
        """Return the terminal id, or raise SignatureError naming what is wrong."""
        terminal = headers.get("X-Kiosk-Terminal")
        ts, nonce = headers.get("X-Kiosk-Timestamp"), headers.get("X-Kiosk-Nonce")
        body_sha, mac = headers.get("X-Kiosk-Content-SHA256"), headers.get("X-Kiosk-Signature")
        if not all((terminal, ts, nonce, body_sha, mac)):
            raise SignatureError("unsigned", "signature headers missing")
        key = self.keys.get(terminal)
        if key is None:
            raise SignatureError("unknown_terminal", f"terminal {terminal} is not enrolled")
        try:
            skew = abs(time.time() - int(ts))
        except ValueError:
            raise SignatureError("bad_timestamp", "timestamp is not an integer") from None
        if skew > MAX_SKEW:
            raise SignatureError("stale_timestamp", f"timestamp {skew:.0f} s from server time")
        if hashlib.sha256(body).hexdigest() != body_sha:
            raise SignatureError("body_mismatch", "body hash does not match the body")
        lines = [method.upper(), target, ts, nonce, body_sha]
        idempotency_key = headers.get("Idempotency-Key")
        if idempotency_key is not None:
            lines.append(idempotency_key)
        text = "\n".join(lines).encode()
        expected = hmac.new(key, text, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, mac):
            raise SignatureError("bad_signature", "signature does not match")
        now = time.time()
        with self._lock:
            if len(self._nonces) > 10000:
                self._nonces = {n: t for n, t in self._nonces.items() if now - t < 2 * MAX_SKEW}
            if nonce in self._nonces:
                raise SignatureError("replayed_nonce", "nonce already used")
            self._nonces[nonce] = now
        return terminal
