"""SQLite file: WAL mode, read-only calls take no write lock, readers run beside a writer."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

import custmgmt
from custmgmt.adapters.sql.storage import SQLITE_CACHE_KIB, SQLITE_PAGE_SIZE
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import StorageError
from tests.conftest import START
from tests.helpers import in_threads, register_numbered

App = custmgmt.CustomerManagement


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    path = tmp_path / "crm.db"
    url = f"sqlite:///{path}"
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        app.principal("u-mia", roles={"sales_manager"}, team="east")
        app.principal("u-reg", roles={"sample_registry"})
        app.principal("u-root", roles={"admin"})
        for n in range(1, 6):
            register_numbered(app, alice, n)
    yield url, path


def test_a_file_database_is_in_wal_mode(database: tuple[str, Path]) -> None:
    _, path = database
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_new_file_has_the_larger_pages_and_an_existing_one_keeps_its_own(
        database: tuple[str, Path], tmp_path: Path) -> None:
    _, path = database
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA page_size").fetchone() == (SQLITE_PAGE_SIZE,)
    older = tmp_path / "older.db"
    with sqlite3.connect(older) as raw:  # made by another program, at SQLite's default
        raw.execute("CREATE TABLE theirs (x)")
        before = raw.execute("PRAGMA page_size").fetchone()
    assert before != (SQLITE_PAGE_SIZE,)
    with custmgmt.open(f"sqlite:///{older}", migrate=True) as app:
        app.principal("u-alice", roles={"salesperson"})
    with sqlite3.connect(older) as raw:
        assert raw.execute("PRAGMA page_size").fetchone() == before
        assert raw.execute("SELECT count(*) FROM custmgmt_principals").fetchone() == (1,)


def test_each_connection_to_a_file_keeps_the_larger_page_cache(
        database: tuple[str, Path]) -> None:
    url, _ = database
    with custmgmt.open(url) as app:
        engine = app.followups._ctx.storage.reader  # type: ignore[attr-defined]
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
                assert size == -SQLITE_CACHE_KIB
    assert SQLITE_CACHE_KIB > 2000  # more than SQLite's own default


def _held_write_lock(path: Path) -> sqlite3.Connection:
    """Another writer in the middle of a transaction: it holds the write lock."""
    writer = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE custmgmt_prospects SET name = 'uncommitted'")
    return writer


def _reads(app: App) -> list[Callable[[], Any]]:
    alice, mia = app.get_principal("u-alice"), app.get_principal("u-mia")
    registry, root = app.get_principal("u-reg"), app.get_principal("u-root")
    assert alice is not None and mia is not None and registry is not None
    assert root is not None
    first = app.prospects.mine(alice).items[0]
    return [
        lambda: app.prospects.get(alice, first.id),
        lambda: app.prospects.list(mia),
        lambda: app.prospects.counts(mia),
        lambda: app.prospects.history(alice, first.id),
        lambda: app.prospects.audit_trail(alice, first.id),
        lambda: app.followups.due(mia, on=date(2026, 12, 31)),
        lambda: app.followups.history(mia),
        lambda: app.followups.plan(alice, first.id),
        lambda: app.reports.funnel(mia, start=date(2026, 3, 1), end=date(2026, 3, 31)),
        lambda: app.samples.stocktake(registry),
        lambda: app.events(root),
        lambda: app.outbox(root),
        lambda: app.get_principal("u-alice"),
        lambda: app.principals.list(root),
        lambda: app.audit.verify(root, "prospect", first.id),
        lambda: app.reports.visit_points(mia, month="2026-03"),
        lambda: app.reports.followup_compliance(mia, start=date(2026, 3, 1),
                                                end=date(2026, 3, 31)),
        lambda: app.samples.departments(registry),
        lambda: app.samples.overdue_returns(registry),
        lambda: app.notifications.dead(root),
        lambda: app.credit.exposure_report(root),
        lambda: app.delisting.review_due(root),
    ]


def test_read_only_calls_run_while_another_writer_holds_the_lock(
    database: tuple[str, Path],
) -> None:
    url, path = database
    with custmgmt.open(url, clock=FixedClock(START)) as app:
        reads = _reads(app)
        writer = _held_write_lock(path)
        try:
            results: list[Any] = []
            errors: list[BaseException] = []

            def read_all() -> None:
                try:
                    results.extend(read() for read in reads)
                except BaseException as error:  # reported below
                    errors.append(error)

            # Eight readers at once, all while the writer holds the write lock.
            in_threads(read_all, 8, timeout=20)  # fails if a reader waited for the lock
            assert errors == []
            assert len(results) == 8 * len(reads)
            # Readers see the last committed state, not the writer's uncommitted change.
            alice = app.get_principal("u-alice")
            assert alice is not None
            assert all(p.profile.name.value != "uncommitted"
                       for p in app.prospects.mine(alice).items)
        finally:
            writer.rollback()
            writer.close()


def test_a_writer_still_waits_for_the_write_lock_and_then_writes(
    database: tuple[str, Path],
) -> None:
    url, path = database
    with custmgmt.open(url, clock=FixedClock(START)) as app:
        alice = app.get_principal("u-alice")
        assert alice is not None
        writer = _held_write_lock(path)
        done = threading.Event()

        def register() -> None:
            register_numbered(app, alice, 6)
            done.set()

        thread = threading.Thread(target=register)
        thread.start()
        assert not done.wait(0.5), "a second writer went ahead of the lock holder"
        writer.rollback()
        writer.close()
        thread.join(timeout=20)
        assert done.is_set()
        assert len(app.prospects.mine(alice).items) == 6


def test_a_writer_that_waited_out_the_lock_is_refused_and_writes_later(
    database: tuple[str, Path],
) -> None:
    url, path = database

    def short_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 50")  # not the 30 s default

    event.listen(Engine, "connect", short_wait)
    try:
        with custmgmt.open(url, clock=FixedClock(START)) as app:
            alice = app.get_principal("u-alice")
            assert alice is not None
            writer = _held_write_lock(path)
            try:
                with pytest.raises(StorageError):
                    register_numbered(app, alice, 6)
            finally:
                writer.rollback()
                writer.close()
            assert len(app.prospects.mine(alice).items) == 5  # the refused call left nothing
            register_numbered(app, alice, 6)  # its connection went back whole: writes go on
            assert len(app.prospects.mine(alice).items) == 6
    finally:
        event.remove(Engine, "connect", short_wait)
