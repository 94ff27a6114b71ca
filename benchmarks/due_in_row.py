"""Not a goal's benchmark: the due lists read from the prospect's own row (README step 3)
against the plans table they are read from today, on the same data.

    python benchmarks/due_in_row.py [--plans 1000000] [--rounds 3] [--updates 2000]
        [--start-postgresql]

A copy of ``due.py``'s SQLite file (run ``due.py`` first to build it),
or with ``--start-postgresql`` the same data built by ``due.py``'s builder in a
throw-away PostgreSQL database (then vacuumed, as ``due.py`` leaves it), gets the
plan's columns in each prospect's row (``plan_active``, ``plan_next_due``,
``plan_grade``, copied from its plan) and the two partial indexes step 3 would give
the prospects table, ``(owner_id | owner_team, plan_next_due, id, ..., plan_active)
WHERE plan_active``: the plan's active flag is the last column so that the index
covers the query (SQLite reads the table for a column the query names that the index
does not hold, even when the index's WHERE implies its value). Timed, interleaved,
with the driver alone: a salesperson's list and a manager's (the library's two index
ranges: SQLite merges them, PostgreSQL sorts this query's union), each from both
layouts; the query plans are printed. Then (``--updates
N``, after every prospect is given a phone and an e-mail key as an imported one has)
N plan changes of random prospects, one committed UPDATE each, in each layout: in the
row a change rewrites the prospect's row (on PostgreSQL a new row version with an entry
in each of its indexes, since the due date is indexed).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from due import DAY, OWNERS, TEAM_SIZE, build, manager, salesperson

Query = tuple[str, Callable[[int], tuple[str, ...]]]
Fetch = Callable[[str, tuple[str, ...]], list[Any]]

COLUMNS = {"plans": ("custmgmt_followup_plans", "prospect_id", "grade", "next_due",
                     "active = {true}"),
           "in the row": ("custmgmt_prospects", "id", "plan_grade", "plan_next_due",
                          "plan_active")}


def queries(layout: str, mark: str, true: str) -> dict[str, Query]:
    """The salesperson's and the manager's list read from ``layout`` (``mark``: the
    driver's placeholder; ``true``: the literal the plans' index is searched with)."""
    table, pid, grade, due, active = COLUMNS[layout]
    active = active.format(true=true)
    read = f"SELECT {pid}, owner_id, {grade}, {due} FROM {table}"
    day = DAY.isoformat()
    teams = OWNERS // TEAM_SIZE
    return {
        f"salesperson, {layout}": (
            f"{read} WHERE owner_id = {mark} AND {active} AND {due} <= {mark} "
            f"ORDER BY {due}, {pid}",
            lambda i: (salesperson(i), day)),
        # the library's team list: the manager's own plans outside the team, then the
        # team's, each an index range, merged in (next_due, id) order
        f"manager, {layout}": (
            f"SELECT * FROM ({read} WHERE owner_id = {mark} AND (owner_team IS NULL OR "
            f"owner_team != {mark}) AND {active} AND {due} <= {mark} UNION ALL {read} "
            f"WHERE owner_team = {mark} AND {active} AND {due} <= {mark}) AS due "
            "ORDER BY 4, 1",
            lambda i: (manager(i % teams), f"t{i % teams:03d}", day,
                       f"t{i % teams:03d}", day)),
    }


PLAN_IN_ROW = (
    "ALTER TABLE custmgmt_prospects ADD COLUMN plan_active BOOLEAN",
    "ALTER TABLE custmgmt_prospects ADD COLUMN plan_next_due DATE",
    "ALTER TABLE custmgmt_prospects ADD COLUMN plan_grade VARCHAR(1)",
    "UPDATE custmgmt_prospects SET (plan_active, plan_next_due, plan_grade) = "
    "(SELECT active, next_due, grade FROM custmgmt_followup_plans p "
    "WHERE p.prospect_id = custmgmt_prospects.id)",
    "CREATE INDEX ix_row_owner_due ON custmgmt_prospects (owner_id, plan_next_due, id, "
    "plan_grade, owner_team, plan_active) WHERE plan_active",
    "CREATE INDEX ix_row_team_due ON custmgmt_prospects (owner_team, plan_next_due, id, "
    "owner_id, plan_grade, plan_active) WHERE plan_active",
)
"""Each prospect's plan copied into its row, under step 3's partial indexes."""


def measure(fetch: Fetch, explain: Fetch, mark: str, true: str, rounds: int,
            title: str) -> None:
    """Print the plans, then time every list interleaved, call by call."""
    measured = {**queries("plans", mark, true), **queries("in the row", mark, true)}
    for name, (sql, args_of) in measured.items():
        plan = " / ".join(str(row[0]) for row in explain(sql, args_of(1)))
        print(f"{name}: {plan}")
    times: dict[str, list[int]] = {name: [] for name in measured}
    rows: dict[str, int] = dict.fromkeys(measured, 0)
    order = list(measured.items())
    for round_ in range(rounds):
        for i in range(0, OWNERS, 7):
            for name, (sql, args_of) in order if round_ % 2 else reversed(order):
                values = args_of(i)
                started = time.perf_counter_ns()
                got = fetch(sql, values)
                times[name].append(time.perf_counter_ns() - started)
                rows[name] += len(got)
    calls = len(next(iter(times.values())))
    print(f"{title}, median of {calls:,} calls each")
    for name, spent in times.items():
        print(f"  {name:<24} {statistics.median(spent) / 1e6:7.3f} ms  ({rows[name]:,} rows)")
    for who in ("salesperson", "manager"):
        ratio = (statistics.median(times[f"{who}, in the row"])
                 / statistics.median(times[f"{who}, plans"]))
        print(f"  {who}: in the row / plans table {ratio:.2f}x")


KEYS = {
    # every prospect holds a phone and an e-mail key (random bytes, as sealed keys are),
    # as imported prospects do: a plan's change that rewrites the row has to keep those
    # indexes too
    "sqlite": "UPDATE custmgmt_prospects SET phone_key = randomblob(32), "
              "email_key = randomblob(32)",
    "postgresql": "UPDATE custmgmt_prospects SET phone_key = decode(md5(id), 'hex'), "
                  "email_key = decode(md5('e' || id), 'hex')",
}
UPDATES = {
    "sqlite": {"plans": "UPDATE custmgmt_followup_plans SET next_due = date(next_due, "
                        "'+7 days'), version = version + 1 WHERE prospect_id = ?",
               "in the row": "UPDATE custmgmt_prospects SET plan_next_due = "
                             "date(plan_next_due, '+7 days') WHERE id = ?"},
    "postgresql": {"plans": "UPDATE custmgmt_followup_plans SET next_due = next_due + 7, "
                            "version = version + 1 WHERE prospect_id = %s",
                   "in the row": "UPDATE custmgmt_prospects SET plan_next_due = "
                                 "plan_next_due + 7 WHERE id = %s"},
}
"""A plan's change (its next due date moved on), one committed statement each."""


