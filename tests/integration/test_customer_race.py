"""Many account managers create one company at the same moment: exactly one customer
is created, and every other manager is told who holds it, on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import custmgmt
from tests.integration.race import (
    SPELLINGS,
    contend_for_customer,
    one_winner,
    race_in_processes,
    race_in_threads,
)
from tests.pg_server import Cluster


def check(results: list[tuple[str, str, str]], app: custmgmt.CustomerManagement) -> None:
    winner = one_winner(results)
    root = app.principal("u-root", roles={"admin"})
    assert [c.id for c in app.customers.list(root).items] == [winner[2]]


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

    check(race_in_threads(contend, [(n,) for n in range(len(SPELLINGS))]), app)


def test_threads_on_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    custmgmt.open(url, migrate=True).close()
    results = race_in_threads(contend_for_customer, [(url, n) for n in range(len(SPELLINGS))])
    with custmgmt.open(url) as app:
        check(results, app)


@pytest.mark.postgresql
def test_processes_on_postgresql(postgres: Cluster) -> None:
    url = postgres.new_database()
    custmgmt.open(url, migrate=True).close()
    outcomes = race_in_processes(contend_for_customer,
                                 [(url, n) for n in range(len(SPELLINGS))])
    with custmgmt.open(url) as app:
        check(outcomes, app)
