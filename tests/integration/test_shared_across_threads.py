"""The claim of docs/concurrency.md: one CustomerManagement may be shared by every thread
of a process. Many threads use ONE app object at once, on every back end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import custmgmt
from custmgmt.errors import ClaimConflict, ConcurrencyError
from tests.helpers import each_in_thread

THREADS = 8


def together(work: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run ``work(n)`` in THREADS threads released at the same moment; their outcomes."""
    start = threading.Barrier(THREADS)
    outcomes: list[tuple[str, Any]] = [("missing", None)] * THREADS

    def run(n: int) -> None:
        start.wait()
        try:
            outcomes[n] = ("ok", work(n))
        except Exception as error:  # reported to the test, which checks what it was
            outcomes[n] = ("raised", error)

    each_in_thread(run, [(n,) for n in range(THREADS)])
    return outcomes


def test_one_app_many_threads_one_person_exactly_one_registration_wins(
        app: custmgmt.CustomerManagement) -> None:
    sellers = [app.principal(f"u-{n}", roles={"salesperson"}) for n in range(THREADS)]
    outcomes = together(lambda n: app.prospects.register(
        sellers[n], name="Wang Wei", phone=f"+86 138 0013 8000{' ' * n}",
        willingness="clear", potential_value=1))
    won = [value for kind, value in outcomes if kind == "ok"]
    lost = [value for kind, value in outcomes if kind == "raised"]
    assert len(won) == 1, outcomes
    assert all(isinstance(e, ClaimConflict) and e.owner_id == won[0].owner_id for e in lost)
    root = app.principal("u-root", roles={"admin"})
    assert app.prospects.counts(root).total == 1


def test_one_app_many_threads_independent_work_all_lands(
        app: custmgmt.CustomerManagement) -> None:
    sellers = [app.principal(f"u-{n}", roles={"salesperson"}, team="east")
               for n in range(THREADS)]

    def work(n: int) -> int:
        for k in range(3):
            p = app.prospects.register(sellers[n], name=f"Person {n}-{k}",
                                       phone=f"1390{n:03d}{k:04d}", willingness="interested",
                                       potential_value=500_000)
            app.followups.record(sellers[n], p.id, channel="visit", summary="visited")
            app.prospects.get(sellers[n], p.id)
        return app.prospects.counts(sellers[n]).total

    outcomes = together(work)
    assert outcomes == [("ok", 3)] * THREADS
    root = app.principal("u-root", roles={"admin"})
    assert app.prospects.counts(root).total == 3 * THREADS
    points = app.reports.visit_points(root, month="2026-03")
    assert sorted((row.principal_id, row.points) for row in points.rows
                  if row.points) == sorted((s.id, 3) for s in sellers)


def test_one_app_many_threads_changing_one_record_complete_or_conflict(
        app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    p = app.prospects.register(alice, name="Wang Wei", phone="13800138000",
                               willingness="clear", potential_value=2_000_000)
    outcomes = together(lambda n: app.followups.record(alice, p.id, channel="visit",
                                                       summary=f"visit {n}"))
    done = [value for kind, value in outcomes if kind == "ok"]
    refused = [value for kind, value in outcomes if kind == "raised"]
    assert done, outcomes
    assert all(isinstance(error, ConcurrencyError) for error in refused), refused
    recorded = app.followups.history(alice, prospect_id=p.id)
    assert sorted(r.id for r in recorded) == sorted(r.id for r in done)
