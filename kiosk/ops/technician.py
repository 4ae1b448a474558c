"""Technician access: a PIN kept only as a scrypt hash, with a lockout against guessing.

A terminal stands in a public hall, so anyone can try PINs at the hidden gesture. Five wrong
PINs lock technician mode for 15 minutes — long enough to make guessing a 6-digit PIN take
years, short enough that a technician who fat-fingers it is not stranded. The counter and the
lock live in a 0600 state file so a restart (or pulling the plug) does not reset them. Every
attempt, entry, exit and PIN change becomes an ``audit`` event in the outbox, so central sees
who got in and who tried.

The file on disk is the truth, shared by the running app and ``kiosk technician set-pin``:
every attempt re-reads it under an exclusive ``flock`` (on a ``.lock`` file beside it), changes
it and writes it back atomically before the lock is released, so a PIN set by another process
counts at the next attempt, a lockout recorded elsewhere holds, and nobody writes a stale copy
back. A damaged file refuses technician mode (never an open door) without stopping the kiosk:
:meth:`TechnicianAccess.fault` says what is wrong, for the doctor and the heartbeat.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
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
_SCRYPT_N_MAX = 2 ** 20  # a stored cost above this is damage (or an attack on memory)


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
    """What the technician screen shows after a PIN: in, wrong (n left), locked until, or
    unavailable (the state file is damaged or unreadable: ``detail`` says why)."""

    ok: bool
    reason: str  # "ok" | "wrong_pin" | "locked" | "no_pin_set" | "unavailable"
    attempts_left: int
    locked_until: float | None = None
    detail: str = ""

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
                            r=int(stored["r"]), p=int(stored["p"]), dklen=len(stored["hash"]) // 2,
                            maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(digest.hex(), stored["hash"])


def check_pin_format(pin: str) -> None:
    if not (pin.isascii() and pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        raise TechnicianError(f"a technician PIN is {PIN_MIN} to {PIN_MAX} digits")


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _is_hex(value: object) -> bool:
    if not isinstance(value, str) or not value or len(value) % 2:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _pin_hash_ok(pin: object) -> bool:
    if not isinstance(pin, dict) or pin.get("alg") != "scrypt":
        return False
    n, r, p = (pin.get(k) for k in ("n", "r", "p"))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (n, r, p)):
        return False
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
    return (n <= _SCRYPT_N_MAX and n & (n - 1) == 0 and r <= 64 and p <= 16
            and _is_hex(pin.get("salt")) and _is_hex(pin.get("hash")))


def _check_state(state: object) -> dict[str, Any]:
    """The parsed file if it is a technician state; ValueError naming what is wrong."""
    if not isinstance(state, dict):
        raise ValueError("not a technician state object")
    failures = state.get("failures", 0)
    if not isinstance(failures, int) or isinstance(failures, bool) or failures < 0:
        raise ValueError("failures is not a count")
    until = state.get("locked_until")
    if until is not None and (not isinstance(until, (int, float)) or isinstance(until, bool)):
        raise ValueError("locked_until is not a time")
    pin = state.get("pin")
    if pin is not None and not _pin_hash_ok(pin):
        raise ValueError("the stored PIN hash is malformed")
    return {"pin": pin, "failures": failures, "locked_until": until}


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The state file as it is on disk now (a missing file: no PIN, no failures).
    TechnicianError when it cannot be read or is damaged — fail closed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {"pin": None, "failures": 0, "locked_until": None}
    except OSError as exc:
        raise TechnicianError(f"{path}: cannot read: {exc.strerror}", errno=exc.errno) from exc
    try:
        return _check_state(json.loads(raw.decode("utf-8")))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError included
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise TechnicianError(f"{path}: damaged technician state: {reason}") from exc


def state_problem(path: str | os.PathLike[str]) -> str | None:
    """Why technician mode would be refused because of its state file, or None."""
    try:
        read_state(path)
    except TechnicianError as exc:
        return str(exc)
    return None


class TechnicianAccess:
    """The PIN store and its lockout; one per terminal, shared by the screen and the CLI.

    Holds no copy of the state: each query reads the file, each change is a read-modify-write
    under the lock. ``audit`` is anything with ``put(stream, payload)`` — the outbox in the
    app. ``clock`` is injectable so tests can step past the lockout without sleeping.
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

    # -- state file ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive across processes for one read-modify-write (``flock`` on ``<state>.lock``:
        the state file itself is replaced by rename, so it cannot carry the lock)."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TechnicianError(f"{lock_path}: cannot lock: {exc.strerror}", errno=exc.errno) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _load(self) -> dict[str, Any]:
        return read_state(self.path)

    def _save(self, state: dict[str, Any]) -> None:
        """Write atomically with mode 0600: a unique tmp file, fsync, rename, fsync the dir.
        Only ever called under :meth:`_locked` with a state read under the same lock."""
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, json.dumps(state, sort_keys=True).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
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

    # -- queries (each reads the file; TechnicianError when it is damaged) -----------------
    def fault(self) -> str | None:
        """Why technician mode is refused because of the state file, or None when it is usable."""
        return state_problem(self.path)

    @property
    def has_pin(self) -> bool:
        return bool(self._load().get("pin"))

    def locked_until(self) -> float | None:
        until = self._load().get("locked_until")
        if until is not None and until > self._clock():
            return float(until)
        return None

    def attempts_left(self) -> int:
        return max(0, self.max_failures - int(self._load()["failures"]))

    # -- actions ---------------------------------------------------------------------------
    def set_pin(self, pin: str, *, by: str = "cli") -> None:
        """Set or replace the PIN (the CLI on site, or an enrolment); clears any lockout. Also
        repairs a damaged state file (whoever runs this is already trusted with the terminal)."""
        check_pin_format(pin)
        stored = hash_pin(pin)
        with self._locked():
            self._save({"pin": stored, "failures": 0, "locked_until": None})
        self._event("technician.pin_set", by=by)

    def attempt(self, pin: str) -> AttemptResult:
        """One PIN entry at the hidden gesture, decided on the state as it is on disk now.
        Audited whatever the outcome; a damaged or unreadable state file refuses."""
        try:
            with self._locked():
                decision = self._decide(pin, self._load())
        except TechnicianError as exc:
            log.warning("technician mode refused: %s", exc)
            self._event("technician.attempt", ok=False, reason="unavailable", detail=str(exc))
            return AttemptResult(False, "unavailable", 0, detail=str(exc))
        result, events = decision
        for event, fields in events:
            self._event(event, **fields)
        return result

    def _decide(self, pin: str, state: dict[str, Any]
                ) -> tuple[AttemptResult, list[tuple[str, dict[str, object]]]]:
        """The outcome for ``state``; saves the changed state (still under the lock)."""
        now = self._clock()
        until = state["locked_until"]
        if until is not None and until > now:
            return (AttemptResult(False, "locked", 0, float(until)),
                    [("technician.attempt", {"ok": False, "reason": "locked",
                                             "locked_until": _iso(until)})])
        if until is not None:  # the lock has run out: a fresh start
            state.update(failures=0, locked_until=None)
        stored = state["pin"]
        if not stored:
            return (AttemptResult(False, "no_pin_set", max(0, self.max_failures - state["failures"])),
                    [("technician.attempt", {"ok": False, "reason": "no_pin_set"})])
        if _pin_matches(pin, stored):
            state.update(failures=0, locked_until=None)
            self._save(state)
            return AttemptResult(True, "ok", self.max_failures), [("technician.enter", {"ok": True})]
        failures = state["failures"] = int(state["failures"]) + 1
        events: list[tuple[str, dict[str, object]]] = [
            ("technician.attempt", {"ok": False, "reason": "wrong_pin", "failures": failures})]
        if failures >= self.max_failures:
            state["locked_until"] = now + self.lockout_seconds
            self._save(state)
            events.append(("technician.locked", {"locked_until": _iso(state["locked_until"]),
                                                 "failures": failures}))
            return AttemptResult(False, "locked", 0, state["locked_until"]), events
        self._save(state)
        return AttemptResult(False, "wrong_pin", max(0, self.max_failures - failures)), events

    def exit(self, *, reason: str = "done") -> None:
        """Leaving technician mode (done, idle timeout) is audited too."""
        self._event("technician.exit", reason=reason)

    def record(self, action: str, **fields: object) -> None:
        """An action taken inside technician mode (test print, config change, export)."""
        self._event("technician.action", action=action, **fields)
