"""The SQL storage backends the built-in plugin offers."""

from __future__ import annotations

from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.ports.hookspecs import StorageBackend
from custmgmt.ports.storage import Storage


def _open(url: str, migrate: bool) -> Storage:
    return SqlStorage(url, migrate=migrate)


SQL_BACKENDS = (
    StorageBackend(name="sqlite", schemes=("sqlite", "sqlite+pysqlite"), open=_open),
    StorageBackend(
        name="postgresql",
        schemes=("postgresql", "postgresql+psycopg"),
        open=_open,
    ),
)
