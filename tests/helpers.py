"""Small helpers shared by service tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import custmgmt


def each_in_thread(
    target: Callable[..., object], arguments: Iterable[tuple[Any, ...]], timeout: float = 120.0
) -> None:
    """Call ``target(*args)`` for each of ``arguments`` in a thread of its own, all at
    once, and wait for them; fail if any is still running after ``timeout`` seconds
    (a hung thread must not pass as a finished one)."""
    threads = [threading.Thread(target=target, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = sum(thread.is_alive() for thread in threads)
    assert not running, f"{running} of {len(threads)} threads still running after {timeout} s"


def in_threads(work: Callable[[], object], count: int, timeout: float = 120.0) -> None:
    """Run ``work`` in ``count`` threads at once and wait for all of them."""
    each_in_thread(work, [()] * count, timeout)


class SpoiledIds(custmgmt.SequentialIds):
    """Sequential ids, but each of one kind (``prefix``) ends with ``suffix``."""

    def __init__(self, prefix: str, suffix: str) -> None:
        super().__init__()
        self._prefix, self._suffix = prefix, suffix

    def new_id(self, prefix: str) -> str:
        made = super().new_id(prefix)
        return made + self._suffix if prefix == self._prefix else made


def a_customer(app: custmgmt.CustomerManagement, n: int = 1) -> str:
    """Customer ``n`` (an existing client created by an account manager): its id."""
    manager = app.principal("u-am", roles={"account_manager"}, team="accounts")
    return app.customers.create(manager, name=f"Client {n}", organization=f"Client {n} Ltd",
                                phone=f"1390000{n:04d}").id


def register_numbered(
    app: custmgmt.CustomerManagement, who: custmgmt.Principal, n: int, **fields: Any
) -> Any:
    """Prospect ``n`` with its own phone, grade A unless told otherwise."""
    values: dict[str, Any] = {"name": f"P{n}", "phone": f"1380000{n:04d}",
                              "willingness": "clear", "potential_value": 2_000_000}
    values.update(fields)
    return app.prospects.register(who, **values)


@contextmanager
def east_team(url: str, clock: custmgmt.FixedClock) -> Iterator[custmgmt.CustomerManagement]:
    """The app on ``url`` with an admin (u-root), a salesperson (u-alice, who owns two
    prospects) and her sales manager (u-mia), both in team east."""
    with custmgmt.open(url, migrate=True, clock=clock) as opened:
        opened.principal("u-root", roles={"admin"})
        alice = opened.principal("u-alice", roles={"salesperson"}, team="east")
        opened.principal("u-mia", roles={"sales_manager"}, team="east")
        register_numbered(opened, alice, 1)
        register_numbered(opened, alice, 2)
        yield opened


def dispatcher(app: custmgmt.CustomerManagement) -> custmgmt.Principal:
    """A principal who may read the outbox and deliver it."""
    return app.principal("u-dispatcher", roles={"dispatcher"})


def admin(app: custmgmt.CustomerManagement) -> custmgmt.Principal:
    """A principal who may do anything, e.g. read the event log."""
    return app.principal("u-admin", roles={"admin"})


def downgrade_as_the_library_opens(url: str, revision: str) -> None:
    """Downgrade the store at ``url`` to ``revision`` on the engine the library opens
    (SQLite: foreign keys on), as ``custmgmt db downgrade`` would."""
    from alembic import command

    from custmgmt.adapters.sql import migrate
    from custmgmt.adapters.sql.storage import SqlStorage

    storage = SqlStorage(url)
    try:
        command.downgrade(migrate.config(storage.engine), revision)
    finally:
        storage.close()


def expression_index_drift(engine: Any) -> list[str]:
    """The indexes on an expression in custmgmt's metadata that the database at ``engine``
    does not define as the metadata does (by name). Alembic's compare cannot see them on
    SQLite, where SQLAlchemy does not reflect an index on an expression."""
    from sqlalchemy import Column, text
    from sqlalchemy.schema import CreateIndex

    from custmgmt.adapters.sql.tables import Base

    query = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
             if engine.dialect.name == "sqlite" else
             "SELECT indexname, indexdef FROM pg_indexes")
    with engine.connect() as connection:
        created = {name: str(sql) for name, sql in connection.execute(text(query))}
    drift = []
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            if all(isinstance(e, Column) for e in index.expressions):
                continue
            expected = str(CreateIndex(index).compile(dialect=engine.dialect))
            if _plain_sql(created.get(str(index.name), "")) != _plain_sql(expected):
                drift.append(str(index.name))
    return drift


def _plain_sql(sql: str) -> str:
    """``sql`` without quotes, parentheses, schema, method or layout."""
    for noise in ('"', "(", ")", "public.", " USING btree"):
        sql = sql.replace(noise, " ")
    return " ".join(sql.split()).upper()
