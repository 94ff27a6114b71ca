"""due-list indexes cover the columns a due list reads

The owner and team indexes of the follow-up plans end with the other columns a due
list reads (grade, and the owner or team the other half of a team's list filters
on), so PostgreSQL answers a due list with index-only scans, in order, merged
without a sort and without visiting the table (SQLite reads them as covering
indexes likewise).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TABLE = "custmgmt_followup_plans"
OWNER, TEAM = "ix_custmgmt_followup_plans_owner_due", "ix_custmgmt_followup_plans_team_due"


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(TEAM)
        batch_op.drop_index(OWNER)
        batch_op.create_index(OWNER, ["owner_id", "active", "next_due", "prospect_id",
                                      "grade", "owner_team"], unique=False)
        batch_op.create_index(TEAM, ["owner_team", "active", "next_due", "prospect_id",
                                     "owner_id", "grade"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(TEAM)
        batch_op.drop_index(OWNER)
        batch_op.create_index(OWNER, ["owner_id", "active", "next_due", "prospect_id"],
                              unique=False)
        batch_op.create_index(TEAM, ["owner_team", "active", "next_due", "prospect_id"],
                              unique=False)
