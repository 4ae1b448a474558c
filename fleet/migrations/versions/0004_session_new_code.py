"""A new enrolment code waits in its operator's session, shown once by the page the POST
redirects to (Post/Redirect/Get: a reload no longer makes a second code).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_code_sealed', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("fleet migrations run forward only")
