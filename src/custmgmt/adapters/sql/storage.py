"""The SQL unit of work (one database transaction) and the storage that hands it out."""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import cattrs
from alembic.util.exc import CommandError as AlembicError
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import StaticPool

from custmgmt.adapters.sql import migrate as migrations
from custmgmt.adapters.sql.care import SqlCareFiles, SqlComplaints
from custmgmt.adapters.sql.care_records import (
    SqlCareTasks,
    SqlMemberships,
    SqlSurveys,
    SqlVisits,
)
from custmgmt.adapters.sql.consent import SqlConsents
from custmgmt.adapters.sql.credit import SqlCredit, SqlCreditLimits
from custmgmt.adapters.sql.customers import SqlCustomers
from custmgmt.adapters.sql.delisting import SqlDelisting
from custmgmt.adapters.sql.delivery import SqlEvents, SqlObserverCursors, SqlOutbox
from custmgmt.adapters.sql.driver import (
    ALONE,
    BEGIN_ON_DRIVER,
    DIALECT,
    ORM_MADE,
    Readers,
    commit_on_driver,
    driver_failure,
    forget_connection,
    is_read,
    leave_autocommit,
    run_on_driver,
)
from custmgmt.adapters.sql.followups import SqlClosedMonths, SqlFollowUps, SqlPlans
from custmgmt.adapters.sql.marketing import SqlCampaigns, SqlMarketing
from custmgmt.adapters.sql.privacy import SqlPiRequests
from custmgmt.adapters.sql.prospects import SqlProspects
from custmgmt.adapters.sql.repositories import SqlAudit, SqlCounters, SqlHeads, SqlPrincipals
from custmgmt.adapters.sql.samples import SqlSamples
from custmgmt.adapters.sql.stock import SqlDepartments, SqlStockCounts
from custmgmt.errors import ConcurrencyError, CustmgmtError, StorageError, ValidationError
from custmgmt.ports.storage import UnitOfWork
from custmgmt.serialization import make_converter

T = TypeVar("T")


def storage_error(error: SQLAlchemyError) -> CustmgmtError:
    """A StorageError that names the failure but never echoes parameters (they hold
    PII); ConcurrencyError for a conflict the database broke (see ``driver_failure``)."""
    original = getattr(error, "orig", None)
    if original is not None:
        failure = driver_failure(original)
        if isinstance(failure, ConcurrencyError):
            return failure
    code = getattr(error, "code", None)
    detail = type(original).__name__ if original is not None else type(error).__name__
    return StorageError(f"database failure: {detail}" + (f" [{code}]" if code else ""))


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except CustmgmtError:
        raise
    except SQLAlchemyError as error:
        raise storage_error(error) from None
    except AlembicError as error:
        # e.g. the database was migrated by a newer custmgmt than this one
        raise StorageError(f"migration failed: {error}") from None


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: object, *args: Any, **kwargs: Any) -> Any:
        # as translated(), without a context manager per call
        try:
            return method(self, *args, **kwargs)
        except CustmgmtError:
            raise
        except SQLAlchemyError as error:
            raise storage_error(error) from None
        except AlembicError as error:
            raise StorageError(f"migration failed: {error}") from None

    return call


_GUARDED: dict[type, type] = {}


def _guard(repository: T) -> T:
    """``repository``, with every public method translating database errors: it becomes
    an instance of a subclass made once per repository class whose methods do that (a
    wrapper object made each call cost more than some of the statements)."""
    cls = type(repository)
    guarded = _GUARDED.get(cls)
    if guarded is None:
        methods = {name: _translating(member)
                   for name, member in inspect.getmembers(cls, inspect.isfunction)
                   if not name.startswith("_")}
        guarded = _GUARDED[cls] = type(cls.__name__, (cls,), methods)
    repository.__class__ = guarded
    return repository


