"""What the per-row records left in ``import_many`` cost: an estimate for the next step.

    python benchmarks/import_costs.py [--rows 20000] [--rounds 3]

Not a goal's benchmark. ``import_many`` on a SQLite file as it is, then patched (in
this process only) to leave out the history row of each prospect (the SQL adapter's
``batch_columns`` returns no history rows). The audit entry and the
event are written once a batch already (the per-row ones cost 14%-25% of the import
before; ``benchmarks/HISTORY.md``). The patched import keeps less than the library
owes: it measures what a redesign could save, not a way to run. Variants alternate
round by round; medians, and each against as-is.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_prospects

from custmgmt.adapters.sql import prospects as sql_prospects
from custmgmt.domain.registrations import RegistrationBatch

VARIANTS = {"as is": frozenset(), "no history row": frozenset({"history"})}
BATCH = 1000
Columns = tuple[dict[str, list[Any]], dict[str, list[Any]]]
AS_IS: Callable[[RegistrationBatch], Columns] = sql_prospects.batch_columns  # type: ignore[attr-defined]


def without_history(batch: RegistrationBatch) -> Columns:
    prospects, history = AS_IS(batch)
    return prospects, {column: [] for column in history}


def patch(left_out: frozenset[str]) -> None:
    patched = without_history if left_out else AS_IS
    sql_prospects.batch_columns = patched  # type: ignore[attr-defined,assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        for n in range(args.rounds):
            order = list(VARIANTS) if n % 2 else list(reversed(VARIANTS))
            for name in order:
                left_out = VARIANTS[name]
                patch(left_out)
                url = f"sqlite:///{Path(folder) / f'{n}-{len(left_out)}.db'}"
                times[name].append(import_prospects.custmgmt_import(args.rows, url, BATCH))
    patch(frozenset())
    base = statistics.median(times["as is"])
    print(f"SQLite file, import_many of {args.rows:,} rows, {args.rounds} interleaved rounds")
    for name, found in times.items():
        median = statistics.median(found)
        print(f"  {name:26} median {median:7.3f} s   {median / base:.2f}x as is")


if __name__ == "__main__":
    main()
