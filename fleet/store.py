"""Every read and write of the fleet's tables, as plain functions over one connection.

The API, the CLI and the console call these and nothing else touches the tables, so the
rules live in one place: a command is delivered once, an enrolment code is used once, at
most one unresolved alert exists per terminal and problem, and every operator's change is
audited. Each function runs inside the caller's transaction (``with engine.begin() as conn``)
and takes ``now`` (epoch seconds) from the caller, so a request is one transaction with one
clock. Nothing is kept in memory between calls: any replica can serve any request.

Delivery: a heartbeat claims its terminal's deliverable commands with one
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` — on PostgreSQL the row
locks make two replicas' concurrent claims disjoint; on SQLite the statement runs inside a
``BEGIN IMMEDIATE`` transaction (fleet.db), which holds the one write lock. A heartbeat also
locks its terminal's row first (``SELECT … FOR UPDATE``), so one terminal's beats through
different replicas take turns; tests/fleet/test_replicas_and_outages.py shows that a naive
read-then-write claim without these delivers the same commands several times. A claim
gives the command a lease (:func:`command_lease`); a command still unacknowledged when its
lease ends is delivered again — the reply that carried it may never have reached the
terminal — up to :data:`MAX_DELIVERIES` times. So delivery is at least once, each delivery
to one heartbeat only; a terminal runs a command id at most once and acknowledges it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.dialects import postgresql, sqlite

from fleet.schema import (
    ROLES,
    alerts,
    audit_log,
    commands,
    diagnostics,
    enrol_codes,
    nonces,
    rollout_groups,
    rollouts,
    screenshots,
    sessions,
    telemetry_batches,
    telemetry_daily,
    terminal_events,
    terminals,
    users,
)
from fleet.update_targets import KINDS

log = logging.getLogger(__name__)

Row = dict[str, Any]

CST = timezone(timedelta(hours=8), "CST")  # what central speaks on the wire (+08:00)
TERMINAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
COMMANDS = ("restart_app", "maintenance_on", "maintenance_off", "reload_catalog",
            "reload_config", "sync_outbox", "collect_diagnostics", "take_screenshot",
            "check_updates")
LEASE_MIN_S = 60.0  # a delivered, unacknowledged command goes out again after its lease:
LEASE_INTERVALS = 2  # 2 x the terminal's heartbeat interval, at least LEASE_MIN_S
MAX_DELIVERIES = 5  # then the fleet gives up: the command is ``undelivered``
# keys that would carry a resident's identity (telemetry refuses them, reports drop them)
PERSONAL_KEYS = frozenset({"id_number", "name", "full_name", "address", "phone", "mobile",
                           "birth_date", "person_token", "face_jpeg", "identity"})
ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over a phone
LATE_AFTER = 1.5  # intervals without a heartbeat: late
OFFLINE_AFTER = 3  # intervals without a heartbeat: offline (the list's state, and rollouts')
SESSION_TTL_S = 8 * 3600

_hasher = PasswordHasher()


class StoreError(Exception):
    """A request the fleet refuses; ``code`` is the API's error code, ``status`` its HTTP."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def iso(ts: float | None) -> str | None:
    """Epoch seconds as RFC 3339 in China Standard Time (+08:00), as central sends times."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, CST).isoformat(timespec="seconds")


def _dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    return (postgresql.insert(table) if conn.dialect.name == "postgresql"
            else sqlite.insert(table))


def _insert_ignore(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any],
                   index_elements: Sequence[str], index_where: Any = None) -> bool:
    """Insert unless the unique key exists; True when a row was inserted."""
    stmt = _dialect_insert(conn, table).values(**values).on_conflict_do_nothing(
        index_elements=list(index_elements), index_where=index_where)
    # RETURNING, not rowcount: psycopg reports a row for an INSERT that did nothing
    return conn.execute(stmt.returning(table.c[index_elements[0]])).first() is not None


def audit(conn: sa.Connection, actor: str, action: str, target: str = "",
          detail: Mapping[str, Any] | None = None, *, now: float) -> None:
    """One line of the audit log: who did what to which, with what."""
    conn.execute(audit_log.insert().values(at=now, actor=actor, action=action, target=target,
                                           detail=dict(detail or {})))


def list_audit(conn: sa.Connection, *, limit: int = 100, actor: str | None = None,
               target: str | None = None) -> list[Row]:
    q = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if actor:
        q = q.where(audit_log.c.actor == actor)
    if target:
        q = q.where(audit_log.c.target == target)
    return [dict(r._mapping) for r in conn.execute(q)]


def _event(conn: sa.Connection, terminal_id: str, kind: str, detail: Mapping[str, Any],
           now: float) -> None:
    conn.execute(terminal_events.insert().values(terminal_id=terminal_id, at=now, kind=kind,
                                                 detail=dict(detail)))


# ---------------------------------------------------------------- enrolment and registry

def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def create_enrol_code(conn: sa.Connection, *, actor: str, now: float, ttl_s: float,
                      district: str = "", hall: str = "", group: str = "",
                      terminal_id: str | None = None) -> str:
    """A single-use code for ``kiosk enroll``. With ``terminal_id`` it re-enrols that
    terminal (a replacement machine after a revoke) or names a new one."""
    if terminal_id is not None:
        if not TERMINAL_ID.match(terminal_id):
            raise StoreError("bad_request", "terminal id: 1-64 of A-Z a-z 0-9 _ -")
        row = conn.execute(sa.select(terminals.c.state).where(
            terminals.c.id == terminal_id)).first()
        if row is not None and row.state != "revoked":
            raise StoreError("terminal_enrolled",
                             f"terminal {terminal_id} is enrolled: revoke it first", 409)
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    code = "-".join(raw[i:i + 4] for i in range(0, 12, 4))
    conn.execute(enrol_codes.insert().values(
        code_hash=_code_hash(code), created_at=now, expires_at=now + ttl_s, created_by=actor,
        terminal_id=terminal_id, district=district, hall=hall, group_name=group))
    audit(conn, actor, "enrol_code.create", terminal_id or "",
          {"district": district, "hall": hall, "group": group, "ttl_s": ttl_s}, now=now)
    return code


@dataclass(frozen=True)
class Enrolment:
    terminal_id: str
    key_hex: str
    interval_s: int


def enrol(conn: sa.Connection, code: str, *, now: float, interval_s: int) -> Enrolment:
    """Use a code (once: the claim is one conditional UPDATE) and give the terminal its id
    and a fresh key. A re-enrolled terminal keeps its id and history, not its old key."""
    claimed = conn.execute(
        enrol_codes.update()
        .where(enrol_codes.c.code_hash == _code_hash(code), enrol_codes.c.used_at.is_(None),
               enrol_codes.c.expires_at > now)
        .values(used_at=now)
        .returning(enrol_codes.c.code_hash, enrol_codes.c.terminal_id, enrol_codes.c.district,
                   enrol_codes.c.hall, enrol_codes.c.group_name)).first()
    if claimed is None:
        raise StoreError("bad_code", "enrolment code unknown, used or expired", 403)
    key_hex = secrets.token_hex(32)
    terminal_id = claimed.terminal_id or f"T{uuid.uuid4().hex[:11].upper()}"
    existing = conn.execute(sa.select(terminals.c.state, terminals.c.district, terminals.c.hall,
                                      terminals.c.group_name).where(
        terminals.c.id == terminal_id).with_for_update()).first()
    if existing is not None and existing.state != "revoked":
        raise StoreError("terminal_enrolled", f"terminal {terminal_id} is enrolled", 409)
    fresh = dict(key_hex=key_hex, state="enrolled", enrolled_at=now, revoked_at=None,
                 # a replacement stands where the old machine stood unless the code says
                 district=claimed.district or (existing.district if existing else ""),
                 hall=claimed.hall or (existing.hall if existing else ""),
                 group_name=claimed.group_name or (existing.group_name if existing else ""),
                 interval_s=interval_s, last_heartbeat_at=None, devices=None, faults="",
                 fault_count=0, outbox_depth=None, outbox_oldest_s=None, screen=None,
                 uptime_s=None, maintenance=False)
    if existing is None:
        conn.execute(terminals.insert().values(id=terminal_id, **fresh))
    else:
        conn.execute(terminals.update().where(terminals.c.id == terminal_id).values(**fresh))
    conn.execute(enrol_codes.update().where(enrol_codes.c.code_hash == claimed.code_hash)
                 .values(enrolled_terminal=terminal_id))
    _event(conn, terminal_id, "enrolled", {"replacement": existing is not None}, now)
    audit(conn, "terminal", "terminal.enrol", terminal_id,
          {"replacement": existing is not None}, now=now)
    return Enrolment(terminal_id, key_hex, interval_s)


def revoke_terminal(conn: sa.Connection, terminal_id: str, *, actor: str, now: float) -> None:
    """A stolen or scrapped machine: its key stops working at once; its history stays."""
    done = conn.execute(terminals.update().where(terminals.c.id == terminal_id,
                                                 terminals.c.state != "revoked")
                        .values(state="revoked", revoked_at=now)).rowcount
    if not done:
        exists = conn.execute(sa.select(terminals.c.id).where(
            terminals.c.id == terminal_id)).first()
        raise StoreError("unknown_terminal" if exists is None else "terminal_revoked",
                         f"terminal {terminal_id} is not enrolled", 404)
    _event(conn, terminal_id, "revoked", {"by": actor}, now)
    audit(conn, actor, "terminal.revoke", terminal_id, now=now)


def terminal_for_update(conn: sa.Connection, terminal_id: str) -> Row | None:
    """The terminal's whole row, locked until the transaction ends (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already holds the write lock), or None. One round trip that serves
    both the signature check and the heartbeat that follows it."""
    row = conn.execute(sa.select(terminals).where(terminals.c.id == terminal_id)
                       .with_for_update()).first()
    return None if row is None else dict(row._mapping)


def terminal_key(conn: sa.Connection, terminal_id: str) -> tuple[bytes, str] | None:
    """The terminal's HMAC key and state, or None when no such terminal was ever enrolled."""
    row = conn.execute(sa.select(terminals.c.key_hex, terminals.c.state).where(
        terminals.c.id == terminal_id)).first()
    return None if row is None else (bytes.fromhex(row.key_hex), row.state)


