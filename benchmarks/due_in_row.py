"""Not a goal's benchmark: the due lists read from the prospect's own row (README step 3)
against the plans table they are read from today, on the same data.

    python benchmarks/due_in_row.py [--plans 1000000] [--rounds 3]

A copy of ``due.py``'s SQLite file (built first if it is missing: run ``due.py``)
gets the plan's columns in each prospect's row (``plan_active``, ``plan_next_due``,
``plan_grade``, copied from its plan) and the two partial indexes step 3 would give
the prospects table, ``(owner_id | owner_team, plan_next_due, id, ..., plan_active)
WHERE plan_active``: the plan's active flag is the last column so that the index
covers the query (SQLite reads the table for a column the query names that the index
does not hold, even when the index's WHERE implies its value). Timed, interleaved,
with the driver alone: a salesperson's list and a manager's (the library's two index
ranges, merged), each from both layouts; the query plans are printed.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from due import DAY, OWNERS, TEAM_SIZE, manager, salesperson

Query = tuple[str, Callable[[int], tuple[str, ...]]]

COLUMNS = {"plans": ("custmgmt_followup_plans", "prospect_id", "grade", "next_due",
                     "active = 1"),
           "in the row": ("custmgmt_prospects", "id", "plan_grade", "plan_next_due",
                          "plan_active")}


def queries(layout: str) -> dict[str, Query]:
    """The salesperson's and the manager's list read from ``layout``."""
    table, pid, grade, due, active = COLUMNS[layout]
    read = f"SELECT {pid}, owner_id, {grade}, {due} FROM {table}"
    day = DAY.isoformat()
    teams = OWNERS // TEAM_SIZE
    return {
        f"salesperson, {layout}": (
            f"{read} WHERE owner_id = ? AND {active} AND {due} <= ? ORDER BY {due}, {pid}",
            lambda i: (salesperson(i), day)),
        # the library's team list: the manager's own plans outside the team, then the
        # team's, each an index range, merged in (next_due, id) order
        f"manager, {layout}": (
            f"SELECT * FROM ({read} WHERE owner_id = ? AND (owner_team IS NULL OR "
            f"owner_team != ?) AND {active} AND {due} <= ? UNION ALL {read} WHERE "
            f"owner_team = ? AND {active} AND {due} <= ?) ORDER BY 4, 1",
            lambda i: (manager(i % teams), f"t{i % teams:03d}", day,
                       f"t{i % teams:03d}", day)),
    }


def plan_in_row(connection: sqlite3.Connection) -> None:
    """Each prospect's plan copied into its row, under step 3's partial indexes."""
    connection.execute("BEGIN")
    for column, kind in (("plan_active", "BOOLEAN"), ("plan_next_due", "DATE"),
                         ("plan_grade", "VARCHAR(1)")):
        connection.execute(f"ALTER TABLE custmgmt_prospects ADD COLUMN {column} {kind}")
    connection.execute(
        "UPDATE custmgmt_prospects SET (plan_active, plan_next_due, plan_grade) = "
        "(SELECT active, next_due, grade FROM custmgmt_followup_plans p "
        "WHERE p.prospect_id = custmgmt_prospects.id)")
    connection.execute(
        "CREATE INDEX ix_row_owner_due ON custmgmt_prospects (owner_id, plan_next_due, id, "
        "plan_grade, owner_team, plan_active) WHERE plan_active")
    connection.execute(
        "CREATE INDEX ix_row_team_due ON custmgmt_prospects (owner_team, plan_next_due, id, "
        "owner_id, plan_grade, plan_active) WHERE plan_active")
    connection.execute("COMMIT")
    connection.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    source = Path(tempfile.gettempdir()) / f"custmgmt-bench-due-{args.plans}.db"
    if not source.exists():
        raise SystemExit(f"{source} is missing: run due.py --plans {args.plans} first")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "due.db"
        shutil.copyfile(source, path)
        connection = sqlite3.connect(path, isolation_level=None)
        plan_in_row(connection)
        measured = {**queries("plans"), **queries("in the row")}
        for name, (sql, args_of) in measured.items():
            plan = " / ".join(row[3] for row in connection.execute(
                f"EXPLAIN QUERY PLAN {sql}", args_of(1)))
            print(f"{name}: {plan}")
        times: dict[str, list[int]] = {name: [] for name in measured}
        rows: dict[str, int] = dict.fromkeys(measured, 0)
        order = list(measured.items())
        for round_ in range(args.rounds):
            for i in range(0, OWNERS, 7):
                for name, (sql, args_of) in order if round_ % 2 else reversed(order):
                    values = args_of(i)
                    started = time.perf_counter_ns()
                    got = connection.execute(sql, values).fetchall()
                    times[name].append(time.perf_counter_ns() - started)
                    rows[name] += len(got)
        connection.close()
    print(f"SQLite file, {args.plans:,} plans, median of {len(times[name]):,} calls each")
    for name, spent in times.items():
        print(f"  {name:<24} {statistics.median(spent) / 1e6:7.3f} ms  ({rows[name]:,} rows)")
    for who in ("salesperson", "manager"):
        ratio = (statistics.median(times[f"{who}, in the row"])
                 / statistics.median(times[f"{who}, plans"]))
        print(f"  {who}: in the row / plans table {ratio:.2f}x")


if __name__ == "__main__":
    main()
