"""Follow-up plans in memory, with the index the due lists are read through.

The committed active plans are indexed by owner, then by next due date (a sorted
list of the dates an owner has plans on, and the prospect ids due on each), and
each team knows which owners hold plans of that team. A due list reads only the
dates on or before the day asked for, of the owners the reach covers: its cost
is the number of rows it returns, not the number of plans held.

Committed plans are kept packed (``packed.pack``: a tuple of plain values, which
the garbage collector stops walking; their dates shared), and a due list reads
what it needs from the packed row: a million plans held cost the collector
nothing, and a due item costs no plan built again.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, cast

from custmgmt.adapters.memory.packed import Packed, pack, position, unpack
from custmgmt.adapters.memory.packed_batch import packed_plans
from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.followups import DueItem, FollowUpPlan, by_priority, days_late, due_item
from custmgmt.domain.prospects import Grade
from custmgmt.domain.registrations import RegistrationBatch
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.auth import Principal, Reach, Scope

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import (
        MemoryPrincipals,
        MemoryProspects,
        MemoryUnitOfWork,
    )


class OwnerDue:
    """One owner's active plans: prospect ids by next due date."""

    __slots__ = ("by_date", "dates")

    def __init__(self) -> None:
        self.dates: list[date] = []
        self.by_date: dict[date, set[str]] = {}

    def add(self, due: date, prospect_id: str) -> None:
        ids = self.by_date.get(due)
        if ids is None:
            insort(self.dates, due)
            ids = self.by_date[due] = set()
        ids.add(prospect_id)

    def remove(self, due: date, prospect_id: str) -> None:
        ids = self.by_date[due]
        ids.discard(prospect_id)
        if not ids:
            del self.by_date[due]
            self.dates.pop(bisect_right(self.dates, due) - 1)

    def due_on(self, on: date) -> Iterable[str]:
        for day in self.dates[:bisect_right(self.dates, on)]:
            yield from self.by_date[day]

    def __getstate__(self) -> tuple[list[date], dict[date, list[str]]]:
        # Sets pickle in hash order; the hostile-input suite compares pickled states.
        return self.dates, {d: sorted(ids) for d, ids in self.by_date.items()}

    def __setstate__(self, state: tuple[list[date], dict[date, list[str]]]) -> None:
        self.dates = state[0]
        self.by_date = {d: set(ids) for d, ids in state[1].items()}


class PlanIndex:
    """The committed active plans by owner and due date; owners by team."""

    def __init__(self) -> None:
        self.owners: dict[str, OwnerDue] = {}
        self.team_owners: dict[str, dict[str, int]] = {}
        """team -> owner -> how many of the owner's active plans name that team."""

    def add(self, plan: Packed) -> None:
        """Index a committed (packed) plan."""
        if not plan[_ACTIVE]:
            return
        owner_id, team = plan[_OWNER], plan[_TEAM]
        owner = self.owners.get(owner_id)
        if owner is None:
            owner = self.owners[owner_id] = OwnerDue()
        owner.add(plan[_NEXT_DUE], plan[_PROSPECT])
        if team is not None:
            counts = self.team_owners.get(team)
            if counts is None:
                counts = self.team_owners[team] = {}
            counts[owner_id] = counts.get(owner_id, 0) + 1

    def remove(self, plan: Packed) -> None:
        """Forget a committed (packed) plan that ``add`` indexed."""
        if not plan[_ACTIVE]:
            return
        owner_id, team = plan[_OWNER], plan[_TEAM]
        owner = self.owners[owner_id]
        owner.remove(plan[_NEXT_DUE], plan[_PROSPECT])
        if not owner.dates:
            del self.owners[owner_id]
        if team is not None:
            counts = self.team_owners[team]
            counts[owner_id] -= 1
            if not counts[owner_id]:
                del counts[owner_id]
                if not counts:
                    del self.team_owners[team]

    def owners_for(self, reach: Reach, owner: str | None) -> Iterable[str]:
        """The owners whose plans ``reach`` (narrowed to ``owner``) may cover."""
        if owner is not None:
            return (owner,)
        if reach.scope is Scope.ANY:
            return list(self.owners)
        if reach.scope is Scope.TEAM and reach.team is not None:
            return {*self.team_owners.get(reach.team, ()), reach.principal_id}
        if reach.scope >= Scope.OWN:
            return (reach.principal_id,)
        return ()