def remember_nonce(conn: sa.Connection, terminal_id: str, nonce: str, now: float) -> bool:
    """False when this terminal used this nonce before (a replay), else records it."""
    return _insert_ignore(conn, nonces, {"terminal_id": terminal_id, "nonce": nonce,
                                         "seen_at": now}, ("terminal_id", "nonce"))


def purge_nonces(conn: sa.Connection, before: float) -> int:
    """Nonces older than the timestamp window can never be replayed: forget them."""
    return int(conn.execute(nonces.delete().where(nonces.c.seen_at < before)).rowcount)


# ---------------------------------------------------------------- heartbeats and alerts

def device_faults(devices: Mapping[str, Any]) -> dict[str, str]:
    """``{device: fault}`` for each device that needs a person: a fault code, or a state
    that is a fault by itself (``error``, ``offline``)."""
    out: dict[str, str] = {}
    for name, status in devices.items():
        if not isinstance(status, Mapping):
            continue
        fault, state = status.get("fault"), status.get("state")
        if isinstance(fault, str) and fault:
            out[name] = fault
        elif state in ("error", "offline"):
            out[name] = str(state)
    return out


def beat_faults(beat: Mapping[str, Any]) -> dict[str, str]:
    """:func:`device_faults`, and ``outbox: outbox_damaged`` while the terminal reports its
    outbox file damaged (kept aside, what it held maybe partly lost) or ``outbox_unavailable``
    when it has none (it takes no offline submissions): a technician's job, derived into an
    alert and events like a device fault, cleared the same way."""
    faults = device_faults(dict(beat.get("devices") or {}))
    outbox = beat.get("outbox")
    state = outbox.get("state") if isinstance(outbox, Mapping) else None
    if state in ("damaged", "unavailable"):
        faults["outbox"] = f"outbox_{state}"
    return faults


def _outbox_detail(outbox: Any) -> dict[str, Any]:
    """The damaged outbox as a device status, for its alert's detail: why, and where the
    terminal kept the file (paths and SQLite's words, no payload)."""
    if not isinstance(outbox, Mapping):
        return {}
    damage = outbox.get("damage")  # a fresh outbox in use beside the damaged copy
    found = damage if isinstance(damage, Mapping) else outbox
    parts = [str(found[k]) for k in ("reason", "moved_to") if found.get(k)]
    if found.get("lost"):
        parts.append(f"lost {found['lost']}")
    return {"state": "error", "detail": " · ".join(parts)}


def _faults_text(faults: Mapping[str, str]) -> str:
    return "".join(f",{d}:{f}" for d, f in sorted(faults.items())) + ("," if faults else "")


def _parse_faults(text: str) -> dict[str, str]:
    pairs = (p.split(":", 1) for p in text.strip(",").split(",") if ":" in p)
    return {d: f for d, f in pairs}


def _open_alert(conn: sa.Connection, terminal_id: str, kind: str, device: str, code: str,
                detail: str, now: float, version: str | None = None) -> bool:
    return _insert_ignore(
        conn, alerts, {"terminal_id": terminal_id, "kind": kind, "device": device, "code": code,
                       "detail": detail[:500], "state": "open", "opened_at": now,
                       "version": version},
        ("terminal_id", "kind", "device", "code"), index_where=sa.text("state != 'resolved'"))


def _resolve_alerts(conn: sa.Connection, where: Iterable[Any], now: float) -> int:
    return int(conn.execute(alerts.update().where(alerts.c.state != "resolved", *where)
                            .values(state="resolved", resolved_at=now, resolved_by="auto"))
               .rowcount)


