"""What can go wrong when the terminal talks to the central platform: one exception type per
outcome a resident or technician must tell apart, each naming the resident's sentence.

Kept apart from the client so that code that only catches them (the outbox's sync worker, the
technician tools) does not load an HTTP stack."""

from __future__ import annotations


class CentralError(Exception):
    """Base of every central-platform failure. ``message_key`` names the resident's sentence."""

    message_key = "central.error"

    def __init__(self, detail: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None):
        super().__init__(detail)
        self.detail, self.status, self.code, self.retry_after = detail, status, code, retry_after


class CentralUnavailable(CentralError):
    """Platform down: cannot connect, connection dropped, 5xx, or an answer that is not
    central's (see :class:`BadResponse`)."""

    message_key = "central.unavailable"


class CentralTimeout(CentralUnavailable):
    """No connection or no answer within the call's timeout; ``phase`` is connect, read (one
    socket read waited too long) or deadline (the call's wall-clock limit passed)."""

    message_key = "central.timeout"
    phase = "read"


class NotFound(CentralError):
    message_key = "central.not_found"


class NotEligible(CentralError):
    """The platform says this resident cannot use this service (e.g. not a pensioner)."""

    message_key = "central.not_eligible"


class RateLimited(CentralError):
    message_key = "central.rate_limited"


class Unauthorized(CentralError):
    """The platform rejected this terminal's signature or credentials: a technician's problem."""

    message_key = "central.unauthorized"


class Rejected(CentralError):
    """The platform refused the request's content (400/409/422), e.g. a slot already full."""

    message_key = "central.rejected"


class AppCodeRefused(Rejected):
    """Central would not take the phone's code: ``reason`` is ``code_expired`` (refresh it in
    the app), ``code_used`` (each works once) or ``code_unknown``; each has its own sentence."""

    REASONS = ("code_expired", "code_used", "code_unknown")

    def __init__(self, detail: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(detail, status=status, code=reason)
        self.reason = reason
        self.message_key = f"app_code.{reason}"


class BadResponse(CentralUnavailable):
    """An answer we cannot use: not JSON, wrong shape, an unexpected status or a redirect.
    Whoever sent it (a captive portal, a proxy, a broken central), central did not take the
    request: for the outbox and for a visit that may queue, central is unavailable. Never
    retried by the client (the same request gets the same answer)."""

    message_key = "central.bad_response"


class Redirected(BadResponse):
    """A 3xx: never followed, since that would send the signed request and the resident's data
    to whatever host the ``Location`` names; whatever is there is not central."""


class ResponseTooLarge(BadResponse):
    """The body (counted decompressed) passed the call's byte limit; the rest is not read."""
