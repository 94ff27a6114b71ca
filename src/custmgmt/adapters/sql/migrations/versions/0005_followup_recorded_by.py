"""follow-ups keep who entered them when a manager records someone else's contact

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("custmgmt_followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("custmgmt_followups", schema=None) as batch_op:
        batch_op.drop_column("recorded_by")
