"""Many account managers create one company at the same moment: exactly one customer
is created, and every other manager is told who holds it, on every backend."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import custmgmt
from tests.helpers import each_in_thread
from tests.integration.race import SPELLINGS, contend_for_customer
from tests.pg_server import Cluster


def check(results: list[tuple[str, str, str]], app: custmgmt.CustomerManagement) -> None:
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["lost"] * (len(SPELLINGS) - 1) + ["won"], results
    (winner,) = [r for r in results if r[0] == "won"]
    assert {(r[1], r[2]) for r in results if r[0] == "lost"} == {(winner[1], winner[2])}
    root = app.principal("u-root", roles={"admin"})
    assert [c.id for c in app.customers.list(root).items] == [winner[2]]


def race_in_threads(target: Callable[[int, Any, Any], None]) -> list[tuple[str, str, str]]:
    start = threading.Barrier(len(SPELLINGS))
    results: queue.Queue[tuple[str, str, str]] = queue.Queue()
    each_in_thread(target, [(n, start, results) for n in range(len(SPELLINGS))])
    return [results.get_nowait() for _ in range(results.qsize())]


def test_threads_sharing_one_memory_store() -> None:
    app = custmgmt.open("memory://")

    def contend(n: int, start: Any, results: Any) -> None:
        manager = app.principal(f"u-{n}", roles={"account_manager"})
        start.wait()
        try:
            c = app.customers.create(manager, name="Wang Wei", organization="Acme Co., Ltd.",
                                     phone=SPELLINGS[n])
            results.put(("won", manager.id, c.id))
        except custmgmt.errors.ClaimConflict as conflict:
            results.put(("lost", conflict.owner_id, conflict.registration_id))

    check(race_in_threads(contend), app)


def test_threads_on_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    custmgmt.open(url, migrate=True).close()
    results = race_in_threads(lambda n, start, out: contend_for_customer(url, n, start, out))
    with custmgmt.open(url) as app:
        check(results, app)


@pytest.mark.postgresql
def test_processes_on_postgresql(postgres: Cluster) -> None:
    url = postgres.new_database()
    custmgmt.open(url, migrate=True).close()
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(len(SPELLINGS))
    results = spawn.Queue()
    processes = [spawn.Process(target=contend_for_customer, args=(url, n, start, results))
                 for n in range(len(SPELLINGS))]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    with custmgmt.open(url) as app:
        check(outcomes, app)
