"""a prospect's follow-up plan is kept in the prospect's own row

A registration wrote two rows, the prospect and its plan, each with a primary key and
indexes of its own; now the plan is columns of the prospect's row (``plan_grade`` ...
``plan_version``, all NULL while it has none), whose owner and team are the plan's:
the prospect's owner and team indexes become its due lists' (each index serves both
a listing and a due list), and everyone's due list has no index (an administrator's
list reads the table). An import writes one row a prospect instead of two, under two
indexes fewer (benchmarks/README.md, step 3). The plans are copied over and their
table dropped; a plan whose prospect is not stored (none the library wrote: it writes
a plan only for a prospect it registered) has no row to go to and is dropped with the
table, and a plan takes its prospect's owner and team (the library keeps them in step).

Downgrading recreates the plans table as at 0026 and copies each prospect's plan back
into it, with the prospect's owner and team.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

PROSPECTS, PLANS = "custmgmt_prospects", "custmgmt_followup_plans"
MOVED = ("grade", "stage", "active", "anchor", "override", "next_due", "version")
"""The plan's own fields: a column of the plans table each, ``plan_`` and the same name
in the prospect's row (its owner and team are the row's own)."""
COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "owner_id": sa.String(200), "owner_team": sa.String(100), "grade": sa.String(1),
    "stage": sa.String(30), "active": sa.Boolean(), "anchor": sa.Date(),
    "override": sa.Date(), "next_due": sa.Date(), "version": sa.Integer(),
}
TABLE_ORDER = ("owner_id", "owner_team", "grade", "active", "anchor", "override",
               "next_due", "version", "stage")
"""The plans table's columns after its key, as 0026 left them (0003 added the stage)."""
ROW_INDEXES = {
    "ix_custmgmt_prospects_owner_due": ["owner_id", "plan_active", "plan_next_due", "id",
                                        "plan_grade", "owner_team"],
    "ix_custmgmt_prospects_team_due": ["owner_team", "plan_active", "plan_next_due", "id",
                                       "owner_id", "plan_grade"],
}
LISTING_INDEXES = {"ix_custmgmt_prospects_owner_id": ["owner_id"],
                   "ix_custmgmt_prospects_owner_team": ["owner_team"]}
"""The prospects' owner and team indexes before 0027 (its due indexes serve them)."""
TABLE_INDEXES = {
    "ix_custmgmt_followup_plans_owner_due": ["owner_id", "active", "next_due", "prospect_id",
                                             "grade", "owner_team"],
    "ix_custmgmt_followup_plans_team_due": ["owner_team", "active", "next_due", "prospect_id",
                                            "owner_id", "grade"],
    "ix_custmgmt_followup_plans_due_order": ["active", "next_due", "prospect_id"],
}


def upgrade() -> None:
    for field in MOVED:
        op.add_column(PROSPECTS, sa.Column(f"plan_{field}", COLUMNS[field], nullable=True))
    assigned = ", ".join(f"plan_{field} = p.{field}" for field in MOVED)
    op.execute(f"UPDATE {PROSPECTS} SET {assigned} FROM {PLANS} AS p "
               f"WHERE p.prospect_id = {PROSPECTS}.id")
    op.drop_table(PLANS)
    for name in LISTING_INDEXES:
        op.drop_index(name, table_name=PROSPECTS)
    for name, columns in ROW_INDEXES.items():
        op.create_index(name, PROSPECTS, columns)


def downgrade() -> None:
    op.create_table(
        PLANS,
        sa.Column("prospect_id", sa.String(100), nullable=False),
        *(sa.Column(field, COLUMNS[field], nullable=field in ("owner_team", "override"),
                    server_default="initial_contact" if field == "stage" else None)
          for field in TABLE_ORDER),
        sa.PrimaryKeyConstraint("prospect_id", name="pk_custmgmt_followup_plans"),
    )
    for name, columns in TABLE_INDEXES.items():
        op.create_index(name, PLANS, columns)
    read = ", ".join(field if field in ("owner_id", "owner_team") else f"plan_{field}"
                     for field in TABLE_ORDER)
    op.execute(f"INSERT INTO {PLANS} (prospect_id, {', '.join(TABLE_ORDER)}) "
               f"SELECT id, {read} FROM {PROSPECTS} WHERE plan_version IS NOT NULL")
    for name in ROW_INDEXES:
        op.drop_index(name, table_name=PROSPECTS)
    for name, columns in LISTING_INDEXES.items():
        op.create_index(name, PROSPECTS, columns)
    for field in MOVED:
        op.drop_column(PROSPECTS, f"plan_{field}")
