"""A registration batch (what ``import_many`` stores) holds to ``Prospect.register``."""

from __future__ import annotations

import copy
import itertools
import pickle
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
from custmgmt.domain.followups import (
    DefaultCadencePolicy,
    derive_plan,
    first_plan_dates,
    first_plans,
    plans_of,
)
from custmgmt.domain.identity import IdentityKey, KeyKind, KeyRing
from custmgmt.domain.integrity import ChainHead
from custmgmt.domain.prospects import (
    DefaultGradingPolicy,
    Grade,
    Prospect,
    ProspectKind,
    Stage,
    Willingness,
    registration_entry,
)
from custmgmt.domain.registrations import (
    ClearedKeys,
    ClearedProfiles,
    FirstPlans,
    KeyColumns,
    KeySet,
    ProfileColumns,
    RegistrationBatch,
    TrailStart,
    individual_keys,
    profiles_pass,
)
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


def test_the_plans_a_batch_carries_are_its_first_plans_as_objects() -> None:
    batch = batch_of(MIXED)
    today = date(2026, 1, 5)
    policy = DefaultCadencePolicy()
    carried = attrs.evolve(batch, plans=first_plan_dates(batch.grades, policy, today))
    assert plans_of(carried) == first_plans(batch, policy, today)
    assert plans_of(batch) == []


def test_the_trails_a_batch_carries_are_heads_of_length_0_from_their_origin() -> None:
    batch = batch_of(MIXED[:2])
    carried = attrs.evolve(batch, trails=TrailStart(origin="c" * 64, seals=("s", None)))
    assert carried.trail_heads() == [
        ChainHead(chain="audit:prospect", chain_id=batch.ids[0], length=0,
                  head_hash="c" * 64, seal="s"),
        ChainHead(chain="audit:prospect", chain_id=batch.ids[1], length=0,
                  head_hash="c" * 64, seal=None)]
    assert batch.trail_heads() == []


