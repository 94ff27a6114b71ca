"""How the SQL due lists turn rows into ``DueItem``s: SQLite reads the next due date
as ISO text, PostgreSQL the days late counted by the database; both give the same
items, in priority order, for every grade and for dates at their limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

import custmgmt
from custmgmt.adapters.sql import driver, followups
from custmgmt.adapters.sql.followups import due_items_of
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.followups import DueItem, by_priority
from custmgmt.domain.prospects import Grade
from custmgmt.domain.validation import EARLIEST_DATE, LATEST_DATE
from tests.conftest import START
from tests.helpers import register_numbered

App = custmgmt.CustomerManagement


def _rows(on: date) -> list[tuple[str, str, str, date]]:
    """(prospect_id, owner_id, grade, next_due) in (next_due, prospect_id) order:
    every grade, several dates, one due on ``on`` itself."""
    days = sorted({on.replace(day=1), on.replace(day=2), on}, reverse=False)
    return sorted(((f"p-{i:02d}", f"u-{i % 3}", "ABCD"[i % 4], days[i % len(days)])
                   for i in range(24)), key=lambda r: (r[3], r[0]))


def _expected(rows: list[tuple[str, str, str, date]], on: date) -> list[DueItem]:
    return by_priority(DueItem(pid, who, Grade(grade), due, (on - due).days)
                       for pid, who, grade, due in rows)


@pytest.mark.parametrize("on", [date(2026, 6, 15), LATEST_DATE, date(2000, 2, 29)])
def test_text_dates_and_days_late_give_the_same_items(on: date) -> None:
    rows = _rows(on)
    expected = _expected(rows, on)
    as_text = due_items_of([(p, w, g, d.isoformat()) for p, w, g, d in rows], on)
    as_lateness = due_items_of([(p, w, g, (on - d).days) for p, w, g, d in rows], on)
    assert list(as_text) == expected
    assert list(as_lateness) == expected
    for items in (as_text, as_lateness):
        assert {item.grade for item in items} == set(Grade)
        assert all(type(item) is DueItem and type(item.grade) is Grade
                   and type(item.next_due) is date and type(item.days_late) is int
                   for item in items)
    # asked again on the same day: the remembered dates give the same
    assert due_items_of([(p, w, g, (on - d).days) for p, w, g, d in rows], on) == as_lateness


def test_days_late_at_the_limits_of_dates() -> None:
    """The earliest stored date asked on the latest day: millions of days late."""
    on = date.max
    rows: list[Any] = [("p-1", "u-1", "B", (on - date.min).days), ("p-2", "u-1", "A", 0)]
    assert due_items_of(rows, on) == (
        DueItem("p-2", "u-1", Grade.A, on, 0),
        DueItem("p-1", "u-1", Grade.B, date.min, (on - date.min).days))


def test_a_negative_lateness_is_not_taken_as_it_is() -> None:
    """The list reads only dates up to the day asked; were one later, it is 0 days late."""
    on = date(2026, 6, 15)
    items = due_items_of([("p-1", "u-1", "C", -2)], on)
    assert items == (DueItem("p-1", "u-1", Grade.C, date(2026, 6, 17), 0),)
    assert due_items_of([("p-1", "u-1", "C", -2)], on) == items  # not remembered wrongly


@pytest.fixture
def app(sql_url: str) -> Iterator[App]:
    with custmgmt.open(sql_url, migrate=True, clock=FixedClock(START)) as opened:
        opened.principal("u-alice", roles={"salesperson"}, team="east")
        opened.principal("u-mia", roles={"sales_manager"}, team="east")
        yield opened


@pytest.mark.parametrize("on", [date(2026, 12, 31), LATEST_DATE])
def test_the_list_statement_reads_what_its_dialect_converts(app: App, on: date) -> None:
    alice = app.get_principal("u-alice")
    mia = app.get_principal("u-mia")
    assert alice is not None and mia is not None
    for n, (willingness, value) in enumerate(
            [("clear", 2_000_000), ("interested", 2_000_000), ("watching", 1000), ("none", 10)],
            start=1):
        register_numbered(app, alice, n, willingness=willingness, potential_value=value)
    storage: Any = app.followups._ctx.storage
    dialect = storage.engine.dialect
    compiled = driver._compiled(followups.due_statement(dialect.name, "owner"), dialect)
    with storage.engine.connect() as connection:
        arguments = compiled.arguments({"on": on, "owner": "u-alice"})
        rows = connection.exec_driver_sql(
            compiled.sql,
            tuple(arguments) if isinstance(arguments, list | tuple) else arguments).all()
    plans = {pid: app.followups.plan(alice, pid) for pid, *_ in rows}
    assert len(plans) == 4
    for pid, _who, grade, due in rows:
        plan = plans[pid]
        assert plan is not None
        assert grade == plan.grade.value
        if dialect.name == "postgresql":  # the days late, an integer
            assert type(due) is int
            assert due == (on - plan.next_due).days
        else:  # the date as stored
            assert due == plan.next_due.isoformat()
    for actor in (alice, mia):
        items = app.followups.due(actor, on=on)
        assert len(items) == 4
        assert list(items) == by_priority(items)
        for item in items:
            plan = plans[item.prospect_id]
            assert plan is not None
            assert (item.owner_id, item.grade, item.next_due, item.days_late) == (
                "u-alice", plan.grade, plan.next_due, (on - plan.next_due).days)


def test_nothing_is_due_before_the_earliest_date(app: App) -> None:
    alice = app.get_principal("u-alice")
    assert alice is not None
    register_numbered(app, alice, 1)
    assert app.followups.due(alice, on=EARLIEST_DATE) == ()
