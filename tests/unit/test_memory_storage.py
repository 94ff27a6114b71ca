"""What the memory storage does to stay small and fast as it grows, held to its promise
that what reads back is exactly what was stored (the contract suite covers the rest)."""

from __future__ import annotations

import gc
import itertools
from datetime import timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from custmgmt.adapters.memory.keys import compact, expand
from custmgmt.adapters.memory.packed import position
from custmgmt.adapters.memory.plans import pack_plan, packed_due_items, reaches
from custmgmt.adapters.memory.shared import ByKindAndId, Shared, restamped, stamped
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.domain.audit import chain_entry
from custmgmt.domain.common import Money, ProspectId
from custmgmt.domain.followups import FollowUpPlan, due_item
from custmgmt.domain.identity import IdentityKey, KeyKind
from custmgmt.domain.prospects import Grade, HistoryEntry, Prospect
from custmgmt.ports.auth import Reach, Resource, Scope
from custmgmt.ports.storage import UnitOfWork
from custmgmt.testing.builders import RING, T0, add_prospect, keys_of, make_prospect


def _store(storage: MemoryStorage, *prospects: Prospect) -> list[Prospect]:
    with storage.unit_of_work() as uow:
        stored = [add_prospect(uow, p) for p in prospects]
        uow.commit()
    return stored


def test_equal_values_are_stored_once_but_never_merged_when_they_differ() -> None:
    storage = MemoryStorage()
    plain, same, finer = make_prospect(1), make_prospect(2), make_prospect(3)
    finer = attrs.evolve(finer, potential_value=Money(Decimal("200000.00"), "CNY"))
    _store(storage, plain, same, finer)
    at = position(Prospect, "potential_value")
    kept = [storage.state.prospects[p.id][at] for p in (plain, same, finer)]
    assert kept[0] is kept[1]  # one stored instance for both
    assert kept[2] is not kept[0]  # equal, yet kept as given:
    with storage.unit_of_work(read_only=True) as uow:
        one, two, three = (uow.prospects.get(p.id) for p in (plain, same, finer))
    assert three.potential_value == one.potential_value == two.potential_value
    assert str(three.potential_value.amount) == "200000.00"
    assert str(one.potential_value.amount) == "200000"


def test_one_instant_in_two_zones_reads_back_in_its_own_zone() -> None:
    storage = MemoryStorage()
    east = timezone(timedelta(hours=8))
    first = make_prospect(1, at=T0)
    second = make_prospect(2, at=T0.astimezone(east))
    assert first.history == second.history  # equal: the same instant
    _store(storage, first, second)
    with storage.unit_of_work(read_only=True) as uow:
        a, b = uow.prospects.get(first.id), uow.prospects.get(second.id)
    assert a.history[0].at.utcoffset() == timedelta(0)
    assert b.history[0].at.utcoffset() == timedelta(hours=8)


def test_audit_snapshots_and_chain_names_are_shared_and_read_back_equal() -> None:
    storage = MemoryStorage()
    entries = [chain_entry(None, resource_kind="prospect", resource_id=f"p-{n}",
                           actor_id="u-a", action="register", at=T0,
                           after={"grade": "A", "stage": "initial_contact"})
               for n in range(3)]
    with storage.unit_of_work() as uow:
        uow.audit.append_many(entries)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        trails = [uow.audit.trail("prospect", f"p-{n}") for n in range(3)]
    assert [t[0] for t in trails] == entries
    assert trails[0][0].after is trails[1][0].after is trails[2][0].after


def test_shared_forgets_what_it_remembered_past_its_limit() -> None:
    shared = Shared()
    first = Money("1", "CNY")
    assert shared.money(first) is first
    for n in range(5000):
        shared.money(Money(str(n + 2), "CNY"))
    again = Money("1", "CNY")
    assert shared.money(again) is again  # the table started afresh: bounded memory


def test_restamped_is_evolve_without_the_validators_and_refuses_unknown_fields() -> None:
    prospect = make_prospect(1)
    assert restamped(prospect, version=7) == attrs.evolve(prospect, version=7)
    assert stamped(prospect, 7) == attrs.evolve(prospect, version=7)
    assert stamped(prospect, 7) is not prospect and prospect.version == 0
    with pytest.raises(TypeError):
        stamped(prospect.history[0], 1)  # a history entry has no version
    with pytest.raises(TypeError):
        restamped(prospect, colour="blue")
    entry = HistoryEntry(kind=prospect.history[0].kind, by="u-a", at=T0, before=None,
                         after="A")
    assert restamped(entry) == entry and restamped(entry) is not entry


def test_keys_are_kept_compact_and_read_back_exactly() -> None:
    sealed = RING.seal(KeyKind.EMAIL, "someone@example.com")
    raw = IdentityKey(KeyKind.PHONE, "13900000123")  # not a sealed value: kept as text
    upper = IdentityKey(KeyKind.ORGANIZATION, sealed.value.upper())
    for key in (sealed, raw, upper):
        assert expand(compact(key)) == key
    assert isinstance(compact(sealed), bytes) and len(compact(sealed)) == 33
    assert len({compact(sealed), compact(IdentityKey(KeyKind.PHONE, sealed.value))}) == 2