REPOSITORIES: Mapping[str, Callable[[Session, cattrs.Converter], object]] = {
    "prospects": lambda s, _: SqlProspects(s),
    "customers": lambda s, _: SqlCustomers(s),
    "credit": lambda s, _: SqlCredit(s),
    "credit_limits": lambda s, _: SqlCreditLimits(s),
    "delisting": lambda s, _: SqlDelisting(s),
    "consents": lambda s, _: SqlConsents(s),
    "campaigns": lambda s, _: SqlCampaigns(s),
    "marketing": lambda s, _: SqlMarketing(s),
    "principals": lambda s, _: SqlPrincipals(s),
    "plans": lambda s, _: SqlPlans(s),
    "follow_ups": lambda s, _: SqlFollowUps(s),
    "closed_months": lambda s, _: SqlClosedMonths(s),
    "samples": lambda s, _: SqlSamples(s),
    "departments": lambda s, _: SqlDepartments(s),
    "stock_counts": lambda s, _: SqlStockCounts(s),
    "counters": lambda s, _: SqlCounters(s),
    "audit": lambda s, _: SqlAudit(s),
    "heads": lambda s, _: SqlHeads(s),
    "events": SqlEvents,
    "outbox": lambda s, _: SqlOutbox(s),
    "observer_cursors": lambda s, _: SqlObserverCursors(s),
    "pi_requests": lambda s, _: SqlPiRequests(s),
    "care_files": lambda s, _: SqlCareFiles(s),
    "complaints": lambda s, _: SqlComplaints(s),
    "visits": lambda s, _: SqlVisits(s),
    "surveys": lambda s, _: SqlSurveys(s),
    "care_tasks": lambda s, _: SqlCareTasks(s),
    "memberships": lambda s, _: SqlMemberships(s),
}
"""The SQL implementation of each roster entry (a test holds it to the roster)."""


class _UnitSession:
    """What a unit of work's repositories hold as their Session. ``info`` is its own: the
    driver (``adapters/sql/driver.py``) finds there the transaction's DBAPI connection,
    or the unit's way to begin one on a pooled connection, so a call whose statements
    all run on the driver (one ``register``) never makes an ORM Session, whose
    bookkeeping (connection, transaction, close) cost as much as three statements.
    Anything else is the unit's real Session, made on first use and joined to the
    transaction already begun on the driver."""

    def __init__(self, unit: SqlUnitOfWork) -> None:
        self.info: dict[str, Any] = {}
        self._unit = unit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._unit.orm_session(), name)


class SqlUnitOfWork:
    """One database transaction; repositories share its session. A read-only unit
    begins a plain (deferred) transaction on SQLite, which takes no write lock."""

    def __init__(self, storage: SqlStorage, read_only: bool = False) -> None:
        self._storage = storage
        self._session: _UnitSession | None = None
        self._orm: Session | None = None
        self._pooled: Any = None  # a DBAPI connection (pool-proxied) begun on the driver
        self._joined: Connection | None = None  # the ORM's Connection over it
        self._events: SqlEvents | None = None
        self._made: list[str] = []  # the repositories made in this unit
        self.read_only = read_only

    def __enter__(self) -> Self:
        session = _UnitSession(self)
        storage = self._storage
        session.info[DIALECT] = storage.dialect
        # on the driver: SQLite files (BEGIN IMMEDIATE / BEGIN) and PostgreSQL writes; a
        # read-only unit on PostgreSQL reads in autocommit through the ORM's connection
        if storage.serial is None and (storage.dialect == "sqlite" or not self.read_only):
            session.info[BEGIN_ON_DRIVER] = self._begin_on_driver
        if self.read_only:  # a unit whose only statement is one read may run it alone
            session.info[ALONE] = self._alone
        session.info[ORM_MADE] = self._orm_made
        self._session = session
        return self

    def _alone(self) -> Readers | None:
        """Where a statement that is all this read-only unit reads may run on a
        connection of its own (``driver.read_alone``): None once the unit has begun."""
        if self._orm is not None or self._pooled is not None:
            return None
        return self._storage.readers

    def _orm_made(self) -> bool:
        """Whether this unit has made its ORM Session (``driver.ORM_MADE``)."""
        return self._orm is not None

    def _begin_on_driver(self) -> tuple[Any, Any]:
        """Begin the transaction on a pooled DBAPI connection (or, if the ORM Session
        began it, join the Session's)."""
        if self._orm is not None:
            connection = self._orm.connection()
            return connection.connection, connection.dialect
        engine = self._storage.engine
        dialect = engine.dialect
        try:
            pooled = engine.raw_connection()
        except SQLAlchemyError as error:
            raise storage_error(error) from None
        except dialect.loaded_dbapi.Error as error:
            raise driver_failure(error) from None
        if dialect.name == "sqlite":
            try:
                run_on_driver(pooled, dialect, "BEGIN" if self.read_only else "BEGIN IMMEDIATE")
            except CustmgmtError:  # e.g. still locked after the busy timeout
                pooled.close()
                raise
        # PostgreSQL (autocommit off) begins with the first statement
        self._pooled = pooled
        return pooled.dbapi_connection, dialect

    def orm_session(self) -> Session:
        """The unit's ORM Session, made on first use: in the transaction begun on the
        driver if there is one, else on the engine (its first statement begins one)."""
        if self._orm is None:
            storage = self._storage
            engine = storage.reader if self.read_only else storage.engine
            bind: Engine | Connection = engine
            if self._pooled is not None:
                joined = Connection(engine, connection=self._pooled)
                joined.execution_options(**{BEGUN: True})  # no second BEGIN (_begin)
                self._joined = bind = joined
            session = Session(bind, expire_on_commit=False, autoflush=False)
            if storage.serial is not None:
                _one_at_a_time(session, storage.serial)
            self._orm = session
        return self._orm

    def __getattr__(self, name: str) -> Any:
        """A roster repository, made on first use in this unit of work (a call touches
        a few of them; making all of them for every call cost as much as a statement)."""
        make = REPOSITORIES.get(name)
        if make is None or self._session is None:
            raise AttributeError(name)
        repository = make(cast(Session, self._session), self._storage.converter)
        if isinstance(repository, SqlEvents):
            self._events = repository  # flushed last, at commit
        guarded = _guard(repository)
        setattr(self, name, guarded)
        self._made.append(name)
        return guarded

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is None:
            return
        for name in self._made:  # made for this transaction only
            del self.__dict__[name]
        self._made.clear()
        self._events = None
        self._end()
        self._session = None

    def _end(self, committed: bool = False) -> None:
        """Roll back whatever was not committed and give the connection back."""
        assert self._session is not None
        forget_connection(cast(Session, self._session))
        session, self._orm = self._orm, None
        joined, self._joined = self._joined, None
        pooled, self._pooled = self._pooled, None
        if session is not None:
            try:
                # close() rolls back whatever was not committed (without the bookkeeping
                # of rollback(), which restores object state nobody will read again)
                session.close()
            except SQLAlchemyError:
                # The connection is already gone; the database rolls the transaction back.
                session.invalidate()
        if joined is not None:
            try:
                joined.close()  # gives the pooled connection back (after rolling back)
            except SQLAlchemyError:
                joined.invalidate()
        elif pooled is not None and committed:
            # nothing left to roll back: the pool need not reset it either (as
            # SQLAlchemy's own Connection hands back a connection it has reset)
            pooled._close_special(transaction_reset=True)
        elif pooled is not None:
            try:
                pooled.rollback()
            except self._storage.engine.dialect.loaded_dbapi.Error:
                pooled.invalidate()  # the connection is gone: the pool makes a new one
            else:
                pooled._close_special(transaction_reset=True)

    def commit(self) -> None:
        if self._session is None:
            raise StorageError("commit() outside the unit of work's with-block")
        if self.read_only:
            raise StorageError("a read-only unit of work cannot commit")
        with translated():
            if self._events is not None:  # last: positions in commit order (see .delivery)
                self._events.flush()
            if not commit_on_driver(cast(Session, self._session)) and self._orm is not None:
                self._orm.commit()
        self._end(committed=True)  # the next statement, if any, begins a new transaction

    def rollback(self) -> None:
        if self._session is not None:
            if self._events is not None:
                self._events.discard()
            with translated():
                self._end()