def measure_updates(run: Callable[[str, str], None], dialect: str, plans: int,
                    updates: int) -> None:
    """Time ``updates`` plan changes of random prospects in each layout, interleaved."""
    rng = random.Random(12)
    times: dict[str, list[int]] = {layout: [] for layout in UPDATES[dialect]}
    for n in range(updates):
        prospect = f"p-{rng.randrange(plans):08d}"
        layouts = list(UPDATES[dialect].items())
        for layout, sql in layouts if n % 2 else reversed(layouts):
            started = time.perf_counter_ns()
            run(sql, prospect)
            times[layout].append(time.perf_counter_ns() - started)
    print(f"  a plan's change, one committed UPDATE, median of {updates:,} each:")
    for layout, spent in times.items():
        print(f"    {layout:<12} {statistics.median(spent) / 1e3:8.1f} us")
    ratio = statistics.median(times["in the row"]) / statistics.median(times["plans"])
    print(f"    in the row / plans table {ratio:.2f}x")


def sqlite_case(plans: int, rounds: int, updates: int) -> None:
    source = Path(tempfile.gettempdir()) / f"custmgmt-bench-due-{plans}.db"
    if not source.exists():
        raise SystemExit(f"{source} is missing: run due.py --plans {plans} first")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "due.db"
        shutil.copyfile(source, path)
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN")
        for statement in PLAN_IN_ROW:
            connection.execute(statement)
        connection.execute("COMMIT")
        connection.execute("ANALYZE")

        def fetch(sql: str, values: tuple[str, ...]) -> list[Any]:
            return connection.execute(sql, values).fetchall()

        def explain(sql: str, values: tuple[str, ...]) -> list[Any]:
            return [(row[3],) for row in fetch(f"EXPLAIN QUERY PLAN {sql}", values)]

        measure(fetch, explain, "?", "1", rounds, f"SQLite file, {plans:,} plans")
        if updates:
            connection.execute(KEYS["sqlite"])

            def run(sql: str, prospect: str) -> None:
                connection.execute(sql, (prospect,))  # autocommit: a transaction each

            measure_updates(run, "sqlite", plans, updates)
        connection.close()


def postgresql_case(plans: int, rounds: int, updates: int) -> None:
    import psycopg  # noqa: PLC0415

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg_server import throwaway_cluster  # noqa: PLC0415

    with throwaway_cluster() as cluster:
        url = str(cluster.new_empty_database())
        connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                     autocommit=True)

        def execute(sql: str) -> None:
            connection.execute(sql)

        build(url, plans, "%s", execute)
        with connection.transaction():
            for statement in PLAN_IN_ROW:
                execute(statement)
        execute("VACUUM ANALYZE")  # as due.py leaves its tables (index-only scans)

        def fetch(sql: str, values: tuple[str, ...]) -> list[Any]:
            return connection.execute(sql, values).fetchall()

        def explain(sql: str, values: tuple[str, ...]) -> list[Any]:
            return fetch(f"EXPLAIN {sql}", values)

        measure(fetch, explain, "%s", "true", rounds, f"PostgreSQL, {plans:,} plans")
        if updates:
            execute(KEYS["postgresql"])
            execute("VACUUM ANALYZE")

            def run(sql: str, prospect: str) -> None:
                connection.execute(sql, (prospect,))  # autocommit: a transaction each

            measure_updates(run, "postgresql", plans, updates)
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--start-postgresql", action="store_true",
                        help="measure on a throw-away PostgreSQL cluster instead")
    parser.add_argument("--updates", type=int, default=2000,
                        help="plan changes timed in each layout after the lists (0: none)")
    args = parser.parse_args()
    if args.start_postgresql:
        postgresql_case(args.plans, args.rounds, args.updates)
    else:
        sqlite_case(args.plans, args.rounds, args.updates)


if __name__ == "__main__":
    main()
