"""custody events carry the digest of the sample record they were written for

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("custmgmt_custody_events",
                  sa.Column("record", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("custmgmt_custody_events") as batch:
        batch.drop_column("record")
