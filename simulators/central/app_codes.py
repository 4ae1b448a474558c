"""Synthetic phone codes (网络身份码): what a resident's app shows, minted and checked here.

A code is ``KSIM1.<payload>.<mac>``: the payload (base64url JSON) names a synthetic person by
the short name of a card in ``simulators/cards`` — never an ID number, since a QR can be
photographed — with its expiry and a nonce; the MAC (HMAC-SHA256 under the simulator's own
key, truncated) makes it unforgeable. Minting is stateless, so ``kiosk-sim app-code`` prints a
code without a running simulator; using one is not: the platform remembers every nonce it has
honoured and refuses it the second time. Lifetime 60 s, like the real ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib
import secrets
import time
from typing import Any

PREFIX = "KSIM1"
LIFETIME_S = 60.0
_KEY = b"kiosk-sim app codes: synthetic, not a secret"
CARDS_DIR = pathlib.Path(__file__).resolve().parents[1] / "cards"
PEOPLE = ("resident", "resident_longterm", "hmt_residence", "foreign_permanent",
          "foreign_permanent_2023")


class CodeRefused(Exception):
    """``reason`` is code_unknown, code_used or code_expired (the contract's error codes)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(payload: str) -> str:
    return hmac.new(_KEY, payload.encode(), hashlib.sha256).hexdigest()[:24]


def mint(person: str = "resident", *, lifetime: float = LIFETIME_S,
         now: float | None = None) -> str:
    """A fresh code for ``person`` (a card name); ``lifetime`` may be negative (already
    expired) for tests and demos."""
    if person not in PEOPLE:
        raise ValueError(f"unknown person {person!r} (known: {', '.join(PEOPLE)})")
    issued = time.time() if now is None else now
    payload = _b64(json.dumps({"p": person, "exp": round(issued + lifetime, 3),
                               "n": secrets.token_hex(8)}, separators=(",", ":")).encode())
    return f"{PREFIX}.{payload}.{_mac(payload)}"


def read(code: str, *, now: float | None = None) -> tuple[str, str]:
    """(person, nonce) of a genuine, unexpired code; raises :class:`CodeRefused`."""
    parts = code.split(".")
    if len(parts) != 3 or parts[0] != PREFIX or not hmac.compare_digest(_mac(parts[1]), parts[2]):
        raise CodeRefused("code_unknown", "not a code this platform issued")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        person, expires, nonce = claims["p"], float(claims["exp"]), str(claims["n"])
    except (ValueError, KeyError, TypeError):
        raise CodeRefused("code_unknown", "code payload unreadable") from None
    if person not in PEOPLE:
        raise CodeRefused("code_unknown", "code names nobody")
    if (time.time() if now is None else now) > expires:
        raise CodeRefused("code_expired", "code is past its lifetime")
    return person, nonce


def identity(person: str) -> dict[str, Any]:
    """What the platform knows of ``person``: the contract's Identity, source app_code."""
    card = json.loads((CARDS_DIR / f"{person}.json").read_text(encoding="utf-8"))
    return {"card_type": card["card_type"], "id_number": card["id_number"], "name": card["name"],
            "card_number": None, "source": "app_code"}
