"""Races: contenders released at the same moment in threads or processes, and the
contenders themselves (module-level, so that a spawned process can import them)."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

import custmgmt
from custmgmt.errors import ClaimConflict, PermissionDenied
from tests.helpers import each_in_thread

Contender = Callable[..., None]
"""Called as ``contender(*arguments, start, results)``: waits on the barrier ``start``,
then does its one thing and puts its outcome in the queue ``results``."""


def race_in_threads(contender: Contender, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """One thread per tuple of ``arguments``, all released together; their outcomes."""
    start = threading.Barrier(len(arguments))
    results: queue.Queue[Any] = queue.Queue()
    each_in_thread(contender, [(*args, start, results) for args in arguments])
    return [results.get_nowait() for _ in range(results.qsize())]


def race_in_processes(
    contender: Contender, arguments: Sequence[tuple[Any, ...]], timeout: float = 180.0
) -> list[Any]:
    """One spawned process per tuple of ``arguments``, all released together; their
    outcomes. Each process must end cleanly."""
    spawn = multiprocessing.get_context("spawn")
    start: Any = spawn.Barrier(len(arguments))
    results: Any = spawn.Queue()
    processes = [spawn.Process(target=contender, args=(*args, start, results))
                 for args in arguments]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return outcomes


def one_winner(results: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    """The one contender that won; every other lost, told the winner's owner and id."""
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["lost"] * (len(results) - 1) + ["won"], results
    (winner,) = [r for r in results if r[0] == "won"]
    assert {(r[1], r[2]) for r in results if r[0] == "lost"} == {(winner[1], winner[2])}
    return winner

# The same person, written the ways people write a phone number.
SPELLINGS = ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "１３８００１３８０００",
             "138.0013.8000", "(+86)13800138000", "138 0013 8000", "86 13800138000"]


def contend(url: str, n: int, start: Any, results: Any) -> None:
    """Register the person as salesperson ``u-n`` once ``start`` lets everyone go."""
    with custmgmt.open(url) as app:
        seller = app.principal(f"u-{n}", roles={"salesperson"})
        start.wait()
        try:
            p = app.prospects.register(seller, name="Wang Wei", phone=SPELLINGS[n],
                                       willingness="clear", potential_value=1)
            results.put(("won", seller.id, p.registration.id))
        except ClaimConflict as conflict:
            results.put(("lost", conflict.owner_id, conflict.registration_id))
        except Exception as error:  # reported to the test, which fails on it
            results.put(("error", type(error).__name__, str(error)))


def contend_for_customer(url: str, n: int, start: Any, results: Any) -> None:
    """Create the company as account manager ``u-n`` once ``start`` lets everyone go."""
    with custmgmt.open(url) as app:
        manager = app.principal(f"u-{n}", roles={"account_manager"})
        start.wait()
        try:
            c = app.customers.create(manager, name="Wang Wei", organization="Acme Co., Ltd.",
                                     phone=SPELLINGS[n])
            results.put(("won", manager.id, c.id))
        except ClaimConflict as conflict:
            results.put(("lost", conflict.owner_id, conflict.registration_id))
        except Exception as error:  # reported to the test, which fails on it
            results.put(("error", type(error).__name__, str(error)))


POOL: dict[str, Any] = {"ownership_lapse": True, "pool_daily_cap": 5,
                        "protection_days": {"A": 10, "B": 10, "C": 10, "D": 10}}


def claim_from_pool(url: str, prospect_id: str, at: Any, start: Any, results: Any) -> None:
    """Salesperson ``u-taker`` takes ``prospect_id`` from the pool once ``start`` opens."""
    clock = custmgmt.FixedClock(at)
    with custmgmt.open(url, clock=clock, settings=custmgmt.Settings(**POOL)) as app:
        taker = app.get_principal("u-taker")
        assert taker is not None
        start.wait()
        try:
            app.pool.claim(taker, prospect_id)
            results.put(("claimed", prospect_id))
        except PermissionDenied as denied:
            results.put(("capped", denied.reason))
        except Exception as error:  # reported to the test, which fails on it
            results.put(("error", f"{type(error).__name__}: {error}"))
