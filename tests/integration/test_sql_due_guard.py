"""A due list on SQL storage, once the actor's principal is known: one statement that
reads the list only if the principal is still stored as it was (not the principal
again), and reads the principal with the list as soon as it changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

import custmgmt
from custmgmt.adapters.sql import driver, followups
from custmgmt.adapters.system import FixedClock
from tests.conftest import START
from tests.helpers import east_team

App = custmgmt.CustomerManagement
ON = date(2026, 12, 31)


@pytest.fixture
def app(sql_url: str) -> Iterator[App]:
    with east_team(sql_url, FixedClock(START)) as opened:
        yield opened


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[str, str, bool, bool], int]]:
    """The due-list statements each call sends (their key) and how many rows each read."""
    seen: list[tuple[tuple[str, str, bool, bool], int]] = []
    original = driver.read_alone

    def read(session: Any, statement: Any, params: Any) -> list[Any]:
        rows = original(session, statement, params)
        seen.append((next(k for k, v in followups._LISTS.items() if v is statement), len(rows)))
        return rows

    monkeypatch.setattr(followups, "read_alone", read)
    return seen


def _principal(app: App, who: str) -> custmgmt.Principal:
    found = app.get_principal(who)
    assert found is not None
    return found


@pytest.mark.parametrize("who", ["u-alice", "u-mia"])
def test_a_known_principal_is_checked_not_read_again(
        app: App, sent: list[tuple[tuple[str, str, bool, bool], int]], who: str) -> None:
    actor = _principal(app, who)
    first = app.followups.due(actor, on=ON)
    assert len(first) == 2
    sent.clear()
    for _ in range(3):
        assert app.followups.due(actor, on=ON) == first
    # the list alone, guarded: two rows each time, no principal row
    assert [(key[2:], rows) for key, rows in sent] == [((False, True), 2)] * 3


def test_a_changed_principal_is_read_with_the_list(
        app: App, sent: list[tuple[tuple[str, str, bool, bool], int]]) -> None:
    root, alice, mia = (_principal(app, w) for w in ("u-root", "u-alice", "u-mia"))
    assert len(app.followups.due(mia, on=ON)) == 2
    app.followups.due(mia, on=ON)
    sent.clear()
    app.principals.assign(root, "u-mia", team="west", supervisor_id=None)
    assert app.followups.due(mia, on=ON) == ()
    # the guard read nothing; both read: the east list with the new grants, which
    # reach the west team instead; its list read again, with the grants
    assert [(key[1:], rows) for key, rows in sent] == [
        (("team", False, True), 0), (("team", True, False), 3), (("team", True, False), 1)]
    sent.clear()
    app.principals.assign(root, "u-mia", team="east", supervisor_id=None)
    assert len(app.followups.due(mia, on=ON)) == 2
    assert sent[0][0][2:] == (False, True)
    assert sent[-1][0][2:] == (True, False)
    sent.clear()
    assert len(app.followups.due(mia, on=ON)) == 2  # known again: guarded only
    assert [key[2:] for key, _ in sent] == [(False, True)]
    sent.clear()
    assert app.followups.due(alice, on=date(2020, 1, 1)) == ()  # nothing due: both read
    assert sent[-1][0][2:] == (True, False)


def test_the_guarded_statement_reads_the_list_in_index_order(app: App, sql_url: str) -> None:
    """SQLite: the list's index range in order, no sort, and the guard's one row read
    in a subquery of its own (run once), never as a loop joined to the list's rows.
    PostgreSQL: the guard is a one-time filter, the parts index scans, no sort."""
    storage: Any = app.followups._ctx.storage
    dialect = storage.engine.dialect
    explain = "EXPLAIN QUERY PLAN" if dialect.name == "sqlite" else "EXPLAIN"
    params = {"on": ON, "actor": "u-mia", "owner": "u-mia", "me": "u-mia", "team": "east",
              "generation": 1}
    with storage.engine.connect() as connection:
        # with statistics, as a database that has been analyzed (or autovacuumed) has:
        # SQLite then knows the generation's table holds one row
        connection.exec_driver_sql("ANALYZE")
        if dialect.name == "postgresql":
            # a table of two rows is read whole and sorted, whatever the indexes; what
            # matters is that the statement lets an index serve the order once the
            # table is large (benchmarks/due.py shows it on a million plans). So every
            # other way is priced out: a sort then shows only where no index can serve
            # the order (a bitmap scan, which the planner may pick on a tiny table,
            # never returns rows in index order)
            for method in ("seqscan", "bitmapscan", "sort"):
                connection.exec_driver_sql(f"SET enable_{method} = off")
        for shape in ("owner", "team"):
            compiled = driver._compiled(
                followups.due_statement(dialect.name, shape, guarded=True), dialect)
            arguments = compiled.arguments(params)
            rows = list(connection.exec_driver_sql(
                f"{explain} {compiled.sql}",
                tuple(arguments) if isinstance(arguments, list | tuple) else arguments))
            plan = [str(row[-1]) for row in rows]
            text = "\n".join(plan)
            nodes = [line.strip().removeprefix("->").strip() for line in plan]
            assert "TEMP B-TREE" not in text, text
            assert not any(re.match(r"(Incremental )?Sort +\(", node) for node in nodes), text
            assert f"ix_custmgmt_prospects_{shape}_due" in text, text
            if dialect.name == "postgresql":
                assert "One-Time Filter" in text, text
            else:
                details = {row[0]: str(row[-1]) for row in rows}
                guard_reads = [row for row in rows if "custmgmt_grants_generation" in row[-1]]
                assert guard_reads, text
                assert all(details.get(row[1], "").startswith("SCALAR SUBQUERY")
                           for row in guard_reads), text
