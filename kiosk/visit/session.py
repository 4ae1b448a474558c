"""One resident's visit: the identity and everything derived from it live here and nowhere
else, so that ending the session (finished, cancelled, idle timeout, card removed) is one
call that leaves nothing of the resident behind in memory we control."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drivers.identity import Identity
from kiosk.logs import release_sensitive, remember_sensitive

if TYPE_CHECKING:
    from kiosk.visit.service_result import ServiceResult


@dataclass
class Session:
    started: float
    last_activity: float
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    identity: Identity | None = None
    service_id: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    result: ServiceResult | None = None
    pin_ok: bool = False
    face_ok: bool = False
    face_failures: int = 0
    auth_override: str | None = None  # "ss_card+pin" after three failed face checks
    inputs_done: bool = False
    print_job_id: str | None = None
    printed: bool = False
    ended: bool = False
    end_reason: str | None = None
    attempts: dict[str, int] = field(default_factory=dict)  # service id -> attempts answered

    def attempt(self, service_id: str) -> str:
        """Names the resident's current attempt at a service, for its idempotency key: the
        same on every try until central has answered it, so a call that timed out after
        central did the work is never filed twice; the next attempt gets a new name."""
        return f"{self.id}/{service_id}/{self.attempts.get(service_id, 0)}"

    def attempt_answered(self, service_id: str) -> None:
        self.attempts[service_id] = self.attempts.get(service_id, 0) + 1

    def set_identity(self, identity: Identity) -> None:
        self.identity = identity
        remember_sensitive(identity.name, identity.name_en, identity.address, identity.id_number,
                           identity.pass_number, identity.card_number, owner=self.id)

    def touch(self, now: float) -> None:
        self.last_activity = now

    def end(self, reason: str) -> None:
        """Wipe the resident's data; the session object stays only as an ended marker.

        The log filter keeps masking this resident's values for a while (late replies log
        after the visit); it holds them as digests and wipes them on its own schedule."""
        release_sensitive(self.id)
        self.identity = None
        self.inputs = {}
        self.pin_ok = self.face_ok = self.inputs_done = False
        self.result = None
        self.service_id = None
        self.print_job_id = None
        self.ended = True
        self.end_reason = reason
