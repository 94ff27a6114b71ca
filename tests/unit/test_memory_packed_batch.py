"""The memory storage packs an import's rows straight from the batch's columns: what it
keeps is what packing the prospects and plans the batch describes would keep."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory.packed import builder, pack, unpack
from custmgmt.adapters.memory.packed_batch import packed_plans, packed_prospects
from custmgmt.adapters.memory.plans import pack_plan
from custmgmt.adapters.memory.shared import stamped
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.domain.common import Money, PersonName
from custmgmt.domain.followups import plans_of
from custmgmt.domain.grading import Grade, Willingness
from custmgmt.domain.prospects import Prospect, ProspectKind, Registration
from custmgmt.domain.registrations import (
    FirstPlans,
    KeyColumns,
    ProfileColumns,
    RegistrationBatch,
    TrailStart,
)
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.auth import Reach, Scope
from custmgmt.ports.storage import ProspectQuery
from custmgmt.testing.builders import batch_of, make_prospect

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

optional_text = st.none() | st.sampled_from(["Retail", "零售", "a b", "x" * 100])
row = st.fixed_dictionaries({
    "name": st.sampled_from(["Person", "王小明", "A" * 200]),
    "phone": st.sampled_from(["13900000001", "17800000002", "15912345678"]),
    "email": st.none() | st.sampled_from(["a@example.com", "Mixed.Case@Example.COM"]),
    "address": st.none() | st.sampled_from(["1 Road", "北京市朝阳区"]),
    "industry": optional_text, "source_channel": optional_text, "needs": optional_text,
    "willingness": st.sampled_from(Willingness),
    "value": st.sampled_from(["0", "1", "200000", "123.45", "1.00"]),
    "grade": st.sampled_from(Grade),
    "due": st.integers(min_value=0, max_value=400),
})


def columns_batch(rows: list[dict[str, Any]], *, at: datetime = AT,
                  team: str | None = "east", plans: bool = True) -> RegistrationBatch:
    size = len(rows)
    none = (None,) * size

    def column(name: str) -> tuple[Any, ...]:
        return tuple(r[name] for r in rows)

    return RegistrationBatch(
        owner_id="u-alice", owner_team=team, at=at,
        ids=tuple(f"p-{n}" for n in range(size)),
        registration_ids=tuple(f"r-{n}" for n in range(size)),
        profiles=ProfileColumns(
            kind=(ProspectKind.INDIVIDUAL,) * size, name=column("name"),
            phone=column("phone"), email=column("email"), address=column("address"),
            organization=none, credit_code=none, industry=column("industry"),
            source_channel=column("source_channel"), needs=column("needs")),
        willingness=column("willingness"),
        potential_values=tuple(Money(r["value"], "CNY") for r in rows),
        grades=column("grade"),
        keys=KeyColumns(tuple(f"k-phone-{n}" for n in range(size)), none, none, none),
        plans=FirstPlans(at.date(), tuple(at.date() + timedelta(days=r["due"])
                                          for r in rows)) if plans else None)


def as_stored(prospect: Prospect) -> tuple[Any, ...]:
    return pack(stamped(prospect, 1))  # type: ignore[no-any-return]


def kept_day(day: date) -> date:
    return day


@settings(max_examples=80, deadline=None)
@given(st.lists(row, min_size=1, max_size=8),
       st.sampled_from([AT, AT.astimezone(timezone(timedelta(hours=8)))]),
       st.sampled_from(["east", None]))
def test_a_batch_packed_from_its_columns_is_its_prospects_and_plans_packed(
    rows: list[dict[str, Any]], at: datetime, team: str | None
) -> None:
    rows[0] = {**rows[0], "phone": None, "email": "only@example.com"}  # (a contact or more)
    batch = columns_batch(rows, at=at, team=team)
    assert batch.cleared
    packed = packed_prospects(batch)
    assert packed == [as_stored(p) for p in batch.prospects()]
    for made, prospect in zip(packed or (), batch.prospects(), strict=True):
        read = unpack(made)
        assert read == stamped(prospect, 1)
        for name in attrs.fields_dict(Prospect):  # the very types, not only equal values
            assert type(getattr(read, name)) is type(getattr(prospect, name)), name
        assert read.potential_value.amount.as_tuple() == prospect.potential_value.amount.as_tuple()
        # the instants in the time zone they were given in (== takes any zone as equal)
        assert read.registration.at.utcoffset() == at.utcoffset()
        assert read.history[0].at.utcoffset() == at.utcoffset()
    assert packed_plans(batch, kept_day) == [
        pack_plan(stamped(plan, 1), kept_day) for plan in plans_of(batch)]


def test_a_batchs_plans_hold_the_dates_the_storage_shares() -> None:
    kept: dict[date, date] = {}

    def day(value: date) -> date:  # a copy the first time: then the storage's instance
        return kept.setdefault(value, date.fromordinal(value.toordinal()))

    batch = columns_batch([_ROW, {**_ROW, "phone": "13900000002"}])
    plans = packed_plans(batch, day)
    assert plans == [pack_plan(stamped(plan, 1), day) for plan in plans_of(batch)]
    for made in plans:
        read = unpack(made)
        assert read.anchor is kept[batch.plans.anchor]  # type: ignore[union-attr]
        assert read.next_due is kept[read.next_due]


def test_a_batch_the_column_checks_do_not_clear_is_not_packed_from_its_columns() -> None:
    organization = batch_of([make_prospect(1, organization="Acme Co., Ltd.")])
    assert not organization.cleared
    assert packed_prospects(organization) is None
    assert packed_plans(columns_batch([{**_ROW}], plans=False), kept_day) == []


_ROW = {"name": "Person", "phone": "13900000001", "email": None, "address": None,
        "industry": None, "source_channel": None, "needs": None,
        "willingness": Willingness.CLEAR, "value": "200000", "grade": Grade.A, "due": 3}


def test_packed_rows_are_out_of_the_collectors_sight_once_committed() -> None:
    storage = MemoryStorage()
    with storage.unit_of_work() as uow:
        uow.prospects.add_batch(columns_batch([_ROW, {**_ROW, "phone": "13900000002"}]))
        uow.commit()
    for _ in range(3):
        gc.collect()
    stored = [*storage.state.prospects.values(), *storage.state.plans.values()]
    assert len(stored) == 4 and all(map(_untracked, stored))


def _untracked(value: object) -> bool:
    if type(value) is tuple:
        return not gc.is_tracked(value) and all(map(_untracked, value))
    return not gc.is_tracked(value)


def test_rows_staged_packed_read_and_change_as_any_others_within_their_unit() -> None:
    storage = MemoryStorage()
    batch = columns_batch([_ROW, {**_ROW, "phone": "13900000002"}])
    with storage.unit_of_work() as uow:
        uow.prospects.add_batch(batch)
        first = uow.prospects.get("p-0")
        assert first == stamped(batch.prospects()[0], 1)
        assert uow.plans.get("p-0") == stamped(plans_of(batch)[0], 1)
        changed = uow.prospects.update(attrs.evolve(first, grade_is_manual=True))
        assert changed.version == 2
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.prospects.get("p-0").version == 2
        assert uow.prospects.get("p-0").grade_is_manual
        assert uow.prospects.get("p-1") == stamped(batch.prospects()[1], 1)
        assert uow.plans.get("p-1") == stamped(plans_of(batch)[1], 1)


def test_rows_staged_packed_are_gone_when_their_unit_is_not_committed() -> None:
    storage = MemoryStorage()
    with storage.unit_of_work() as uow:
        uow.prospects.add_batch(columns_batch([_ROW]))
    assert storage.state.prospects == {} and storage.state.plans == {}
    assert storage.state.key_index == {}


def test_a_batch_of_ids_committed_meanwhile_is_refused_whole() -> None:
    storage = MemoryStorage()
    batch = columns_batch([_ROW])
    with storage.unit_of_work() as late, storage.unit_of_work() as first:
        late.prospects.add_batch(batch)
        first.prospects.add_batch(
            columns_batch([{**_ROW, "phone": "13900000009"}]))
        first.commit()
        with pytest.raises(ConcurrencyError):
            late.commit()
    assert list(storage.state.prospects) == ["p-0"]


def test_a_builder_makes_what_pack_makes_and_refuses_what_it_cannot_build() -> None:
    registration = Registration(id="r-1", by="u-alice", at=AT, from_pool=True)
    build = builder(Registration, ("at", "id"), by="u-alice", from_pool=True)
    assert build(AT, "r-1") == pack(registration)
    assert unpack(build(AT, "r-1")) == registration
    with pytest.raises(TypeError, match="neither given nor fixed"):
        builder(Registration, ("id",))
    with pytest.raises(TypeError, match="no such fields"):
        builder(PersonName, ("value", "nickname"))
    with pytest.raises(TypeError, match="given twice"):
        builder(Registration, ("id", "by", "at"), by="u-bob")
    with pytest.raises(TypeError, match="given twice"):
        builder(Registration, ("id", "id", "by", "at"))
    with pytest.raises(TypeError, match="cannot be built"):
        builder(Money, ("amount", "currency"))


EVERYONE = Reach(scope=Scope.ANY, principal_id="u-admin")


def test_a_unit_lists_its_packed_rows_once_though_doomed_by_a_commit_meanwhile() -> None:
    storage = MemoryStorage()
    with storage.unit_of_work() as late, storage.unit_of_work() as first:
        late.prospects.add_batch(columns_batch([_ROW]))
        first.prospects.add_batch(columns_batch([{**_ROW, "phone": "13900000009"}]))
        first.commit()
        assert [p.id for p in late.prospects.find(ProspectQuery(reach=EVERYONE))] == ["p-0"]
        assert sum(late.prospects.count_by_grade_and_stage(
            ProspectQuery(reach=EVERYONE)).values()) == 1


def test_a_packed_plan_saved_again_in_its_unit_is_committed_and_listed_as_saved() -> None:
    storage = MemoryStorage()
    batch = columns_batch([{**_ROW, "due": 30}])
    on = AT.date() + timedelta(days=5)
    with storage.unit_of_work() as uow:
        uow.prospects.add_batch(batch)
        assert uow.plans.due_items(EVERYONE, on) == []  # due in 30 days
        plan = uow.plans.get("p-0")
        assert plan is not None
        uow.plans.save(attrs.evolve(plan, next_due=on, override=on))
        assert [i.prospect_id for i in uow.plans.due_items(EVERYONE, on)] == ["p-0"]
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        saved = uow.plans.get("p-0")
        assert saved is not None and (saved.version, saved.next_due) == (2, on)
        assert [i.prospect_id for i in uow.plans.due_items(EVERYONE, on)] == ["p-0"]
        assert uow.plans.due_items(EVERYONE, AT.date()) == []


def test_a_refused_add_many_leaves_the_packed_plans_as_they_were() -> None:
    storage = MemoryStorage()
    batch = columns_batch([_ROW, {**_ROW, "phone": "13900000002"}])
    with storage.unit_of_work() as uow:
        uow.prospects.add_batch(batch)
        first, second = uow.plans.get("p-0"), uow.plans.get("p-1")
        assert first is not None and second is not None
        moved = attrs.evolve(first, next_due=first.next_due + timedelta(days=1))
        with pytest.raises(ConcurrencyError):  # its second plan is not in step
            uow.plans.add_many([moved, attrs.evolve(second, owner_id="u-bob")])
        assert uow.plans.get("p-0") == first and uow.plans.get("p-1") == second
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.plans.get("p-0") == first


class HeadsRefused(Exception):
    pass


def test_a_batch_refused_after_its_rows_were_staged_leaves_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    storage = MemoryStorage()
    batch = attrs.evolve(columns_batch([_ROW]), trails=TrailStart(origin="0e" * 32, seals=(None,)))

    def refuse(*_: object) -> None:
        raise HeadsRefused

    with storage.unit_of_work() as uow:
        monkeypatch.setattr(type(uow.heads), "add_checked", refuse)
        with pytest.raises(HeadsRefused):
            uow.prospects.add_batch(batch)
        monkeypatch.undo()
        with pytest.raises(NotFound):
            uow.prospects.get("p-0")
        assert uow.plans.get("p-0") is None
        assert uow.prospects.holders_of(batch.keys.row(0)) == {}
        uow.prospects.add_batch(batch)  # and the same batch is taken whole
        uow.commit()
    assert list(storage.state.prospects) == ["p-0"] and list(storage.state.plans) == ["p-0"]