def reaches(reach: Reach, owner: str | None) -> Callable[[str, str | None], bool]:
    """``covers(owner_id, owner_team)``: whether ``reach`` covers a plan with that owner
    and team (``Reach.covers`` of the plan's prospect) and the plan is ``owner``'s
    when one is named: the test every row of a due list passes, made once per list
    instead of per row."""
    scope, me, team = reach.scope, reach.principal_id, reach.team

    def covers(owner_id: str, owner_team: str | None) -> bool:
        if owner is not None and owner_id != owner:
            return False
        if scope is Scope.ANY:
            return True
        if scope is Scope.TEAM and team is not None and owner_team == team:
            return True
        return scope >= Scope.OWN and owner_id == me

    return covers


_PROSPECT, _OWNER, _TEAM, _GRADE, _ACTIVE, _ANCHOR, _NEXT_DUE = (
    position(FollowUpPlan, name) for name in (
        "prospect_id", "owner_id", "owner_team", "grade", "active", "anchor", "next_due"))


_GRADES = {pack(grade): grade for grade in Grade}
"""Each grade by its packed form."""


_HELD_BY = ("owner_id", "owner_team")
"""A prospect's fields its plan must share."""


def packed_due_items(plans: Iterable[Packed], on: date) -> list[DueItem]:
    """``[due_item(unpack(plan), on) for plan in plans]``, read from the packed plans
    without building them again (a due list reads a thousand rows)."""
    return [DueItem(plan[_PROSPECT], plan[_OWNER], _GRADES[plan[_GRADE]], due,
                    days_late(due, on))
            for plan in plans for due in (plan[_NEXT_DUE],)]


def pack_plan(plan: FollowUpPlan, day: Callable[[date], date]) -> Packed:
    """``pack(plan)`` with its anchor and next due date as the shared instances ``day``
    gives (``Shared.day``): most plans of an import share both."""
    packed = pack(plan)
    anchor, next_due = packed[_ANCHOR], packed[_NEXT_DUE]
    kept_anchor, kept_due = day(anchor), day(next_due)
    if kept_anchor is anchor and kept_due is next_due:
        return packed
    items = list(packed)
    items[_ANCHOR], items[_NEXT_DUE] = kept_anchor, kept_due
    return tuple(items)


