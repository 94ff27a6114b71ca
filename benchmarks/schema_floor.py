"""The floor today's SQLite schema puts under an import: custmgmt's own prospect rows
written again with no library work at all, against the minimal insert, in one run.

    python benchmarks/schema_floor.py [--rows 100000] [--rounds 5] [--batch-size 5000]

custmgmt imports the rows once (``import_prospects.rows``, the goal's input) into a
SQLite file; the rows it wrote to ``custmgmt_prospects`` are read back and, for each
variant, written again into a new database migrated to today's schema: one
``executemany`` a batch and a commit a batch, as ``import_many`` writes and commits,
each batch's INSERT made by the driver's own rules (a column holding one value
throughout as a literal, blobs bound as ``bytearray``). The rows are built before the
clock starts: no validation, no sealing, no audit, no Python a row but the binding.
What is timed is what the prospects table costs the database: its B-trees, the
commits, the WAL and its checkpoints; the import's other rows (an audit entry and an
event a batch) are left out. Before timing, the rows are written once more, untimed,
and that table is checked to hold exactly the prospect rows custmgmt wrote.

Variants: ``today`` (the schema as migrated); ``without ...`` (those secondary
indexes of the prospects table dropped before timing: the identity keys', the due
lists', the registration order's, or all of them, leaving the table with its primary
key and the unique registration id); ``today, N rows a transaction`` (a commit every
four batches); ``today, checkpoint at the end`` (no WAL checkpoint while writing, one
``wal_checkpoint(TRUNCATE)`` at the end, inside the timed region). The baseline is
``import_prospects.py``'s minimal raw prospect insert, the goal's, timed in the same
rounds as it is there (its rows made inside the timed region, one commit). Each round
starts at another variant; medians are printed, with the CPU time beside the wall
clock. On a shared machine a variant's median swings by a tenth or
more from run to run: an effect that small needs repeated runs to be told apart.

Whatever of 3x the minimal insert ``today`` leaves is all an import may spend on the
library's own work a row (checks, sealing, grading, ids, audit).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from import_prospects import rows, sqlite_minimal

import custmgmt
from custmgmt.adapters.sql.driver import _blobs_as_bytearray, _sqlite_literal
from custmgmt.adapters.sql.storage import SQLITE_CACHE_KIB

TABLE = "custmgmt_prospects"


def import_once(count: int, folder: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The columns and rows custmgmt writes to the prospects table for ``count`` rows."""
    path = folder / "source.db"
    with custmgmt.open(f"sqlite:///{path}", migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        report = app.prospects.import_many(alice, rows(count))
    if report.imported != count:
        raise SystemExit(f"custmgmt imported {report.imported} of {count}")
    return read_back(path)


def read_back(path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    connection = sqlite3.connect(path)
    try:
        cursor = connection.execute(f"SELECT * FROM {TABLE} ORDER BY rowid")
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        connection.close()


def new_database(folder: Path, name: str) -> Path:
    path = folder / f"{name}.db"
    with custmgmt.open(f"sqlite:///{path}", migrate=True):
        pass
    return path


def secondary_indexes(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY name", (TABLE,))]
    finally:
        connection.close()


def groups(indexes: Sequence[str]) -> dict[str, list[str]]:
    """The prospects table's secondary indexes by what they serve, and all of them."""
    kinds = {"the identity keys' unique indexes": "_key",
             "the due lists' indexes": "_due",
             "the registration-order index": "_registered"}
    found = {what: [i for i in indexes if i.endswith(suffix)] for what, suffix in kinds.items()}
    return {**found, "any secondary index": list(indexes)}


def insert_of(columns: Sequence[str], batch: Sequence[tuple[Any, ...]]
              ) -> tuple[str, list[tuple[Any, ...]]]:
    """The batch's INSERT and its bound rows, made by the driver's own rules: a column
    holding one value throughout written as its literal, blobs bound as ``bytearray``
    (``_sqlite_insert`` in ``custmgmt.adapters.sql.driver``)."""
    bound: list[list[Any]] = []
    marks: list[str] = []
    for n, _ in enumerate(columns):
        values = [row[n] for row in batch]
        text = _sqlite_literal(values) if len(batch) > 1 else None
        if text is None:
            bound.append(list(_blobs_as_bytearray(values)))
            marks.append("?")
        else:
            marks.append(text)
    sql = f"INSERT INTO {TABLE} ({', '.join(columns)}) VALUES ({', '.join(marks)})"
    return sql, list(zip(*bound, strict=True))


def write(path: Path, columns: Sequence[str], batches: Sequence[tuple[str, list[Any]]],
          drop: Sequence[str], per_commit: int, checkpoint_at_end: bool
          ) -> tuple[float, float]:
    """Seconds of wall clock and of this process's CPU time the writing took."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        for index in drop:
            connection.execute(f"DROP INDEX {index}")
        if checkpoint_at_end:
            connection.execute("PRAGMA wal_autocheckpoint=0")
        started, used = time.perf_counter(), time.process_time()
        for n, (sql, values) in enumerate(batches):
            if n % per_commit == 0:
                connection.execute("BEGIN IMMEDIATE")
            connection.executemany(sql, values)
            if n % per_commit == per_commit - 1 or n == len(batches) - 1:
                connection.execute("COMMIT")
        if checkpoint_at_end:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return time.perf_counter() - started, time.process_time() - used
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="custmgmt-bench-floor-") as temporary:
        folder = Path(temporary)
        columns, written = import_once(args.rows, folder)
        batches = [insert_of(columns, written[start:start + args.batch_size])
                   for start in range(0, len(written), args.batch_size)]
        check = new_database(folder, "check")
        write(check, columns, batches, (), 1, False)
        if read_back(check) != (columns, written):
            raise SystemExit("the rows written again differ from the rows custmgmt wrote")
        variants: dict[str, tuple[Sequence[str], int, bool]] = {
            "today": ((), 1, False),
            **{f"without {what}": (dropped, 1, False)
               for what, dropped in groups(secondary_indexes(check)).items()},
            f"today, {4 * args.batch_size:,} rows a transaction": ((), 4, False),
            "today, checkpoint at the end": ((), 1, True),
        }
        times: dict[str, list[float]] = {name: [] for name in ("minimal", *variants)}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        names = list(times)
        for round_ in range(args.rounds):
            # each round starts at another variant: none always runs first or last
            shift = round_ * len(names) // args.rounds
            for name in names[shift:] + names[:shift]:
                path = folder / f"{names.index(name)}-{round_}.db"
                if name == "minimal":
                    times[name].append(sqlite_minimal(args.rows, path, args.batch_size))
                    path.unlink()
                    continue
                drop, per_commit, at_end = variants[name]
                new_database(folder, path.stem)
                wall, used = write(path, columns, batches, drop, per_commit, at_end)
                times[name].append(wall)
                cpu[name].append(used)
                path.unlink()
    minimal = statistics.median(times["minimal"])
    today = statistics.median(times["today"])
    today_cpu = statistics.median(cpu["today"])
    print(f"SQLite file, {args.rows:,} prospects custmgmt wrote, written again with no "
          f"library work; {args.batch_size:,} rows a batch; median of {args.rounds} "
          "interleaved rounds")
    print(f"  {'':<46} {'s':>7} {'/minimal':>9} {'/today':>7} {'CPU s':>7} {'/today':>7}")
    for name, values in times.items():
        median = statistics.median(values)
        line = f"  {name:<46} {median:7.3f} {median / minimal:8.2f}x {median / today:6.2f}x"
        if name in cpu:
            used = statistics.median(cpu[name])
            line += f" {used:7.3f} {used / today_cpu:6.2f}x"
        print(line)


if __name__ == "__main__":
    main()