def record_heartbeat(conn: sa.Connection, terminal_id: str, beat: Mapping[str, Any], *,
                     now: float, offline_after: int = 3, locked: Row | None = None,
                     lease_min_s: float = LEASE_MIN_S,
                     max_deliveries: int = MAX_DELIVERIES) -> Row:
    """Store what the terminal reports, derive its alerts, and answer with its pending
    commands and rollout targets. ``beat`` is already validated against ``Heartbeat``.
    Acknowledgements in the beat are applied first; one for a command that is not this
    terminal's refuses the whole beat (StoreError), so nothing of it is stored. ``locked``:
    the row :func:`terminal_for_update` returned in this transaction, if the caller has it."""
    row = locked if locked is not None else terminal_for_update(conn, terminal_id)
    prev = None if row is None else _RowView(row)
    if prev is None or prev.state != "enrolled":
        raise StoreError("unknown_terminal", f"terminal {terminal_id} is not enrolled", 401)
    ignored: list[str] = []
    for ack in beat.get("acks") or ():
        if ack_command(conn, terminal_id, ack["id"], ok=bool(ack["ok"]),
                       result={"detail": ack["detail"]} if "detail" in ack else None, now=now,
                       unknown_ok=True) is None:
            ignored.append(ack["id"])
    devices = dict(beat.get("devices") or {})
    faults = beat_faults(beat)
    faults_text = _faults_text(faults)
    versions = beat.get("versions") or {}
    outbox = beat.get("outbox") or {}
    depth = outbox.get("pending")
    oldest = outbox.get("oldest_ready_age_s")
    values: Row = dict(
        last_heartbeat_at=now, devices=devices, faults=faults_text, fault_count=len(faults),
        software_version=_version(versions.get("software")),
        catalog_version=_version(versions.get("catalog")),
        config_version=_version(versions.get("config")),
        outbox_depth=depth if isinstance(depth, int) else None,
        outbox_oldest_s=float(oldest) if isinstance(oldest, (int, float)) else None,
        screen=beat.get("screen"), uptime_s=beat.get("uptime_s"),
        maintenance=bool(beat.get("maintenance", False)))
    conn.execute(terminals.update().where(terminals.c.id == terminal_id).values(**values))
    if faults_text != prev.faults:
        _derive_device_alerts(conn, terminal_id, _parse_faults(prev.faults), faults,
                              {**devices, "outbox": _outbox_detail(outbox)}, now)
    for kind in ("software", "catalog", "config"):
        if values[f"{kind}_version"] != getattr(prev, f"{kind}_version"):
            _event(conn, terminal_id, "version", {"kind": kind, "from": getattr(
                prev, f"{kind}_version"), "to": values[f"{kind}_version"]}, now)
            # it runs the version that failed before: that update alert is over
            _resolve_alerts(conn, (alerts.c.terminal_id == terminal_id,
                                   alerts.c.kind == "update", alerts.c.device == kind,
                                   alerts.c.version == values[f"{kind}_version"]), now)
    if beat.get("reports"):
        record_reports(conn, terminal_id, beat["reports"],
                       {k: values[f"{k}_version"] for k in ("software", "catalog", "config")},
                       now=now)
    silent_since = prev.last_heartbeat_at
    if silent_since is None or now - silent_since > offline_after * prev.interval_s:
        if _resolve_alerts(conn, (alerts.c.terminal_id == terminal_id,
                                  alerts.c.kind == "offline"), now):
            _event(conn, terminal_id, "back_online", {}, now)
    pending = claim_commands(conn, terminal_id, now=now,
                             lease_s=command_lease(prev.interval_s, lease_min_s),
                             max_deliveries=max_deliveries)
    reply: Row = {"server_time": iso(now), "commands": pending,
                  "targets": rollout_targets(conn, prev.row),
                  "next_heartbeat_s": prev.interval_s}
    if ignored:
        reply["ignored_acks"] = ignored
    return reply


# The steady-state heartbeat (PostgreSQL), one statement per batch (_FAST_BATCH_SQL). It
# applies only when nothing but the latest-only columns changes: the key the caller verified with is still the row's and
# the terminal is enrolled (so a revoke or a re-enrolment takes effect on the very next
# request, whatever a replica has cached), the fault string, the versions are the row's, and
# the terminal was not silent past ``offline_after`` intervals. Then it locks the row, records
# the nonce, updates the row, claims deliverable commands with a lease (FOR UPDATE SKIP
# LOCKED, as claim_commands) and reads the running rollouts — and commits before it answers. ``matched = 0``: something changed (or the key/state did not hold); nothing was
# written and the caller takes record_heartbeat's path, which derives the alerts and events.


async def enrolled_key_fast(aconn: Any, terminal_id: str) -> str | None:
    """The enrolled terminal's key (hex) on a psycopg ``AsyncConnection``, else None."""
    cur = await aconn.execute("SELECT key_hex FROM terminals WHERE id = %s AND state = "
                              "'enrolled'", (terminal_id,), prepare=True)
    row = await cur.fetchone()
    return None if row is None else str(row[0])


class Replayed(StoreError):
    """The fast heartbeat found the terminal's nonce already used."""

    def __init__(self) -> None:
        super().__init__("replayed_nonce", "nonce already used", 401)


def fast_beat_params(terminal_id: str, key_hex: str, nonce: str, beat: Mapping[str, Any], *,
                     now: float, offline_after: int = 3, lease_min_s: float = LEASE_MIN_S,
                     max_deliveries: int = MAX_DELIVERIES) -> Row | None:
    """The parameters of the one-statement heartbeat, or None when the beat carries acks
    or reports (they take :func:`record_heartbeat`, which applies them first)."""
    if beat.get("acks") or beat.get("reports"):
        return None
    devices = dict(beat.get("devices") or {})
    faults = beat_faults(beat)  # an outbox found damaged changes them: record_heartbeat's path
    versions = beat.get("versions") or {}
    outbox = beat.get("outbox") or {}
    depth, oldest = outbox.get("pending"), outbox.get("oldest_ready_age_s")
    return {
        "tid": terminal_id, "key": key_hex, "faults": _faults_text(faults), "nonce": nonce,
        "sv": _version(versions.get("software")), "cv": _version(versions.get("catalog")),
        "fv": _version(versions.get("config")), "now": now, "offline_after": offline_after,
        "lease_min": float(lease_min_s), "lease_intervals": LEASE_INTERVALS,
        "max_deliveries": int(max_deliveries),
        "devices": devices, "fault_count": len(faults),
        "depth": depth if isinstance(depth, int) else None,
        "oldest": float(oldest) if isinstance(oldest, (int, float)) else None,
        "screen": beat.get("screen"), "uptime": beat.get("uptime_s"),
        "maintenance": bool(beat.get("maintenance", False))}


# The same steady-state heartbeat for a whole batch of terminals in one statement: the beats
# arrive as one JSON array (json_to_recordset), sorted by terminal id, and each terminal's
# row is probed and locked in that order (two flushers or two replicas lock in the same
# order: no deadlock); each input row comes back as one result row — ``ord`` and then the
# columns :func:`fast_beat_reply` reads, the commands claimed (or redelivered after their
# lease) for that terminal included. A terminal appears at most once per statement
# (record_heartbeats_fast splits the rest into later statements of the same transaction).
# Both reads of ``terminals`` are shaped to stay on its primary key: the planner cannot
# know how many rows json_to_recordset gives (it assumes 100), and a plain join or
# ``IN (SELECT ...)`` made it hash the whole table — a sequential scan of all 10,000
# terminals per statement, ~4 ms, which a small batch paid per beat. The LATERAL probe
# (LIMIT 1 keeps it from being flattened into a join) and ``= ANY(ARRAY(...))`` are index
# lookups whatever the table's size or statistics.
_FAST_BATCH_SQL = """
WITH input AS (
  SELECT * FROM json_to_recordset(%(batch)s::json) AS b(
    ord int, tid text, key text, faults text, nonce text, sv text, cv text, fv text,
    now float8, offline_after float8, lease_min float8, lease_intervals float8,
    max_deliveries int, devices json, fault_count int, depth int, oldest float8,
    screen text, uptime float8, maintenance boolean)
), old AS (
  SELECT t.id, t.district, t.hall, t.group_name, t.interval_s, i.*
  FROM input i CROSS JOIN LATERAL (
    SELECT t.id, t.district, t.hall, t.group_name, t.interval_s FROM terminals t
    WHERE t.id = i.tid AND t.state = 'enrolled' AND t.key_hex = i.key AND t.faults = i.faults
      AND t.software_version IS NOT DISTINCT FROM i.sv
      AND t.catalog_version IS NOT DISTINCT FROM i.cv
      AND t.config_version IS NOT DISTINCT FROM i.fv
      AND t.last_heartbeat_at IS NOT NULL
      AND i.now - t.last_heartbeat_at <= i.offline_after * t.interval_s
    LIMIT 1 FOR UPDATE) t
), fresh AS (
  INSERT INTO nonces (terminal_id, nonce, seen_at) SELECT id, nonce, now FROM old
  ORDER BY id ON CONFLICT DO NOTHING RETURNING terminal_id
), beat AS (
  UPDATE terminals t SET last_heartbeat_at = o.now, devices = o.devices,
    fault_count = o.fault_count, outbox_depth = o.depth, outbox_oldest_s = o.oldest,
    screen = o.screen, uptime_s = o.uptime, maintenance = o.maintenance
  FROM old o WHERE t.id = o.id AND t.id = ANY(ARRAY(SELECT terminal_id FROM fresh))
  RETURNING t.id
), claimed AS (
  UPDATE commands c SET delivered_at = pick.now, deliveries = c.deliveries + 1,
    lease_until = pick.now + GREATEST(pick.lease_min, pick.lease_intervals * pick.interval_s)
  FROM (SELECT o.now, o.lease_min, o.lease_intervals, o.interval_s, p.id
        FROM old o JOIN fresh f ON f.terminal_id = o.id,
        LATERAL (SELECT c2.id FROM commands c2
                 WHERE c2.terminal_id = o.id AND c2.acked_at IS NULL AND c2.expires_at > o.now
                   AND c2.deliveries < o.max_deliveries
                   AND (c2.lease_until IS NULL OR c2.lease_until <= o.now)
                 ORDER BY c2.created_at LIMIT 20 FOR UPDATE SKIP LOCKED) p) pick
  WHERE c.id = pick.id
  RETURNING c.terminal_id, c.id, c.command, c.args, c.created_at, c.expires_at, c.deliveries
), running AS (
  SELECT json_agg(json_build_array(r.id, r.kind, r.version, g.selector) ORDER BY r.id) AS r
  FROM rollouts r JOIN rollout_groups g ON g.rollout_id = r.id
  WHERE r.state = 'running' AND g.started_at IS NOT NULL
)
SELECT i.ord, (o.id IS NOT NULL)::int AS matched, (b.id IS NOT NULL)::int AS fresh,
  (SELECT json_agg(json_build_array(cl.id, cl.command, cl.args, cl.expires_at, cl.deliveries)
     ORDER BY cl.created_at, cl.id) FROM claimed cl WHERE cl.terminal_id = i.tid) AS commands,
  o.district, o.hall, o.group_name, o.interval_s, running.r
FROM input i LEFT JOIN old o ON o.id = i.tid LEFT JOIN beat b ON b.id = i.tid
  CROSS JOIN running
"""


