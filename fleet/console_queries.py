"""Reads and writes the console needs beyond :mod:`fleet.store`: login throttling, the
fleet list's filter choices, the versions across the fleet, the enrolment codes' list, a
new enrolment code waiting in its operator's session to be shown once.

Login throttling lives in the database (the audit log's ``login.fail`` lines), not in a
replica's memory: an attacker spread over N replicas behind a balancer meets one limit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fleet import store
from fleet.schema import audit_log, sessions, terminals
from fleet.schema import enrol_codes as enrol_codes_table

THROTTLE_WINDOW_S = 15 * 60
MAX_FAILS_PER_ACCOUNT = 5  # a guessed password per 3 minutes per account at most
MAX_FAILS_PER_IP = 20  # one address trying many accounts


def login_blocked(conn: sa.Connection, username: str, ip: str, *, now: float) -> bool:
    """True when this account or this address failed too often within the window."""
    since = now - THROTTLE_WINDOW_S
    recent = sa.select(sa.func.count()).where(audit_log.c.action == "login.fail",
                                              audit_log.c.at > since)
    by_account = conn.execute(recent.where(audit_log.c.target == username[:128])).scalar_one()
    by_ip = conn.execute(recent.where(audit_log.c.actor == f"ip:{ip}"[:64])).scalar_one()
    return int(by_account) >= MAX_FAILS_PER_ACCOUNT or int(by_ip) >= MAX_FAILS_PER_IP


def record_login(conn: sa.Connection, username: str, ip: str, *, ok: bool,
                 now: float) -> None:
    """A login attempt in the audit log (failures count towards the throttle)."""
    if ok:
        store.audit(conn, username, "login", f"ip:{ip}", now=now)
    else:
        store.audit(conn, f"ip:{ip}"[:64], "login.fail", username[:128], now=now)


def filter_choices(conn: sa.Connection) -> dict[str, list[str]]:
    """Districts, halls and software versions present in the fleet (for the filter form)."""
    def distinct(col: Any) -> list[str]:
        return [str(v) for (v,) in conn.execute(sa.select(col).distinct().where(
            col.is_not(None), col != "").order_by(col))]
    return {"district": distinct(terminals.c.district), "hall": distinct(terminals.c.hall),
            "version": distinct(terminals.c.software_version)}


def version_counts(conn: sa.Connection) -> dict[str, list[tuple[str, int]]]:
    """``{kind: [(version, terminals)]}`` over enrolled terminals, most common first."""
    out: dict[str, list[tuple[str, int]]] = {}
    for kind in ("software", "catalog", "config"):
        col = terminals.c[f"{kind}_version"]
        rows = conn.execute(sa.select(col, sa.func.count()).where(
            terminals.c.state == "enrolled").group_by(col).order_by(sa.func.count().desc()))
        out[kind] = [(str(v) if v is not None else "-", int(n)) for v, n in rows]
    return out


def enrolled_terminals(conn: sa.Connection, *, now: float) -> list[dict[str, Any]]:
    """Every enrolled terminal's id, place, versions, state and the updates it reported
    failing (``update_failures``, store.update_failures) — for rollout progress."""
    state = store._state_expr(now).label("status")
    cols = [terminals.c.id, terminals.c.district, terminals.c.hall, terminals.c.group_name,
            terminals.c.software_version, terminals.c.catalog_version,
            terminals.c.config_version, terminals.c.last_heartbeat_at,
            terminals.c.interval_s, state]
    failures = store.update_failures(conn)
    return [{**r._mapping, "update_failures": failures.get(r.id, {})} for r in conn.execute(
        sa.select(*cols).where(terminals.c.state == "enrolled"))]


def enrol_codes(conn: sa.Connection, *, now: float, limit: int = 200) -> list[dict[str, Any]]:
    """The enrolment codes operators created, newest first, each ``unused``, ``used`` or
    ``expired`` — never the code itself (only its hash is stored, and that stays here)."""
    state = sa.case((enrol_codes_table.c.used_at.is_not(None), "used"),
                    (enrol_codes_table.c.expires_at <= now, "expired"),
                    else_="unused").label("status")
    cols = [c for c in enrol_codes_table.c if c.name != "code_hash"]
    rows = conn.execute(sa.select(*cols, state).order_by(enrol_codes_table.c.created_at.desc())
                        .limit(limit))
    return [dict(r._mapping) for r in rows]


def _session_key(token: str) -> tuple[bytes, bytes]:
    """The sealing key and the row's hash for a session cookie (the database holds neither
    the cookie nor the key: a copy of it reveals no waiting code)."""
    key = hmac.new(token.encode(), b"fleet console: a new enrolment code", hashlib.sha256)
    return key.digest(), hashlib.sha256(token.encode()).hexdigest().encode()


def hold_new_code(conn: sa.Connection, token: str, shown: dict[str, Any]) -> None:
    """Keep a new code (and what the page says about it) in this session until the page
    the POST redirects to shows it; a newer code replaces one never shown."""
    key, token_hash = _session_key(token)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, json.dumps(shown).encode(), token_hash)
    conn.execute(sessions.update().where(sessions.c.token_hash == token_hash.decode())
                 .values(new_code_sealed=sealed))


def take_new_code(conn: sa.Connection, token: str) -> dict[str, Any] | None:
    """The code waiting in this session, forgotten as it is read: exactly one request, on
    any replica, gets it (the clearing UPDATE is conditional on what was read)."""
    key, token_hash = _session_key(token)
    row = conn.execute(sa.select(sessions.c.new_code_sealed).where(
        sessions.c.token_hash == token_hash.decode(),
        sessions.c.new_code_sealed.is_not(None))).first()
    if row is None:
        return None
    sealed = bytes(row.new_code_sealed)
    taken = conn.execute(sessions.update().where(
        sessions.c.token_hash == token_hash.decode(), sessions.c.new_code_sealed == sealed)
        .values(new_code_sealed=None))
    if taken.rowcount != 1:
        return None
    try:
        shown: dict[str, Any] = json.loads(AESGCM(key).decrypt(sealed[:12], sealed[12:],
                                                               token_hash))
    except (InvalidTag, ValueError):
        return None
    return shown
