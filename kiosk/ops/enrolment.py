"""Enrolment: a new terminal trades a one-time code from central for its id and signing key.

Contract (``config/central-api.json``, ``CentralClient.enroll``): ``POST
/v1/terminals:enroll`` with ``{"code": "..."}`` answers ``{"terminal_id": "...", "key":
"<hex>"}``. The request is not checked for a signature (the terminal has no key yet); the
code is the credential, single-use on central's side. The key is written 0600 before the config points
at it, so a crash in between leaves a terminal that is still enrolled under its old identity.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_TERMINAL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class EnrolmentError(Exception):
    """Central refused the code or answered something unusable; carries central's error."""


@dataclass(frozen=True)
class Enrolment:
    terminal_id: str
    key: bytes


def enroll(base_url: str, code: str, *, timeout: tuple[float, float] = (3.05, 10.0),
           ca_bundle: str | None = None) -> Enrolment:
    """Ask central for this terminal's identity. Goes through CentralClient like all HTTP."""
    from kiosk.central.client import CentralClient
    from kiosk.central.errors import BadResponse, CentralError

    if not code.strip():
        raise EnrolmentError("an enrolment code is required")
    # Placeholder identity and key: central ignores the signature on this one call.
    with CentralClient(base_url, "unenrolled", b"\0" * 32, ca_bundle=ca_bundle,
                       timeout=timeout, retries=0) as client:
        try:
            # CentralClient.enroll has checked that both fields are strings.
            data: dict[str, str] = client.enroll(code.strip())
        except BadResponse as exc:
            raise EnrolmentError(f"central's answer is unusable: {exc.detail}") from exc
        except CentralError as exc:
            raise EnrolmentError(f"enrolment refused: {exc.detail}") from exc
    terminal_id = data["terminal_id"]
    if not _TERMINAL_ID.fullmatch(terminal_id):
        raise EnrolmentError(f"central sent an unusable terminal id {terminal_id!r}")
    try:
        key = bytes.fromhex(data["key"])
    except ValueError as exc:
        raise EnrolmentError("central sent a key that is not hex") from exc
    if len(key) < 16:
        raise EnrolmentError(f"central sent a key of {len(key)} bytes; need >= 16")
    return Enrolment(terminal_id, key)


def write_key(path: str | os.PathLike[str], key: bytes) -> Path:
    """Store the key as hex, 0600, atomically; the directory is created 0700."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (key.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path