@pytest.mark.parametrize(("make", "field"), [
    (lambda: FirstPlans(anchor=date(2026, 1, 5), next_due=[date(2026, 1, 6)]),
     "plans.next_due"),
    (lambda: FirstPlans(anchor=date(2026, 1, 5), next_due=(date(2026, 1, 6), "2026-01-07")),
     "plans.next_due[1]"),
    (lambda: FirstPlans(anchor=date(2026, 1, 5),
                        next_due=(datetime(2026, 1, 6, tzinfo=UTC),)), "plans.next_due[0]"),
    (lambda: FirstPlans(anchor=date(2026, 1, 5), next_due=(date(1, 1, 1),)),
     "plans.next_due[0]"),
    (lambda: FirstPlans(anchor=date.max, next_due=()), "plans.anchor"),
    (lambda: FirstPlans(anchor="2026-01-05", next_due=()), "plans.anchor"),
    (lambda: TrailStart(origin="c" * 65, seals=()), "trails.origin"),
    (lambda: TrailStart(origin="c\x00", seals=()), "trails.origin"),
    (lambda: TrailStart(origin="\ud800", seals=()), "trails.origin"),
    (lambda: TrailStart(origin="C" * 64, seals=()), "trails.origin"),
    (lambda: TrailStart(origin="c" * 63, seals=()), "trails.origin"),
    (lambda: TrailStart(origin="c" * 64, seals=[None]), "trails.seals"),
    (lambda: TrailStart(origin="c" * 64, seals=("x" * 201,)), "trails.seals[0]"),
    (lambda: TrailStart(origin="c" * 64, seals=(None, 7)), "trails.seals[1]"),
    (lambda: TrailStart(origin="c" * 64, seals=("line\nbreak",)), "trails.seals[0]"),
    (lambda: attrs.evolve(batch_of(MIXED[:2]), plans=FirstPlans(
        anchor=date(2026, 1, 5), next_due=(date(2026, 1, 6),))), "plans"),
    (lambda: attrs.evolve(batch_of(MIXED[:2]), trails=TrailStart(
        origin="c" * 64, seals=(None, None, None))), "trails"),
    (lambda: attrs.evolve(batch_of(MIXED[:2]), trails=("c" * 64, (None, None))), "trails"),
])
def test_what_a_batch_carries_is_checked_naming_the_field(make: Any, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        make()
    assert raised.value.field == field


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
        RegistrationBatch.of_rows(owner_id=good.owner_id, owner_team=good.owner_team,
                                  at=good.at, rows=(good.rows[0], bad))
    assert raised.value.field == field


@pytest.mark.parametrize(("change", "field"), [
    ({"ids": ("p-1", "p-\x00")}, "rows[1].id"),
    ({"registration_ids": ("r-1", "\ud800")}, "rows[1].registration_id"),
    ({"grades": (Grade.A, "A")}, "rows[1].grade"),
    ({"willingness": (Willingness.CLEAR, "clear")}, "rows[1].willingness"),
    ({"potential_values": (Money("1", "CNY"), Money("-1", "CNY"))},
     "rows[1].potential_value"),
    ({"name": ("Ann", "Bo\x00b")}, "rows[1].profile.name"),
    ({"name": ("Ann", " ")}, "rows[1].profile.name"),
    ({"name": ("Ann", "x" * 201)}, "rows[1].profile.name"),
    ({"phone": ("13900000001", "12")}, "rows[1].profile.phone"),
    ({"email": ("a@example.com", "not an address")}, "rows[1].profile.email"),
    ({"email": ("a@example.com", 7)}, "rows[1].profile.email"),
    ({"address": ("Road 1", "\ud800")}, "rows[1].profile.address"),
    ({"phone": ("13900000001", None), "email": ("a@example.com", None)},
     "rows[1].profile.contacts"),
    ({"needs": (None, "n" * 2001)}, "rows[1].profile.needs"),
    ({"credit_code": (None, "91350100M000100Y43")}, "rows[1].profile.credit_code"),
    ({"kind": (ProspectKind.INDIVIDUAL, ProspectKind.ORGANIZATION)},
     "rows[1].profile.organization"),
    ({"phone_key": ("k", 3)}, "rows[1].keys"),
    ({"ids": ("p-1",)}, "registration_ids"),
    ({"grades": [Grade.A, Grade.B]}, "grades"),
])
def test_a_batch_refuses_a_column_with_a_bad_value_and_names_its_row(
    change: dict[str, object], field: str
) -> None:
    """The columns a bulk import hands over are checked as rows are: the first bad value
    is named by its row and field, whichever check (column or row) finds it."""
    good = batch_of([make_prospect(1), make_prospect(2)])
    profiles = good.profiles._replace(**{k: v for k, v in change.items()
                                         if k in ProfileColumns._fields})
    keys = good.keys._replace(**{k.removesuffix("_key"): v for k, v in change.items()
                                 if k.endswith("_key")})
    shared = {k: v for k, v in change.items()
              if k not in ProfileColumns._fields and not k.endswith("_key")}
    with pytest.raises(ValidationError) as raised:
        attrs.evolve(good, profiles=profiles, keys=keys, **shared)
    assert raised.value.field == field
    assert "Bo" not in str(raised.value) and "139" not in str(raised.value)


def test_a_batch_of_columns_holds_the_rows_it_was_made_of() -> None:
    rows = batch_of(MIXED).rows
    again = RegistrationBatch.of_rows(owner_id="u-alice", owner_team="east",
                                      at=MIXED[0].registration.at, rows=rows)
    assert again.rows == rows
    assert len(again) == len(MIXED)
    assert [again.keys.row(n) for n in range(len(again))] == [r.keys for r in rows]


def test_the_key_columns_are_in_the_order_of_the_key_kinds() -> None:
    assert KeyColumns._fields == tuple(kind.value for kind in KeyKind)


def test_the_fast_column_checks_never_pass_what_a_row_check_refuses() -> None:
    """Every value refused row by row is refused by the column checks too (they are
    sufficient conditions, not the rule): a good batch with one cell changed."""
    good = batch_of([make_prospect(1), make_prospect(2)])
    for field, bad in [("name", "a\tb"), ("name", "x" * 201), ("phone", "+86 139 0000 0001"),
                       ("phone", "139000000012"), ("email", "a@b"),
                       ("email", " a@b.co"), ("address", "a\nb"), ("industry", "i" * 101)]:
        column = getattr(good.profiles, field)
        changed = good.profiles._replace(**{field: (column[0], bad)})
        assert not profiles_pass(changed), (field, bad)


@pytest.mark.parametrize(("change", "field"), [
    ({"owner_id": " "}, "owner_id"),
    ({"owner_id": "u-\x00"}, "owner_id"),
    ({"owner_team": "t" * 101}, "owner_team"),
    ({"at": datetime(2026, 1, 5)}, "at"),
])
def test_a_batch_refuses_bad_shared_values_and_names_them(
    change: dict[str, object], field: str
) -> None:
    good = batch_of(MIXED)
    with pytest.raises(ValidationError) as raised:
        attrs.evolve(good, **change)
    assert raised.value.field == field


@pytest.mark.parametrize("bad_rows", [[], (("p-1",),), ("p-1",)])
def test_a_batch_of_rows_refuses_anything_but_a_tuple_of_registered_rows(
    bad_rows: object
) -> None:
    good = batch_of(MIXED)
    with pytest.raises(ValidationError) as raised:
        RegistrationBatch.of_rows(owner_id=good.owner_id, owner_team=good.owner_team,
                                  at=good.at, rows=bad_rows)  # type: ignore[arg-type]
    assert raised.value.field in ("rows", "rows[0]")


def test_a_row_register_would_take_is_taken_though_not_by_the_fast_checks() -> None:
    good = batch_of(MIXED[:1])
    tabbed = attrs.evolve(good, ids=("p-\t1",), registration_ids=("r\u00a01",),
                          profiles=good.profiles._replace(name=("Ann\tLee",),
                                                          phone=("010-6552 9988",)))
    assert tabbed.prospects()[0].id == "p-\t1"
    assert tabbed.prospects()[0].profile.phone is not None


def test_no_personal_data_in_a_refusal() -> None:
    good = batch_of(MIXED[:1])
    with pytest.raises(ValidationError) as raised:
        RegistrationBatch.of_rows(owner_id=good.owner_id, owner_team=good.owner_team,
                                  at=good.at, rows=(good.rows[0]._replace(grade="A"),))
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


class Unhashable:
    def __hash__(self) -> int:
        raise RuntimeError("no hash")

    def __eq__(self, other: object) -> bool:
        return True


@pytest.mark.parametrize(("change", "field"), [
    ({"ids": None}, "ids"),
    ({"ids": 5}, "ids"),
    ({"profiles": "names"}, "profiles"),
    ({"keys": None}, "keys"),
])
def test_a_batch_refuses_columns_that_are_not_columns(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        attrs.evolve(batch_of(MIXED[:2]), **change)
    assert raised.value.field == field


def test_a_batch_refuses_hostile_values_with_a_validation_error() -> None:
    good = batch_of(MIXED[:2])
    for profiles, keys in [
        (good.profiles._replace(kind=([], ProspectKind.INDIVIDUAL)), good.keys),
        (good.profiles._replace(kind=(Unhashable(), ProspectKind.INDIVIDUAL)), good.keys),
        (good.profiles, good.keys._replace(phone=(Unhashable(), None))),
    ]:
        with pytest.raises(ValidationError) as raised:
            attrs.evolve(good, profiles=profiles, keys=keys)
        assert raised.value.field.startswith("rows[0].")


def test_a_batch_repr_shows_no_personal_data() -> None:
    batch = batch_of([make_prospect(1)])
    shown = repr(batch)
    assert batch.profiles.name[0] not in shown
    assert batch.profiles.phone[0] not in shown  # type: ignore[operator]
    assert all(k is None or k not in shown for k in batch.keys.phone + batch.keys.email)
    assert "ProfileColumns(<1 rows>)" in shown


def test_plans_anchored_on_a_date_subclass_are_taken_as_a_date_is() -> None:
    class Day(date):
        pass

    first = FirstPlans(anchor=Day(2026, 1, 5), next_due=(Day(2026, 1, 12),))
    assert first.anchor == date(2026, 1, 5) and first.next_due == (date(2026, 1, 12),)


_SEALS = st.one_of(st.none(), st.sampled_from(["a" * 64, "b" * 64, "c" * 64, "0" * 64]))


@given(st.lists(st.tuples(_SEALS, _SEALS, _SEALS, _SEALS), max_size=6))
def test_a_key_set_is_the_set_of_the_keys_the_rows_give(rows: list[tuple[Any, ...]]) -> None:
    columns = KeyColumns(*(tuple(row[n] for row in rows) for n in range(4)))
    given_keys = [IdentityKey(kind, value) for row in rows
                  for kind, value in zip(KeyKind, row, strict=True) if value is not None]
    keys = KeySet(columns)
    assert set(keys) == set(given_keys)
    assert len(keys) == len(set(given_keys))
    assert keys.repeated == (len(set(given_keys)) != len(given_keys))
    assert all(key in keys for key in given_keys)
    assert IdentityKey(KeyKind.PHONE, "d" * 64) not in keys
    assert "a" * 64 not in keys  # a value is not a key: its kind is part of it
    assert "aaaa" not in repr(keys)


@given(st.lists(st.tuples(_SEALS, _SEALS, _SEALS, _SEALS), min_size=1, max_size=4),
       st.lists(st.tuples(_SEALS, _SEALS, _SEALS, _SEALS), min_size=1, max_size=4))
def test_two_key_sets_are_disjoint_when_no_key_is_in_both(
    first: list[tuple[Any, ...]], second: list[tuple[Any, ...]]
) -> None:
    one, other = (KeySet(KeyColumns(*(tuple(row[n] for row in rows) for n in range(4))))
                  for rows in (first, second))
    assert one.isdisjoint(other) == set(one).isdisjoint(set(other))
    assert one.isdisjoint(list(other)) == set(one).isdisjoint(set(other))
    assert one & other == set(one) & set(other) and frozenset(one) & other == one & other
    assert one | other == set(one) | set(other) and one - other == set(one) - set(other)
    assert one ^ other == set(one) ^ set(other) and frozenset(other) - one == other - one


def test_a_key_set_cannot_be_changed() -> None:
    keys = KeySet(KeyColumns(("a" * 64,), (None,), (None,), (None,)))
    with pytest.raises(TypeError):
        keys.by_kind[KeyKind.EMAIL] = frozenset({"b" * 64})  # type: ignore[index]
    assert set(keys) == {IdentityKey(KeyKind.PHONE, "a" * 64)}


def test_profiles_cleared_when_made_are_refused_if_the_column_checks_refuse_them() -> None:
    """``ClearedProfiles`` (what an import's parse makes) hold only what the column
    checks clear, however they are made: so a batch of them is not checked again."""
    good = batch_of(MIXED[:2]).profiles
    cleared = ClearedProfiles(*good)
    assert cleared == good and cleared._replace(name=("Ann", "Bo")).name == ("Ann", "Bo")
    assert copy.deepcopy(cleared) == pickle.loads(pickle.dumps(cleared)) == cleared
    bad = good._replace(phone=(good.phone[0], "139000000012"))
    for make in (lambda: ClearedProfiles(*bad), lambda: ClearedProfiles._make(bad),
                 lambda: cleared._replace(phone=bad.phone),
                 lambda: ClearedProfiles(**bad._asdict())):
        with pytest.raises(ValidationError) as raised:
            make()
        assert raised.value.field == "profiles" and "139" not in str(raised.value)


def test_keys_cleared_when_made_are_refused_if_the_column_checks_refuse_them() -> None:
    good = batch_of(MIXED[:2]).keys
    assert ClearedKeys(*good) == good
    for bad in [good._replace(phone=(" ", None)), good._replace(email=(Unhashable(), None)),
                good._replace(phone=["k", None])]:
        for make in (ClearedKeys, lambda *columns: ClearedKeys._make(columns),
                     lambda *columns: ClearedKeys(*good)._replace(
                         **dict(zip(KeyColumns._fields, columns, strict=True)))):
            with pytest.raises(ValidationError) as raised:
                make(*bad)
            assert raised.value.field == "keys"


def test_a_batch_of_cleared_columns_is_the_batch_of_the_same_plain_columns() -> None:
    plain = batch_of(MIXED)
    cleared = attrs.evolve(plain, profiles=ClearedProfiles(*plain.profiles),
                           keys=ClearedKeys(*plain.keys))
    assert cleared == plain and cleared.cleared and cleared.rows == plain.rows
    assert cleared.prospects() == plain.prospects()


def test_keys_sealed_by_another_key_ring_are_checked_by_the_batch() -> None:
    """Only the library's own ring is trusted to seal (a hex digest each); a subclass's
    seals are plain key columns, which the batch checks like any caller's."""
    class Careless(KeyRing):
        def sealed(self, kind: KeyKind, normalized: str) -> str:
            return "not\na seal"

    plain = batch_of(MIXED[:2])
    assert type(individual_keys(KeyRing(), plain.profiles)) is ClearedKeys
    careless = individual_keys(Careless(), plain.profiles)
    assert type(careless) is KeyColumns and not attrs.evolve(plain, keys=careless).cleared


def test_columns_made_cleared_without_their_checks_are_checked_by_the_batch() -> None:
    """A tuple of the cleared type that its own ``__new__`` did not make (and check) is
    not trusted: the batch checks it as plain columns."""
    plain = batch_of(MIXED[:2])
    bad = plain.profiles._replace(name=("x" * 201, "Bo"))
    forged = [tuple.__new__(ClearedProfiles, bad), ProfileColumns.__new__(ClearedProfiles, *bad),
              ProfileColumns._make.__func__(ClearedProfiles, bad)]  # type: ignore[attr-defined]
    for profiles in forged:
        assert type(profiles) is ClearedProfiles
        with pytest.raises(ValidationError) as raised:
            attrs.evolve(plain, profiles=profiles)
        assert raised.value.field == "rows[0].profile.name"
    posing = ProfileColumns(*bad)
    with pytest.raises(TypeError):
        posing.__class__ = ClearedProfiles  # type: ignore[assignment]
    keys = tuple.__new__(ClearedKeys, plain.keys._replace(phone=("x\ny", None)))
    assert not attrs.evolve(plain, keys=keys).cleared  # checked, not trusted