def _batch_rounds(batch: Sequence[Row]) -> list[list[int]]:
    """``batch``'s indices in terminal id order, split so that no terminal appears twice in
    one statement (a second beat of the same terminal goes to the next statement, which
    sees the first's nonce and row)."""
    rounds: list[list[int]] = []
    seen: list[set[str]] = []
    for i in sorted(range(len(batch)), key=lambda i: batch[i]["tid"]):
        tid = batch[i]["tid"]
        n = next((k for k, tids in enumerate(seen) if tid not in tids), len(rounds))
        if n == len(rounds):
            rounds.append([])
            seen.append(set())
        rounds[n].append(i)
        seen[n].add(tid)
    return rounds


async def record_heartbeats_fast(aconn: Any, batch: Sequence[Row]) -> list[tuple[Any, ...]]:
    """Run the steady-state heartbeat for all of ``batch`` (:func:`fast_beat_params`) on an
    autocommit psycopg ``AsyncConnection`` as one statement (one per repeat of a terminal),
    in one transaction committed before this returns (a group commit): one parse and one
    round trip instead of one per beat. Any error rolls the whole batch back. The result
    rows in ``batch``'s order, as :func:`fast_beat_reply` reads them."""
    rounds = _batch_rounds(batch)
    rows: dict[int, tuple[Any, ...]] = {}

    async def run(indices: list[int]) -> None:
        items = [dict(batch[i], ord=i) for i in indices]
        try:  # orjson: quicker, and NaN/Infinity (which json.loads lets in) become null
            text = orjson.dumps(items).decode()
        except orjson.JSONEncodeError:  # an integer past 64 bits: PostgreSQL judges it
            text = json.dumps(items)
        cur = await aconn.execute(_FAST_BATCH_SQL, {"batch": text}, prepare=True)
        for row in await cur.fetchall():
            rows[row[0]] = tuple(row[1:])

    if len(rounds) == 1:
        await run(rounds[0])
    else:
        async with aconn.transaction():
            for indices in rounds:
                await run(indices)
    return [rows[i] for i in range(len(batch))]


def fast_beat_reply(row: tuple[Any, ...], terminal_id: str, *, now: float) -> Row | None:
    """The reply from one statement's result row, as :func:`record_heartbeat` answers; None
    when the statement did not apply (nothing was written: take record_heartbeat); raises
    :class:`Replayed` for a used nonce (nothing written)."""
    matched, fresh, claimed, district, hall, group_name, interval_s, running = row
    if not matched:
        return None
    if not fresh:
        raise Replayed()
    terminal = {"id": terminal_id, "district": district, "hall": hall,
                "group_name": group_name}
    targets: dict[str, Row] = {}
    for rollout_id, kind, version, selector in running or ():
        if _selected(selector, terminal):
            targets[kind] = {"version": version, "rollout": int(rollout_id)}
    return {"server_time": iso(now),
            "commands": [{"id": c, "command": name, "args": args or {},
                          "expires_at": iso(expires), "delivery": n}
                         for c, name, args, expires, n in claimed or ()],
            "targets": targets, "next_heartbeat_s": interval_s}


class _RowView:
    """Attribute access to a row dict (``prev.faults``), as SQLAlchemy rows have."""

    def __init__(self, row: Row) -> None:
        self.row = row

    def __getattr__(self, name: str) -> Any:
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None


def _version(value: Any) -> str | None:
    return None if value is None else str(value)[:64]


def _derive_device_alerts(conn: sa.Connection, terminal_id: str, before: Mapping[str, str],
                          after: Mapping[str, str], devices: Mapping[str, Any],
                          now: float) -> None:
    for device, fault in after.items():
        if before.get(device) != fault:
            status = devices.get(device) or {}
            detail = str(status.get("detail") or "") if isinstance(status, Mapping) else ""
            _open_alert(conn, terminal_id, "device", device, fault, detail, now)
            _event(conn, terminal_id, "fault", {"device": device, "fault": fault}, now)
    for device, fault in before.items():
        if after.get(device) != fault:
            _resolve_alerts(conn, (alerts.c.terminal_id == terminal_id,
                                   alerts.c.kind == "device", alerts.c.device == device,
                                   alerts.c.code == fault), now)
            _event(conn, terminal_id, "fault_cleared", {"device": device, "fault": fault}, now)


# ---------------------------------------------------------------- reports

UPDATE_FAILED = frozenset({"rejected", "rolled_back"})  # outcomes that are an update failure
UPDATE_QUIET = frozenset({"up_to_date", "skipped"})  # nothing happened: no event
_REPORT_FIELDS = ("kind", "target", "version", "previous", "outcome", "reason", "ok", "detail")
_REPORT_TEXT = 500  # characters kept of one text field


def _text(value: Any, limit: int = _REPORT_TEXT) -> str | None:
    """A report's text, cut to ``limit`` and with any ID number masked."""
    if value is None:
        return None
    return ID_NUMBER.sub("[id masked]", str(value))[:limit]


def _update_report(u: Mapping[str, Any]) -> Row:
    outcome = _text(u.get("outcome"), 32)
    ok = u.get("ok") if isinstance(u.get("ok"), bool) else outcome not in UPDATE_FAILED
    return {"kind": "update", "target": _text(u.get("kind") or u.get("target"), 32),
            "version": _text(u.get("version"), 64), "previous": _text(u.get("previous"), 64),
            "outcome": outcome, "reason": _text(u.get("reason"), 64), "ok": ok,
            "detail": _text(u.get("detail")) or ""}