class MemoryPlans:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._state = uow.state
        self.rows: VersionedStage[FollowUpPlan] = VersionedStage(
            "plan", uow.state.plans, packed=FollowUpPlan)

    def get(self, prospect_id: str) -> FollowUpPlan | None:
        return self.rows.current(prospect_id)

    def save(self, plan: FollowUpPlan) -> FollowUpPlan:
        self._check((plan,))
        return self.rows.save(plan.prospect_id, plan)

    def _check(self, plans: Iterable[FollowUpPlan]) -> None:
        """Refuse what the SQL storage, which keeps a plan in its prospect's row, refuses:
        a plan of a prospect not stored (NotFound), a changed plan not stored (NotFound),
        a plan whose owner and team are not its prospect's (ConcurrencyError)."""
        prospects = cast("MemoryProspects", self._uow.prospects).rows
        for plan in plans:
            held_by = prospects.fields(plan.prospect_id, _HELD_BY)  # (no prospect built)
            if held_by is None:
                raise NotFound("prospect", plan.prospect_id)
            if plan.version:
                self.rows.require(plan.prospect_id)
            if held_by != (plan.owner_id, plan.owner_team):
                raise ConcurrencyError(
                    f"plan of {plan.prospect_id!r} is not in step with its prospect: a "
                    "plan's owner and team are its prospect's")

    def add_many(self, plans: Sequence[FollowUpPlan]) -> None:
        rows = self.rows
        keys = [plan.prospect_id for plan in plans]
        if len(set(keys)) == len(keys) and all(
                plan.version == 0 and not rows.exists(key)
                for key, plan in zip(keys, plans, strict=True)):
            self._check(plans)
            rows.add_many_new(list(zip(keys, plans, strict=True)))  # the usual case: new
            return
        staged, fresh = rows.staged, rows.fresh
        before, before_fresh = dict(staged), dict(fresh)
        try:  # ``save`` of each, in order (a plan may follow one of its own in the list)
            for key, plan in zip(keys, plans, strict=True):
                self._check((plan,))
                rows.save(key, plan)
        except BaseException:  # all or none, as SQL's savepoint
            staged.clear()
            staged.update(before)
            fresh.clear()
            fresh.update(before_fresh)
            raise

    def add_first(self, plans: Sequence[FollowUpPlan]) -> None:
        """The first plans of prospects just added (``add_batch``, as ``plans_of`` made
        them; ``add``, checked by ``first_plan_for``): new, and in step with them."""
        self.rows.add_many_new([(plan.prospect_id, plan) for plan in plans])

    def add_batch_plans(self, batch: RegistrationBatch) -> None:
        """``add_first`` of the plans ``batch.plans`` describes, staged packed."""
        self.rows.add_many_packed(zip(batch.ids, packed_plans(batch, self._state.shared.day),
                                      strict=True))

    def due(self, reach: Reach, on: date, owner: str | None = None) -> Sequence[FollowUpPlan]:
        committed, staged = self._due(reach, on, owner)
        found = [*map(unpack, committed), *staged]
        return sorted(found, key=lambda plan: (plan.next_due, plan.prospect_id))

    def _due(self, reach: Reach, on: date, owner: str | None
             ) -> tuple[list[Packed], list[FollowUpPlan]]:
        """The due plans, in no particular order: the committed ones packed, and this
        unit's own."""
        state, staged, fresh = self._state, self.rows.staged, self.rows.fresh
        with state.lock:  # a consistent read of the committed index
            index, plans = state.plan_index, state.plans
            committed = [plans[pid] for who in index.owners_for(reach, owner)
                         if (due := index.owners.get(who)) is not None
                         for pid in due.due_on(on) if pid not in staged and pid not in fresh]
        covers = reaches(reach, owner)
        # The index holds only active plans, on dates up to ``on``; staged ones may be any.
        own = [p for _, p in staged.values()]
        own.extend(unpack(p) for p in fresh.values()
                   if p[_ACTIVE] and p[_NEXT_DUE] <= on)  # (only those due built)
        return ([p for p in committed if covers(p[_OWNER], p[_TEAM])],
                [p for p in own
                 if p.active and p.next_due <= on and covers(p.owner_id, p.owner_team)])

    def due_items(self, reach: Reach, on: date, owner: str | None = None) -> Sequence[DueItem]:
        committed, staged = self._due(reach, on, owner)
        items = packed_due_items(committed, on)
        items.extend(due_item(plan, on) for plan in staged)
        # by_priority orders them entirely: no need to sort by date first
        return by_priority(items)

    def due_for(self, principal_id: str, reach: Reach, on: date, owner: str | None = None,
                known: Principal | None = None,
                ) -> tuple[Principal | None, Sequence[DueItem]]:
        principals = cast("MemoryPrincipals", self._uow.principals)
        return principals.get(principal_id), self.due_items(reach, on, owner)

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        state = self._state
        committed, index, day = state.plans, state.plan_index, state.shared.day
        for pid, packed in self.rows.fresh.items():  # new: nothing to unindex
            committed[pid] = packed
            index.add(packed)
        for pid, (expected, plan) in self.rows.staged.items():
            # (expected 0: checked under this lock that none is committed, nothing to unindex)
            previous = committed.get(pid) if expected else None
            if previous is not None:
                index.remove(previous)
            committed[pid] = packed = pack_plan(plan, day)
            index.add(packed)
