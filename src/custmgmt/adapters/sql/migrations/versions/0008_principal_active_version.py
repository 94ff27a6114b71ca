"""principals: active flag and version

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch table rebuild: on SQLite a rebuild drops the old
    # principals table, and ON DELETE CASCADE would take every role and certification.
    op.add_column("custmgmt_principals",
                  sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("custmgmt_principals",
                  sa.Column("version", sa.Integer(), server_default=sa.text("1"),
                            nullable=False))


def downgrade() -> None:
    op.drop_column("custmgmt_principals", "version")
    op.drop_column("custmgmt_principals", "active")