def normalize_report(raw: Mapping[str, Any]) -> Row:
    """A heartbeat report as the fleet keeps it (``Report`` in fleet-api.json): ``kind``
    and a few bounded fields, whatever shape it came in — the terminal's ``{"update":
    UpdateResult}``, ``{"technician": …}``, ``{"warnings", "left_behind"}``, or the flat
    shape. Fields named like identity data are dropped, ID numbers masked, text cut."""
    if isinstance(raw.get("update"), Mapping):
        return _update_report(raw["update"])
    if raw.get("type") == "update":  # an UpdateResult sent flat: its kind is the target
        return _update_report(raw)
    if isinstance(raw.get("technician"), Mapping):
        tech = raw["technician"]
        return {"kind": "technician", "ok": bool(tech.get("ok")),
                "detail": _text(tech.get("fault") or tech.get("detail")) or ""}
    if "warnings" in raw or "left_behind" in raw:
        def texts(key: str, limit: int) -> list[str]:
            items = raw.get(key)
            return [t for t in (_text(i, limit) for i in items[:20]) if t] if isinstance(
                items, list) else []
        return {"kind": "warnings", "warnings": texts("warnings", 200),
                "left_behind": texts("left_behind", 32)}
    if isinstance(raw.get("kind"), str):
        out: Row = {}
        for key in _REPORT_FIELDS:
            value = raw.get(key)
            if isinstance(value, bool) or value is None:
                out[key] = value
            else:
                out[key] = _text(value, 64 if key != "detail" else _REPORT_TEXT)
        if out["kind"] == "update":
            return {**out, "ok": out["ok"] if isinstance(out["ok"], bool)
                    else out["outcome"] not in UPDATE_FAILED}
        return {k: v for k, v in out.items() if v is not None}
    keys = sorted(str(k)[:32] for k in raw if str(k).lower() not in PERSONAL_KEYS)
    return {"kind": "other", "keys": keys[:16]}


def _carries_personal_data(raw: Any) -> bool:
    if isinstance(raw, Mapping):
        return any(str(k).lower() in PERSONAL_KEYS or _carries_personal_data(v)
                   for k, v in raw.items())
    if isinstance(raw, list):
        return any(_carries_personal_data(v) for v in raw)
    return isinstance(raw, str) and ID_NUMBER.search(raw) is not None


def record_reports(conn: sa.Connection, terminal_id: str, reports: Sequence[Any],
                   versions: Mapping[str, str | None], *, now: float) -> int:
    """Keep each report as a ``report`` event (normalized, bounded, no personal data); an
    update failure opens an ``update_failed`` alert for its kind, which the terminal
    running that version or applying an update of the kind resolves. ``versions``: what
    the terminal runs now (after this beat). Warnings repeat on every beat while they hold:
    kept only when they changed. The events written."""
    written = 0
    for raw in reports:
        if not isinstance(raw, Mapping):
            continue
        if _carries_personal_data(raw):
            log.warning("terminal %s sent a report with personal data: stripped", terminal_id)
        report = normalize_report(raw)
        if report["kind"] == "update":
            _update_alert(conn, terminal_id, report, versions, now)
            if report["outcome"] in UPDATE_QUIET:
                continue
        if report["kind"] == "warnings" and _last_report(conn, terminal_id, "warnings") == report:
            continue
        _event(conn, terminal_id, "report", report, now)
        written += 1
    return written


def _last_report(conn: sa.Connection, terminal_id: str, kind: str) -> Any:
    for (detail,) in conn.execute(
            sa.select(terminal_events.c.detail).where(terminal_events.c.terminal_id == terminal_id,
                                                      terminal_events.c.kind == "report")
            .order_by(terminal_events.c.id.desc()).limit(20)):
        if isinstance(detail, Mapping) and detail.get("kind") == kind:
            return dict(detail)
    return None


def _update_alert(conn: sa.Connection, terminal_id: str, report: Row,
                  versions: Mapping[str, str | None], now: float) -> None:
    target = report.get("target")
    if not target:
        return
    where = (alerts.c.terminal_id == terminal_id, alerts.c.kind == "update",
             alerts.c.device == target)
    if report["ok"]:
        if report["outcome"] == "applied":
            _resolve_alerts(conn, where, now)
        return
    version = report.get("version")
    if version is not None and versions.get(target) == version:
        return  # it runs that version after all (an old report arriving late)
    detail = f"{version or '?'}: {report.get('reason') or report.get('outcome') or 'failed'}"
    if report.get("detail"):
        detail += f" — {report['detail']}"
    if not _open_alert(conn, terminal_id, "update", target, "update_failed", detail, now,
                       version=version):  # one open already: it is now about this failure
        conn.execute(alerts.update().where(alerts.c.state != "resolved", *where,
                                           alerts.c.code == "update_failed")
                     .values(detail=detail[:500], version=version))


def update_failures(conn: sa.Connection) -> dict[str, dict[str, Row]]:
    """``{terminal: {kind: {"version", "reason"}}}`` from the unresolved update_failed
    alerts: the updates a terminal reported failing and does not run since."""
    out: dict[str, dict[str, Row]] = {}
    for r in conn.execute(sa.select(alerts.c.terminal_id, alerts.c.device, alerts.c.version,
                                    alerts.c.detail).where(
            alerts.c.kind == "update", alerts.c.code == "update_failed",
            alerts.c.state != "resolved")):
        out.setdefault(r.terminal_id, {})[r.device] = {"version": r.version, "reason": r.detail}
    return out


def sweep_offline(conn: sa.Connection, *, now: float, offline_after: int = 3) -> int:
    """Open an offline alert for each enrolled terminal silent past ``offline_after`` of its
    intervals, resolve those that spoke since. Safe on N replicas at once: the unique index
    on unresolved alerts makes a second opening a no-op."""
    cutoff = now - offline_after * terminals.c.interval_s
    silent = conn.execute(sa.select(terminals.c.id, terminals.c.last_heartbeat_at).where(
        terminals.c.state == "enrolled", terminals.c.last_heartbeat_at.is_not(None),
        terminals.c.last_heartbeat_at < cutoff)).all()
    opened = 0
    for row in silent:
        if _open_alert(conn, row.id, "offline", "", "offline",
                       f"no heartbeat since {iso(row.last_heartbeat_at)}", now):
            opened += 1
            _event(conn, row.id, "offline", {"last_heartbeat": iso(row.last_heartbeat_at)},
                   now)
    fresh = sa.select(terminals.c.id).where(terminals.c.last_heartbeat_at >= cutoff)
    _resolve_alerts(conn, (alerts.c.kind == "offline", alerts.c.terminal_id.in_(fresh)), now)
    return opened


def list_alerts(conn: sa.Connection, *, now: float, state: str | None = None,
                terminal_id: str | None = None, limit: int = 200) -> list[Row]:
    """Alerts, newest first, each with how long it has been (or was) open."""
    q = sa.select(alerts).order_by(alerts.c.opened_at.desc(), alerts.c.id.desc()).limit(limit)
    if state == "unresolved":
        q = q.where(alerts.c.state != "resolved")
    elif state:
        q = q.where(alerts.c.state == state)
    if terminal_id:
        q = q.where(alerts.c.terminal_id == terminal_id)
    out = []
    for r in conn.execute(q):
        row = dict(r._mapping)
        row["open_for_s"] = (row["resolved_at"] or now) - row["opened_at"]
        out.append(row)
    return out


def acknowledge_alert(conn: sa.Connection, alert_id: int, *, actor: str, now: float,
                      assign_to: str | None = None) -> None:
    """open → acknowledged (a work order someone owns), optionally assigned."""
    values: Row = {"state": "acknowledged", "acknowledged_at": now, "acknowledged_by": actor}
    if assign_to is not None:
        values["assigned_to"] = assign_to
    done = conn.execute(alerts.update().where(alerts.c.id == alert_id,
                                              alerts.c.state == "open").values(**values))
    if not done.rowcount:
        raise StoreError("no_such_alert", f"alert {alert_id} is not open", 404)
    audit(conn, actor, "alert.acknowledge", str(alert_id), {"assign_to": assign_to}, now=now)


