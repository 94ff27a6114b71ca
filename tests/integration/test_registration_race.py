"""Many contenders register one person at the same moment: exactly one wins, on real storage."""

from __future__ import annotations

from pathlib import Path

import pytest

import custmgmt
from tests.integration.race import (
    SPELLINGS,
    contend,
    one_winner,
    race_in_processes,
    race_in_threads,
)
from tests.pg_server import Cluster


def check(results: list[tuple[str, str, str]], url: str) -> None:
    one_winner(results)
    with custmgmt.open(url) as app:
        root = app.principal("u-root", roles={"admin"})
        assert app.prospects.counts(root).total == 1


def test_threads_on_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    custmgmt.open(url, migrate=True).close()
    check(race_in_threads(contend, [(url, n) for n in range(len(SPELLINGS))]), url)


@pytest.mark.postgresql
def test_processes_on_postgresql(postgres: Cluster) -> None:
    url = postgres.new_database()
    custmgmt.open(url, migrate=True).close()
    outcomes = race_in_processes(contend, [(url, n) for n in range(len(SPELLINGS))])
    check(outcomes, url)
