"""due-list indexes serve both the filter and the order

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "custmgmt_followup_plans"


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("ix_custmgmt_followup_plans_owner_team")
        batch_op.drop_index("ix_custmgmt_followup_plans_owner_id")
        batch_op.drop_index("ix_custmgmt_followup_plans_due")
        batch_op.create_index("ix_custmgmt_followup_plans_owner_due",
                              ["owner_id", "active", "next_due", "prospect_id"], unique=False)
        batch_op.create_index("ix_custmgmt_followup_plans_team_due",
                              ["owner_team", "active", "next_due", "prospect_id"], unique=False)
        batch_op.create_index("ix_custmgmt_followup_plans_due_order",
                              ["active", "next_due", "prospect_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("ix_custmgmt_followup_plans_due_order")
        batch_op.drop_index("ix_custmgmt_followup_plans_team_due")
        batch_op.drop_index("ix_custmgmt_followup_plans_owner_due")
        batch_op.create_index("ix_custmgmt_followup_plans_due", ["active", "next_due"],
                              unique=False)
        batch_op.create_index("ix_custmgmt_followup_plans_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_custmgmt_followup_plans_owner_team", ["owner_team"],
                              unique=False)