def assign_alert(conn: sa.Connection, alert_id: int, assignee: str | None, *, actor: str,
                 now: float) -> None:
    done = conn.execute(alerts.update().where(alerts.c.id == alert_id,
                                              alerts.c.state != "resolved")
                        .values(assigned_to=assignee))
    if not done.rowcount:
        raise StoreError("no_such_alert", f"alert {alert_id} is not unresolved", 404)
    audit(conn, actor, "alert.assign", str(alert_id), {"assignee": assignee}, now=now)


def resolve_alert(conn: sa.Connection, alert_id: int, *, actor: str, now: float) -> None:
    done = conn.execute(alerts.update().where(alerts.c.id == alert_id,
                                              alerts.c.state != "resolved")
                        .values(state="resolved", resolved_at=now, resolved_by=actor))
    if not done.rowcount:
        raise StoreError("no_such_alert", f"alert {alert_id} is not unresolved", 404)
    audit(conn, actor, "alert.resolve", str(alert_id), now=now)


# ---------------------------------------------------------------- commands

def queue_command(conn: sa.Connection, terminal_id: str, command: str,
                  args: Mapping[str, Any] | None = None, *, actor: str, now: float,
                  ttl_s: float) -> str:
    """Queue a remote command; it waits until a heartbeat claims it or its TTL passes."""
    if command not in COMMANDS:
        raise StoreError("unknown_command", f"{command!r} is not one of {', '.join(COMMANDS)}")
    if ttl_s <= 0:
        raise StoreError("bad_request", "ttl must be positive")
    row = conn.execute(sa.select(terminals.c.state).where(terminals.c.id == terminal_id)).first()
    if row is None or row.state != "enrolled":
        raise StoreError("unknown_terminal", f"terminal {terminal_id} is not enrolled", 404)
    command_id = uuid.uuid4().hex
    conn.execute(commands.insert().values(id=command_id, terminal_id=terminal_id, command=command,
                                          args=dict(args or {}), created_at=now,
                                          expires_at=now + ttl_s, created_by=actor))
    audit(conn, actor, "command.queue", terminal_id,
          {"command": command, "id": command_id, "ttl_s": ttl_s}, now=now)
    return command_id


def command_lease(interval_s: float, lease_min_s: float = LEASE_MIN_S) -> float:
    """How long a delivered command waits for its ack before it goes out again: two of the
    terminal's heartbeat intervals (an ack rides the next beat), at least ``lease_min_s``."""
    return max(float(lease_min_s), LEASE_INTERVALS * float(interval_s))


def claim_commands(conn: sa.Connection, terminal_id: str, *, now: float, limit: int = 20,
                   lease_s: float = LEASE_INTERVALS * 60.0,
                   max_deliveries: int = MAX_DELIVERIES) -> list[Row]:
    """Deliver this terminal's deliverable commands, oldest first: unacknowledged and
    unexpired, never delivered or with their lease over, delivered fewer than
    ``max_deliveries`` times. Each gets a lease of ``lease_s``; two concurrent claims never
    return the same command (module docstring)."""
    pending = (sa.select(commands.c.id)
               .where(commands.c.terminal_id == terminal_id, commands.c.acked_at.is_(None),
                      commands.c.expires_at > now, commands.c.deliveries < max_deliveries,
                      sa.or_(commands.c.lease_until.is_(None), commands.c.lease_until <= now))
               .order_by(commands.c.created_at).limit(limit)
               .with_for_update(skip_locked=True))
    rows = list(conn.execute(commands.update().where(commands.c.id.in_(pending))
                             .values(delivered_at=now, deliveries=commands.c.deliveries + 1,
                                     lease_until=now + lease_s)
                             .returning(commands.c.id, commands.c.command, commands.c.args,
                                        commands.c.created_at, commands.c.expires_at,
                                        commands.c.deliveries)))
    rows.sort(key=lambda r: (r.created_at, r.id))
    return [{"id": r.id, "command": r.command, "args": r.args or {},
             "expires_at": iso(r.expires_at), "delivery": int(r.deliveries)} for r in rows]


def ack_command(conn: sa.Connection, terminal_id: str, command_id: str, *, ok: bool,
                result: Mapping[str, Any] | None, now: float,
                unknown_ok: bool = False) -> bool | None:
    """Record a command's outcome. False when it was already acknowledged (a retry: the
    first outcome stays); StoreError when it is another terminal's or never delivered.
    An id the fleet never issued is refused too — or, with ``unknown_ok`` (acks riding in a
    heartbeat), skipped and None returned: a terminal holding an ack from before a database
    restore must not have every heartbeat refused for it."""
    row = conn.execute(sa.select(commands.c.terminal_id, commands.c.delivered_at,
                                 commands.c.acked_at).where(commands.c.id == command_id)).first()
    if row is None and unknown_ok:
        log.warning("terminal %s acknowledged unknown command %s: ignored", terminal_id,
                    command_id)
        return None
    if row is None or row.terminal_id != terminal_id:
        if row is not None:
            log.warning("terminal %s acknowledged command %s of terminal %s: refused",
                        terminal_id, command_id, row.terminal_id)
        raise StoreError("no_such_command", f"no command {command_id} for this terminal", 404)
    if row.delivered_at is None:
        raise StoreError("not_delivered", f"command {command_id} was not delivered yet", 409)
    if row.acked_at is not None:
        return False
    conn.execute(commands.update().where(commands.c.id == command_id)
                 .values(acked_at=now, ok=ok, result=dict(result) if result else None))
    return True


def list_commands(conn: sa.Connection, terminal_id: str, *, now: float,
                  limit: int = 50, max_deliveries: int = MAX_DELIVERIES) -> list[Row]:
    """A terminal's commands, newest first, each with its state: pending, delivered,
    done, failed, expired, or undelivered (delivered without an ack until the fleet gave
    up: ``max_deliveries`` leases, or its TTL, ran out)."""
    out = []
    for r in conn.execute(sa.select(commands).where(commands.c.terminal_id == terminal_id)
                          .order_by(commands.c.created_at.desc()).limit(limit)):
        row = dict(r._mapping)
        if row["acked_at"] is not None:
            row["status"] = "done" if row["ok"] else "failed"
        elif row["delivered_at"] is not None:
            given_up = (row["deliveries"] >= max_deliveries or row["expires_at"] <= now)
            over = row["lease_until"] is None or row["lease_until"] <= now
            row["status"] = "undelivered" if given_up and over else "delivered"
        else:
            row["status"] = "expired" if row["expires_at"] <= now else "pending"
        out.append(row)
    return out


# ---------------------------------------------------------------- fleet list and detail

def _state_expr(now: float) -> Any:
    age = now - terminals.c.last_heartbeat_at
    return sa.case(
        (terminals.c.state == "revoked", "revoked"),
        (terminals.c.last_heartbeat_at.is_(None), "new"),
        (age <= LATE_AFTER * terminals.c.interval_s, "online"),
        (age <= OFFLINE_AFTER * terminals.c.interval_s, "late"),
        else_="offline")


_LIST_COLUMNS = [c for c in terminals.c if c.name not in ("key_hex",)]
# the fleet list shows faults from ``faults``; each row's device JSON is the detail page's
# (decoding 10,000 of them was most of the list's time)
_FLEET_LIST_COLUMNS = [c for c in _LIST_COLUMNS if c.name != "devices"]