def _one_at_a_time(session: Session, serial: threading.Lock) -> None:
    """In-memory SQLite has one shared connection: a session's transaction holds it."""

    @event.listens_for(session, "after_transaction_create")
    def _take(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and not serial.acquire(timeout=30):
            raise StorageError("timed out waiting for the in-memory SQLite database")

    @event.listens_for(session, "after_transaction_end")
    def _give(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            serial.release()


READ_ONLY = "custmgmt_read_only"
"""Execution option marking the connections of read-only units of work."""
BEGUN = "custmgmt_begun"
"""Execution option of an ORM connection joined to a transaction begun on the driver."""


SQLITE_PAGE_SIZE = 16384
"""Bytes a page of a SQLite file custmgmt creates. An import's sealed identity keys land
on random index pages, each written again by every commit that touched it; at 16 KiB
(SQLite's default is 4 KiB) the indexes have fewer, fuller pages: an import of 100k
prospects took 0.96x the time (benchmarks/HISTORY.md, 2026-12-02)."""


SQLITE_CACHE_KIB = 16384
"""KiB of pages each connection to a SQLite file custmgmt opens may keep in memory
(``PRAGMA cache_size``; SQLite's default is 2,000 KiB), held only as pages are read.
An import's sealed identity keys land on random pages of their unique indexes, which
outgrow the default cache (two keys a prospect: about 5 MB at 100k prospects), so it
read them again from the file for most rows: with 16 MiB an import of 100k prospects
took 0.804x the time, with 64 MiB 0.786x (paired with the default, five rounds:
benchmarks/HISTORY.md, stop 34)."""


def _sqlite_transactions(engine: Engine, in_memory: bool) -> None:
    """Real transactions on SQLite. A file database is in WAL mode, so readers read a
    snapshot while one writer writes. Writers BEGIN IMMEDIATE, so they queue for the
    write lock instead of deadlocking on a lock upgrade; read-only units BEGIN a
    deferred transaction, which never asks for the write lock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            # Takes effect only on a file with no tables yet (a file keeps its page size
            # until VACUUM, and in WAL mode for good): so before the mode is set.
            cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(BEGUN, False):  # joined to the unit's transaction on the driver
            return
        read_only = options.get(READ_ONLY, False)
        # on the driver: a statement through SQLAlchemy cost as much as a short query
        run_on_driver(connection.connection, connection.dialect,
                      "BEGIN" if read_only else "BEGIN IMMEDIATE")


def _begin_on_write(engine: Engine) -> None:
    """A read-only unit on PostgreSQL reads in autocommit; a statement that is not a
    plain read (a write, a SAVEPOINT) first turns autocommit off, so it runs in a
    transaction that the unit's end rolls back."""

    @event.listens_for(engine, "before_cursor_execute")
    def _writing(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY, False) and \
                not is_read(statement):
            leave_autocommit(connection.connection.driver_connection)


IDLE_PING_SECONDS = 5.0
"""A pooled connection unused for longer is pinged before it is handed out."""


def _ping_when_idle(engine: Engine) -> None:
    """Like ``pool_pre_ping``, for connections that sat idle in the pool: a server
    restart or an idle timeout shows up as a fresh connection instead of a failed
    call. A connection checked in moments ago is handed out without the extra round
    trip (the ping cost as much as a due list's whole query)."""

    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        record.info["custmgmt_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get("custmgmt_used")
        if used is None or time.monotonic() - used <= IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            alive = False
        if not alive:
            raise DisconnectionError("the pooled connection is gone")  # the pool reconnects


def make_engine(url: str) -> tuple[Engine, threading.Lock | None]:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValidationError("url", "is not a database URL") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            in_memory = parsed.database in (None, "", ":memory:")
            engine = create_engine(
                parsed, connect_args={"timeout": 30, "check_same_thread": False},
                poolclass=StaticPool if in_memory else None, hide_parameters=True,
            )
            _sqlite_transactions(engine, in_memory)
            return engine, threading.Lock() if in_memory else None
        # hide_parameters: statement parameters (phones, names) never reach a log or error.
        engine = create_engine(parsed, hide_parameters=True)
        _ping_when_idle(engine)
        return engine, None
    except (ArgumentError, ValueError, TypeError) as error:
        raise ValidationError("url", f"has options the driver refuses ({error})") from None
    except NoSuchModuleError:
        raise ValidationError("url", f"no driver for {parsed.drivername!r}; for PostgreSQL "
                              "install the extra: pip install 'custmgmt[postgresql]'") from None
    except ImportError:
        raise ValidationError("url", f"the driver for {parsed.drivername!r} is not installed; "
                              "for PostgreSQL: pip install 'custmgmt[postgresql]'") from None


class SqlStorage:
    """Storage on a SQLAlchemy engine. ``migrate=True`` upgrades the schema first;
    otherwise a schema that is not at the current revision is refused."""

    def __init__(self, url: str, *, migrate: bool = False) -> None:
        self.engine, self.serial = make_engine(url)
        self.dialect = self.engine.dialect.name
        # A server process a connection: two units of work write at once (an import
        # writes its next batch while the one before commits). SQLite has one writer.
        self.writes_in_parallel = self.dialect == "postgresql"
        self.reader = self.engine.execution_options(**{READ_ONLY: True})
        if self.engine.dialect.name == "postgresql":
            # Read-only units read in autocommit: under READ COMMITTED a transaction gives
            # each statement its own snapshot anyway, and this saves the BEGIN and
            # ROLLBACK round trips of every read. The first statement that is not a
            # read begins a transaction (see _begin_on_write), which the end of the unit
            # rolls back: a read-only unit still keeps nothing it wrote.
            self.reader = self.reader.execution_options(isolation_level="AUTOCOMMIT")
            _begin_on_write(self.engine)
        self.readers = Readers(
            self.reader, self.serial,
            idle_seconds=IDLE_PING_SECONDS if self.dialect == "postgresql" else None)
        self.converter = make_converter()
        try:
            with translated():
                if migrate:
                    migrations.upgrade(self.engine)
                else:
                    migrations.require_current(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        # Its repositories come from the roster; the storage contract checks the port.
        return cast(UnitOfWork, SqlUnitOfWork(self, read_only))

    def migrate(self) -> None:
        with translated():
            migrations.upgrade(self.engine)

    def close(self) -> None:
        self.readers.close()
        self.engine.dispose()

