"""notification delivery: purpose and channel, leases, back-off, dead letters;
observer cursors over the event log

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custmgmt.adapters.sql.column_types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = custmgmt.adapters.sql.column_types.UTCDateTime(timezone=True)
    with op.batch_alter_table("custmgmt_outbox", schema=None) as batch_op:
        # Existing notifications were staff reminders through whichever notifier was set.
        batch_op.add_column(sa.Column("purpose", sa.String(length=50), nullable=False,
                                      server_default="operations"))
        batch_op.add_column(sa.Column("channel", sa.String(length=50), nullable=False,
                                      server_default="internal"))
        batch_op.add_column(sa.Column("next_attempt_at", utc, nullable=True))
        batch_op.add_column(sa.Column("leased_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("leased_until", utc, nullable=True))
        batch_op.create_index("ix_custmgmt_outbox_due", ["status", "created_at", "id"],
                              unique=False)
    with op.batch_alter_table("custmgmt_outbox", schema=None) as batch_op:
        batch_op.alter_column("purpose", server_default=None)
        batch_op.alter_column("channel", server_default=None)
    op.create_table(
        "custmgmt_observer_cursors",
        sa.Column("observer", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("leased_by", sa.String(length=200), nullable=True),
        sa.Column("leased_until", utc, nullable=True),
        sa.PrimaryKeyConstraint("observer", name=op.f("pk_custmgmt_observer_cursors")),
    )


def downgrade() -> None:
    op.drop_table("custmgmt_observer_cursors")
    with op.batch_alter_table("custmgmt_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_custmgmt_outbox_due")
        batch_op.drop_column("leased_until")
        batch_op.drop_column("leased_by")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("channel")
        batch_op.drop_column("purpose")