def list_terminals(conn: sa.Connection, *, now: float, district: str | None = None,
                   hall: str | None = None, state: str | None = None,
                   fault: str | None = None, version: str | None = None,
                   limit: int = 200, offset: int = 0) -> tuple[list[Row], dict[str, int]]:
    """The fleet list, filtered, and the counts per state over the same filters (except
    state, so the counts at the top stay the fleet's). Rows carry ``faults``, not the
    ``devices`` JSON (that is :func:`terminal_detail`'s)."""
    state_col = _state_expr(now).label("status")
    conditions = []
    if district:
        conditions.append(terminals.c.district == district)
    if hall:
        conditions.append(terminals.c.hall == hall)
    if fault:
        conditions.append(terminals.c.faults.contains(
            f":{fault}," if ":" not in fault else f",{fault},", autoescape=True))
    if version:
        conditions.append(terminals.c.software_version == version)
    counts = {s: 0 for s in ("online", "late", "offline", "new", "revoked")}
    for r in conn.execute(sa.select(state_col, sa.func.count()).where(*conditions)
                          .group_by(state_col)):
        counts[r[0]] = int(r[1])
    counts["faulty"] = int(conn.execute(sa.select(sa.func.count()).where(
        *conditions, terminals.c.fault_count > 0, terminals.c.state == "enrolled")).scalar_one())
    q = sa.select(*_FLEET_LIST_COLUMNS, state_col).where(*conditions)
    if state:
        q = q.where(state_col == state)
    q = q.order_by(terminals.c.district, terminals.c.hall, terminals.c.id)
    result = conn.execute(q.limit(limit).offset(offset))
    keys = list(result.keys())
    rows = [dict(zip(keys, r, strict=True)) for r in result]
    return rows, counts


def terminal_detail(conn: sa.Connection, terminal_id: str, *, now: float) -> Row:
    """One terminal: its row and state, recent events, commands, unresolved alerts, whether
    a screenshot exists."""
    row = conn.execute(sa.select(*_LIST_COLUMNS, _state_expr(now).label("status")).where(
        terminals.c.id == terminal_id)).first()
    if row is None:
        raise StoreError("unknown_terminal", f"no terminal {terminal_id}", 404)
    out = dict(row._mapping)
    out["events"] = [dict(r._mapping) for r in conn.execute(
        sa.select(terminal_events).where(terminal_events.c.terminal_id == terminal_id)
        .order_by(terminal_events.c.id.desc()).limit(50))]
    out["commands"] = list_commands(conn, terminal_id, now=now)
    out["alerts"] = list_alerts(conn, now=now, terminal_id=terminal_id, state="unresolved")
    shot = latest_screenshot(conn, terminal_id, with_png=False)
    out["screenshot_at"] = shot["taken_at"] if shot else None
    return out


# ---------------------------------------------------------------- telemetry, diagnostics

def record_telemetry(conn: sa.Connection, terminal_id: str, batch: Mapping[str, Any], *,
                     now: float) -> Row:
    """Add a batch (validated ``TelemetryBatch``) to the per-day counts; a batch id seen
    before is acknowledged again without counting twice (the outbox retries)."""
    items = list(batch["items"])
    if not _insert_ignore(conn, telemetry_batches, {"terminal_id": terminal_id,
                                                    "batch_id": batch["batch_id"],
                                                    "received_at": now, "items": len(items)},
                          ("terminal_id", "batch_id")):
        return {"accepted": 0, "duplicate": True}
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for item in items:
        key = (item["at"][:10], item["service"])  # the terminal's local date
        t = totals.setdefault(key, {"visits": 0, "failures": 0,
                                    **{f"rating_{n}": 0 for n in range(1, 6)}})
        if item["kind"] == "visit":
            t["visits"] += 1
        elif item["kind"] == "failure":
            t["failures"] += 1
        elif item["kind"] == "rating":
            t[f"rating_{item['rating']}"] += 1
    for (day, service), t in sorted(totals.items()):
        stmt = _dialect_insert(conn, telemetry_daily).values(
            terminal_id=terminal_id, day=day, service=service, **t)
        stmt = stmt.on_conflict_do_update(
            index_elements=["terminal_id", "day", "service"],
            set_={k: getattr(telemetry_daily.c, k) + getattr(stmt.excluded, k) for k in t})
        conn.execute(stmt)
    return {"accepted": len(items), "duplicate": False}


def usage(conn: sa.Connection, *, since_day: str | None = None,
          district: str | None = None) -> list[Row]:
    """Visits, failures and ratings per day, hall and service (the console's tables)."""
    cols = [telemetry_daily.c.day, terminals.c.district, terminals.c.hall,
            telemetry_daily.c.service]
    sums = [sa.func.sum(getattr(telemetry_daily.c, k)).label(k) for k in
            ("visits", "failures", *(f"rating_{n}" for n in range(1, 6)))]
    q = (sa.select(*cols, *sums).select_from(telemetry_daily.join(
        terminals, terminals.c.id == telemetry_daily.c.terminal_id)).group_by(*cols)
         .order_by(*cols))
    if since_day:
        q = q.where(telemetry_daily.c.day >= since_day)
    if district:
        q = q.where(terminals.c.district == district)
    return [dict(r._mapping) for r in conn.execute(q)]


def record_diagnostics(conn: sa.Connection, terminal_id: str, body: bytes, *,
                       now: float) -> int:
    return int(conn.execute(diagnostics.insert().values(
        terminal_id=terminal_id, received_at=now, size=len(body), body=body)
        .returning(diagnostics.c.id)).scalar_one())


def list_diagnostics(conn: sa.Connection, terminal_id: str) -> list[Row]:
    return [dict(r._mapping) for r in conn.execute(
        sa.select(diagnostics.c.id, diagnostics.c.received_at, diagnostics.c.size)
        .where(diagnostics.c.terminal_id == terminal_id).order_by(diagnostics.c.id.desc()))]


def record_screenshot(conn: sa.Connection, terminal_id: str, png: bytes, *, now: float) -> int:
    return int(conn.execute(screenshots.insert().values(
        terminal_id=terminal_id, taken_at=now, size=len(png), png=png)
        .returning(screenshots.c.id)).scalar_one())


def latest_screenshot(conn: sa.Connection, terminal_id: str, *,
                      with_png: bool = True) -> Row | None:
    cols = [screenshots.c.id, screenshots.c.taken_at, screenshots.c.size]
    if with_png:
        cols.append(screenshots.c.png)
    row = conn.execute(sa.select(*cols).where(screenshots.c.terminal_id == terminal_id)
                       .order_by(screenshots.c.id.desc()).limit(1)).first()
    return None if row is None else dict(row._mapping)


# ---------------------------------------------------------------- rollouts

def create_rollout(conn: sa.Connection, kind: str, version: str,
                   groups: Sequence[tuple[str, Mapping[str, Any]]], *, actor: str, now: float,
                   success_threshold: float = 0.95, failure_limit: float = 0.05) -> int:
    """A rollout in draft: ``groups`` in order, each ``(name, selector)`` with a selector
    ``{"percent": 5}``, ``{"district": …}``, ``{"group": …}``, ``{"hall": …}`` or
    ``{"all": true}``."""
    if kind not in KINDS:
        raise StoreError("bad_request", f"kind must be one of {', '.join(KINDS)}")
    if not groups:
        raise StoreError("bad_request", "a rollout needs at least one group")
    for name, selector in groups:
        if not name or len(selector) != 1 or next(iter(selector)) not in (
                "percent", "district", "group", "hall", "all"):
            raise StoreError("bad_request", f"group {name!r}: one of percent, district, "
                             "group, hall, all")
    rollout_id = int(conn.execute(rollouts.insert().values(
        kind=kind, version=version, state="draft", success_threshold=success_threshold,
        failure_limit=failure_limit, created_at=now, created_by=actor, updated_at=now)
        .returning(rollouts.c.id)).scalar_one())
    for position, (name, selector) in enumerate(groups):
        conn.execute(rollout_groups.insert().values(rollout_id=rollout_id, position=position,
                                                    name=name, selector=dict(selector)))
    audit(conn, actor, "rollout.create", str(rollout_id),
          {"kind": kind, "version": version, "groups": [g[0] for g in groups]}, now=now)
    return rollout_id


