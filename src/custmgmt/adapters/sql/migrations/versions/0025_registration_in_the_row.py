"""a prospect never changed keeps its registration in its row, not in a history row

From this revision custmgmt writes no history row for a new prospect: its history is
its registration, which the prospect's row keeps (``registered_by``,
``registered_at``, ``grade``), and its first change writes the whole history. No
table changes. The revision marks the layout, so that a release before it, which
would read such a prospect's history as empty and write its first change at position
0 (losing the registration for good), refuses the database instead of using it.
Downgrading writes the registration row of every prospect that has no history row.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Rows already stored stay as they are: a registration row is read as before."""


def downgrade() -> None:
    op.execute(
        'INSERT INTO custmgmt_prospect_history (prospect_id, position, kind, "by", at, '
        '"before", "after", reason) '
        "SELECT p.id, 0, 'registered', p.registered_by, p.registered_at, NULL, p.grade, "
        "'registered' FROM custmgmt_prospects p WHERE NOT EXISTS (SELECT 1 FROM "
        "custmgmt_prospect_history h WHERE h.prospect_id = p.id)")
