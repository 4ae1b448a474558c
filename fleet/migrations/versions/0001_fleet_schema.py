"""The fleet schema (forward-only): terminals, commands, alerts, rollouts, people, telemetry.

Generated from fleet/schema.py with alembic autogenerate, booleans defaulted with sa.false()
(PostgreSQL refuses an integer default for a boolean).

the fleet schema: terminals, commands, alerts, rollouts, people, telemetry

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-01 10:23:57.646757
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=128), server_default='', nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('enrol_codes',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.Float(), nullable=True),
    sa.Column('terminal_id', sa.String(length=64), nullable=True),
    sa.Column('district', sa.String(length=64), server_default='', nullable=False),
    sa.Column('hall', sa.String(length=128), server_default='', nullable=False),
    sa.Column('group_name', sa.String(length=64), server_default='', nullable=False),
    sa.Column('enrolled_terminal', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_enrol_codes'))
    )
    op.create_table('nonces',
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=128), nullable=False),
    sa.Column('seen_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('terminal_id', 'nonce', name=op.f('pk_nonces'))
    )
    with op.batch_alter_table('nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nonces_seen_at'), ['seen_at'], unique=False)

    op.create_table('rollouts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('success_threshold', sa.Float(), server_default='0.95', nullable=False),
    sa.Column('failure_limit', sa.Float(), server_default='0.05', nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rollouts'))
    )
    op.create_table('telemetry_batches',
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('terminal_id', 'batch_id', name=op.f('pk_telemetry_batches'))
    )
    op.create_table('telemetry_daily',
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('service', sa.String(length=64), nullable=False),
    sa.Column('visits', sa.Integer(), server_default='0', nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rating_1', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rating_2', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rating_3', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rating_4', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rating_5', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('terminal_id', 'day', 'service', name=op.f('pk_telemetry_daily'))
    )
    op.create_table('terminals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('district', sa.String(length=64), server_default='', nullable=False),
    sa.Column('hall', sa.String(length=128), server_default='', nullable=False),
    sa.Column('group_name', sa.String(length=64), server_default='', nullable=False),
    sa.Column('key_hex', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='enrolled', nullable=False),
    sa.Column('enrolled_at', sa.Float(), nullable=False),
    sa.Column('revoked_at', sa.Float(), nullable=True),
    sa.Column('last_heartbeat_at', sa.Float(), nullable=True),
    sa.Column('interval_s', sa.Integer(), server_default='60', nullable=False),
    sa.Column('software_version', sa.String(length=64), nullable=True),
    sa.Column('catalog_version', sa.String(length=64), nullable=True),
    sa.Column('config_version', sa.String(length=64), nullable=True),
    sa.Column('devices', sa.JSON(), nullable=True),
    sa.Column('faults', sa.String(length=1024), server_default='', nullable=False),
    sa.Column('fault_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('outbox_depth', sa.Integer(), nullable=True),
    sa.Column('outbox_oldest_s', sa.Float(), nullable=True),
    sa.Column('screen', sa.String(length=64), nullable=True),
    sa.Column('uptime_s', sa.Float(), nullable=True),
    sa.Column('maintenance', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminals'))
    )
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminals_district_hall'), ['district', 'hall'], unique=False)
        batch_op.create_index(batch_op.f('ix_terminals_last_heartbeat_at'), ['last_heartbeat_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_terminals_software_version'), ['software_version'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('device', sa.String(length=64), server_default='', nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.String(length=512), server_default='', nullable=False),
    sa.Column('state', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('opened_at', sa.Float(), nullable=False),
    sa.Column('acknowledged_at', sa.Float(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('assigned_to', sa.String(length=64), nullable=True),
    sa.Column('resolved_at', sa.Float(), nullable=True),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_alerts_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_state_opened_at'), ['state', 'opened_at'], unique=False)
        batch_op.create_index('uq_alerts_unresolved', ['terminal_id', 'kind', 'device', 'code'], unique=True, sqlite_where=sa.text("state != 'resolved'"), postgresql_where=sa.text("state != 'resolved'"))

    op.create_table('commands',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('delivered_at', sa.Float(), nullable=True),
    sa.Column('acked_at', sa.Float(), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_commands_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commands'))
    )
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commands_terminal_id_delivered_at'), ['terminal_id', 'delivered_at'], unique=False)

    op.create_table('diagnostics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_diagnostics_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diagnostics'))
    )
    with op.batch_alter_table('diagnostics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_diagnostics_terminal_id_received_at'), ['terminal_id', 'received_at'], unique=False)

    op.create_table('rollout_groups',
    sa.Column('rollout_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('selector', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['rollout_id'], ['rollouts.id'], name=op.f('fk_rollout_groups_rollout_id_rollouts')),
    sa.PrimaryKeyConstraint('rollout_id', 'position', name=op.f('pk_rollout_groups'))
    )
    op.create_table('screenshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('taken_at', sa.Float(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('png', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_screenshots_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screenshots'))
    )
    with op.batch_alter_table('screenshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screenshots_terminal_id_taken_at'), ['terminal_id', 'taken_at'], unique=False)

    op.create_table('sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_sessions'))
    )
    op.create_table('terminal_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('terminal_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_terminal_events_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminal_events'))
    )
    with op.batch_alter_table('terminal_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminal_events_terminal_id_at'), ['terminal_id', 'at'], unique=False)




def downgrade() -> None:
    raise NotImplementedError("fleet migrations run forward only")
