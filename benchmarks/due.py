"""``app.followups.due()`` against the raw indexed query, measured in one run.

    python benchmarks/due.py [--plans 1000000] [--rounds 5]
                             [--postgresql URL | --start-postgresql] [--no-sqlite]
                             [--narrow-indexes]

The data: ``--plans`` prospects with their follow-up plans, owned by 1,000
salespeople in 100 teams of 10 (a sales manager each); next due dates spread
over 120 days around the day asked, so about a quarter of the plans are due.
It is written once with plain SQL (cached in the temp folder for SQLite) and
is not timed.

Timed, interleaved call by call over 50 salespeople and 50 managers: custmgmt's
``due()`` (authorize, read-only unit of work, query, ``DueItem`` objects in
priority order) and the same rows fetched with the driver alone (sqlite3 or
psycopg): the library's list query without the actor's principal it also reads
(on PostgreSQL it reads the days late, ``:on - next_due``, instead of the date),
and the plain query written by hand (``owner_id = ?``; for a team
``owner_team = ? OR owner_id = ?``); the faster raw variant is the baseline.
Also timed, not a baseline: the "raw floor", the list query in raw SQL plus the
same ``DueItem`` tuples built from its rows in priority order with no library
around it (the least any typed result costs).
Medians of every call; the query plans of the library's statements are printed.

With ``--narrow-indexes`` (SQLite), both sides read a copy of the file whose due lists'
indexes serve the filter and the order but cover nothing else (``NARROW_DUE``: the
grade, and a team's owners, read from the table). Not custmgmt's schema: it shows
what the goal's ratio says of an index that makes every list slower (both sides
read the same slower index, so the library's share of a call shrinks).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import custmgmt
from custmgmt.adapters.sql import driver, followups
from custmgmt.adapters.sql.storage import SQLITE_CACHE_KIB
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.followups import DueItem
from custmgmt.domain.prospects import Grade

DAY = date(2026, 6, 15)
OWNERS, TEAM_SIZE = 1000, 10
SAMPLE = 50

RAW_OWNER = ("SELECT id, owner_id, plan_grade, plan_next_due FROM custmgmt_prospects "
             "WHERE owner_id = {p} AND plan_active = {true} AND plan_next_due <= {p} "
             "ORDER BY plan_next_due, id")
RAW_TEAM_OR = ("SELECT id, owner_id, plan_grade, plan_next_due FROM custmgmt_prospects "
               "WHERE (owner_team = {p} OR owner_id = {p}) AND plan_active = {true} "
               "AND plan_next_due <= {p} ORDER BY plan_next_due, id")


def salesperson(i: int) -> str:
    return f"u-s{i:04d}"


def manager(team: int) -> str:
    return f"u-m{team:03d}"


def team_of(i: int) -> str:
    return f"t{i // TEAM_SIZE:03d}"


def build(url: str, plans: int, placeholder: str, execute: Callable[[str], None]) -> None:
    """Principals through the API, then prospects with their plans (in their rows) by SQL
    from one template row."""
    clock = FixedClock(datetime(2026, 6, 15, 2, 0, tzinfo=UTC))
    with custmgmt.open(url, migrate=True, clock=clock) as app:
        for i in range(OWNERS):
            app.principal(salesperson(i), roles={"salesperson"}, team=team_of(i))
        for t in range(OWNERS // TEAM_SIZE):
            app.principal(manager(t), roles={"sales_manager"}, team=f"t{t:03d}")
        template = app.prospects.register(app.principal("u-template", roles={"salesperson"}),
                                          name="Template", willingness="clear",
                                          potential_value=1000, phone="13900000000")
    del placeholder
    is_pg = url.startswith("postgresql")
    series = (f"generate_series(0, {plans - 1}) AS n(i)" if is_pg else
              f"(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
              f"WHERE i < {plans - 1}) SELECT i FROM s) AS n")
    fmt = "lpad(i::text, 8, '0')" if is_pg else "printf('%08d', i)"
    owner = (f"'u-s' || lpad((i % {OWNERS})::text, 4, '0')" if is_pg
             else f"printf('u-s%04d', i % {OWNERS})")
    team = (f"'t' || lpad(((i % {OWNERS}) / {TEAM_SIZE})::text, 3, '0')" if is_pg
            else f"printf('t%03d', (i % {OWNERS}) / {TEAM_SIZE})")
    grade = "substr('ABCD', (i * 7) % 4 + 1, 1)"
    offset = "((i * 37) % 120 - 30)"
    due = (f"(DATE '{DAY.isoformat()}' + {offset})" if is_pg
           else f"date('{DAY.isoformat()}', {offset} || ' days')")
    active = "(i % 50 <> 0)"
    columns = ("kind, name, phone, email, address, organization, credit_code, industry, "
               "source_channel, needs, willingness, potential_amount, potential_currency, "
               "grade, grade_is_manual, stage, registered_by, registered_at, "
               "registration_active, registration_from_pool, version")
    t_columns = ", ".join(f"t.{c.strip()}" for c in columns.split(",")
                          if c.strip() not in ("grade",))
    plan = ("plan_grade, plan_stage, plan_active, plan_anchor, plan_override, "
            "plan_next_due, plan_version")
    execute(f"INSERT INTO custmgmt_prospects (id, registration_id, owner_id, owner_team, grade, "
            f"{', '.join(c.strip() for c in columns.split(',') if c.strip() != 'grade')}, "
            f"{plan}) "
            f"SELECT 'p-' || {fmt}, 'r-' || {fmt}, {owner}, {team}, {grade}, {t_columns}, "
            f"{grade}, 'initial_contact', {active}, {due}, NULL, {due}, 1 "
            f"FROM {series}, custmgmt_prospects t WHERE t.id = '{template.id}'")
    execute("VACUUM ANALYZE" if is_pg else "ANALYZE")  # as autovacuum leaves a loaded table


GRADES = {grade.value: grade for grade in Grade}
BY_GRADE = itemgetter(2)
FLOOR = "raw floor"


def typed(rows: list[Any], on: date) -> tuple[DueItem, ...]:
    """The rows (prospect_id, owner_id, grade, due), in (next_due, prospect_id)
    order, as ``DueItem``s in priority order: the least a typed result costs. ``due``
    is what the library's list statement reads: the ISO date on SQLite, the days late
    on PostgreSQL."""
    rows.sort(key=BY_GRADE)  # stable: the date order stays within a grade
    days = {due: on - timedelta(days=due) if isinstance(due, int) else
            due if isinstance(due, date) else date.fromisoformat(due)
            for due in {row[3] for row in rows}}
    late = {due: (on - day).days for due, day in days.items()}
    values = [(pid, who, GRADES[grade], days[due], late[due]) for pid, who, grade, due in rows]
    # as the library makes them: tuple.__new__ called by map from C
    return tuple(map(tuple.__new__, repeat(DueItem, len(values)), values))


def median_ms(values: Sequence[int]) -> float:
    return statistics.median(values) / 1e6


def run(  # noqa: PLR0912, PLR0915 - one interleaved measurement loop
        url: str, raw_query: Callable[[str, Sequence[Any]], list[Any]], placeholder: str,
        true: str, rounds: int, explain: Callable[[str, Sequence[Any]], list[str]]) -> None:
    clock = FixedClock(datetime(2026, 6, 15, 2, 0, tzinfo=UTC))
    with custmgmt.open(url, clock=clock) as app:
        dialect_of = app.followups._ctx.storage.engine.dialect  # type: ignore[attr-defined]

        def library_statement(
                who: custmgmt.Principal) -> tuple[list[tuple[str, Any]], tuple[str, Any]]:
            """The SQL text and arguments of the statement the library sends for ``who``
            (the actor's principal and the list), and those of the list alone (the raw
            baseline: the same rows without the principal). Not timed."""
            sent: list[tuple[Any, dict[str, Any]]] = []
            original = driver.read_alone

            def capture(session: Any, statement: Any, params: Mapping[str, Any]) -> list[Any]:
                sent.append((statement, dict(params)))
                return original(session, statement, params)

            followups.read_alone = capture  # type: ignore[attr-defined]
            try:
                app.followups.due(who, on=DAY)
            finally:
                followups.read_alone = original  # type: ignore[attr-defined]
            statement, params = sent[-1]
            compiled = driver._compiled(statement, dialect_of)
            library = [(compiled.sql, compiled.arguments(params))]
            key = next(k for k, v in followups._LISTS.items() if v is statement)
            alone = driver._compiled(followups.due_statement(key[0], key[1]), dialect_of)
            only = (alone.sql, alone.arguments({k: v for k, v in params.items()
                                                if k not in ("actor", "version")}))
            return library, only

        people = [app.get_principal(salesperson(i * (OWNERS // SAMPLE))) for i in range(SAMPLE)]
        bosses = [app.get_principal(manager(t * (OWNERS // TEAM_SIZE // SAMPLE)))
                  for t in range(SAMPLE)]
        owner_sql = RAW_OWNER.format(p=placeholder, true=true)
        team_sql = RAW_TEAM_OR.format(p=placeholder, true=true)
        results: dict[str, dict[str, list[int]]] = {}
        cpu_results: dict[str, dict[str, list[int]]] = {}
        rows_seen: dict[str, list[int]] = {"salesperson": [], "manager": []}
        library_sql: dict[str, tuple[list[tuple[str, Any]], tuple[str, Any]]] = {}
        for case, principals in (("salesperson", people), ("manager", bosses)):
            times: dict[str, list[int]] = {"custmgmt": [], "raw (list SQL)": []}
            times["raw (OR)" if case == "manager" else "raw (plain)"] = []
            times[FLOOR] = []
            cpu: dict[str, list[int]] = {k: [] for k in times}
            for r in range(rounds):
                for who in principals:
                    assert who is not None
                    expected = len(app.followups.due(who, on=DAY))
                    library_sql[case] = library_statement(who)
                    order = ["custmgmt", *[k for k in times if k != "custmgmt"]]
                    if r % 2:
                        order.reverse()
                    for kind in order:
                        if kind == "custmgmt":
                            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                            items = app.followups.due(who, on=DAY)
                            cpu[kind].append(time.thread_time_ns() - c0)
                            times[kind].append(time.perf_counter_ns() - t0)
                            assert len(items) == expected
                            if r == 0:
                                rows_seen[case].append(len(items))
                        elif kind == "raw (list SQL)":
                            statement, params = library_sql[case][1]
                            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                            rows = raw_query(statement, params)
                            cpu[kind].append(time.thread_time_ns() - c0)
                            times[kind].append(time.perf_counter_ns() - t0)
                            assert len(rows) == expected, (len(rows), expected)
                        elif kind == FLOOR:
                            statement, params = library_sql[case][1]
                            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                            built = typed(raw_query(statement, params), DAY)
                            cpu[kind].append(time.thread_time_ns() - c0)
                            times[kind].append(time.perf_counter_ns() - t0)
                            assert len(built) == expected
                        else:  # the plain query written by hand
                            sql, args = ((owner_sql, (who.id, DAY)) if case == "salesperson"
                                         else (team_sql, (who.team, who.id, DAY)))
                            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                            rows = raw_query(sql, args)
                            cpu[kind].append(time.thread_time_ns() - c0)
                            times[kind].append(time.perf_counter_ns() - t0)
                            assert len(rows) == expected
            results[case] = times
            cpu_results[case] = cpu
            # a salesperson's raw query written by hand, checked against the library's rows
            if case == "salesperson":
                who = principals[0]
                assert who is not None
                hand = raw_query(owner_sql, (who.id, DAY))
                assert [r[0] for r in sorted(hand, key=lambda r: r[2])] == [
                    i.prospect_id for i in app.followups.due(who, on=DAY)]
        for case, times in results.items():
            cpu = cpu_results[case]
            print(f"\n-- {case}: {statistics.mean(rows_seen[case]):.0f} rows due on average, "
                  f"{len(times['custmgmt'])} calls each")
            sent = library_sql[case][0]
            print(f"   query plan of the library's {len(sent)} statement(s), the actor's "
                  "principal and the list:")
            for statement, params in sent:
                for line in explain(statement, params):
                    print(f"     {line}")
            baseline = min((k for k in times if k not in ("custmgmt", FLOOR)),
                           key=lambda k: statistics.median(times[k]))
            for kind, values in times.items():
                print(f"   {kind:<16} median {median_ms(values):7.3f} ms   "
                      f"p90 {sorted(values)[len(values) * 9 // 10] / 1e6:7.3f} ms   "
                      f"CPU median {median_ms(cpu[kind]):7.3f} ms")
            ratio = statistics.median(times["custmgmt"]) / statistics.median(times[baseline])
            by_cpu = statistics.median(cpu["custmgmt"]) / statistics.median(cpu[baseline])
            print(f"   ratio custmgmt / {baseline}: {ratio:.2f}x  (goal <= 1.5x); "
                  f"in this process's CPU time: {by_cpu:.2f}x")
            least = statistics.median(times[FLOOR])
            print(f"   raw floor / {baseline}: "
                  f"{least / statistics.median(times[baseline]):.2f}x (what the DueItems "
                  f"alone cost); custmgmt / raw floor: "
                  f"{statistics.median(times['custmgmt']) / least:.2f}x")


NARROW_DUE = {
    "ix_custmgmt_prospects_owner_due": "(owner_id, plan_active, plan_next_due, id)",
    "ix_custmgmt_prospects_team_due": "(owner_team, plan_active, plan_next_due, id)",
}
"""The due lists' indexes of ``--narrow-indexes``: today's, without the columns that
made them cover the list (``tables.py``)."""


def narrowed(path: Path, fresh: bool) -> Path:
    """A copy of the file at ``path`` with the due lists' indexes of ``NARROW_DUE``
    (made again when ``fresh``: the file itself was just built)."""
    copy = path.with_name(f"{path.stem}-narrow.db")
    if fresh or not copy.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        source, target = sqlite3.connect(path), sqlite3.connect(copy, isolation_level=None)
        source.backup(target)
        source.close()
        for name, columns in NARROW_DUE.items():
            target.execute(f"DROP INDEX {name}")
            target.execute(f"CREATE INDEX {name} ON custmgmt_prospects {columns}")
        target.execute("ANALYZE")
        target.close()
    return copy


def sqlite_case(plans: int, rounds: int, fresh: bool, narrow: bool = False) -> None:
    path = Path(tempfile.gettempdir()) / f"custmgmt-bench-due-{plans}.db"
    if path.exists() and not fresh:
        try:
            # a due list, not only the revision: a file made by an unreleased commit
            # can carry the current revision without its tables
            with custmgmt.open(f"sqlite:///{path}") as app:
                who = app.get_principal(salesperson(0))
                fresh = who is None
                if who is not None:
                    app.followups.due(who, on=DAY)
        except custmgmt.errors.StorageError:  # built by an older custmgmt: build it again
            fresh = True
    if fresh or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        connection = sqlite3.connect(path, isolation_level=None)

        def execute(sql: str) -> None:
            connection.execute(sql)

        build(f"sqlite:///{path}", plans, "?", execute)
        connection.close()
        print(f"built {path} in {time.perf_counter() - started:.1f} s")
    if narrow:
        path = narrowed(path, fresh)
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # as custmgmt's connections

    def raw_query(sql: str, params: Sequence[Any]) -> list[Any]:
        return raw.execute(sql, [p.isoformat() if isinstance(p, date) else p
                                 for p in params]).fetchall()

    def explain(sql: str, params: Sequence[Any]) -> list[str]:
        return [f"{row[3]}" for row in raw_query(f"EXPLAIN QUERY PLAN {sql}", params)]

    print(f"SQLite file, {plans:,} plans"
          + (f"; the due lists' indexes narrowed ({path.name})" if narrow else ""))
    run(f"sqlite:///{path}", raw_query, "?", "1", rounds, explain)


def postgresql_case(url: str, plans: int, rounds: int) -> None:
    import psycopg  # noqa: PLC0415 - only with --postgresql

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    connection = psycopg.connect(dsn, autocommit=True)
    exists = connection.execute(  # the plans in the prospects' rows (migration 0027)
        "SELECT count(*) > 0 FROM information_schema.columns WHERE table_name = "
        "'custmgmt_prospects' AND column_name = 'plan_version'").fetchone()
    built = exists and exists[0] and connection.execute(
        "SELECT count(*) >= %s FROM custmgmt_prospects WHERE plan_version IS NOT NULL",
        (plans,)).fetchone()
    if not (built and built[0]):
        started = time.perf_counter()
        for (table,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename LIKE 'custmgmt%%'").fetchall():
            connection.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')

        def execute(sql: str) -> None:
            connection.execute(sql)

        build(url, plans, "%s", execute)
        print(f"built in {time.perf_counter() - started:.1f} s")

    def raw_query(sql: str, params: Sequence[Any]) -> list[Any]:
        if isinstance(params, dict):
            return connection.execute(sql, params).fetchall()
        return connection.execute(sql.replace("?", "%s"), params).fetchall()

    def explain(sql: str, params: Sequence[Any]) -> list[str]:
        return [row[0] for row in raw_query(f"EXPLAIN {sql}", params)]

    print(f"PostgreSQL, {plans:,} plans")
    run(url, raw_query, "%s", "true", rounds, explain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="rebuild the SQLite file")
    parser.add_argument("--postgresql", metavar="URL", help="also run on this database "
                        "(its custmgmt tables are dropped and rebuilt)")
    parser.add_argument("--start-postgresql", action="store_true",
                        help="also run on a throw-away PostgreSQL cluster (initdb, pg_ctl)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--narrow-indexes", action="store_true",
                        help="SQLite: a copy of the file whose due indexes cover nothing "
                             "but the filter and the order (not custmgmt's schema)")
    args = parser.parse_args()
    if not args.no_sqlite:
        sqlite_case(args.plans, args.rounds, args.fresh, args.narrow_indexes)
    if args.postgresql:
        postgresql_case(args.postgresql, args.plans, args.rounds)
    elif args.start_postgresql:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pg_server import throwaway_cluster  # noqa: PLC0415

        with throwaway_cluster() as cluster:
            postgresql_case(cluster.new_empty_database(), args.plans, args.rounds)


if __name__ == "__main__":
    main()
