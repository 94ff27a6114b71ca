"""Hot read paths on the driver's cursor: a Core statement compiled once per dialect.

SQLAlchemy's execution layer (compiled-cache lookup, result processors, Row objects)
costs more than the database itself for a short indexed read; the most frequent
queries (the due lists) run here instead, in the unit of work's own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import Executable, Table, insert
from sqlalchemy.exc import IntegrityError
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


_INSERTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, tuple[Any, ...], bool]] = {}


def _insert_plan(dialect: Any, table: Table, columns: tuple[str, ...]
                 ) -> tuple[str, tuple[Any, ...], bool]:
    """The SQL, one bind processor (or None) per column, and whether it is positional."""
    key = (table.name, dialect.name, columns)
    plan = _INSERTS.get(key)
    if plan is None:
        if dialect.name == "postgresql":
            names = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
            sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
            done = insert(table).compile(dialect=dialect, column_keys=list(columns))
            order = columns
        else:
            done = insert(table).compile(dialect=dialect, column_keys=list(columns))
            sql = done.string
            order = tuple(done.positiontup or columns)
        processors = done._bind_processors
        plan = _INSERTS[key] = (
            sql, tuple((c, processors.get(c)) for c in order), dialect.name == "postgresql")
    return plan


def _values(columns: tuple[Any, ...], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """One tuple (or list) per row, in the statement's column order, bind-processed."""
    take = itemgetter(*(c for c, _ in columns))
    if len(columns) == 1:
        values: list[Any] = [(take(row),) for row in rows]
    else:
        values = [take(row) for row in rows]
    processed = [(i, p) for i, (_, p) in enumerate(columns) if p is not None]
    if not processed:
        return values
    done: list[Any] = []
    last: list[Any] = [(_UNSET, None)] * len(columns)
    for taken in values:
        row = list(taken)
        for i, process in processed:
            value = row[i]
            seen, result = last[i]
            if value is not seen:  # rows of one batch share their instants: process once
                result = process(value)
                last[i] = (value, result)
            row[i] = result
        done.append(row)
    return done


_UNSET = object()


def driver_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in one round on the driver's cursor:
    ``executemany`` of a statement compiled once on SQLite, ``COPY`` on PostgreSQL.

    The values go through the columns' bind processors, as SQLAlchemy would send them.
    A broken constraint raises SQLAlchemy's IntegrityError (without the parameters,
    which may hold PII), any other driver error StorageError naming only its type.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    sql, columns, copy = _insert_plan(dialect, table, tuple(rows[0]))
    values = _values(columns, rows)
    cursor: Any = connection.connection.cursor()
    dbapi = dialect.loaded_dbapi
    try:
        if copy:
            with cursor.copy(sql) as writer:
                for row in values:
                    writer.write_row(row)
        else:
            cursor.executemany(sql, values)
    except dbapi.IntegrityError as error:
        raise IntegrityError(sql, None, error) from None
    except dbapi.Error as error:
        raise StorageError(f"database failure: {type(error).__name__}") from None
    finally:
        cursor.close()


def driver_key_holders(
    session: Session, table: Table, holder: str, kind: str, values: Sequence[str]
) -> list[tuple[str, str]]:
    """``(value, holder id)`` of the rows of a key table (``kind``, ``value``, ``holder``)
    whose kind is ``kind`` and whose value is one of ``values``: the duplicate check of
    a bulk import, 500 values a statement on the (kind, value) primary key."""
    connection = session.connection()
    dialect = connection.dialect
    name = dialect.identifier_preparer.format_table(table)
    found: list[tuple[str, str]] = []
    cursor: Any = connection.connection.cursor()
    try:
        for start in range(0, len(values), 500):
            chunk = list(values[start:start + 500])
            if dialect.name == "postgresql":
                cursor.execute(f"SELECT value, {holder} FROM {name} "
                               "WHERE kind = %s AND value = ANY(%s)", (kind, chunk))
            else:
                marks = ", ".join("?" * len(chunk))
                cursor.execute(f"SELECT value, {holder} FROM {name} "
                               f"WHERE kind = ? AND value IN ({marks})", (kind, *chunk))
            found.extend(cursor.fetchall())
    except dialect.loaded_dbapi.Error as error:
        raise StorageError(f"database failure: {type(error).__name__}") from None
    finally:
        cursor.close()
    return found
