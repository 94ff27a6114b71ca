"""Read-only calls from many threads at once on the kept readers (``driver.Readers``):
every call gets its own connection and the right answer, and no more than a few
connections stay checked out afterwards."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import custmgmt
from custmgmt.adapters.sql.driver import KEEP_READERS
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.adapters.system import FixedClock
from tests.conftest import START
from tests.helpers import register_numbered
from tests.pg_server import Cluster

ON = date(2026, 12, 31)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crm.db'}"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_database()


def test_threads_reading_at_once_never_share_a_connection(url: str) -> None:
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        register_numbered(app, alice, 1)
        register_numbered(app, alice, 2)
        storage = app.followups._ctx.storage
        assert isinstance(storage, SqlStorage)
        readers: Any = storage.readers
        take, give = readers.take, readers.give
        lock = threading.Lock()
        in_use: set[int] = set()
        shared: list[int] = []

        def taking() -> tuple[Any, Any]:
            pooled, driver = take()
            with lock:
                if id(driver) in in_use:
                    shared.append(id(driver))
                in_use.add(id(driver))
            return pooled, driver

        def giving(pooled: Any, driver: Any) -> None:
            with lock:
                in_use.discard(id(driver))
            give(pooled, driver)

        readers.take, readers.give = taking, giving
        counts: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(6)

        def read() -> None:
            try:
                start.wait()
                for _ in range(25):
                    counts.append(len(app.followups.due(alice, on=ON)))
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=read) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert shared == []
        assert counts == [2] * 150
        pool: Any = storage.engine.pool
        assert pool.checkedout() == len(readers._idle) <= KEEP_READERS + len(threads)
