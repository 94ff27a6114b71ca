"""Many contenders register one person at the same moment: exactly one wins, on real storage."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from pathlib import Path

import pytest

import custmgmt
from tests.helpers import each_in_thread
from tests.integration.race import SPELLINGS, contend
from tests.pg_server import Cluster


def check(results: list[tuple[str, str, str]], url: str) -> None:
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["lost"] * (len(SPELLINGS) - 1) + ["won"], results
    (winner,) = [r for r in results if r[0] == "won"]
    assert {(r[1], r[2]) for r in results if r[0] == "lost"} == {(winner[1], winner[2])}
    with custmgmt.open(url) as app:
        root = app.principal("u-root", roles={"admin"})
        assert app.prospects.counts(root).total == 1


def test_threads_on_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    custmgmt.open(url, migrate=True).close()
    start = threading.Barrier(len(SPELLINGS))
    results: queue.Queue[tuple[str, str, str]] = queue.Queue()
    each_in_thread(contend, [(url, n, start, results) for n in range(len(SPELLINGS))])
    check([results.get_nowait() for _ in range(results.qsize())], url)


@pytest.mark.postgresql
def test_processes_on_postgresql(postgres: Cluster) -> None:
    url = postgres.new_database()
    custmgmt.open(url, migrate=True).close()
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(len(SPELLINGS))
    results = spawn.Queue()
    processes = [spawn.Process(target=contend, args=(url, n, start, results))
                 for n in range(len(SPELLINGS))]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    check(outcomes, url)