def test_by_kind_and_id_is_a_map_of_pairs() -> None:
    heads: ByKindAndId[int] = ByKindAndId()
    heads[("audit:prospect", "p-1")] = 1
    heads[("audit:prospect", "p-2")] = 2
    heads[("custody", "s-1")] = 3
    assert heads.get(("audit:prospect", "p-1")) == 1 and heads.get(("x", "p-1")) is None
    assert ("custody", "s-1") in heads and ("custody", "s-2") not in heads
    assert "custody" not in heads
    assert sorted(heads) == [("audit:prospect", "p-1"), ("audit:prospect", "p-2"),
                             ("custody", "s-1")]
    del heads[("custody", "s-1")]
    assert len(heads) == 2 and dict(heads.items()) == {("audit:prospect", "p-1"): 1,
                                                       ("audit:prospect", "p-2"): 2}


def test_a_commit_changes_the_committed_index_in_place_and_only_for_its_own_keys() -> None:
    storage = MemoryStorage()
    state = storage.state
    index, held = state.key_index, state.keys_of
    first, second = _store(storage, make_prospect(1), make_prospect(2))
    before = dict(index)
    with storage.unit_of_work() as uow:
        uow.prospects.update(attrs.evolve(second, registration_active=False), frozenset())
        uow.commit()
    assert state.key_index is index and state.keys_of is held
    assert {expand(k) for k in before} - {expand(k) for k in index} == set(keys_of(second))
    assert {k: v for k, v in index.items()} == {k: v for k, v in before.items()
                                                if v == first.id}
    assert second.id not in held and first.id in held


def test_the_due_list_filter_is_reach_covers_of_the_plans_prospect() -> None:
    plans = [FollowUpPlan(prospect_id=ProspectId(f"p-{n}"), owner_id=owner, owner_team=team,
                          grade=Grade.B, anchor=T0.date(), next_due=T0.date())
             for n, (owner, team) in enumerate(itertools.product(
                 ("u-alice", "u-bob"), ("east", "west", None)))]
    for scope, me, team, owner in itertools.product(
            Scope, ("u-alice", "u-carol"), ("east", None), ("u-alice", "u-bob", None)):
        reach = Reach(scope=scope, principal_id=me, team=team)
        covers = reaches(reach, owner)
        for plan in plans:
            resource = Resource(kind="prospect", id=plan.prospect_id, owner_id=plan.owner_id,
                                team=plan.owner_team)
            expected = reach.covers(resource) and owner in (None, plan.owner_id)
            assert covers(plan.owner_id, plan.owner_team) is expected, (reach, owner, plan)


def _plans() -> list[FollowUpPlan]:
    day = T0.date()
    return [FollowUpPlan(prospect_id=ProspectId(f"p-{n}"), owner_id=owner, owner_team=team,
                         grade=grade, active=active, anchor=day,
                         override=None if n % 3 else day + timedelta(days=2),
                         next_due=day + timedelta(days=n % 5))
            for n, (owner, team, grade, active) in enumerate(itertools.product(
                ("u-alice", "u-bob"), ("east", None), Grade, (True, False)))]


def _their_prospects(uow: UnitOfWork, plans: list[FollowUpPlan]) -> None:
    """A stored prospect for each plan, with its owner and team (a plan is of a stored
    prospect, and has its owner and team)."""
    for n, plan in enumerate(plans):
        add_prospect(uow, attrs.evolve(make_prospect(n, owner=plan.owner_id,
                                                     team=plan.owner_team),
                                       id=plan.prospect_id))


def test_committed_plans_are_packed_untracked_and_read_back_equal() -> None:
    storage = MemoryStorage()
    plans = _plans()
    with storage.unit_of_work() as uow:
        _their_prospects(uow, plans)
        uow.plans.add_many(plans)
        uow.commit()
    gc.collect()
    stored = storage.state.plans
    assert all(type(stored[p.prospect_id]) is tuple for p in plans)
    assert not any(gc.is_tracked(stored[p.prospect_id]) for p in plans)
    # equal dates of different plans are one stored instance
    due = position(FollowUpPlan, "next_due")
    same = [stored[p.prospect_id][due] for p in plans if p.next_due == T0.date()]
    assert len(same) > 1 and all(d is same[0] for d in same)
    with storage.unit_of_work(read_only=True) as uow:
        assert [uow.plans.get(p.prospect_id) for p in plans] == [
            attrs.evolve(p, version=1) for p in plans]


def test_a_due_item_read_from_a_packed_plan_is_the_one_the_plan_gives() -> None:
    plans = [attrs.evolve(p, version=1) for p in _plans()]
    shared = Shared()
    packed = [pack_plan(plan, shared.day) for plan in plans]
    for on in (T0.date(), T0.date() + timedelta(days=2), T0.date() + timedelta(days=9)):
        items = packed_due_items(packed, on)
        assert items == [due_item(plan, on) for plan in plans]
        assert [type(i.grade) for i in items] == [Grade] * len(plans)
