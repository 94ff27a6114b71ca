"""consent history (issue 16)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmgmt.adapters.sql.column_types import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _instant(name: str) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "custmgmt_consents",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("given", sa.Boolean(), nullable=False),
        _instant("at"),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("notice_version", sa.String(length=50), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        _instant("recorded_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_consents")),
    )
    op.create_index("ix_custmgmt_consents_key", "custmgmt_consents",
                    ["customer_id", "purpose", "channel", "sensitive", "at", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_custmgmt_consents_key", table_name="custmgmt_consents")
    op.drop_table("custmgmt_consents")
