"""Payload sealing: AES-256-GCM with a key derived from the terminal's secret.

Why every payload and not only "personal" streams: whether a payload carries a name or an ID
number is decided by whoever builds it, far from here (an audit event or a telemetry crash
note can quote a resident by accident). Sealing all of them costs a few microseconds per put,
which is noise next to the fsync, and means the SQLite file, its -wal and any freed page never
hold plaintext. Metadata stays readable on purpose (idempotency key, stream, times, state):
the worker needs it to order and retry without the key, so callers must not put personal
data into idempotency keys.

The AES key is derived with HKDF (info ``kiosk-outbox-v1``) so the terminal's secret can serve
other purposes without key reuse. Each row is bound to its idempotency key and stream through
GCM's associated data: swapping ciphertexts between rows fails authentication.
"""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING

from offline_queue.errors import OutboxError, PayloadSealError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PLAIN = 0x00
SEALED_V1 = 0x01
_NONCE = 12
_INFO = b"kiosk-outbox-v1"
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_payload(payload: dict[str, object]) -> bytes:
    """Compact JSON; a payload that is not JSON is the caller's bug, reported as OutboxError."""
    if not isinstance(payload, dict):
        raise OutboxError(f"payload must be a dict, not {type(payload).__name__}")
    try:
        return _ENCODER.encode(payload).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise OutboxError(f"payload is not JSON-serialisable: {exc}") from exc


class PayloadCipher:
    """Seals and opens payload blobs; ``key=None`` stores plain JSON (tests, development).

    The AES key is derived on the first seal or open: opening the outbox at start-up does not
    load the cryptography library (about 9 MiB), the first transaction does."""

    def __init__(self, key: bytes | None):
        if key is not None and (not isinstance(key, bytes | bytearray) or len(key) < 16):
            raise OutboxError("outbox key must be at least 16 bytes of secret material")
        self._secret = None if key is None else bytes(key)
        self._derived: AESGCM | None = None
        self._lock = threading.Lock()

    @property
    def sealing(self) -> bool:
        return self._secret is not None

    @property
    def _aead(self) -> AESGCM | None:
        if self._secret is None:
            return None
        with self._lock:
            if self._derived is None:
                from cryptography.hazmat.primitives import hashes
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM
                from cryptography.hazmat.primitives.kdf.hkdf import HKDF

                derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                               info=_INFO).derive(self._secret)
                self._derived = AESGCM(derived)
            return self._derived

    @staticmethod
    def _aad(idem_key: str, stream: str) -> bytes:
        return b"%s\x00%s" % (stream.encode(), idem_key.encode())

    def seal(self, plaintext: bytes, idem_key: str, stream: str) -> bytes:
        aead = self._aead
        if aead is None:
            return bytes([PLAIN]) + plaintext
        nonce = os.urandom(_NONCE)
        return bytes([SEALED_V1]) + nonce + aead.encrypt(nonce, plaintext,
                                                         self._aad(idem_key, stream))

    def open(self, blob: bytes, idem_key: str, stream: str) -> dict[str, object]:
        """Decrypt and parse one stored payload; a wrong key or tampering is PayloadSealError."""
        if not blob:
            raise PayloadSealError(f"transaction {idem_key} has no stored payload")
        version, body = blob[0], blob[1:]
        if version == SEALED_V1:
            from cryptography.exceptions import InvalidTag

            aead = self._aead
            if aead is None:
                raise PayloadSealError(f"transaction {idem_key} is encrypted but no key was given")
            try:
                plaintext = aead.decrypt(body[:_NONCE], body[_NONCE:], self._aad(idem_key, stream))
            except InvalidTag as exc:
                raise PayloadSealError(
                    f"transaction {idem_key} fails authentication (terminal key changed or row "
                    "tampered)") from exc
        elif version == PLAIN:
            plaintext = body
        else:
            raise PayloadSealError(f"transaction {idem_key} has unknown payload format {version}")
        return json.loads(plaintext.decode("utf-8"))
