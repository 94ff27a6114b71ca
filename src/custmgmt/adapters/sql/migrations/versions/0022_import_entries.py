"""an import batch's audit entry is found by its hash

``import_many`` writes one audit entry a batch (resource kind ``prospect_import``,
naming the batch's prospects) instead of one a prospect; each imported prospect's
head starts from that entry's hash, and ``app.audit.verify`` finds the entry by it.
The index leaves out every other kind of entry, so no other write pays for it.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

INDEX, TABLE = "ix_custmgmt_audit_import_hash", "custmgmt_audit"
IMPORTS = sa.text("resource_kind = 'prospect_import'")


def upgrade() -> None:
    op.create_index(INDEX, TABLE, ["hash"], unique=False,
                    sqlite_where=IMPORTS, postgresql_where=IMPORTS)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
