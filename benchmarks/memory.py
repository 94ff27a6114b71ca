"""``memory://`` storage: per-call cost independent of how much it holds; load time and size.

    python benchmarks/memory.py [--prospects 1000000] [--checkpoints 10000 100000]

Loads ``--prospects`` prospects with ``import_many`` (batches of 1,000; validation,
grading, plans, audit and events as always), and at each checkpoint times, median of
200 calls each: ``get``, an identity lookup (``holders_of`` on a phone key inside a
read-only unit, what ``register`` asks), ``register`` of a new prospect and ``due``
for one salesperson (100 salespeople own the prospects). The baseline of each is the
same call at the first checkpoint: the ratio shows growth with N (1.0 = none).
Prints the load time and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import partial

import custmgmt
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.prospects import IdentityKey, KeyKind

OWNERS = 100
WILLINGNESS = ("clear", "interested", "watching", "none")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", type=int, nargs="*", default=[10_000, 100_000])
    args = parser.parse_args()
    clock = FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = custmgmt.open("memory://", clock=clock)
    people = [app.principal(f"u-s{i:03d}", roles={"salesperson"}, team=f"t{i // 10}")
              for i in range(OWNERS)]
    storage = app._storage  # the identity lookup is a storage call
    marks = sorted({*args.checkpoints, args.prospects})
    loaded, load_time, extra = 0, 0.0, 10_000_000
    first: dict[str, float] = {}
    alice = people[0]
    key = IdentityKey(KeyKind.PHONE, "13900000123")

    def lookup() -> None:
        with storage.unit_of_work(read_only=True) as uow:
            uow.prospects.holders_of([key])

    print(f"{'prospects':>10} {'get':>10} {'identity':>10} {'register':>10} {'due':>10}   "
          "(median microseconds; ratio to the first row)")
    for mark in marks:
        started = time.perf_counter()
        while loaded < mark:
            step = min(1000, mark - loaded)
            # 1,000 rows per owner in turn: each salesperson holds an equal share
            owner = people[(loaded // 1000) % OWNERS]
            report = app.prospects.import_many(owner, rows(loaded, loaded + step),
                                               batch_size=1000)
            if report.imported != step:
                raise SystemExit(f"imported {report.imported} of {step}")
            loaded += step
        load_time += time.perf_counter() - started
        some = app.prospects.mine(alice, limit=1).items[0]

        def register() -> None:
            nonlocal extra
            extra += 1
            app.prospects.register(alice, name="New", phone=f"138{extra:08d}",
                                   willingness="clear", potential_value=1)

        figures = {
            "get": median_us(partial(app.prospects.get, alice, some.id)),
            "identity": median_us(lookup),
            "register": median_us(register),
            "due": median_us(partial(app.followups.due, alice, on=date(2026, 3, 31)), 50),
        }
        first = first or figures
        print(f"{mark:>10,} " + " ".join(
            f"{figures[k]:>6.0f} {figures[k] / first[k]:>3.1f}x" for k in figures))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"loaded {loaded:,} prospects in {load_time:.1f} s (goal < 60 s for 1M); "
          f"peak RSS {peak:,.0f} MiB (goal < 2048 MiB)")


if __name__ == "__main__":
    main()