def get_rollout(conn: sa.Connection, rollout_id: int) -> Row:
    row = conn.execute(sa.select(rollouts).where(rollouts.c.id == rollout_id)).first()
    if row is None:
        raise StoreError("no_such_rollout", f"no rollout {rollout_id}", 404)
    out = dict(row._mapping)
    out["groups"] = [dict(g._mapping) for g in conn.execute(
        sa.select(rollout_groups).where(rollout_groups.c.rollout_id == rollout_id)
        .order_by(rollout_groups.c.position))]
    return out


def list_rollouts(conn: sa.Connection, *, limit: int = 50) -> list[Row]:
    ids = conn.execute(sa.select(rollouts.c.id).order_by(rollouts.c.id.desc()).limit(limit))
    return [get_rollout(conn, int(r.id)) for r in ids]


def advance_rollout(conn: sa.Connection, rollout_id: int, *, actor: str, now: float) -> Row:
    """Start the next group (the first one starts the rollout); done after the last."""
    rollout = get_rollout(conn, rollout_id)
    if rollout["state"] not in ("draft", "running"):
        raise StoreError("rollout_state", f"rollout {rollout_id} is {rollout['state']}", 409)
    waiting = [g for g in rollout["groups"] if g["started_at"] is None]
    if not waiting:
        conn.execute(rollouts.update().where(rollouts.c.id == rollout_id)
                     .values(state="done", updated_at=now))
    else:
        conn.execute(rollout_groups.update().where(
            rollout_groups.c.rollout_id == rollout_id,
            rollout_groups.c.position == waiting[0]["position"]).values(started_at=now))
        conn.execute(rollouts.update().where(rollouts.c.id == rollout_id)
                     .values(state="running", updated_at=now))
    audit(conn, actor, "rollout.advance", str(rollout_id),
          {"group": waiting[0]["name"] if waiting else None}, now=now)
    return get_rollout(conn, rollout_id)


def set_rollout_state(conn: sa.Connection, rollout_id: int, state: str, *, actor: str,
                      now: float, detail: Mapping[str, Any] | None = None) -> None:
    """Pause, resume (running) or stop (the emergency stop: terminals get no target)."""
    allowed = {"paused": ("running",), "running": ("paused",),
               "stopped": ("draft", "running", "paused")}
    if state not in allowed:
        raise StoreError("bad_request", "state must be paused, running or stopped")
    done = conn.execute(rollouts.update().where(rollouts.c.id == rollout_id,
                                                rollouts.c.state.in_(allowed[state]))
                        .values(state=state, updated_at=now))
    if not done.rowcount:
        raise StoreError("rollout_state", f"rollout {rollout_id} cannot become {state}", 409)
    audit(conn, actor, f"rollout.{state}", str(rollout_id), detail, now=now)


def _selected(selector: Mapping[str, Any], terminal: Mapping[str, Any]) -> bool:
    if selector.get("all"):
        return True
    if "percent" in selector:
        bucket = int(hashlib.sha256(str(terminal["id"]).encode()).hexdigest()[:8], 16) % 100
        return bucket < float(selector["percent"])
    for key, column in (("district", "district"), ("hall", "hall"), ("group", "group_name")):
        if key in selector:
            return bool(terminal[column] == selector[key])
    return False


def rollout_targets(conn: sa.Connection, terminal: Mapping[str, Any]) -> dict[str, Row]:
    """``{kind: {"version", "rollout"}}`` for each running rollout whose started groups
    include this terminal; the newest rollout of a kind wins."""
    q = (sa.select(rollouts.c.id, rollouts.c.kind, rollouts.c.version, rollout_groups.c.selector)
         .select_from(rollouts.join(rollout_groups,
                                    rollout_groups.c.rollout_id == rollouts.c.id))
         .where(rollouts.c.state == "running", rollout_groups.c.started_at.is_not(None))
         .order_by(rollouts.c.id))
    out: dict[str, Row] = {}
    for r in conn.execute(q):
        if _selected(r.selector, terminal):
            out[r.kind] = {"version": r.version, "rollout": int(r.id)}
    return out


# ---------------------------------------------------------------- people

def add_user(conn: sa.Connection, username: str, password: str, role: str, *, actor: str,
             now: float) -> int:
    if role not in ROLES:
        raise StoreError("bad_request", f"role must be one of {', '.join(ROLES)}")
    if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", username):
        raise StoreError("bad_request", "user name: 1-64 of A-Z a-z 0-9 _ . -")
    _check_password(password)
    if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
        raise StoreError("user_exists", f"user {username} exists", 409)
    user_id = int(conn.execute(users.insert().values(
        username=username, password_hash=_hasher.hash(password), role=role, created_at=now)
        .returning(users.c.id)).scalar_one())
    audit(conn, actor, "user.add", username, {"role": role}, now=now)
    return user_id


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise StoreError("weak_password", "a password has at least 10 characters")


def set_password(conn: sa.Connection, username: str, password: str, *, actor: str,
                 now: float) -> None:
    """New password; every session of that user ends (someone may know the old one)."""
    _check_password(password)
    row = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise StoreError("no_such_user", f"no user {username}", 404)
    conn.execute(users.update().where(users.c.id == row.id)
                 .values(password_hash=_hasher.hash(password)))
    conn.execute(sessions.delete().where(sessions.c.user_id == row.id))
    audit(conn, actor, "user.passwd", username, now=now)


def set_role(conn: sa.Connection, username: str, role: str | None = None, *, actor: str,
             now: float, disabled: bool | None = None) -> None:
    values: Row = {}
    if role is not None:
        if role not in ROLES:
            raise StoreError("bad_request", f"role must be one of {', '.join(ROLES)}")
        values["role"] = role
    if disabled is not None:
        values["disabled"] = disabled
    done = conn.execute(users.update().where(users.c.username == username).values(**values))
    if not done.rowcount:
        raise StoreError("no_such_user", f"no user {username}", 404)
    audit(conn, actor, "user.change", username, values, now=now)


def list_users(conn: sa.Connection) -> list[Row]:
    return [dict(r._mapping) for r in conn.execute(
        sa.select(users.c.id, users.c.username, users.c.role, users.c.created_at,
                  users.c.disabled).order_by(users.c.username))]


def check_password(conn: sa.Connection, username: str, password: str) -> Row | None:
    """The user when the password is right and the account enabled, else None (the same
    work either way, so timing does not tell which names exist)."""
    row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    return {"id": row.id, "username": row.username, "role": row.role}


_DUMMY_HASH = _hasher.hash("not a password of anyone")


def create_session(conn: sa.Connection, user_id: int, *, now: float,
                   ttl_s: float = SESSION_TTL_S) -> tuple[str, str]:
    """A session cookie value and its CSRF token; only the cookie's hash is stored."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(sessions.insert().values(
        token_hash=hashlib.sha256(token.encode()).hexdigest(), user_id=user_id,
        csrf_token=csrf, created_at=now, expires_at=now + ttl_s))
    return token, csrf


def session_user(conn: sa.Connection, token: str, *, now: float) -> Row | None:
    """The signed-in user for a cookie (with ``csrf_token``), or None when unknown/expired."""
    row = conn.execute(
        sa.select(users.c.id, users.c.username, users.c.role, sessions.c.csrf_token)
        .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
        .where(sessions.c.token_hash == hashlib.sha256(token.encode()).hexdigest(),
               sessions.c.expires_at > now, users.c.disabled == sa.false())).first()
    return None if row is None else dict(row._mapping)


def end_session(conn: sa.Connection, token: str) -> None:
    conn.execute(sessions.delete().where(
        sessions.c.token_hash == hashlib.sha256(token.encode()).hexdigest()))


def now() -> float:
    """The clock every request uses once (tests pass their own ``now`` instead)."""
    return time.time()

