"""What the per-row records left in ``import_many`` cost: an estimate for the next step.

    python benchmarks/import_costs.py [--rows 20000] [--rounds 3] [--start-postgresql]

Not a goal's benchmark. ``import_many`` as it is, then patched (in this process only)
to leave out, in turn, each prospect's follow-up plan row (``SqlPlans.add_many`` of a
batch writes nothing) and its audit trail head row (``SqlHeads.add_many`` writes
nothing), then both. A new prospect's history row is already gone (its row keeps its
registration); the audit entry and the event are written once a batch. The patched
import keeps less than the library owes: it bounds what moving the plan and the head
into the prospect's row could save, not a way to run. On a SQLite file, or a
throw-away PostgreSQL cluster. Variants alternate round by round; medians, and each
against as-is.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_prospects

from custmgmt.adapters.sql.followups import SqlPlans
from custmgmt.adapters.sql.repositories import SqlHeads

VARIANTS = {"as is": frozenset(), "no plan row": frozenset({"plan"}),
            "no head row": frozenset({"head"}), "neither": frozenset({"plan", "head"})}
BATCH = 5000
WRITERS: dict[str, tuple[Any, str, Callable[..., None]]] = {
    "plan": (SqlPlans, "add_many", SqlPlans.add_many),
    "head": (SqlHeads, "add_many", SqlHeads.add_many),
}


def _left_out(original: Callable[..., None]) -> Callable[..., None]:
    def write(self: Any, items: Any) -> None:
        if len(items) <= 1:  # a single registration's (none in an import): as is
            original(self, items)
    return write


def patch(left_out: frozenset[str]) -> None:
    for record, (owner, name, original) in WRITERS.items():
        setattr(owner, name, _left_out(original) if record in left_out
                else original)


@contextmanager
def databases(postgresql: bool) -> Iterator[Callable[[str], str]]:
    """A function giving a new database's URL for each measurement."""
    if not postgresql:
        with tempfile.TemporaryDirectory() as folder:
            yield lambda name: f"sqlite:///{Path(folder) / f'{name}.db'}"
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg_server import throwaway_cluster  # noqa: PLC0415 - only here

    with throwaway_cluster() as cluster:
        yield lambda _name: cluster.new_empty_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--start-postgresql", action="store_true")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with databases(args.start_postgresql) as new_url:
        for n in range(args.rounds):
            order = list(VARIANTS) if n % 2 else list(reversed(VARIANTS))
            for name in order:
                patch(VARIANTS[name])
                url = new_url(f"{n}-{'-'.join(sorted(VARIANTS[name]))}")
                times[name].append(import_prospects.custmgmt_import(args.rows, url, BATCH))
    patch(frozenset())
    base = statistics.median(times["as is"])
    where = "PostgreSQL" if args.start_postgresql else "SQLite file"
    print(f"{where}, import_many of {args.rows:,} rows, {args.rounds} interleaved rounds")
    for name, found in times.items():
        median = statistics.median(found)
        print(f"  {name:26} median {median:7.3f} s   {median / base:.2f}x as is")


if __name__ == "__main__":
    main()
