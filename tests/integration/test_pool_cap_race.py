"""The pool's daily cap holds under parallel claims: the storage enforces it (a counter
row updated atomically in SQL; a held counter in memory)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import custmgmt
from custmgmt.errors import PermissionDenied
from tests.integration.race import POOL, claim_from_pool, race_in_processes, race_in_threads
from tests.pg_server import Cluster

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
LATER = START + timedelta(days=30)


def _fill_pool(app: custmgmt.CustomerManagement) -> list[str]:
    """Ten prospects in the pool, and ``u-taker`` who wants them all."""
    old = app.principal("u-old", roles={"salesperson"})
    root = app.principal("u-root", roles={"admin"})
    app.principal("u-taker", roles={"salesperson"})
    ids = [app.prospects.register(old, name=f"P{n}", phone=f"1380000{n:04d}",
                                  willingness="clear", potential_value=2_000_000).id
           for n in range(10)]
    released = app.pool.release_lapsed(root, on=LATER.date())
    assert set(released.released) == set(ids)
    return ids


def _filled(url: str) -> list[str]:
    with custmgmt.open(url, migrate=True, clock=custmgmt.FixedClock(START),
                       settings=custmgmt.Settings(**POOL)) as app:
        return _fill_pool(app)


def _check(outcomes: list[tuple[str, str]], app: custmgmt.CustomerManagement) -> None:
    assert [o for o in outcomes if o[0] == "error"] == []
    claimed = [o for o in outcomes if o[0] == "claimed"]
    capped = [o for o in outcomes if o[0] == "capped"]
    assert (len(claimed), len(capped)) == (5, 5)
    assert all("daily cap of 5" in reason for _, reason in capped)
    taker = app.get_principal("u-taker")
    assert taker is not None
    assert {p.id for p in app.prospects.mine(taker).items} == {pid for _, pid in claimed}


def test_ten_parallel_claims_with_a_cap_of_five_in_memory() -> None:
    clock = custmgmt.FixedClock(START)
    with custmgmt.open("memory://", clock=clock, settings=custmgmt.Settings(**POOL)) as app:
        ids = _fill_pool(app)
        clock.set(LATER)
        taker = app.get_principal("u-taker")
        assert taker is not None

        def claim(prospect_id: str, start: Any, results: Any) -> None:
            start.wait()
            try:
                app.pool.claim(taker, prospect_id)
                results.put(("claimed", prospect_id))
            except PermissionDenied as denied:
                results.put(("capped", denied.reason))
            except Exception as error:  # reported to the test, which fails on it
                results.put(("error", f"{type(error).__name__}: {error}"))

        _check(race_in_threads(claim, [(pid,) for pid in ids]), app)


def test_ten_parallel_claims_with_a_cap_of_five_on_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    ids = _filled(url)
    outcomes = race_in_threads(claim_from_pool, [(url, pid, LATER) for pid in ids])
    with custmgmt.open(url, settings=custmgmt.Settings(**POOL)) as app:
        _check(outcomes, app)


@pytest.mark.postgresql
def test_ten_parallel_claims_in_processes_with_a_cap_of_five_on_postgresql(
    postgres: Cluster,
) -> None:
    url = postgres.new_database()
    ids = _filled(url)
    outcomes = race_in_processes(claim_from_pool, [(url, pid, LATER) for pid in ids])
    with custmgmt.open(url, settings=custmgmt.Settings(**POOL)) as app:
        _check(outcomes, app)
