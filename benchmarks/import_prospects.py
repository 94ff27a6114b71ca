"""Bulk import speed and memory against plain sqlite3.executemany, measured in one run.

    python benchmarks/import_prospects.py [--rows 10000 100000] [--batch-size 1000]

Each measurement runs in its own process so that its peak RSS is its own. The
baseline inserts the same rows with ``sqlite3.executemany`` into one table with
a unique index on the phone; custmgmt validates, normalizes, grades, checks the
first registration and writes the prospect, its keys, history, audit entry and
event for every row.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import custmgmt

WILLINGNESS = ("clear", "interested", "watching", "none")


def rows(count: int) -> Iterator[dict[str, str]]:
    for n in range(count):
        yield {
            "name": f"Person {n}",
            "phone": f"139{n:08d}",
            "email": f"person{n}@example.com",
            "willingness": WILLINGNESS[n % 4],
            "potential_value": str((n % 50) * 40_000),
        }


def baseline(count: int, path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE prospects (name TEXT, phone TEXT, email TEXT, "
                       "willingness TEXT, potential_value TEXT)")
    connection.execute("CREATE UNIQUE INDEX ux_phone ON prospects (phone)")
    with connection:
        connection.executemany(
            "INSERT INTO prospects VALUES (:name, :phone, :email, :willingness, :potential_value)",
            rows(count))
    connection.close()


def custmgmt_import(count: int, path: Path, batch_size: int) -> float:
    """Seconds spent in import_many (opening and migrating the file are not counted)."""
    with custmgmt.open(f"sqlite:///{path}", migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        started = time.perf_counter()
        report = app.prospects.import_many(alice, rows(count), batch_size=batch_size)
        elapsed = time.perf_counter() - started
    if report.imported != count:
        raise SystemExit(f"imported {report.imported} of {count}: {report.rejected[:3]}")
    return elapsed


def child(kind: str, count: int, batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        if kind == "baseline":
            started = time.perf_counter()
            baseline(count, path)
            elapsed = time.perf_counter() - started
        else:
            elapsed = custmgmt_import(count, path, batch_size)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{elapsed:.6f} {peak_kib}")


def measure(kind: str, count: int, batch_size: int) -> tuple[float, int]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--rows", str(count),
         "--batch-size", str(batch_size)],
        check=True, capture_output=True, text=True)
    elapsed, peak = result.stdout.split()
    return float(elapsed), int(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--child", choices=["baseline", "custmgmt"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows[0], args.batch_size)
        return
    print(f"{'rows':>8} {'baseline s':>11} {'custmgmt s':>11} {'ratio':>7} "
          f"{'rows/s':>8} {'base MiB':>9} {'custmgmt MiB':>13}")
    for count in args.rows:
        base_s, base_kib = measure("baseline", count, args.batch_size)
        ours_s, ours_kib = measure("custmgmt", count, args.batch_size)
        print(f"{count:>8} {base_s:>11.3f} {ours_s:>11.3f} {ours_s / base_s:>6.1f}x "
              f"{count / ours_s:>8.0f} {base_kib / 1024:>9.1f} {ours_kib / 1024:>13.1f}")


if __name__ == "__main__":
    main()
