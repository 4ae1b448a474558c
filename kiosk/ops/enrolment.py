"""Enrolment: a new terminal trades a one-time code from central for its id and signing key.

Contract (``config/central-api.json``, ``CentralClient.enroll``): ``POST
/v1/terminals:enroll`` with ``{"code": "..."}`` answers ``{"terminal_id": "...", "key":
"<hex>"}``. The request is not checked for a signature (the terminal has no key yet); the
code is the credential, single-use on central's side. The reply is the terminal's signing key, so
the call goes over the same verified TLS as every other (``kiosk.parts.enrolment_client``: the
configured CA and client certificate). The key is written 0600 before the config points at it,
so a crash in between leaves a terminal that is still enrolled under its old identity.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.central.client import CentralClient
    from kiosk.central.fleet_client import FleetClient

log = logging.getLogger(__name__)

_TERMINAL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class EnrolmentError(Exception):
    """Central refused the code or answered something unusable; carries central's error."""


@dataclass(frozen=True)
class Enrolment:
    terminal_id: str
    key: bytes


def enroll(client: CentralClient | FleetClient, code: str) -> Enrolment:
    """Ask central for this terminal's identity through ``client``, the one the client factory
    builds for an unenrolled terminal (``kiosk.parts.enrolment_client``)."""
    from kiosk.central.errors import BadResponse, CentralError, CentralUnavailable

    if not code.strip():
        raise EnrolmentError("an enrolment code is required")
    try:
        # CentralClient.enroll has checked that both fields are strings.
        data: dict[str, str] = client.enroll(code.strip())
        if not all(isinstance(data.get(k), str) for k in ("terminal_id", "key")):
            raise BadResponse("enrolment reply without terminal_id and key")
    except BadResponse as exc:
        raise EnrolmentError(f"central's answer is unusable: {exc.detail}") from exc
    except CentralUnavailable as exc:
        raise EnrolmentError(f"central not reached: {exc.detail}") from exc
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
