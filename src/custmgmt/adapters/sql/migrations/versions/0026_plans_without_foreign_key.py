"""a follow-up plan names its prospect without a foreign key

A plan is written only by the library, for a prospect it registered, and no prospect
row is ever deleted: the key checked nothing the library could break, and every plan
an import or a registration writes paid for the check. On PostgreSQL it took about a
third of the plans table's server time (a look-up of the prospect's id for each row):
an import of 50k prospects took 0.92x the time without it (benchmarks/HISTORY.md,
2026-12-02). The plans are headed into the prospect's own row (benchmarks/README.md,
step 3), where no key is needed at all.

Downgrading puts the key back, after deleting any plan whose prospect is not stored
(which the key would refuse).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op
from alembic.operations import BatchOperations

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

TABLE, KEY = "custmgmt_followup_plans", "fk_custmgmt_followup_plans_prospect_id_custmgmt_prospects"


@contextmanager
def _rebuilt() -> Iterator[BatchOperations]:
    """The plans table altered (on SQLite rebuilt, reflecting the prospects table its key
    names, whose expression indexes SQLAlchemy cannot reflect: it warns, and they are
    not needed to rebuild the plans)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        with op.batch_alter_table(TABLE) as batch:
            yield batch


def upgrade() -> None:
    with _rebuilt() as batch:
        batch.drop_constraint(KEY, type_="foreignkey")


def downgrade() -> None:
    op.execute(f"DELETE FROM {TABLE} WHERE NOT EXISTS (SELECT 1 FROM custmgmt_prospects p "
               f"WHERE p.id = {TABLE}.prospect_id)")
    with _rebuilt() as batch:
        batch.create_foreign_key(KEY, "custmgmt_prospects", ["prospect_id"], ["id"],
                                 ondelete="CASCADE")
