"""At-least-once command delivery (a lease per delivery) and update-failure alerts.

``commands.deliveries`` / ``lease_until``: a delivered command that is not acknowledged by
``lease_until`` is delivered again (the heartbeat reply carrying it may never have arrived),
up to the store's limit. ``ix_commands_unacked`` lets a heartbeat find what it may claim
without walking the terminal's acknowledged history. ``alerts.version``: the version an
``update_failed`` alert is about, so the terminal reporting it resolves the alert.

Forward on a live database: nullable or defaulted columns only (SQLite: plain ``ADD
COLUMN``, no table copy; PostgreSQL 11+: a catalogue change, no rewrite). Commands delivered
before this ran count as delivered once, with a lease from their delivery time, so one
whose reply was lost goes out again and one the terminal ran is not held back.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

LEASE_S = 120  # the default lease (2 x the default 60 s interval) for rows delivered before


def upgrade() -> None:
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deliveries', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('lease_until', sa.Float(), nullable=True))
    op.execute(f"UPDATE commands SET deliveries = 1, lease_until = delivered_at + {LEASE_S} "
               "WHERE delivered_at IS NOT NULL")
    op.create_index('ix_commands_unacked', 'commands', ['terminal_id', 'expires_at'],
                    unique=False, sqlite_where=sa.text('acked_at IS NULL'),
                    postgresql_where=sa.text('acked_at IS NULL'))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.String(length=64), nullable=True))
