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

For each stretch of the load it prints the wall-clock and CPU time per
prospect, and how much of the CPU time was spent inside the memory storage (its
repositories and commits, timed around every call the services make, less the
garbage collections that ran inside them) and in CPython's garbage collector
(timed by ``gc.callbacks``, wherever it ran) — the rest is the services' and the
domain's own per-row work. Last, the load's wall-clock and CPU time with that
split, the process's peak RSS and the machine's load average (other processes
share its two cores: on a busy machine CPU time says more than wall-clock time,
so the split is in CPU time, read with ``time.thread_time_ns``).
"""

from __future__ import annotations

import argparse
import gc
import os
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


class GcClock:
    """CPU time spent in the garbage collector's collections (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.ns = 0
        self._started = 0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time_ns()
        else:
            self.ns += time.thread_time_ns() - self._started


class StorageClock:
    """CPU time spent inside the memory storage: every call on a unit of work or on one
    of its repositories, and opening the unit; less the collections run meanwhile."""

    def __init__(self, storage: MemoryStorage, collector: GcClock) -> None:
        self.ns = 0
        self.collector = collector
        opened = storage.unit_of_work

        def unit_of_work(**options: Any) -> Timed:
            started, collecting = time.thread_time_ns(), collector.ns
            uow = opened(**options)
            self.ns += time.thread_time_ns() - started - (collector.ns - collecting)
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
        return self._clock_call(getattr(self._inner, name), *args)

    def _clock_call(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        clock = self._clock
        started, collecting = time.thread_time_ns(), clock.collector.ns
        try:
            return call(*args, **kwargs)
        finally:
            clock.ns += time.thread_time_ns() - started - (clock.collector.ns - collecting)

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if self._depth == 0 and not callable(found):  # a repository
            return Timed(found, self._clock, depth=1)
        if not callable(found):
            return found

        def timed(*args: Any, **kwargs: Any) -> Any:
            return self._clock_call(found, *args, **kwargs)
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
    collector = GcClock()
    inside = StorageClock(storage, collector)
    marks = sorted({*args.checkpoints, args.prospects})
    loaded, load_time, load_cpu, load_inside, load_gc, extra = 0, 0.0, 0.0, 0.0, 0.0, 10_000_000
    first: dict[str, float] = {}
    some: Prospect | None = None
    key = IdentityKey(KeyKind.PHONE, "13900000123")

    def lookup() -> None:
        with storage.unit_of_work(read_only=True) as uow:
            uow.prospects.holders_of([key])

    print(f"{'prospects':>10} {'get':>10} {'identity':>10} {'register':>10} {'due own':>10} "
          f"{'due team':>10}   (median microseconds; ratio to the first row)   "
          "load of the stretch per prospect: wall, CPU; CPU in storage, in GC")
    for mark in marks:
        started, cpu_before = time.perf_counter(), time.process_time()
        inside_before, gc_before = inside.ns, collector.ns
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
        spent, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        load_time += spent
        load_cpu += cpu
        stored, collecting = (inside.ns - inside_before) / 1e9, (collector.ns - gc_before) / 1e9
        load_inside += stored
        load_gc += collecting
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
            + "   " + ", ".join(f"{part / stretch * 1e6:>4.0f}"
                                for part in (spent, cpu, stored, collecting)) + " us")
    summary(loaded, load_time, load_cpu, load_inside, load_gc)


def summary(loaded: int, wall: float, cpu: float, inside: float, collecting: float) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rest = cpu - inside - collecting
    print(f"loaded {loaded:,} prospects in {wall:.1f} s (goal < 60 s for 1M), CPU {cpu:.1f} s: "
          f"{inside:.1f} s inside the memory storage, {collecting:.1f} s in the garbage "
          f"collector, {rest:.1f} s in the services and the domain "
          f"({rest / loaded * 1e6:.0f} us per prospect)")
    print(f"peak RSS {peak:,.0f} MiB (goal < 2048 MiB); load average "
          + " ".join(f"{n:.2f}" for n in os.getloadavg()))


if __name__ == "__main__":
    main()
