"""The connections a read-only call reads on alone (``driver.Readers``): kept between
reads, never stale, never kept after a failure, given back when the storage closes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest

import custmgmt
from custmgmt.adapters.sql.driver import KEEP_READERS, Readers
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import StorageError
from tests.conftest import START
from tests.helpers import in_threads, register_numbered
from tests.pg_server import Cluster

App = custmgmt.CustomerManagement
ON = date(2026, 12, 31)


@pytest.fixture
def app(sql_url: str) -> Iterator[App]:
    with custmgmt.open(sql_url, migrate=True, clock=FixedClock(START)) as opened:
        alice = opened.principal("u-alice", roles={"salesperson"}, team="east")
        register_numbered(opened, alice, 1)
        yield opened


def _storage(app: App) -> SqlStorage:
    storage = app.followups._ctx.storage
    assert isinstance(storage, SqlStorage)
    return storage


def _alice(app: App) -> custmgmt.Principal:
    alice = app.get_principal("u-alice")
    assert alice is not None
    return alice


def test_a_reader_is_kept_and_reused(app: App) -> None:
    readers = _storage(app).readers
    alice = _alice(app)
    app.followups.due(alice, on=ON)  # the first list reads the grants first, in a transaction
    assert len(app.followups.due(alice, on=ON)) == 1
    kept = list(readers._idle)
    assert len(kept) == 1
    assert len(app.followups.due(alice, on=ON)) == 1
    assert [p for p, _, _ in readers._idle] == [p for p, _, _ in kept]  # the same connection


def test_a_kept_reader_sees_what_others_committed_since(app: App, sql_url: str) -> None:
    alice = _alice(app)
    assert len(app.followups.due(alice, on=ON)) == 1
    with custmgmt.open(sql_url, clock=FixedClock(START)) as other:
        register_numbered(other, _alice(other), 2)
    assert len(app.followups.due(alice, on=ON)) == 2
    app.principal("u-alice", roles=set(), team="east")  # no role left: refused at once
    with pytest.raises(custmgmt.errors.PermissionDenied):
        app.followups.due(alice, on=ON)


def test_no_more_than_a_few_are_kept(sql_url: str) -> None:
    with custmgmt.open(sql_url, migrate=True) as app:
        readers = _storage(app).readers
        taken = [readers.take() for _ in range(KEEP_READERS + 2)]
        for pooled, driver in taken:
            readers.give(pooled, driver)
        assert len(readers._idle) == KEEP_READERS
        pool: Any = _storage(app).engine.pool
        assert pool.checkedout() == KEEP_READERS


def test_a_reader_idle_too_long_is_pinged_and_kept_while_it_answers(sql_url: str) -> None:
    storage = SqlStorage(sql_url, migrate=True)
    try:
        readers = Readers(storage.reader, None, idle_seconds=0.0)
        first = readers.take()
        readers.give(*first)
        pool: Any = storage.engine.pool
        assert pool.checkedout() == 1
        second = readers.take()  # idle too long, but it answers the ping
        assert second[0] is first[0]
        assert pool.checkedout() == 1
        readers.give(*second)
        readers.close()
        assert pool.checkedout() == 0
    finally:
        storage.close()


@pytest.mark.postgresql
def test_a_read_after_the_server_dropped_idle_readers_reconnects(
        postgres: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    url = postgres.new_database()
    real, offset = time.monotonic, [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: real() + offset[0])
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        register_numbered(app, app.principal("u-alice", roles={"salesperson"}, team="east"), 1)
        alice = _alice(app)
        for _ in range(3):
            assert len(app.followups.due(alice, on=ON)) == 1
        assert _storage(app).readers._idle  # a reader is kept
        offset[0] += 60  # every connection, kept or pooled, idle past IDLE_PING_SECONDS
        engine_url = _storage(app).engine.url
        with psycopg.connect(f"host={engine_url.query['host']} user=postgres "
                             f"dbname={engine_url.database}", autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()",
                          (engine_url.database,))
        assert len(app.followups.due(alice, on=ON)) == 1  # a new connection, no error


def test_a_failed_read_is_never_kept(app: App, sql_url: str) -> None:
    readers = _storage(app).readers
    alice = _alice(app)
    app.followups.due(alice, on=ON)
    app.followups.due(alice, on=ON)
    ((kept, _, _),) = readers._idle
    if sql_url.startswith("sqlite"):
        kept.driver_connection.close()  # gone: the next read on it fails
    else:
        pid = kept.driver_connection.info.backend_pid
        database = _storage(app).engine.url.database
        host = _storage(app).engine.url.query["host"]
        with psycopg.connect(f"host={host} user=postgres dbname={database}",
                             autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StorageError):
        app.followups.due(alice, on=ON)
    assert readers._idle == []
    assert len(app.followups.due(alice, on=ON)) == 1  # a new connection from the pool


def test_closing_gives_every_kept_reader_back(sql_url: str) -> None:
    storage = SqlStorage(sql_url, migrate=True)
    readers = storage.readers
    taken = [readers.take() for _ in range(KEEP_READERS)]
    for pooled, driver in taken:
        readers.give(pooled, driver)
    pool: Any = storage.engine.pool
    assert pool.checkedout() == KEEP_READERS
    storage.close()
    assert readers._idle == []
    assert pool.checkedout() == 0
    late = storage.engine.raw_connection()
    readers.give(late, late.driver_connection)  # after closing: back to the pool, not kept
    assert readers._idle == []
    storage.engine.dispose()


@pytest.mark.postgresql
def test_a_postgresql_reader_reads_in_autocommit_and_goes_back_as_the_pool_gave_it(
        postgres: Cluster) -> None:
    storage = SqlStorage(postgres.new_database(), migrate=True)
    try:
        readers = storage.readers
        pooled, driver = readers.take()
        assert driver.autocommit is True
        readers.give(pooled, driver)
        readers.close()
        assert driver.autocommit is False
        with storage.engine.connect() as connection:  # the pool hands it out again
            handed: Any = connection.connection.driver_connection
            assert handed.autocommit is False
    finally:
        storage.close()


def test_threads_reading_at_once_each_get_their_own_connection(app: App) -> None:
    """Many threads reading due lists at once: every list is right, no connection is
    used by two threads at a time, and no more than a few stay checked out after."""
    alice = _alice(app)
    app.followups.due(alice, on=ON)
    readers = _storage(app).readers
    used: dict[int, int] = {}
    in_use: set[int] = set()
    lock = threading.Lock()
    shared: list[str] = []
    real_take, real_give = readers.take, readers.give

    def take() -> tuple[Any, Any]:
        pooled, driver = real_take()
        with lock:
            if id(driver) in in_use:
                shared.append("two threads on one connection")
            in_use.add(id(driver))
            used[id(driver)] = used.get(id(driver), 0) + 1
        return pooled, driver

    def give(pooled: Any, driver: Any) -> None:
        with lock:
            in_use.discard(id(driver))
        real_give(pooled, driver)

    readers.take, readers.give = take, give  # type: ignore[method-assign]
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work() -> None:
        try:
            start.wait()  # all at once
            for _ in range(30):
                assert len(app.followups.due(alice, on=ON)) == 1
        except BaseException as error:  # reported below
            errors.append(error)

    in_threads(work, 6)
    assert errors == [] and shared == []
    assert sum(used.values()) == 6 * 30
    assert len(readers._idle) <= KEEP_READERS
    pool: Any = _storage(app).engine.pool
    assert pool.checkedout() == len(readers._idle)


@pytest.mark.postgresql
def test_a_new_reader_the_driver_refuses_to_put_in_autocommit_fails_as_a_storage_error(
        postgres: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = SqlStorage(postgres.new_database(), migrate=True)
    try:
        readers = Readers(storage.reader, None)
        handed_out = readers.engine.raw_connection

        def in_a_transaction() -> Any:
            pooled = handed_out()
            pooled.driver_connection.execute("SELECT 1")  # psycopg now refuses autocommit
            return pooled

        monkeypatch.setattr(readers.engine, "raw_connection", in_a_transaction)
        with pytest.raises(StorageError, match="database failure"):
            readers.take()
        pool: Any = storage.engine.pool
        assert pool.checkedout() == 0  # dropped, not leaked
    finally:
        storage.close()
