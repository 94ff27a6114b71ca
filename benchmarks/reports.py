"""``app.reports`` against hand-written aggregate queries, measured in one run.

    python benchmarks/reports.py [--prospects 100000] [--follow-ups 1000000]
                                 [--rounds 5] [--postgresql URL] [--fresh]

The data: ``--prospects`` prospects owned by 1,000 salespeople in 100 teams,
a third of them advanced along the pipeline (with their stage history) and a
tenth lost; ``--follow-ups`` follow-up records spread over 2026, half of them
visits, a fifth of them late. It is written once with plain SQL (cached in the
temp folder for SQLite) and is not timed.

Timed, interleaved round by round, as an admin (every row): custmgmt's
``visit_points`` for one month, ``funnel`` over the year and
``followup_compliance`` over a quarter, each against a hand-written aggregate
query with the driver alone (sqlite3 or psycopg) plus the Python a caller
would need to shape its rows. Prints medians, the number of statements the
library sent, and the ratios (goal: <= 2x).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

import custmgmt
from custmgmt.adapters.sql.storage import SQLITE_CACHE_KIB, SqlStorage
from custmgmt.adapters.system import FixedClock

NOW = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)
OWNERS, TEAM_SIZE = 1000, 10
MONTH, YEAR = ("2026-03", date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 1, 1),
                                                                  date(2026, 12, 31))
QUARTER = (date(2026, 4, 1), date(2026, 6, 30))

RAW_VISITS = ('SELECT "by", count(*) FROM (SELECT DISTINCT "by", prospect_id, local_date '
              "FROM custmgmt_followups WHERE channel = 'visit' AND local_date >= {p} "
              'AND local_date <= {p}) v GROUP BY "by"')
RAW_FUNNEL = (
    "SELECT furthest, stage = 'lost', count(*) FROM (SELECT p.stage, CASE WHEN "
    "coalesce(h.top, 0) > {rank_now} THEN coalesce(h.top, 0) ELSE {rank_now} END AS furthest "
    "FROM custmgmt_prospects p LEFT JOIN (SELECT prospect_id, max({rank_after}) AS top "
    "FROM custmgmt_prospect_history WHERE kind = 'stage' GROUP BY prospect_id) h "
    "ON h.prospect_id = p.id WHERE p.registered_at >= {p} AND p.registered_at < {p}) f "
    "GROUP BY furthest, stage = 'lost'")
RAW_COMPLIANCE = ("SELECT owner_id, count(*), sum(CASE WHEN due_on IS NULL OR local_date <= "
                  "due_on THEN 1 ELSE 0 END) FROM custmgmt_followups WHERE local_date >= {p} "
                  "AND local_date <= {p} GROUP BY owner_id ORDER BY owner_id")
STAGES = ("initial_contact", "needs_identified", "proposal", "negotiation", "contract_signed")


def _rank(column: str) -> str:
    return "CASE " + " ".join(f"WHEN {column} = '{s}' THEN {i}"
                              for i, s in enumerate(STAGES)) + " ELSE 0 END"


def build(url: str, prospects: int, follow_ups: int, execute: Callable[[str], object]) -> None:
    """Principals through the API, the rest by SQL from one template prospect."""
    is_pg = url.startswith("postgresql")
    with custmgmt.open(url, migrate=True, clock=FixedClock(NOW)) as app:
        for i in range(OWNERS):
            app.principal(f"u-s{i:04d}", roles={"salesperson"}, team=f"t{i // TEAM_SIZE:03d}")
        template = app.prospects.register(app.principal("u-template", roles={"salesperson"}),
                                          name="Template", willingness="clear",
                                          potential_value=1000, phone="13900000000")

    def series(n: int) -> str:
        return (f"generate_series(0, {n - 1}) AS n(i)" if is_pg else
                f"(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
                f"WHERE i < {n - 1}) SELECT i FROM s) AS n")

    def pad(expr: str, width: int) -> str:
        return (f"lpad(({expr})::text, {width}, '0')" if is_pg
                else f"printf('%0{width}d', {expr})")

    def day(offset: str) -> str:
        return (f"(DATE '2026-01-01' + ({offset}))" if is_pg
                else f"date('2026-01-01', ({offset}) || ' days')")

    def instant(offset: str) -> str:
        return (f"(TIMESTAMPTZ '2026-01-01 02:00:00+00' + ({offset}) * INTERVAL '1 day')"
                if is_pg else f"datetime('2026-01-01 02:00:00', ({offset}) || ' days')")

    owner = f"'u-s' || {pad(f'i % {OWNERS}', 4)}"
    team = f"'t' || {pad(f'(i % {OWNERS}) / {TEAM_SIZE}', 3)}"
    stage = (f"CASE WHEN i % 10 = 0 THEN 'lost' WHEN i % 3 = 0 THEN "
             f"'{STAGES[1]}' WHEN i % 3 = 1 THEN '{STAGES[0]}' ELSE '{STAGES[2]}' END")
    columns = ("kind", "name", "phone", "email", "address", "organization", "credit_code",
               "industry", "source_channel", "needs", "willingness", "potential_amount",
               "potential_currency", "grade", "grade_is_manual", "registered_by",
               "registration_active", "registration_from_pool", "version")
    execute(f"INSERT INTO custmgmt_prospects (id, registration_id, owner_id, owner_team, stage, "
            f"registered_at, {', '.join(columns)}) "
            f"SELECT 'p-' || {pad('i', 8)}, 'r-' || {pad('i', 8)}, {owner}, {team}, {stage}, "
            f"{instant('i % 365')}, {', '.join('t.' + c for c in columns)} "
            f"FROM {series(prospects)}, custmgmt_prospects t WHERE t.id = '{template.id}'")
    # stage history: the advanced ones went through needs_identified (and proposal)
    for position, (after, when) in enumerate((("needs_identified", "i % 3 <> 1"),
                                              ("proposal", "i % 3 = 2"))):
        execute(f"INSERT INTO custmgmt_prospect_history (prospect_id, position, kind, \"by\", "
                f"at, before, after) SELECT 'p-' || {pad('i', 8)}, {position + 10}, 'stage', "
                f"{owner}, {instant('i % 365')}, NULL, '{after}' FROM {series(prospects)} "
                f"WHERE {when}")
    prospect = f"'p-' || {pad(f'(i * 7) % {prospects}', 8)}"
    fowner = f"'u-s' || {pad(f'((i * 7) % {prospects}) % {OWNERS}', 4)}"
    fteam = f"'t' || {pad(f'(((i * 7) % {prospects}) % {OWNERS}) / {TEAM_SIZE}', 3)}"
    offset = "(i * 13) % 365"
    late = f"{offset} - (CASE WHEN i % 5 = 0 THEN 3 ELSE 0 END)"
    execute(f"INSERT INTO custmgmt_followups (id, prospect_id, owner_id, owner_team, \"by\", "
            f"channel, at, local_date, summary, due_on, recorded_at, stage) "
            f"SELECT 'f-' || {pad('i', 9)}, {prospect}, {fowner}, {fteam}, {fowner}, "
            f"CASE WHEN i % 2 = 0 THEN 'visit' ELSE 'phone' END, {instant(offset)}, "
            f"{day(offset)}, 'a call', {day(late)}, "
            f"{instant(offset)}, 'initial_contact' FROM {series(follow_ups)}")
    execute("ANALYZE")


def count_statements(app: custmgmt.CustomerManagement) -> Callable[[], int]:
    storage = app._storage
    assert isinstance(storage, SqlStorage)
    sent = [0]

    def before(*_: Any) -> None:
        sent[0] += 1

    event.listen(storage.engine, "before_cursor_execute", before)
    return lambda: sent[0]


def run(url: str, raw: Callable[[str, Sequence[Any]], list[Any]], placeholder: str,
        rounds: int) -> None:
    p = placeholder
    start, end = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    visits_sql = RAW_VISITS.format(p=p)
    funnel_sql = RAW_FUNNEL.format(p=p, rank_now=_rank("p.stage"), rank_after=_rank("after"))
    compliance_sql = RAW_COMPLIANCE.format(p=p)
    with custmgmt.open(url, clock=FixedClock(NOW)) as app:
        root = app.principal("u-root", roles={"admin"})
        sent = count_statements(app)

        def library_visits() -> object:
            return app.reports.visit_points(root, month=MONTH[0])

        def raw_visits() -> object:
            return dict(raw(visits_sql, (MONTH[1], MONTH[2])))

        def library_funnel() -> object:
            return app.reports.funnel(root, start=YEAR[0], end=YEAR[1])

        def raw_funnel() -> object:
            return raw(funnel_sql, (start, end))

        def library_compliance() -> object:
            return app.reports.followup_compliance(root, start=QUARTER[0], end=QUARTER[1])

        def raw_compliance() -> object:
            return raw(compliance_sql, QUARTER)

        cases = {"visit_points": (library_visits, raw_visits),
                 "funnel": (library_funnel, raw_funnel),
                 "followup_compliance": (library_compliance, raw_compliance)}
        check(app, root, raw, visits_sql, compliance_sql)
        for name, (library, baseline) in cases.items():
            before = sent()
            library()
            statements = sent() - before
            times: dict[str, list[int]] = {"custmgmt": [], "raw": []}
            for r in range(rounds):
                order = [("custmgmt", library), ("raw", baseline)]
                for kind, call in (order if r % 2 == 0 else order[::-1]):
                    t0 = time.perf_counter_ns()
                    call()
                    times[kind].append(time.perf_counter_ns() - t0)
            mine, theirs = (statistics.median(times[k]) / 1e6 for k in ("custmgmt", "raw"))
            print(f"   {name:<20} custmgmt {mine:9.1f} ms ({statements} statements)   "
                  f"raw {theirs:9.1f} ms   ratio {mine / theirs:5.2f}x  (goal <= 2x)")


def check(app: custmgmt.CustomerManagement, root: custmgmt.Principal,
          raw: Callable[[str, Sequence[Any]], list[Any]], visits_sql: str,
          compliance_sql: str) -> None:
    """The library's numbers are the raw queries' numbers (not timed)."""
    points = {r.principal_id: r.points for r in
              app.reports.visit_points(root, month=MONTH[0]).rows if r.points}
    assert points == {person: int(n) for person, n in raw(visits_sql, (MONTH[1], MONTH[2]))}
    done = app.reports.followup_compliance(root, start=QUARTER[0], end=QUARTER[1])
    assert [(r.owner_id, r.follow_ups, r.on_time) for r in done.by_owner] == [
        (o, int(n), int(k)) for o, n, k in raw(compliance_sql, QUARTER)]


def sqlite_case(prospects: int, follow_ups: int, rounds: int, fresh: bool) -> None:
    path = Path(tempfile.gettempdir()) / f"custmgmt-bench-reports-{prospects}-{follow_ups}.db"
    if fresh or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        connection = sqlite3.connect(path, isolation_level=None)
        build(f"sqlite:///{path}", prospects, follow_ups, connection.execute)
        connection.close()
        print(f"built {path} in {time.perf_counter() - started:.1f} s")
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # as custmgmt's connections

    def raw(sql: str, params: Sequence[Any]) -> list[Any]:
        values = [p.isoformat() if isinstance(p, date) and not isinstance(p, datetime)
                  else p.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
                  if isinstance(p, datetime) else p for p in params]
        return connection.execute(sql, values).fetchall()

    print(f"SQLite file, {prospects:,} prospects, {follow_ups:,} follow-ups")
    run(f"sqlite:///{path}", raw, "?", rounds)


def postgresql_case(url: str, prospects: int, follow_ups: int, rounds: int) -> None:
    import psycopg  # noqa: PLC0415 - only with --postgresql

    connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                 autocommit=True)
    started = time.perf_counter()
    connection.execute("DROP SCHEMA public CASCADE")
    connection.execute("CREATE SCHEMA public")
    def execute(sql: str) -> None:
        connection.execute(sql)  # no parameters: '%' is not a placeholder here

    build(url, prospects, follow_ups, execute)
    print(f"built in {time.perf_counter() - started:.1f} s")

    def raw(sql: str, params: Sequence[Any]) -> list[Any]:
        return connection.execute(sql, params).fetchall()

    print(f"PostgreSQL, {prospects:,} prospects, {follow_ups:,} follow-ups")
    run(url, raw, "%s", rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prospects", type=int, default=100_000)
    parser.add_argument("--follow-ups", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgresql", metavar="URL", help="also run on this (scratch!) "
                        "PostgreSQL database, whose public schema is dropped first")
    parser.add_argument("--fresh", action="store_true", help="rebuild the SQLite file")
    args = parser.parse_args()
    sqlite_case(args.prospects, args.follow_ups, args.rounds, args.fresh)
    if args.postgresql:
        postgresql_case(args.postgresql, args.prospects, args.follow_ups, args.rounds)


if __name__ == "__main__":
    main()
