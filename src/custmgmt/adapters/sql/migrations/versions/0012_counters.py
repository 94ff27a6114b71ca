"""counters with a ceiling, enforced in the database (the pool's daily cap)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custmgmt_counters",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_custmgmt_counters")),
    )


def downgrade() -> None:
    op.drop_table("custmgmt_counters")
