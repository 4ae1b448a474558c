"""Which URLs a terminal may talk to in its mode (``[terminal] mode``).

In production every request to central (and to the update repository) goes over https:
plain http would carry residents' identities and the enrolment reply — the terminal's signing
key — readable and changeable by anyone on the hall's network. Demo and test terminals may use
plain http, but only to this machine (loopback: ``127.0.0.0/8``, ``::1``, ``localhost``),
where the simulators run; anything else is refused there too.

Lives in ``kiosk.central`` (not ``kiosk.parts``) so that ``kiosk.ops`` — the doctor and the
heartbeat — can ask the same question the client factory asks.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from kiosk.config import Config, ConfigError

# (section, key) of every URL setting the terminal connects to, with who it reaches
URL_SETTINGS = (("central", "url"), ("ops", "updates_url"), ("fleet", "url"))


class InsecureURL(ConfigError):
    """A plain http:// URL this terminal's mode does not allow; the message is the one line."""


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_problem(mode: str, url: str, setting: str) -> str | None:
    """Why ``url`` may not be used in ``mode``, as one line naming the setting; None if it may."""
    if not url.lower().startswith("http://"):
        return None  # https://, or empty (no updates)
    if mode == "production":
        return (f"{setting} = {url!r}: plain http:// is refused in production mode; use https:// "
                "(with central.ca_bundle for the platform's CA)")
    if not _loopback(urlsplit(url).hostname):
        return (f"{setting} = {url!r}: plain http:// is allowed in {mode} mode only to this "
                "machine (127.0.0.1, ::1, localhost); use https://")
    return None


def mode_of(config: Config) -> str:
    return str(config.get("terminal", "mode"))


def url_problems(config: Config, **overrides: str | None) -> list[str]:
    """Every URL setting this terminal may not use in its mode (``central_url=`` overrides
    ``central.url``, as a command-line flag does)."""
    problems = []
    for section, key in URL_SETTINGS:
        url = overrides.get(f"{section}_{key}") or config.get(section, key)
        problem = plain_http_problem(mode_of(config), str(url or ""), f"{section}.{key}")
        if problem:
            problems.append(problem)
    return problems


def require_allowed(config: Config, url: str, setting: str) -> str:
    """``url`` if this terminal's mode allows it, else :class:`InsecureURL` (one clear line)."""
    problem = plain_http_problem(mode_of(config), url, setting)
    if problem:
        raise InsecureURL(f"{config.source}: {problem}")
    return url
