"""Technician access: a PIN kept only as a scrypt hash, with a lockout against guessing.

A terminal stands in a public hall, so anyone can try PINs at the hidden gesture. Five wrong
PINs lock technician mode for 15 minutes — long enough to make guessing a 6-digit PIN take
years, short enough that a technician who fat-fingers it is not stranded. The counter and the
lock live in a 0600 state file so a restart (or pulling the plug) does not reset them. Every
attempt, entry, exit and PIN change becomes an ``audit`` event in the outbox, so central sees
who got in and who tried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict

from kiosk.json_types import JSON

log = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
PIN_MIN, PIN_MAX = 6, 12
# scrypt cost: ~16 MiB and tens of milliseconds per try on the terminal's CPU.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


class TechnicianError(Exception):
    """The PIN store cannot be used: unreadable state file, bad PIN format; carries errno."""

    def __init__(self, message: str, *, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


class AuditSink(Protocol):
    def put(self, stream: str, payload: JSON) -> object: ...  # what it returns is not used


class PinHash(TypedDict):
    """The stored form of a PIN (:func:`hash_pin`): scrypt parameters, salt and hash in hex."""

    alg: str
    n: int
    r: int
    p: int
    salt: str
    hash: str


@dataclass(frozen=True)
class AttemptResult:
    """What the technician screen shows after a PIN: in, wrong (n left), or locked until."""

    ok: bool
    reason: str  # "ok" | "wrong_pin" | "locked" | "no_pin_set"
    attempts_left: int
    locked_until: float | None = None

    def seconds_locked(self, now: float | None = None) -> int:
        if self.locked_until is None:
            return 0
        return max(0, int(self.locked_until - (time.time() if now is None else now) + 0.999))


def hash_pin(pin: str, salt: bytes | None = None) -> PinHash:
    """The stored form of a PIN: scrypt parameters, salt and hash (hex); never the PIN."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return {"alg": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
            "salt": salt.hex(), "hash": digest.hex()}


def _pin_matches(pin: str, stored: PinHash) -> bool:
    digest = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(stored["salt"]), n=int(stored["n"]),
                            r=int(stored["r"]), p=int(stored["p"]), dklen=len(stored["hash"]) // 2)
    return hmac.compare_digest(digest.hex(), stored["hash"])


def check_pin_format(pin: str) -> None:
    if not (pin.isascii() and pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        raise TechnicianError(f"a technician PIN is {PIN_MIN} to {PIN_MAX} digits")


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


class TechnicianAccess:
    """The PIN store and its lockout; one per terminal, shared by the screen and the CLI.

    ``audit`` is anything with ``put(stream, payload)`` — the outbox in the app. ``clock`` is
    injectable so tests can step past the lockout without sleeping.
    """

    def __init__(self, state_path: str | os.PathLike[str], *, audit: AuditSink | None = None,
                 terminal_id: str = "", clock: Callable[[], float] = time.time,
                 max_failures: int = MAX_FAILURES, lockout_seconds: float = LOCKOUT_SECONDS):
        self.path = Path(state_path)
        self._audit = audit
        self._terminal = terminal_id
        self._clock = clock
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self._state = self._load()

    # -- state file ------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:  # parsed JSON: only ``failures`` is checked
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"pin": None, "failures": 0, "locked_until": None}
        except OSError as exc:
            raise TechnicianError(f"{self.path}: cannot read: {exc.strerror}", errno=exc.errno) from exc
        try:
            state = json.loads(raw)
            if not isinstance(state, dict) or not isinstance(state.get("failures", 0), int):
                raise ValueError("not a technician state object")
        except ValueError as exc:
            # A damaged file must not open the door: treat it as locked out with no PIN.
            raise TechnicianError(f"{self.path}: damaged technician state: {exc}") from exc
        state.setdefault("pin", None)
        state.setdefault("failures", 0)
        state.setdefault("locked_until", None)
        return state

    def _save(self) -> None:
        """Write atomically with mode 0600 (tmp file + fsync + rename)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, json.dumps(self._state, sort_keys=True).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise TechnicianError(f"{self.path}: cannot save: {exc.strerror}", errno=exc.errno) from exc

    def _event(self, event: str, **fields: object) -> None:
        payload = {"event": event, "at": _iso(self._clock()), "terminal": self._terminal, **fields}
        log.info("technician %s %s", event, fields or "")
        if self._audit is None:
            return
        try:
            self._audit.put("audit", payload)
        except Exception as exc:  # noqa: BLE001 - the outbox's own typed errors; never lose the decision
            log.error("audit event %s not stored: %s", event, exc)

    # -- queries ---------------------------------------------------------------------------
    @property
    def has_pin(self) -> bool:
        return bool(self._state.get("pin"))

    def locked_until(self) -> float | None:
        until = self._state.get("locked_until")
        if until is not None and until > self._clock():
            return float(until)
        return None

    def attempts_left(self) -> int:
        return max(0, self.max_failures - int(self._state["failures"]))

    # -- actions ---------------------------------------------------------------------------
    def set_pin(self, pin: str, *, by: str = "cli") -> None:
        """Set or replace the PIN (the CLI on site, or an enrolment); clears any lockout."""
        check_pin_format(pin)
        self._state = {"pin": hash_pin(pin), "failures": 0, "locked_until": None}
        self._save()
        self._event("technician.pin_set", by=by)

    def attempt(self, pin: str) -> AttemptResult:
        """One PIN entry at the hidden gesture. Audited whatever the outcome."""
        now = self._clock()
        until = self.locked_until()
        if until is not None:
            self._event("technician.attempt", ok=False, reason="locked", locked_until=_iso(until))
            return AttemptResult(False, "locked", 0, until)
        if self._state.get("locked_until") is not None:  # lock has run out: a fresh start
            self._state.update(failures=0, locked_until=None)
        stored = self._state.get("pin")
        if not stored:
            self._event("technician.attempt", ok=False, reason="no_pin_set")
            return AttemptResult(False, "no_pin_set", self.attempts_left())
        if _pin_matches(pin, stored):
            self._state.update(failures=0, locked_until=None)
            self._save()
            self._event("technician.enter", ok=True)
            return AttemptResult(True, "ok", self.max_failures)
        self._state["failures"] = int(self._state["failures"]) + 1
        failures = self._state["failures"]
        if failures >= self.max_failures:
            self._state["locked_until"] = now + self.lockout_seconds
            self._save()
            self._event("technician.attempt", ok=False, reason="wrong_pin", failures=failures)
            self._event("technician.locked", locked_until=_iso(self._state["locked_until"]),
                        failures=failures)
            return AttemptResult(False, "locked", 0, self._state["locked_until"])
        self._save()
        self._event("technician.attempt", ok=False, reason="wrong_pin", failures=failures)
        return AttemptResult(False, "wrong_pin", self.attempts_left())

    def exit(self, *, reason: str = "done") -> None:
        """Leaving technician mode (done, idle timeout) is audited too."""
        self._event("technician.exit", reason=reason)

    def record(self, action: str, **fields: object) -> None:
        """An action taken inside technician mode (test print, config change, export)."""
        self._event("technician.action", action=action, **fields)
