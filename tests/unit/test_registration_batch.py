"""A registration batch (what ``import_many`` stores) holds to ``Prospect.register``."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.sql.translate import (
    HISTORY_COLUMNS,
    batch_columns,
    history_values,
    prospect_values,
    stored_history,
)
from custmgmt.domain.common import Money
from custmgmt.domain.followups import DefaultCadencePolicy, derive_plan, first_plans
from custmgmt.domain.identity import IdentityKey, KeyKind
from custmgmt.domain.prospects import (
    DefaultGradingPolicy,
    Grade,
    Prospect,
    Stage,
    Willingness,
    registration_entry,
)
from custmgmt.domain.registrations import RegistrationBatch
from custmgmt.domain.validation import EARLIEST_DATE, LATEST_DATE
from custmgmt.errors import ValidationError
from custmgmt.testing.builders import batch_of, make_prospect

MIXED = [  # every grade, in an order that interleaves them
    make_prospect(1, willingness=Willingness.CLEAR, value="2000000"),
    make_prospect(2, willingness=Willingness.NONE),
    make_prospect(3),
    make_prospect(4, willingness=Willingness.WATCHING),
    make_prospect(5, willingness=Willingness.CLEAR, value="2000000"),
    make_prospect(6, willingness=Willingness.NONE),
]


def test_a_batch_makes_the_prospects_register_makes() -> None:
    batch = batch_of(MIXED)
    assert {p.grade for p in MIXED} == set(Grade)
    # each row as registered by the batch's one owner at its one instant
    assert batch.prospects() == [Prospect.register(
        id=p.id, registration_id=p.registration.id, profile=p.profile,
        willingness=p.willingness, potential_value=p.potential_value, owner_id="u-alice",
        owner_team="east", policy=DefaultGradingPolicy(), at=batch.at)[0] for p in MIXED]
    assert batch.at == MIXED[0].registration.at
    assert [(i.prospect_id, i.grade) for i in batch.imported()] == [(p.id, p.grade) for p in MIXED]


def test_a_batchs_first_plans_are_those_derived_for_its_prospects() -> None:
    batch = batch_of(MIXED)
    for policy in (DefaultCadencePolicy(), DefaultCadencePolicy(
            days={Grade.A: 1, Grade.B: 2, Grade.C: 3, Grade.D: 4})):
        for today in (date(2026, 1, 5), EARLIEST_DATE, LATEST_DATE - timedelta(days=90)):
            assert first_plans(batch, policy, today) == [
                derive_plan(p, None, policy, today) for p in batch.prospects()]


class Spreading:
    """A cadence plugin spreading follow-ups over four days: its answer varies by call."""

    def __init__(self) -> None:
        self.days = itertools.cycle([7, 8, 9, 10])

    def interval(self, grade: Grade, stage: Stage) -> int:
        return next(self.days)


def test_the_policy_is_asked_for_each_first_plan_as_derive_plan_asks_it() -> None:
    batch = batch_of(MIXED)
    today = date(2026, 1, 5)
    plans = first_plans(batch, Spreading(), today)
    derived = Spreading()
    assert plans == [derive_plan(p, None, derived, today) for p in batch.prospects()]
    assert len({p.next_due for p in plans}) == 4


def test_a_first_plan_due_after_the_last_date_is_refused_as_one_derived() -> None:
    batch = batch_of(MIXED)
    with pytest.raises(ValidationError) as raised:
        first_plans(batch, DefaultCadencePolicy(), LATEST_DATE)
    assert raised.value.field == "next_due"


def assert_its_sql_rows_are_those_of_its_prospects(batch: RegistrationBatch) -> None:
    columns, history = batch_columns(batch)
    stored = [p.at_version(1) for p in batch.prospects()]
    expected = [prospect_values(p) for p in stored]
    assert columns == {column: [row[column] for row in expected] for column in expected[0]}
    entries = [history_values(p.id, i, e) for p in stored
               for i, e in enumerate(stored_history(p))]
    assert history == {column: [row[column] for row in entries] for column in HISTORY_COLUMNS}
    # a new prospect's history is its registration, which its row keeps
    assert entries == []
    assert all(p.history == (registration_entry(p.registration.by, p.registration.at,
                                                p.grade),) for p in stored)


def test_the_sql_rows_of_a_batch_are_those_of_its_prospects() -> None:
    assert_its_sql_rows_are_those_of_its_prospects(batch_of(MIXED))


@pytest.mark.parametrize(("change", "field"), [
    ({"id": "p-\x00"}, "rows[1].id"),
    ({"id": "p" * 101}, "rows[1].id"),
    ({"registration_id": "\ud800"}, "rows[1].registration_id"),
    ({"grade": "A"}, "rows[1].grade"),
    ({"willingness": "clear"}, "rows[1].willingness"),
    ({"potential_value": Money("-1", "CNY")}, "rows[1].potential_value"),
    ({"profile": None}, "rows[1].profile"),
    ({"keys": {"phone"}}, "rows[1].keys"),
    ({"keys": frozenset({"phone"})}, "rows[1].keys"),
    ({"keys": frozenset({IdentityKey(KeyKind.PHONE, None)})}, "rows[1].keys"),  # type: ignore[arg-type]
    ({"keys": frozenset({IdentityKey("phone", "x")})}, "rows[1].keys"),  # type: ignore[arg-type]
    ({"keys": frozenset({IdentityKey(KeyKind.PHONE, "a"), IdentityKey(KeyKind.PHONE, "b")})},
     "rows[1].keys"),
])
def test_a_batch_refuses_a_row_of_bad_values_and_names_it(
    change: dict[str, object], field: str
) -> None:
    good = batch_of(MIXED[:2])
    bad = good.rows[1]._replace(**change)
    with pytest.raises(ValidationError) as raised:
        RegistrationBatch(owner_id=good.owner_id, owner_team=good.owner_team, at=good.at,
                          rows=(good.rows[0], bad))
    assert raised.value.field == field


@pytest.mark.parametrize(("change", "field"), [
    ({"owner_id": " "}, "owner_id"),
    ({"owner_id": "u-\x00"}, "owner_id"),
    ({"owner_team": "t" * 101}, "owner_team"),
    ({"at": datetime(2026, 1, 5)}, "at"),
    ({"rows": list(batch_of(MIXED).rows)}, "rows"),
    ({"rows": (("p-1",),)}, "rows[0]"),
    ({"rows": ("p-1",)}, "rows[0]"),
])
def test_a_batch_refuses_bad_shared_values_and_names_them(
    change: dict[str, object], field: str
) -> None:
    good = batch_of(MIXED)
    with pytest.raises(ValidationError) as raised:
        attrs.evolve(good, **change)
    assert raised.value.field == field


def test_a_row_register_would_take_is_taken_though_not_by_the_fast_checks() -> None:
    good = batch_of(MIXED[:1])
    tabbed = good.rows[0]._replace(id="p-\t1", registration_id="r\u00a01")
    batch = attrs.evolve(good, rows=(tabbed,))
    assert batch.prospects()[0].id == "p-\t1"


def test_no_personal_data_in_a_refusal() -> None:
    good = batch_of(MIXED[:1])
    with pytest.raises(ValidationError) as raised:
        attrs.evolve(good, rows=(good.rows[0]._replace(grade="A"),))
    assert "Person" not in str(raised.value) and "139" not in str(raised.value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(Willingness), st.sampled_from(
    ["0", "1", "50000", "200000", "2000000", "123.45"]), st.sampled_from(
    [None, "Acme Co., Ltd.", "北京某某科技有限公司"])), min_size=1, max_size=12))
def test_the_sql_rows_of_any_batch_are_those_of_its_prospects(
    rows: list[tuple[Willingness, str, str | None]]
) -> None:
    prospects = [make_prospect(n, willingness=w, value=v, organization=org)
                 for n, (w, v, org) in enumerate(rows, start=1)]
    assert_its_sql_rows_are_those_of_its_prospects(batch_of(prospects))
