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

Also ``step 3's table``: the same rows in the table step 3 of benchmarks/README.md
would give them (``Layout``), to say how much of the floor that redesign alone
takes away: the id a time-ordered integer that is the table's rowid (no text id and
no index of its own; the due lists' and the registration order's indexes end in the
rowid instead of the text id), and each identity key the first 64 bits of its seal
as an integer under a plain partial unique index (no ``substr`` of a blob). Every
other column, value and index is today's, written by the same rules. Then each of its
two changes alone (the integer id with today's keys; today's id with 64-bit keys),
and the table with the opaque text id kept as a column of the row under no index
(what the integer rowid would cost a storage that still hands out text ids).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from import_prospects import rows, sqlite_minimal

import custmgmt
from custmgmt.adapters.sql.driver import _blobs_as_bytearray, _sqlite_literal
from custmgmt.adapters.sql.storage import SQLITE_CACHE_KIB

TABLE = "custmgmt_prospects"
STEP3 = "step 3's table (integer id, 64-bit keys)"


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


KEY_COLUMNS = ("phone_key", "email_key", "organization_key", "credit_code_key")


@dataclass(frozen=True)
class Layout:
    """How a variant of step 3's table holds the rows: ``integer_id``, the id a
    time-ordered integer that is the rowid (else today's text id under its primary
    key); ``integer_keys``, each key the first 64 bits of its seal under a plain partial
    unique index (else today's blob under an index of its first 17 bytes);
    ``text_id_kept``, with an integer id, today's text id still a column of the row,
    under no index (what a table keeping opaque ids beside an integer rowid would
    write)."""

    integer_id: bool = True
    integer_keys: bool = True
    text_id_kept: bool = False

    def indexes(self) -> list[str]:
        """Today's indexes of the prospects table as the layout has them: with an
        integer id, the rowid ends every entry and no index names the id."""
        by_id = "" if self.integer_id else ", id"
        return [
            f"CREATE INDEX s3_registered ON {TABLE} (registered_at{by_id})",
            f"CREATE INDEX s3_customer_id ON {TABLE} (customer_id) "
            "WHERE customer_id IS NOT NULL",
            f"CREATE INDEX s3_owner_due ON {TABLE} "
            f"(owner_id, plan_active, plan_next_due{by_id}, plan_grade, owner_team)",
            f"CREATE INDEX s3_team_due ON {TABLE} "
            f"(owner_team, plan_active, plan_next_due{by_id}, owner_id, plan_grade)",
            *(f"CREATE UNIQUE INDEX s3_{key} ON {TABLE} "
              f"({key if self.integer_keys else f'substr({key}, 1, 17)'}) "
              f"WHERE {key} IS NOT NULL" for key in KEY_COLUMNS)]

    def table(self, today: Path) -> str:
        """Today's CREATE TABLE of the prospects, with the layout's id and key columns."""
        connection = sqlite3.connect(today)
        try:
            (sql,) = connection.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                                        (TABLE,)).fetchone()
        finally:
            connection.close()
        changes = []
        if self.integer_id:
            kept = " id VARCHAR(100) NOT NULL," if self.text_id_kept else ""
            changes += [("\n\tid VARCHAR(100) NOT NULL,", f"\n\tpk INTEGER PRIMARY KEY,{kept}"),
                        ("CONSTRAINT pk_custmgmt_prospects PRIMARY KEY (id),", "")]
        if self.integer_keys:
            changes += [(f"{key} BLOB", f"{key} INTEGER") for key in KEY_COLUMNS]
        for old, new in changes:
            if sql.count(old) != 1:
                raise SystemExit(f"today's prospects table has changed: no {old!r}")
            sql = sql.replace(old, new)
        return str(sql)

    def rows(self, columns: Sequence[str], written: Sequence[tuple[Any, ...]]
             ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The rows as the layout holds them: an integer id is the milliseconds of the
        UUIDv7, then the row's place in the import (unique and increasing); an integer
        key the first 64 bits of its seal (after the stored key's tag byte)."""
        at = {name: n for n, name in enumerate(columns)}
        keys = [at[key] for key in KEY_COLUMNS] if self.integer_keys else []
        dropped = self.integer_id and not self.text_id_kept
        layout = [*(["pk"] if self.integer_id else []),
                  *(name for name in columns if not (dropped and name == "id"))]
        rows = []
        for n, row in enumerate(written):
            values = list(row)
            for k in keys:
                if values[k] is not None:
                    values[k] = int.from_bytes(values[k][1:9], "big", signed=True)
            if self.integer_id:
                pk = int(values[at["id"]][2:14], 16) << 20 | n
                if dropped:
                    del values[at["id"]]
                values.insert(0, pk)
            rows.append(tuple(values))
        return layout, rows


LAYOUTS = {
    STEP3: Layout(),
    "step 3's id alone (integer id, today's keys)": Layout(integer_keys=False),
    "step 3's keys alone (today's id, 64-bit keys)": Layout(integer_id=False),
    "step 3's table, the text id kept unindexed": Layout(text_id_kept=True),
}
"""Step 3's table, and each of its two changes alone (stop 38)."""


def new_layout_database(folder: Path, name: str, table: str, layout: Layout) -> Path:
    path = folder / f"{name}.db"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA page_size=16384")  # as custmgmt makes a SQLite file
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(table)
        for index in layout.indexes():
            connection.execute(index)
    finally:
        connection.close()
    return path


def layout_checked(folder: Path, today: Path, columns: Sequence[str],
                   written: Sequence[tuple[Any, ...]], batch_size: int, layout: Layout
                   ) -> tuple[str, list[str], list[tuple[str, list[Any]]]]:
    """The layout's CREATE TABLE, columns and batches, after writing them once, untimed,
    and checking that the table holds exactly those rows."""
    table = layout.table(today)
    layout_columns, layout_rows = layout.rows(columns, written)
    batches = [insert_of(layout_columns, layout_rows[start:start + batch_size])
               for start in range(0, len(layout_rows), batch_size)]
    check = new_layout_database(folder, "layout-check", table, layout)
    write(check, layout_columns, batches, (), 1, False)
    if read_back(check) != (layout_columns, layout_rows):
        raise SystemExit("a variant of step 3's table does not hold the rows written to it")
    check.unlink()
    return table, layout_columns, batches


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
        laid_out = {name: layout_checked(folder, check, columns, written, args.batch_size,
                                         layout) for name, layout in LAYOUTS.items()}
        variants: dict[str, tuple[Sequence[str], int, bool]] = {
            "today": ((), 1, False),
            **{f"without {what}": (dropped, 1, False)
               for what, dropped in groups(secondary_indexes(check)).items()},
            f"today, {4 * args.batch_size:,} rows a transaction": ((), 4, False),
            "today, checkpoint at the end": ((), 1, True),
            **{name: ((), 1, False) for name in LAYOUTS},
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
                if name in LAYOUTS:
                    table, layout_columns, layout_batches = laid_out[name]
                    new_layout_database(folder, path.stem, table, LAYOUTS[name])
                    wall, used = write(path, layout_columns, layout_batches, drop,
                                       per_commit, at_end)
                else:
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
