"""Alembic environment for custmgmt's own tables (run through custmgmt.adapters.sql.migrate)."""

from __future__ import annotations

from alembic import context

from custmgmt.adapters.sql.migrate import VERSION_TABLE
from custmgmt.adapters.sql.tables import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite alters tables by copying them
        include_name=lambda name, type_, parent: type_ != "table" or bool(
            name and name.startswith("custmgmt_")),
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
