"""Hot paths on the driver's cursor: Core statements compiled once per dialect.

SQLAlchemy's execution layer (compiled-cache lookup, parameter and result processing
through the ORM session, Row objects) costs more than the database itself for a short
indexed read or a one-row insert; the most frequent statements (the due lists, and
every statement of a single ``register``) run here instead, in the unit of work's own
transaction. Values go through the columns' own SQLAlchemy bind and result processors,
so rows are stored and read exactly as the ORM would.

The unit of work's DBAPI connection is looked up once per transaction and kept in
``Session.info``; the unit of work forgets it when the transaction ends
(:func:`forget_connection`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from itertools import repeat
from operator import is_, itemgetter
from typing import Any

from sqlalchemy import Dialect, Engine, Executable, Table, and_, bindparam, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.types import Date, NullType

from custmgmt.adapters.sql.column_types import COLUMN_PACKERS, UTCDateTime
from custmgmt.errors import ConcurrencyError, CustmgmtError, StorageError

_KEY = "custmgmt_driver_connection"
BEGIN_ON_DRIVER = "custmgmt_begin_on_driver"
"""``Session.info`` key of the unit of work's own way to begin its transaction on a
pooled DBAPI connection (no ORM Session needed); returns that connection and its dialect."""
Processor = Callable[[Any], Any]


class _Compiled:
    """A statement as the driver takes it: its SQL, the order of its positional
    parameters (None: named), and the bind processor of each parameter that has one."""

    __slots__ = ("escaped", "order", "plan", "processed", "processors", "read", "results",
                 "sql", "take")

    def __init__(self, statement: Any, dialect: Dialect, keys: Sequence[str] | None) -> None:
        done = statement.compile(dialect=dialect, column_keys=keys)
        self.sql: str = done.string
        self.read = is_read(self.sql)
        self.order: tuple[str, ...] | None = tuple(done.positiontup) if done.positional \
            else None
        self.processors: dict[str, Processor] = dict(done._bind_processors)
        for name, bind in done.binds.items():
            if isinstance(bind.type, UTCDateTime) and name in self.processors:
                self.processors[name] = _instant(self.processors[name], dialect.name)
            elif (dialect.name == "sqlite" and name in self.processors
                  and type(bind.type) is Date):
                self.processors[name] = _sqlite_date(self.processors[name])
        self.escaped: Mapping[str, str] = dict(done.escaped_bind_names or {})
        # positional: each parameter's name and how its value goes to the driver
        # a bind without a type (e.g. bindparam("on")) may get a date: ISO text on SQLite
        untyped = {name for name, bind in ((done.bind_names[b], b) for b in done.bind_names)
                   if isinstance(bind.type, NullType)}
        self.plan: tuple[tuple[str, Processor | None], ...] = tuple(
            (name, self.processors.get(name, _sqlite_value if name in untyped else None))
            for name in self.order or ())
        # positional: the values in order at once, then only those with a processor
        names = self.order or ()
        self.take: Callable[[Mapping[str, Any]], Any] = (
            itemgetter(*names) if len(names) > 1 else _one(names[0]) if names else _none)
        self.processed: tuple[tuple[int, Processor], ...] = tuple(
            (i, process) for i, (_, process) in enumerate(self.plan) if process is not None)
        self.results: tuple[Processor | None, ...] = ()
        if getattr(statement, "is_select", False):
            self.results = tuple(
                column.type._cached_result_processor(dialect, None)
                for column in statement.selected_columns)

    def arguments(self, params: Mapping[str, Any]) -> Any:
        if self.order is not None:
            values = self.take(params)
            if not self.processed:
                return values
            values = list(values)
            for i, process in self.processed:
                values[i] = process(values[i])
            return values
        processors, escaped = self.processors, self.escaped
        return {escaped.get(name, name): processors[name](value) if name in processors
                else value for name, value in params.items()}


def _one(name: str) -> Callable[[Mapping[str, Any]], tuple[Any]]:
    return lambda params: (params[name],)


def _none(_params: Mapping[str, Any]) -> tuple[()]:
    return ()


_COMPILED: dict[tuple[int, str], _Compiled] = {}
_LAST_INSTANT: dict[str, tuple[Any, Any]] = {}


def _instant(process: Processor, dialect: str) -> Processor:
    """An instant column's bind processor that reuses the last instant's result: a call
    stores the same instant in several rows (the prospect, its history, the audit entry,
    the event), and every instant column stores it alike on one dialect."""

    def run(value: Any) -> Any:
        last = _LAST_INSTANT.get(dialect)
        if last is not None and last[0] is value:
            return last[1]
        result = process(value)
        _LAST_INSTANT[dialect] = (value, result)
        return result

    return run




_CONFLICTS = frozenset({"40001", "40P01"})
"""SQLSTATEs of a transaction the database ended to break a conflict with another:
a serialization failure, a deadlock (e.g. a library save against a script that
changed a principal's roles by hand, locking in the other order)."""


def driver_failure(error: BaseException) -> CustmgmtError:
    """What callers see of a driver's error: ConcurrencyError for a conflict the
    database broke (reload and retry), else StorageError with the error's class name,
    never its message (which may quote the values of the statement)."""
    if getattr(error, "sqlstate", None) in _CONFLICTS:
        return ConcurrencyError(
            f"a concurrent transaction conflicted ({type(error).__name__}): reload and retry")
    return StorageError(f"database failure: {type(error).__name__}")


def _sqlite_date(process: Processor) -> Processor:
    """SQLAlchemy's Date bind processor on SQLite, which formats year, month and day
    through a dictionary: a plain date's ISO text is the same text, sooner."""

    def run(value: Any) -> Any:
        return value.isoformat() if type(value) is date else process(value)

    return run


def _sqlite_value(value: Any) -> Any:
    # as SQLAlchemy's Date type stores it on SQLite (and no deprecated sqlite3 adapter)
    return value.isoformat() if isinstance(value, date) else value


def _compiled(statement: Any, dialect: Dialect) -> _Compiled:
    cache_key = (id(statement), dialect.name)
    found = _COMPILED.get(cache_key)
    if found is None:
        found = _COMPILED[cache_key] = _Compiled(statement, dialect, None)
    return found


def _connection(session: Session) -> tuple[Any, Dialect]:
    """The DBAPI connection of the session's transaction (begun if need be), and its
    dialect: the driver's own connection object, not the pool's proxy of it."""
    info = session.info
    cached: tuple[Any, Dialect] | None = info.get(_KEY)
    if cached is None:
        begin = info.get(BEGIN_ON_DRIVER)
        if begin is not None:
            cached = info[_KEY] = begin()
        else:
            connection = session.connection()
            cached = info[_KEY] = (connection.connection.dbapi_connection, connection.dialect)
    return cached


ORM_MADE = "custmgmt_orm_made"
"""``Session.info`` key of a unit of work: a function telling whether the unit has made
its ORM Session. A savepoint that Session began (``begin_nested``) is only sent with its
first statement through it."""


def _orm_made(session: Session) -> bool:
    made: Callable[[], bool] | None = session.info.get(ORM_MADE)
    return made is not None and made()


def _bulk_connection(session: Session) -> tuple[Any, Dialect]:
    """The DBAPI connection a bulk statement runs on, and its dialect: the ORM Session's
    if the unit has made one (its connection sends a savepoint it began and has not sent
    yet, so that a failure inside rolls back to it), else the driver's
    (:func:`_connection`: no ORM Session is made for it)."""
    if _orm_made(session):
        connection = session.connection()
        return connection.connection.driver_connection, connection.dialect
    return _connection(session)


def forget_connection(session: Session) -> None:
    """The session's transaction ended: the next statement asks it for its connection again."""
    session.info.pop(_KEY, None)


def commit_on_driver(session: Session) -> bool:
    """Commit the session's transaction on its DBAPI connection, skipping SQLAlchemy's
    commit bookkeeping (the caller then ends the session); False if no statement ran on
    the driver (commit the session)."""
    cached: tuple[Any, Dialect] | None = session.info.pop(_KEY, None)
    if cached is None:
        return False
    dbapi, dialect = cached
    try:
        dbapi.commit()
    except dialect.loaded_dbapi.Error as error:
        raise driver_failure(error) from None
    return True


def dialect_name(session: Session) -> str:
    name: str | None = session.info.get(DIALECT)
    return _connection(session)[1].name if name is None else name


def is_read(sql: str) -> bool:
    """Whether ``sql`` is a plain SELECT (no locking clause), safe outside a transaction."""
    head = sql.lstrip()[:7].upper()
    return head.startswith("SELECT") and " FOR UPDATE" not in sql and " FOR SHARE" not in sql


def leave_autocommit(driver_connection: Any) -> None:
    """A PostgreSQL connection of a read-only unit is about to write: from now on its
    statements run in a transaction (which the unit rolls back)."""
    if getattr(driver_connection, "autocommit", False) is True:
        driver_connection.autocommit = False


def _cursor(connection: Any, dialect: Dialect) -> Any:
    """A cursor of the driver's ``connection``; a connection lost meanwhile (psycopg
    refuses a cursor then) as ``driver_failure``, like any error of a statement."""
    try:
        return connection.cursor()
    except dialect.loaded_dbapi.Error as error:
        raise driver_failure(error) from None


def _run(connected: tuple[Any, Dialect], compiled: _Compiled, arguments: Any,
         many: bool = False) -> Any:
    dbapi, dialect = connected
    if dialect.name == "postgresql" and not compiled.read:
        leave_autocommit(dbapi)
    cursor = _cursor(dbapi, dialect)
    try:
        if many:
            cursor.executemany(compiled.sql, arguments)
        else:
            cursor.execute(compiled.sql, arguments)
        return cursor
    except dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise driver_failure(error) from None


SAVEPOINT = "custmgmt_driver"
"""The name of :func:`driver_savepoint`'s savepoints (a nested one hides the outer one
of the same name until it is released, in both databases)."""


@contextmanager
def driver_savepoint(session: Session) -> Iterator[None]:
    """A savepoint on the driver's connection around statements that all run on the
    driver (``driver_insert_columns``...): a SQL error inside undoes them alone and the
    transaction goes on, as ``Session.begin_nested`` does, without making the unit's ORM
    Session for it (its bookkeeping, made and closed for one savepoint, cost an import
    about 2% of its time). Nothing written through the ORM may happen inside. If the
    unit has made its ORM Session, the savepoint is the Session's (``begin_nested``),
    so that one the Session began and has not sent yet is not sent inside this one;
    it is sent at once, before the block's first statement on the driver."""
    if _orm_made(session):
        with session.begin_nested():
            session.connection()  # sent now: the driver's statements inside are undone too
            yield
        return
    connection, dialect = _connection(session)
    if dialect.name == "postgresql":
        leave_autocommit(connection)
    run_on_driver(connection, dialect, f"SAVEPOINT {SAVEPOINT}")
    try:
        yield
    except BaseException:
        run_on_driver(connection, dialect, f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        run_on_driver(connection, dialect, f"RELEASE SAVEPOINT {SAVEPOINT}")
        raise
    run_on_driver(connection, dialect, f"RELEASE SAVEPOINT {SAVEPOINT}")


def run_on_driver(connection: Any, dialect: Dialect, sql: str) -> None:
    """Run ``sql`` (a transaction or savepoint command, no rows) on the driver's
    ``connection``; a driver error as ``driver_failure``."""
    cursor = _cursor(connection, dialect)
    try:
        cursor.execute(sql)
    except dialect.loaded_dbapi.Error as error:
        raise driver_failure(error) from None
    finally:
        cursor.close()


def driver_rows(session: Session, statement: Executable, params: Mapping[str, Any]) -> list[Any]:
    """The rows of ``statement`` (bound by name from ``params``) as the driver returns them;
    a driver error is a StorageError naming only its type (parameters may hold PII)."""
    connected = _connection(session)
    compiled = _compiled(statement, connected[1])
    cursor = _run(connected, compiled, compiled.arguments(params))
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


ALONE = "custmgmt_alone"
"""``Session.info`` key of a read-only unit of work: a function giving, until the unit
has begun its transaction, the storage's :class:`Readers` for :func:`read_alone`;
None after."""
DIALECT = "custmgmt_dialect"
"""``Session.info`` key of the name of the unit's dialect."""
KEEP_READERS = 2
"""How many pooled connections :class:`Readers` keeps checked out between reads."""


class Readers:
    """The pooled connections :func:`read_alone` reads on. Up to ``keep`` of them stay
    checked out of the engine's pool between reads, ready in autocommit: checking a
    connection out of SQLAlchemy's pool and back in (its bookkeeping, events, the
    reset on return) cost as much as a short indexed read. A connection that sat
    unused for more than ``idle_seconds`` is pinged before it is used, and replaced by
    a new one if it no longer answers; one that failed is invalidated, never kept.
    ``serial`` (in-memory SQLite: one shared connection) keeps none."""

    def __init__(self, engine: Engine, serial: threading.Lock | None, *,
                 keep: int = KEEP_READERS, idle_seconds: float | None = None) -> None:
        self.engine = engine
        self.dialect: Dialect = engine.dialect
        self.serial = serial
        self._keep = 0 if serial is not None else keep
        self._idle_seconds = idle_seconds
        self._autocommit = self.dialect.name == "postgresql"
        self._idle: list[tuple[Any, Any, float]] = []
        self._closed = False
        self._giving = threading.Lock()

    def take(self) -> tuple[Any, Any]:
        """A pooled connection in autocommit and its driver's connection, one kept if
        any is fresh."""
        idle = self._idle
        driver: Any
        while idle:
            try:
                pooled, driver, used = idle.pop()
            except IndexError:  # another thread took the last one
                break
            if self._idle_seconds is None or time.monotonic() - used <= self._idle_seconds \
                    or self._alive(driver):
                return pooled, driver
            pooled.invalidate()  # gone (a server restart, an idle timeout): a new one
        pooled = self.engine.raw_connection()
        driver = pooled.driver_connection
        if self._autocommit:
            try:
                driver.autocommit = True
            except self.dialect.loaded_dbapi.Error as error:
                pooled.invalidate()
                raise driver_failure(error) from None
            except BaseException:
                pooled.invalidate()
                raise
        return pooled, driver

    def _alive(self, driver: Any) -> bool:
        """Whether ``driver`` still answers (a ping, as the pool's checkout does for a
        connection that sat idle). Giving it back to the pool would not do: checking
        it in marks it as just used, so the pool would hand it out unpinged."""
        try:
            return bool(self.dialect.do_ping(driver))
        except self.dialect.loaded_dbapi.Error:
            return False

    def give(self, pooled: Any, driver: Any) -> None:
        """``pooled`` read without failing: kept for the next read, or back to the pool."""
        used = 0.0 if self._idle_seconds is None else time.monotonic()
        with self._giving:  # two threads giving back at once must not keep more than keep
            if len(self._idle) < self._keep and not self._closed:
                self._idle.append((pooled, driver, used))
                return
        self._back(pooled, driver)

    def _back(self, pooled: Any, driver: Any) -> None:
        if self._autocommit:
            try:
                driver.autocommit = False  # as the pool hands them out
            except self.dialect.loaded_dbapi.Error:
                pooled.invalidate()
                return
        pooled.close()

    def close(self) -> None:
        """Give every kept connection back to the pool (before the engine is disposed)."""
        with self._giving:
            self._closed = True
            kept, self._idle[:] = self._idle[:], []
        for pooled, driver, _ in kept:
            self._back(pooled, driver)


def read_alone(session: Session, statement: Executable, params: Mapping[str, Any]) -> list[Any]:
    """Like :func:`driver_rows`, for a statement that is all a read-only unit reads: if
    the unit has not begun its transaction, it runs on a connection of the storage's
    :class:`Readers` in autocommit (one statement reads one snapshot), without the
    session: that skips the session's transaction bookkeeping, which cost as much as
    a short query, and on SQLite a BEGIN and a ROLLBACK, on PostgreSQL their round
    trips. Otherwise it runs in the unit's transaction."""
    info = session.info
    alone: Callable[[], Readers | None] | None = info.get(ALONE)
    readers = None if alone is None or _KEY in info else alone()
    if readers is None:
        return driver_rows(session, statement, params)
    dialect = readers.dialect
    compiled = _compiled(statement, dialect)
    arguments = compiled.arguments(params)
    serial = readers.serial
    if serial is not None and not serial.acquire(timeout=30):
        raise StorageError("timed out waiting for the in-memory SQLite database")
    try:
        pooled, driver = readers.take()
        try:
            # the driver's own execute (sqlite3, psycopg): its cursor is closed as it goes
            rows: list[Any] = driver.execute(compiled.sql, arguments).fetchall()
        except dialect.loaded_dbapi.Error as error:
            pooled.invalidate()  # whatever state it is left in, the pool drops it
            raise driver_failure(error) from None
        except BaseException:
            pooled.invalidate()
            raise
        readers.give(pooled, driver)
        return rows
    finally:
        if serial is not None:
            serial.release()


def typed_rows(session: Session, statement: Executable, params: Mapping[str, Any]) -> list[Any]:
    """Like :func:`driver_rows`, each value read back through its column's type (dates,
    instants, booleans as the ORM would give them), as tuples."""
    connected = _connection(session)
    compiled = _compiled(statement, connected[1])
    cursor = _run(connected, compiled, compiled.arguments(params))
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    processors = compiled.results
    if not any(processors):
        return [tuple(row) for row in rows]
    return [tuple(value if p is None else p(value) for p, value in zip(processors, row,
                                                                       strict=True))
            for row in rows]


def driver_execute(session: Session, statement: Executable, params: Mapping[str, Any]) -> int:
    """Run a DML ``statement`` bound by name from ``params``; the number of rows it touched."""
    connected = _connection(session)
    compiled = _compiled(statement, connected[1])
    cursor = _run(connected, compiled, compiled.arguments(params))
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *,
                  skip_conflicts: bool = False) -> int:
    """INSERT ``rows`` (all with the same keys) into ``table``; the number inserted.
    ``skip_conflicts``: a row that would break a unique key is left out (ON CONFLICT DO
    NOTHING) instead of failing the statement, so the transaction stays usable on
    PostgreSQL without a savepoint and the caller decides what the shortfall means."""
    if not rows:
        return 0
    connected = _connection(session)
    dialect = connected[1]
    keys = tuple(rows[0])
    found = _ONE_INSERT.get((id(table), keys, skip_conflicts, dialect.name))
    if found is None:
        statement: Any = insert(table)
        if skip_conflicts:
            make = postgresql_insert if dialect.name == "postgresql" else sqlite_insert
            statement = make(table).on_conflict_do_nothing()
        found = _ONE_INSERT[(id(table), keys, skip_conflicts, dialect.name)] = _Compiled(
            statement, dialect, keys)
    many = len(rows) > 1
    arguments = [found.arguments(row) for row in rows] if many else found.arguments(rows[0])
    cursor = _run(connected, found, arguments, many)
    try:
        return len(rows) if cursor.rowcount < 0 else int(cursor.rowcount)
    finally:
        cursor.close()


_ONE_INSERT: dict[tuple[int, tuple[str, ...], bool, str], _Compiled] = {}


_KEY_LOOKUPS: dict[tuple[int, int], Any] = {}
FEW_KEYS = 8
"""Up to this many identity keys are looked up in one statement on the driver."""


def key_holders(session: Session, table: Table, holder: str,
                keys: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(kind, value, holder id) of each of ``keys`` (at most FEW_KEYS (kind, value) pairs)
    held in the identity-key ``table``: one statement, each term served by its primary key."""
    statement = _KEY_LOOKUPS.get((id(table), len(keys)))
    if statement is None:
        kind, value = table.c.kind, table.c.value
        statement = _KEY_LOOKUPS[(id(table), len(keys))] = select(
            kind, value, table.c[holder]).where(or_(*(
                and_(kind == bindparam(f"k{i}"), value == bindparam(f"v{i}"))
                for i in range(len(keys)))))
    params: dict[str, Any] = {}
    for i, (kind_, value_) in enumerate(keys):
        params[f"k{i}"], params[f"v{i}"] = kind_, value_
    return [(k, v, h) for k, v, h in driver_rows(session, statement, params)]


# -- bulk inserts (the import) ------------------------------------------------------

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


def _values(plan: tuple[Any, ...], columns: Mapping[str, Sequence[Any]],
            text: Callable[[Sequence[Any]], Sequence[Any]] | None = None) -> list[Any]:
    """One tuple per row, in the statement's column order, bind-processed (and then, if
    given, each column through ``text``), from a list of values per column (zipped at
    the end): a batch's rows share most of their processed values (its instant, flags,
    amounts), each processed once."""
    built = [processed if text is None else text(processed)
             for _, processed in _processed_columns(plan, columns)]
    return list(zip(*built, strict=True))


def _processed_columns(plan: tuple[Any, ...], columns: Mapping[str, Sequence[Any]]
                       ) -> Iterator[tuple[str, Sequence[Any]]]:
    """Each column of ``plan`` with its values through its bind processor, if it has one."""
    for column, process in plan:
        values = columns[column]
        if process is None:
            yield column, values
        elif process in COLUMN_PACKERS:
            yield column, COLUMN_PACKERS[process](values)
        else:
            yield column, _processed(values, process)


def _one_object(values: Sequence[Any]) -> bool:
    """Whether ``values`` (not empty) are one object throughout (a batch's instant, its
    flags, a contact no row gives): checked in C, not value by value."""
    return all(map(is_, values, repeat(values[0])))


def _copy_text(cursor: Any) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """A column of a ``COPY`` with its shared values (one object throughout, such as a
    batch's instant and flags, or the few dates of its plans) as the text psycopg would
    send for each: dumped once, not once a row. ``COPY`` sends every value as text for
    the server to parse by its column's type, so the rows' bytes are the same; psycopg
    dumps an aware datetime in about 3 us, a date in 1 (benchmarks/HISTORY.md, stop 34)."""
    from psycopg.adapt import PyFormat, Transformer  # noqa: PLC0415 (PostgreSQL only)

    dumpers = Transformer.from_context(cursor)
    encoding = cursor.connection.info.encoding

    def dumped(value: Any) -> Any:
        if value is None:
            return None
        text = dumpers.get_dumper(value, PyFormat.TEXT).dump(value)
        return None if text is None else bytes(text).decode(encoding)

    def column(values: Sequence[Any]) -> Sequence[Any]:
        first = values[0] if values else None
        if first is None or type(first) is str:
            return values
        if _one_object(values):
            return [dumped(first)] * len(values)
        if type(first) in (date, datetime):
            return _processed(values, dumped)
        return values

    return column


def _processed(values: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``process`` of each of ``values``, called once for each distinct object (by
    identity, not equality: Decimal("1.0") and Decimal("1.00") are kept apart)."""
    if not values:
        return []
    if _one_object(values):  # repeated in C, not looked up value by value
        return [process(values[0])] * len(values)
    done: dict[int, Any] = {}
    out = []
    for value in values:
        key = id(value)  # every value is alive in ``values`` meanwhile: ids stay unique
        if key not in done:
            done[key] = process(value)
        out.append(done[key])
    return out


def _sqlite_insert(dialect: Dialect, table: Table, plan: tuple[Any, ...],
                   columns: Mapping[str, Sequence[Any]]) -> tuple[str, list[Any]]:
    """The INSERT of a SQLite bulk insert and its rows. A column holding one value
    throughout (a batch's owner, instant and flags, a contact no row has) is written
    once, as a literal of the statement, not bound again for every row; blobs are bound
    as ``bytearray``. The sqlite3 module binds None and ``bytes`` through its adapter
    look-up, 0.6-0.9 us each against 0.1-0.25 us for a number or a text (benchmarks/
    HISTORY.md, stop 34), and an import's row has a dozen columns no row of its batch
    fills. The statement's text never leaves this module: a refused insert names the
    statement with its placeholders (``_insert_plan``'s), not its literals."""
    quote = dialect.identifier_preparer.quote
    bound: list[str] = []
    fixed: list[tuple[str, str]] = []
    rows: list[Sequence[Any]] = []
    count = len(next(iter(columns.values())))
    for column, processed in _processed_columns(plan, columns):
        literal = _sqlite_literal(processed) if count > 1 else None
        if literal is not None:
            fixed.append((quote(column), literal))
            continue
        bound.append(quote(column))
        rows.append(_blobs_as_bytearray(processed))
    names = ", ".join([*bound, *(name for name, _ in fixed)])
    marks = ", ".join(["?"] * len(bound) + [literal for _, literal in fixed])
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
           f"VALUES ({marks})")
    return sql, list(zip(*rows, strict=True)) if rows else [()] * count


