"""tamper evidence: custody events carry the digest of the sample record they were
written for; the head of every custody chain and audit trail, sealed when a key is set

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
    op.create_table(
        "custmgmt_chain_heads",
        sa.Column("chain", sa.String(length=60), nullable=False),
        sa.Column("chain_id", sa.String(length=200), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("seal", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("chain", "chain_id", name=op.f("pk_custmgmt_chain_heads")),
    )


def downgrade() -> None:
    op.drop_table("custmgmt_chain_heads")
    with op.batch_alter_table("custmgmt_custody_events") as batch:
        batch.drop_column("record")
