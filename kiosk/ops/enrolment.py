"""Enrolment: a new terminal trades a one-time code from central operations' fleet service for
its fleet id and signing key.

Contract (``fleet/fleet-api.json``, ``FleetClient.enroll``): ``POST /v1/enroll`` with
``{"code": "..."}`` answers ``{"terminal_id": "...", "key": "<hex>"}``. Operators make the
codes (``kiosk-fleet enrol-code`` or the console), single-use on the fleet's side. The request
is not checked for a signature (the terminal has no key yet); the code is the credential. The
reply is the terminal's signing key, so the call goes over the same verified TLS as every
other (``kiosk.parts.fleet_client(enrolling=True)``: the configured CA and client
certificate). The key is written 0600 before the config points at it, so a crash in between
leaves a terminal that is still enrolled under its old identity. The government platform's
key (``[central] key_file``) is provisioned by the platform, not here.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.central.fleet_client import FleetClient

log = logging.getLogger(__name__)

_TERMINAL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class EnrolmentError(Exception):
    """The fleet refused the code or answered something unusable; carries its error."""


@dataclass(frozen=True)
class Enrolment:
    terminal_id: str
    key: bytes


def enroll(client: FleetClient, code: str) -> Enrolment:
    """Ask the fleet for this terminal's identity through ``client``, the one the client
    factory builds for an unenrolled terminal (``kiosk.parts.fleet_client(enrolling=True)``)."""
    from kiosk.central.errors import BadResponse, CentralError, CentralUnavailable

    if not code.strip():
        raise EnrolmentError("an enrolment code is required")
    try:
        # the fleet document says both are strings; FleetClient.enroll has checked it
        data: dict[str, str] = client.enroll(code.strip())
        if not all(isinstance(data.get(k), str) for k in ("terminal_id", "key")):
            raise BadResponse("enrolment reply without terminal_id and key")
    except BadResponse as exc:
        raise EnrolmentError(f"the fleet's answer is unusable: {exc.detail}") from exc
    except CentralUnavailable as exc:
        raise EnrolmentError(f"the fleet not reached: {exc.detail}") from exc
    except CentralError as exc:
        raise EnrolmentError(f"enrolment refused: {exc.detail}") from exc
    terminal_id = data["terminal_id"]
    if not _TERMINAL_ID.fullmatch(terminal_id):
        raise EnrolmentError(f"the fleet sent an unusable terminal id {terminal_id!r}")
    try:
        key = bytes.fromhex(data["key"])
    except ValueError as exc:
        raise EnrolmentError("the fleet sent a key that is not hex") from exc
    if len(key) < 16:
        raise EnrolmentError(f"the fleet sent a key of {len(key)} bytes; need >= 16")
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
