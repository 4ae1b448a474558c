"""Heartbeats as in-place updates: no index on terminals.last_heartbeat_at, room in each page.

A steady heartbeat rewrites only latest-only columns of its terminal's row. With no index on
any of them PostgreSQL can update the row in place (a HOT update: no new entry in any index),
which needs free room in the row's page — hence fillfactor 70 on terminals. The dropped index
served no query: the offline sweep compares with ``now - offline_after * interval_s``, a
per-row bound an index on the column cannot answer, and the fleet list sorts by place.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terminals_last_heartbeat_at'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE terminals SET (fillfactor = 70)")
