"""follow-ups keep their stage and reason; plans their stage; closed months

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custmgmt.adapters.sql.column_types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("custmgmt_followups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
    with op.batch_alter_table("custmgmt_followup_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=30), nullable=False,
                                      server_default="initial_contact"))
    op.create_table(
        "custmgmt_closed_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.Column(
            "closed_at", custmgmt.adapters.sql.column_types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("month", "team", name=op.f("pk_custmgmt_closed_months")),
    )


def downgrade() -> None:
    op.drop_table("custmgmt_closed_months")
    with op.batch_alter_table("custmgmt_followup_plans", schema=None) as batch_op:
        batch_op.drop_column("stage")
    with op.batch_alter_table("custmgmt_followups", schema=None) as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("stage")
