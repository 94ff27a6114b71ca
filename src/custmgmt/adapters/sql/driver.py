"""Hot read paths on the driver's cursor: a Core statement compiled once per dialect.

SQLAlchemy's execution layer (compiled-cache lookup, result processors, Row objects)
costs more than the database itself for a short indexed read; the most frequent
queries (the due lists) run here instead, in the unit of work's own transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.orm import Session

from custmgmt.errors import StorageError

_COMPILED: dict[tuple[int, str], tuple[str, tuple[str, ...] | None]] = {}


def _sqlite_value(value: Any) -> Any:
    # as SQLAlchemy's Date type stores it on SQLite (and no deprecated sqlite3 adapter)
    return value.isoformat() if isinstance(value, date) else value


def driver_rows(session: Session, statement: Executable, params: dict[str, Any]) -> list[Any]:
    """The rows of ``statement`` (bound by name from ``params``) as the driver returns them;
    a driver error is a StorageError naming only its type (parameters may hold PII)."""
    connection = session.connection()
    dialect = connection.dialect
    key = (id(statement), dialect.name)
    compiled = _COMPILED.get(key)
    if compiled is None:
        done = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        order = tuple(done.positiontup) if done.positional else None
        compiled = _COMPILED[key] = (done.string, order)
    sql, order = compiled
    arguments: Any = (params if order is None
                      else tuple(_sqlite_value(params[name]) for name in order))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, arguments)
        return list(cursor.fetchall())
    except dialect.loaded_dbapi.Error as error:
        raise StorageError(f"database failure: {type(error).__name__}") from None
    finally:
        cursor.close()
