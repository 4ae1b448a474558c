"""The fleet's tables, once, in SQLAlchemy Core: the same definitions run on SQLite and on
PostgreSQL, and the Alembic migrations in ``fleet/migrations`` create exactly these
(tests/fleet/test_migrations.py compares them on both).

Times are float seconds since the epoch (UTC): the two databases agree on comparing numbers,
not on time zones; the API turns them into RFC 3339 with an offset at the edge.

Heartbeats are *latest-only*: a heartbeat updates its terminal's row (one upsert per beat, a
few hundred bytes, so 10,000 terminals at a beat a minute is ~170 small writes a second), and
only what changes — a device fault appearing or clearing, a version changing, enrolment,
revocation — is appended to ``terminal_events``. The history an operator reads is the events
and the alerts; a full copy of every heartbeat would be 14 million rows a day for nothing.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# an integer key that SQLite makes a rowid alias (autoincrement) and PostgreSQL a bigint
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TERMINAL_STATES = ("enrolled", "revoked")
ALERT_STATES = ("open", "acknowledged", "resolved")
ROLES = ("viewer", "operator", "admin")
ROLLOUT_STATES = ("draft", "running", "paused", "stopped", "done")

terminals = sa.Table(
    "terminals", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("district", sa.String(64), nullable=False, server_default=""),
    sa.Column("hall", sa.String(128), nullable=False, server_default=""),
    sa.Column("group_name", sa.String(64), nullable=False, server_default=""),
    # the HMAC key itself (hex): verifying a MAC needs the secret, not a hash of it
    sa.Column("key_hex", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="enrolled"),
    sa.Column("enrolled_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
    sa.Column("last_heartbeat_at", sa.Float),
    sa.Column("interval_s", sa.Integer, nullable=False, server_default="60"),
    sa.Column("software_version", sa.String(64)),
    sa.Column("catalog_version", sa.String(64)),
    sa.Column("config_version", sa.String(64)),
    sa.Column("devices", sa.JSON),
    # ",printer:paper_out,reader:timeout," — faults in one indexed-free string for filters
    sa.Column("faults", sa.String(1024), nullable=False, server_default=""),
    sa.Column("fault_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("outbox_depth", sa.Integer),
    sa.Column("outbox_oldest_s", sa.Float),
    sa.Column("screen", sa.String(64)),
    sa.Column("uptime_s", sa.Float),
    sa.Column("maintenance", sa.Boolean, nullable=False, server_default=sa.false()),
    # no index on last_heartbeat_at or any column a steady heartbeat rewrites: its update
    # stays in place (migration 0002); the offline sweep's per-row bound cannot use one
    sa.Index(None, "district", "hall"),
    sa.Index(None, "software_version"),
)

terminal_events = sa.Table(
    "terminal_events", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(64), sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON),
    sa.Index(None, "terminal_id", "at"),
)

nonces = sa.Table(
    "nonces", metadata,
    sa.Column("terminal_id", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(128), primary_key=True),
    sa.Column("seen_at", sa.Float, nullable=False),
    sa.Index(None, "seen_at"),
)

enrol_codes = sa.Table(
    "enrol_codes", metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),  # sha256 hex of the code
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("used_at", sa.Float),
    sa.Column("terminal_id", sa.String(64)),  # set: re-enrols that (revoked) terminal
    sa.Column("district", sa.String(64), nullable=False, server_default=""),
    sa.Column("hall", sa.String(128), nullable=False, server_default=""),
    sa.Column("group_name", sa.String(64), nullable=False, server_default=""),
    sa.Column("enrolled_terminal", sa.String(64)),
)

commands = sa.Table(
    "commands", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("terminal_id", sa.String(64), sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("command", sa.String(64), nullable=False),
    sa.Column("args", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("delivered_at", sa.Float),  # the latest delivery
    sa.Column("acked_at", sa.Float),
    sa.Column("ok", sa.Boolean),
    sa.Column("result", sa.JSON),
    # at-least-once delivery (migration 0003): a delivered command with no ack by
    # ``lease_until`` goes out again, at most ``deliveries`` < the store's limit times
    sa.Column("deliveries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lease_until", sa.Float),
    sa.Index(None, "terminal_id", "delivered_at"),
    # what a heartbeat may claim: unacknowledged, unexpired (acked history is not scanned)
    sa.Index("ix_commands_unacked", "terminal_id", "expires_at",
             sqlite_where=sa.text("acked_at IS NULL"),
             postgresql_where=sa.text("acked_at IS NULL")),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(64), sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # device | offline | update
    # the device, or for an update alert the update kind (software, catalog, …)
    sa.Column("device", sa.String(64), nullable=False, server_default=""),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("detail", sa.String(512), nullable=False, server_default=""),
    sa.Column("state", sa.String(16), nullable=False, server_default="open"),
    sa.Column("opened_at", sa.Float, nullable=False),
    sa.Column("acknowledged_at", sa.Float),
    sa.Column("acknowledged_by", sa.String(64)),
    sa.Column("assigned_to", sa.String(64)),
    sa.Column("resolved_at", sa.Float),
    sa.Column("resolved_by", sa.String(64)),
    sa.Column("version", sa.String(64)),  # update alerts: the version that failed (0003)
    sa.Index(None, "state", "opened_at"),
    # at most one unresolved alert per terminal and problem: N replicas may race to open it
    sa.Index("uq_alerts_unresolved", "terminal_id", "kind", "device", "code", unique=True,
             sqlite_where=sa.text("state != 'resolved'"),
             postgresql_where=sa.text("state != 'resolved'")),
)

rollouts = sa.Table(
    "rollouts", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="draft"),
    sa.Column("success_threshold", sa.Float, nullable=False, server_default="0.95"),
    sa.Column("failure_limit", sa.Float, nullable=False, server_default="0.05"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

rollout_groups = sa.Table(
    "rollout_groups", metadata,
    sa.Column("rollout_id", BigId, sa.ForeignKey("rollouts.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(64), nullable=False),
    # which terminals: {"percent": 5} | {"district": "天河区"} | {"group": "canary"} | {"all": true}
    sa.Column("selector", sa.JSON, nullable=False),
    sa.Column("started_at", sa.Float),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", BigId, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    # a new enrolment code waiting to be shown once (console_queries.hold_new_code), sealed
    # under a key from the session's cookie, which the database never holds
    sa.Column("new_code_sealed", sa.LargeBinary),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(128), nullable=False, server_default=""),
    sa.Column("detail", sa.JSON),
    sa.Index(None, "at"),
)

telemetry_daily = sa.Table(
    "telemetry_daily", metadata,
    sa.Column("terminal_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD in the terminal's offset
    sa.Column("service", sa.String(64), primary_key=True),
    sa.Column("visits", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    *(sa.Column(f"rating_{n}", sa.Integer, nullable=False, server_default="0")
      for n in range(1, 6)),
)

telemetry_batches = sa.Table(
    "telemetry_batches", metadata,
    sa.Column("terminal_id", sa.String(64), primary_key=True),
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
)

diagnostics = sa.Table(
    "diagnostics", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(64), sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),  # the JSON bytes as uploaded
    sa.Index(None, "terminal_id", "received_at"),
)

screenshots = sa.Table(
    "screenshots", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(64), sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("taken_at", sa.Float, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("png", sa.LargeBinary, nullable=False),
    sa.Index(None, "terminal_id", "taken_at"),
)
