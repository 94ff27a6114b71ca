"""the sample registry's departments and stock counts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custmgmt.adapters.sql.column_types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custmgmt_departments",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column(
            "registered_at", custmgmt.adapters.sql.column_types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_departments")),
    )
    op.create_table(
        "custmgmt_stock_counts",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("counted_by", sa.String(length=200), nullable=False),
        sa.Column(
            "at", custmgmt.adapters.sql.column_types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_stock_counts")),
    )
    with op.batch_alter_table("custmgmt_stock_counts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custmgmt_stock_counts_location"), ["location"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("custmgmt_stock_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custmgmt_stock_counts_location"))
    op.drop_table("custmgmt_stock_counts")
    op.drop_table("custmgmt_departments")