def _sqlite_literal(values: Sequence[Any]) -> str | None:
    """SQLite's literal for the one value ``values`` hold throughout, if it has one
    that says exactly that value (None, an int, text with no NUL that encodes)."""
    first = values[0]
    if not _one_object(values) and not (
            values[-1] == first  # (most columns of many values end in another)
            and values.count(first) == len(values)
            and all(map(is_, map(type, values), repeat(type(first))))):
        return None
    if first is None:
        return "NULL"
    if type(first) is int and -2**63 <= first < 2**63:  # beyond: REAL to SQLite, so bound
        return str(first)
    if type(first) is str and "\0" not in first:
        try:
            first.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: bound, and refused, as before
            return None
        return "'" + first.replace("'", "''") + "'"
    return None


def _blobs_as_bytearray(values: Sequence[Any]) -> Sequence[Any]:
    """``values`` with each ``bytes`` as a ``bytearray``, which the sqlite3 module binds
    as the same blob without its adapter look-up (a column holds one type of value,
    or None: its first value that is not None says which)."""
    if type(next((v for v in values if v is not None), None)) is not bytes:
        return values
    return [bytearray(v) if type(v) is bytes else v for v in values]


def driver_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in one round on the driver's cursor:
    ``executemany`` on SQLite (the batch's shared values as literals of its statement:
    ``_sqlite_insert``), ``COPY`` on PostgreSQL.

    The values go through the columns' bind processors, as SQLAlchemy would send them.
    A broken constraint raises SQLAlchemy's IntegrityError (without the parameters,
    which may hold PII), any other driver error StorageError naming only its type.
    """
    if rows:
        driver_insert_columns(session, table, {c: [row[c] for row in rows] for c in rows[0]})


def columns_of(
    items: Sequence[Any], read: Mapping[str, Callable[[Any], Any]]
) -> dict[str, list[Any]]:
    """A list per column of the values ``read`` takes from each of ``items`` (the rows of
    a bulk insert, built a column at a time)."""
    return {column: list(map(get, items)) for column, get in read.items()}


def driver_insert_columns(
    session: Session, table: Table, columns: Mapping[str, Sequence[Any]]
) -> None:
    """``driver_insert`` of rows given as a list of values per column, all as long (a
    bulk insert builds them a column at a time, with no mapping per row)."""
    if not columns or not next(iter(columns.values())):
        return
    connection, dialect = _bulk_connection(session)
    sql, plan, copy = _insert_plan(dialect, table, tuple(columns))
    if copy:
        leave_autocommit(connection)
    cursor = _cursor(connection, dialect)
    dbapi = dialect.loaded_dbapi
    try:
        if copy:
            values = _values(plan, columns, _copy_text(cursor))
            with cursor.copy(sql) as writer:
                for row in values:
                    writer.write_row(row)
        else:
            statement, values = _sqlite_insert(dialect, table, plan, columns)
            cursor.executemany(statement, values)
    except dbapi.IntegrityError as error:
        raise IntegrityError(sql, None, error) from None
    except (dbapi.Error, OverflowError) as error:  # (sqlite3: an int beyond 64 bits)
        raise driver_failure(error) from None
    finally:
        cursor.close()


def driver_key_holders(
    session: Session, table: Table, holder: str, kind: str, values: Sequence[str]
) -> list[tuple[str, str]]:
    """``(value, holder id)`` of the rows of a key table (``kind``, ``value``, ``holder``)
    whose kind is ``kind`` and whose value is one of ``values``: the duplicate check of
    a bulk import, 500 values a statement on the (kind, value) primary key."""
    connection, dialect = _bulk_connection(session)
    name = dialect.identifier_preparer.format_table(table)
    found: list[tuple[str, str]] = []
    cursor = _cursor(connection, dialect)
    try:
        for start in range(0, len(values), 500):
            chunk = list(values[start:start + 500])
            if dialect.name == "postgresql" and all(v and "," not in v for v in chunk):
                # one text split by the server: psycopg dumps a list of 500 strings as an
                # array in about ten times the time (sealed keys are hex: no commas)
                cursor.execute(f"SELECT value, {holder} FROM {name} WHERE kind = %s AND "
                               "value = ANY(string_to_array(%s, ','))", (kind, ",".join(chunk)))
            elif dialect.name == "postgresql":
                cursor.execute(f"SELECT value, {holder} FROM {name} "
                               "WHERE kind = %s AND value = ANY(%s)", (kind, chunk))
            else:
                marks = ", ".join("?" * len(chunk))
                cursor.execute(f"SELECT value, {holder} FROM {name} "
                               f"WHERE kind = ? AND value IN ({marks})", (kind, *chunk))
            found.extend(cursor.fetchall())
    except dialect.loaded_dbapi.Error as error:
        raise driver_failure(error) from None
    finally:
        cursor.close()
    return found
