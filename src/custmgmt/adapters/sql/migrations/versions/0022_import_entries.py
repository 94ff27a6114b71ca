"""an import batch's audit entry is found by its hash

``import_many`` writes one audit entry a batch (resource kind ``prospect_import``,
naming the batch's prospects) instead of one a prospect; each imported prospect's
head starts from that entry's hash, and ``app.audit.verify`` finds the entry by it.
The index leaves out every other kind of entry, so no other write pays for it.

The downgrade refuses while the store holds an import written this way: revision
0021's code reads an imported prospect's trail as missing its first entry.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmgmt.errors import StorageError

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
    imports = op.get_bind().execute(sa.text(
        f"SELECT count(*) FROM {TABLE} WHERE {IMPORTS.text}")).scalar_one()
    if imports:
        raise StorageError(
            "migration 0022 cannot be undone: the store holds prospects imported with one "
            "audit entry a batch, whose trails revision 0021 would report as broken")
    op.drop_index(INDEX, table_name=TABLE)
