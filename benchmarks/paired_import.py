"""What a change bought: ``import_many`` at two commits, interleaved in one run.

    python benchmarks/paired_import.py --base 6248738 [--rows 10000] [--rounds 5]
                                       [--batch-size N] [--start-postgresql]
                                       [--layout integer-id|integer-id-narrow|...]

The base commit is checked out into a temporary git worktree (removed after); each
import runs in a process of its own, on a new database, with the checkout's own
``src`` first on ``sys.path`` and its own ``benchmarks/import_prospects.py`` (its
input rows), timing ``import_many`` alone: with ``--batch-size N`` on both sides, else
each with its own default. The two sides alternate
round by round, so that both meet the same neighbours on a shared machine; prints
each side's times, their medians and the ratio this checkout / base (of the medians,
and round by round: the two imports of a round met the same neighbours), and beside the
wall clock the CPU time each import's process spent (``process_time``: the caller's
thread and the import's writer thread) and, on the throw-away PostgreSQL server,
the CPU time its server processes spent on the import's database: on a busy
machine the wall clock swings more than a change moves it, the CPU times less.

With ``--layout L`` (SQLite), this checkout's side imports into a prospects table
rebuilt in layout ``L`` (``table_layouts.py``) before the import: what a table design
would buy ``import_many`` end to end (``--base HEAD`` compares it with today's table
and the same code). Both sides then migrate the new database and close it before the
import, so that both start from a file the migration has left alike.
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

from table_layouts import LAYOUTS

HERE = Path(__file__).resolve().parent.parent
CHILD = """
import os, sys, time
sys.path.insert(0, "benchmarks")
import custmgmt, import_prospects
count, url, size, layout = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
if layout:  # --layout: migrated and closed first on both sides; this side's tables rebuilt
    with custmgmt.open(url, migrate=True):
        pass
    if layout[0] != "today":
        import table_layouts
        table_layouts.rebuild(url.removeprefix("sqlite:///"), layout[0])
with custmgmt.open(url, migrate=True) as app:
    alice = app.principal("u-alice", roles={"salesperson"})
    given = {} if size == "default" else {"batch_size": int(size)}
    clock, cpu = import_prospects.Stopwatch(url), time.process_time()
    report = app.prospects.import_many(alice, import_prospects.rows(count), **given)
    cpu, elapsed = time.process_time() - cpu, clock.stop()
if report.imported != count:
    raise SystemExit(f"imported {report.imported} of {count}")
server = import_prospects.SERVER_SECONDS[0]
print(elapsed, cpu, -1.0 if server is None else server)
"""
Times = tuple[float, float, float | None]
"""An import's wall clock, its process's CPU and its server's CPU (None: not known)."""


def one_import(root: Path, rows: int, url: str, batch_size: str, env: dict[str, str],
               layout: str | None = None) -> Times:
    """What ``import_many`` of ``rows`` took with the checkout at ``root`` (into a table of
    ``layout``, ``table_layouts.py``, if given)."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows), url, batch_size, *([layout] if layout else [])],
        cwd=root, capture_output=True,
        text=True, env={"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin", **env},
        check=False)
    if done.returncode:
        raise SystemExit(f"the import at {root} failed:\n{done.stderr[-2000:]}")
    wall, cpu, server = map(float, done.stdout.strip().splitlines()[-1].split())
    return wall, cpu, None if server < 0 else server


def next_sqlite_url(files: Iterator[Path]) -> str:
    return f"sqlite:///{next(files)}"


def measure(sides: dict[str, Path], rows: int, rounds: int, batch_size: str,
            new_url: Callable[[], str], env: dict[str, str], layout: str | None = None,
            ) -> dict[str, list[Times]]:
    times: dict[str, list[Times]] = {side: [] for side in sides}
    for n in range(rounds):
        order = list(sides) if n % 2 else list(reversed(sides))
        for side in order:
            side_layout = None if layout is None else layout if side == "this" else "today"
            times[side].append(one_import(sides[side], rows, new_url(), batch_size, env,
                                          side_layout))
    return times


def report(times: dict[str, list[Times]], label: Callable[[str], str]) -> None:
    for index, what in ((0, "wall clock"), (1, "process CPU"), (2, "server CPU")):
        known = {side: [t[index] for t in measured] for side, measured in times.items()}
        found = {side: [v for v in values if v is not None] for side, values in known.items()}
        if any(len(found[side]) < len(known[side]) for side in known):
            continue  # (the server's CPU on SQLite, or on a server not started here)
        medians = {side: statistics.median(values) for side, values in found.items()}
        print(f"  {what}")
        for side, values in found.items():
            print(f"    {label(side):22} median {medians[side]:8.3f} s   "
                  f"({', '.join(f'{t:.3f}' for t in values)})")
        rounds = [this / base for base, this in zip(found["base"], found["this"], strict=True)]
        print(f"    this / base: {medians['this'] / medians['base']:.3f} (the medians); "
              f"round by round: median {statistics.median(rounds):.3f}, "
              f"{min(rounds):.3f}-{max(rounds):.3f}, this side faster in "
              f"{sum(r < 1 for r in rounds)} of {len(rounds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", default="default",
                        help="rows a batch on both sides (default: each side's own)")
    parser.add_argument("--start-postgresql", action="store_true",
                        help="start a throwaway PostgreSQL server (initdb/pg_ctl on PATH)")
    parser.add_argument("--layout", choices=LAYOUTS,
                        help="SQLite: this checkout imports into the prospects table "
                             "rebuilt in this layout (benchmarks/table_layouts.py)")
    args = parser.parse_args()
    if args.layout and args.start_postgresql:
        parser.error("--layout is for SQLite only")
    folder = Path(tempfile.mkdtemp(prefix="custmgmt-paired-"))
    base = folder / "base"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.base],
                   cwd=HERE, check=True)
    try:
        with contextlib.ExitStack() as stack:
            env: dict[str, str] = {}
            if args.start_postgresql:  # a new database for every import
                sys.path.insert(0, str(HERE))
                from tests.pg_server import throwaway_cluster  # noqa: PLC0415

                cluster = stack.enter_context(throwaway_cluster())
                new_url = cluster.new_empty_database
                # the child's Stopwatch then reports what this server spent
                env["CUSTMGMT_BENCH_POSTMASTER"] = (
                    cluster.data / "postmaster.pid").read_text().split()[0]
                where = "PostgreSQL"
            else:
                files = (folder / f"db{n}.sqlite" for n in itertools.count())
                new_url = functools.partial(next_sqlite_url, files)
                where = "SQLite file"
            times = measure({"base": base, "this": HERE}, args.rows, args.rounds,
                            args.batch_size, new_url, env, args.layout)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=HERE,
                       check=False)
        # with the databases: a run of ten 100k-row imports on SQLite leaves 1.2 GB
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{where}, import_many of {args.rows:,} rows, {args.rounds} interleaved rounds"
          + (f"; this checkout's prospects table in layout {args.layout}" if args.layout
             else ""))
    report(times, lambda side: f"base {args.base}" if side == "base" else "this checkout")


if __name__ == "__main__":
    main()
