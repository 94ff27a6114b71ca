"""the database counts every change of a principal's grants

``custmgmt_grants_generation`` holds one number that triggers count up at every
statement that changes a principal, its roles or its certifications: the library's
own saves and changes made by hand in SQL (an UPDATE, a DELETE and INSERT, SQLite's
REPLACE, PostgreSQL's TRUNCATE) alike. A due list for an actor known from an earlier
list is read only while the number is the one read with that actor
(``adapters/sql/followups.py``), so a grant changed by hand takes effect at the next
call there too, as it does everywhere else.

On PostgreSQL the trigger function runs as its owner (SECURITY DEFINER) with the
search path it was created with: an operator allowed to edit roles but not this table,
or a session whose search path does not name the store's schema, still counts the
change. Triggers switched off (``session_replication_role = replica``, as
``pg_restore --disable-triggers`` sets it, or ``ALTER TABLE ... DISABLE TRIGGER``) count
nothing: restart the apps after such a restore.

A later migration that rebuilds one of these tables on SQLite (``batch_alter_table``
copies and drops it) drops its triggers with it and must create them again.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

GENERATION = "custmgmt_grants_generation"
WATCHED = ("custmgmt_principals", "custmgmt_principal_roles", "custmgmt_certifications")
COUNT = f"UPDATE {GENERATION} SET generation = generation + 1 WHERE id = 1"
FUNCTION = "custmgmt_count_grants_change"

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    {COUNT};
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        GENERATION,
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{GENERATION}")),
    )
    op.execute(f"INSERT INTO {GENERATION} (id, generation) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for table in WATCHED:
            op.execute(f"CREATE TRIGGER {table}_counted AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION {FUNCTION}()")
        return
    for table in WATCHED:  # SQLite has row triggers only (and no TRUNCATE)
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_{event.lower()}_counted AFTER {event} "
                       f"ON {table} FOR EACH ROW BEGIN {COUNT}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_counted ON {table}")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{event}_counted")
    op.drop_table(GENERATION)
