"""``memory://`` storage: per-call cost independent of how much it holds; load time and size.

    python benchmarks/memory.py [--prospects 1000000] [--checkpoints 10000 100000]

Loads ``--prospects`` prospects with ``import_many`` (batches of 1,000; validation,
grading, plans, audit and events as always) spread over 99 salespeople, and at
each checkpoint times, median of 200 calls each: ``get``, an identity lookup
(``holders_of`` on a phone key inside a read-only unit, what ``register`` asks),
``register`` of a new prospect, and ``due`` for a salesperson and for the manager
of her team. The salesperson holds the same 1,000 prospects at every checkpoint
(registered first), so her due lists stay the same size while the store grows:
what a due list costs beyond the rows it returns shows as growth. The baseline
of each call is the same call at the first checkpoint: the ratio shows growth
with N (1.0 = none).

For each stretch of the load it prints the time per prospect, and how much of
it was spent inside the memory storage (its repositories and commits, timed
around every call the services make) — the rest is the services' and the
domain's own per-row work. Last, the load time and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import custmgmt
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.prospects import IdentityKey, KeyKind, Prospect

OWNERS = 99
WILLINGNESS = ("clear", "interested", "watching", "none")
FIXED = 1_000
"""Prospects of the salesperson whose due lists are timed (the first ones loaded)."""


def rows(start: int, stop: int) -> Iterator[dict[str, str]]:
    for n in range(start, stop):
        yield {"name": f"Person {n}", "phone": f"139{n:08d}",
               "willingness": WILLINGNESS[n % 4], "potential_value": str((n % 50) * 40_000)}


def median_us(call: Callable[[], object], times: int = 200) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter_ns()
        call()
        spent.append(time.perf_counter_ns() - started)
    return statistics.median(spent) / 1e3


class StorageClock:
    """Time spent inside the memory storage: every call on a unit of work or on one
    of its repositories, and opening the unit."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.ns = 0
        opened = storage.unit_of_work

        def unit_of_work(**options: Any) -> Timed:
            started = time.perf_counter_ns()
            uow = opened(**options)
            self.ns += time.perf_counter_ns() - started
            return Timed(uow, self, depth=0)

        storage.unit_of_work = unit_of_work  # type: ignore[method-assign]


class Timed:
    def __init__(self, inner: Any, clock: StorageClock, depth: int) -> None:
        self._inner, self._clock, self._depth = inner, clock, depth

    def __enter__(self) -> Timed:
        self._call("__enter__")
        return self

    def __exit__(self, *exc: object) -> None:
        self._call("__exit__", *exc)

    def _call(self, name: str, *args: Any) -> Any:
        started = time.perf_counter_ns()
        try:
            return getattr(self._inner, name)(*args)
        finally:
            self._clock.ns += time.perf_counter_ns() - started

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if self._depth == 0 and not callable(found):  # a repository
            return Timed(found, self._clock, depth=1)
        if not callable(found):
            return found

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter_ns()
            try:
                return found(*args, **kwargs)
            finally:
                self._clock.ns += time.perf_counter_ns() - started
        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", type=int, nargs="*", default=[10_000, 100_000])
    args = parser.parse_args()
    clock = FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = custmgmt.open("memory://", clock=clock)
    alice = app.principal("u-alice", roles={"salesperson"}, team="t-alice")
    mia = app.principal("u-mia", roles={"sales_manager"}, team="t-alice")
    newcomer = app.principal("u-new", roles={"salesperson"}, team="t-new")
    people = [app.principal(f"u-s{i:03d}", roles={"salesperson"}, team=f"t{i // 10}")
              for i in range(OWNERS)]
    storage = app._storage  # the identity lookup is a storage call; the load is timed in it
    assert isinstance(storage, MemoryStorage)
    inside = StorageClock(storage)
    marks = sorted({*args.checkpoints, args.prospects})
    loaded, load_time, load_inside, extra = 0, 0.0, 0.0, 10_000_000
    first: dict[str, float] = {}
    some: Prospect | None = None
    key = IdentityKey(KeyKind.PHONE, "13900000123")

    def lookup() -> None:
        with storage.unit_of_work(read_only=True) as uow:
            uow.prospects.holders_of([key])

    print(f"{'prospects':>10} {'get':>10} {'identity':>10} {'register':>10} {'due own':>10} "
          f"{'due team':>10}   (median microseconds; ratio to the first row)   "
          "load of the stretch: per prospect, in storage")
    for mark in marks:
        started, inside_before = time.perf_counter(), inside.ns
        stretch = mark - loaded
        while loaded < mark:
            step = min(1000, mark - loaded)
            # alice first (her FIXED prospects), then 1,000 rows per salesperson in turn
            owner = alice if loaded < FIXED else people[(loaded // 1000) % OWNERS]
            report = app.prospects.import_many(owner, rows(loaded, loaded + step),
                                               batch_size=1000)
            if report.imported != step:
                raise SystemExit(f"imported {report.imported} of {step}")
            loaded += step
        spent = time.perf_counter() - started
        load_time += spent
        stored = (inside.ns - inside_before) / 1e9
        load_inside += stored
        if some is None:  # one of alice's, read once (a list of them scans the store)
            some = app.prospects.mine(alice, limit=1).items[0]

        def register() -> None:
            nonlocal extra
            extra += 1
            app.prospects.register(newcomer, name="New", phone=f"138{extra:08d}",
                                   willingness="clear", potential_value=1)

        day = date(2026, 3, 31)
        figures = {
            "get": median_us(partial(app.prospects.get, alice, some.id)),
            "identity": median_us(lookup),
            "register": median_us(register),
            "due own": median_us(partial(app.followups.due, alice, on=day), 50),
            "due team": median_us(partial(app.followups.due, mia, on=day), 50),
        }
        first = first or figures
        print(f"{mark:>10,} " + " ".join(
            f"{figures[k]:>6.0f} {figures[k] / first[k]:>3.1f}x" for k in figures)
            + f"   {spent / stretch * 1e6:>6.0f} us, {stored / stretch * 1e6:>4.0f} us")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"loaded {loaded:,} prospects in {load_time:.1f} s (goal < 60 s for 1M), "
          f"{load_inside:.1f} s of it inside the memory storage; "
          f"peak RSS {peak:,.0f} MiB (goal < 2048 MiB)")


if __name__ == "__main__":
    main()
