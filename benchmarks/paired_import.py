"""What a change bought: ``import_many`` at two commits, interleaved in one run.

    python benchmarks/paired_import.py --base 6248738 [--rows 10000] [--rounds 5]
                                       [--batch-size N] [--start-postgresql]

The base commit is checked out into a temporary git worktree (removed after); each
import runs in a process of its own, on a new database, with the checkout's own
``src`` first on ``sys.path`` and its own ``benchmarks/import_prospects.py`` (its
input rows), timing ``import_many`` alone: with ``--batch-size N`` on both sides, else
each with its own default. The two sides alternate
round by round, so that both meet the same neighbours on a shared machine; prints
each side's times, their medians and the ratio this checkout / base.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CHILD = """
import sys, time
sys.path.insert(0, "benchmarks")
import custmgmt, import_prospects
count, url, size = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with custmgmt.open(url, migrate=True) as app:
    alice = app.principal("u-alice", roles={"salesperson"})
    given = {} if size == "default" else {"batch_size": int(size)}
    started = time.perf_counter()
    report = app.prospects.import_many(alice, import_prospects.rows(count), **given)
    elapsed = time.perf_counter() - started
if report.imported != count:
    raise SystemExit(f"imported {report.imported} of {count}")
print(elapsed)
"""


def one_import(root: Path, rows: int, url: str, batch_size: str) -> float:
    """Seconds ``import_many`` of ``rows`` took with the checkout at ``root``."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows), url, batch_size], cwd=root, capture_output=True,
        text=True, env={"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin"},
        check=False)
    if done.returncode:
        raise SystemExit(f"the import at {root} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def next_sqlite_url(files: Iterator[Path]) -> str:
    return f"sqlite:///{next(files)}"


def measure(sides: dict[str, Path], rows: int, rounds: int, batch_size: str,
            new_url: Callable[[], str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {side: [] for side in sides}
    for n in range(rounds):
        order = list(sides) if n % 2 else list(reversed(sides))
        for side in order:
            times[side].append(one_import(sides[side], rows, new_url(), batch_size))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", default="default",
                        help="rows a batch on both sides (default: each side's own)")
    parser.add_argument("--start-postgresql", action="store_true",
                        help="start a throwaway PostgreSQL server (initdb/pg_ctl on PATH)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="custmgmt-paired-"))
    base = folder / "base"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.base],
                   cwd=HERE, check=True)
    try:
        with contextlib.ExitStack() as stack:
            if args.start_postgresql:  # a new database for every import
                sys.path.insert(0, str(HERE))
                from tests.pg_server import throwaway_cluster  # noqa: PLC0415

                new_url = stack.enter_context(throwaway_cluster()).new_empty_database
                where = "PostgreSQL"
            else:
                files = (folder / f"db{n}.sqlite" for n in itertools.count())
                new_url = functools.partial(next_sqlite_url, files)
                where = "SQLite file"
            times = measure({"base": base, "this": HERE}, args.rows, args.rounds,
                            args.batch_size, new_url)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=HERE,
                       check=False)
        # with the databases: a run of ten 100k-row imports on SQLite leaves 1.2 GB
        shutil.rmtree(folder, ignore_errors=True)
    medians = {side: statistics.median(found) for side, found in times.items()}
    print(f"{where}, import_many of {args.rows:,} rows, {args.rounds} interleaved rounds")
    for side, found in times.items():
        label = f"base {args.base}" if side == "base" else "this checkout"
        print(f"  {label:22} median {medians[side]:8.3f} s   "
              f"({', '.join(f'{t:.3f}' for t in found)})")
    print(f"  this / base: {medians['this'] / medians['base']:.3f}")


if __name__ == "__main__":
    main()
