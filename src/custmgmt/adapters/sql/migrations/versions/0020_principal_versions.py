"""the database counts a principal's version up at every change of its grants

A principal's version goes up whenever the principal or its roles or certifications
change, also when they are changed by hand in SQL: a due list checks the version of
the actor it read last time instead of reading the actor again, so a grant changed
without a new version would go unseen there. Triggers count the version up after
each change of a role or certification row, and on an update of the principal that
leaves the version as it was; an update that sets the version itself keeps it. The
library's own save sets the version it returns once its roles and certifications
are written (``SqlPrincipals.save``).

A later migration that rebuilds one of these tables on SQLite (``batch_alter_table``
copies and drops it) drops its triggers with it and must create them again.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

PRINCIPALS = "custmgmt_principals"
GRANTS = ("custmgmt_principal_roles", "custmgmt_certifications")
BUMP = f"UPDATE {PRINCIPALS} SET version = version + 1 WHERE id = {{row}}.principal_id"

SQLITE_PRINCIPAL = f"""
CREATE TRIGGER {PRINCIPALS}_version AFTER UPDATE ON {PRINCIPALS}
FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN UPDATE {PRINCIPALS} SET version = OLD.version + 1 WHERE id = NEW.id; END
"""

POSTGRESQL_FUNCTIONS = f"""
CREATE FUNCTION {PRINCIPALS}_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version = OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE FUNCTION custmgmt_grant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        {BUMP.format(row="OLD")};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {BUMP.format(row="NEW")};
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER {PRINCIPALS}_version BEFORE UPDATE ON {PRINCIPALS}
FOR EACH ROW EXECUTE FUNCTION {PRINCIPALS}_version();
"""


def _sqlite_grant_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_added AFTER INSERT ON {table} FOR EACH ROW "
        f"BEGIN {BUMP.format(row='NEW')}; END",
        f"CREATE TRIGGER {table}_removed AFTER DELETE ON {table} FOR EACH ROW "
        f"BEGIN {BUMP.format(row='OLD')}; END",
        f"CREATE TRIGGER {table}_changed AFTER UPDATE ON {table} FOR EACH ROW "
        f"BEGIN {BUMP.format(row='OLD')}; {BUMP.format(row='NEW')}; END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTIONS)
        for table in GRANTS:
            op.execute(f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE "
                       f"ON {table} FOR EACH ROW EXECUTE FUNCTION custmgmt_grant_changed()")
        return
    op.execute(SQLITE_PRINCIPAL)
    for table in GRANTS:
        for statement in _sqlite_grant_triggers(table):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (PRINCIPALS, *GRANTS):
            suffix = "version" if table == PRINCIPALS else "changed"
            op.execute(f"DROP TRIGGER {table}_{suffix} ON {table}")
        op.execute(f"DROP FUNCTION {PRINCIPALS}_version()")
        op.execute("DROP FUNCTION custmgmt_grant_changed()")
        return
    op.execute(f"DROP TRIGGER {PRINCIPALS}_version")
    for table in GRANTS:
        for suffix in ("added", "removed", "changed"):
            op.execute(f"DROP TRIGGER {table}_{suffix}")
