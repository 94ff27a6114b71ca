"""In-memory storage with the semantics of a real database transaction.

A unit of work stages its writes privately. ``commit()`` takes the store's
lock, checks every rule a database would (versions, unique identity keys,
audit sequence numbers, outbox dedupe keys) and then applies all writes, or
raises and applies none.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, cast

import attrs

from custmgmt.adapters.memory.care import MemoryCareFiles, MemoryComplaints
from custmgmt.adapters.memory.care_records import (
    MemoryCareTasks,
    MemoryMemberships,
    MemorySurveys,
    MemoryVisits,
)
from custmgmt.adapters.memory.consent import MemoryConsents
from custmgmt.adapters.memory.credit import MemoryCredit, MemoryCreditLimits
from custmgmt.adapters.memory.customers import MemoryCustomers
from custmgmt.adapters.memory.delisting import MemoryDelisting
from custmgmt.adapters.memory.delivery import (
    Cursor,
    MemoryEvents,
    MemoryObserverCursors,
    MemoryOutbox,
)
from custmgmt.adapters.memory.keys import Compact, Held, KeyStage
from custmgmt.adapters.memory.marketing import MemoryCampaigns, MemoryMarketing
from custmgmt.adapters.memory.packed import Packed, position
from custmgmt.adapters.memory.packed_batch import packed_prospects
from custmgmt.adapters.memory.plans import MemoryPlans, PlanIndex
from custmgmt.adapters.memory.privacy import MemoryPiRequests
from custmgmt.adapters.memory.records import (
    MemoryAudit,
    MemoryClosedMonths,
    MemoryDepartments,
    MemoryFollowUps,
    MemoryHeads,
    MemorySamples,
    MemoryStockCounts,
    as_utc,
)
from custmgmt.adapters.memory.registrations import RegistrationStage
from custmgmt.adapters.memory.shared import ByKindAndId, Shared
from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.care import CareFile
from custmgmt.domain.common import ProspectId
from custmgmt.domain.complaints import Complaint
from custmgmt.domain.consent import ConsentRecord
from custmgmt.domain.credit import CreditInstrument, CreditLimit
from custmgmt.domain.customers import Customer
from custmgmt.domain.delisting import DelistingCase, Review
from custmgmt.domain.followups import (
    ClosedMonth,
    FollowUp,
    FollowUpPlan,
    first_plan_for,
)
from custmgmt.domain.identity import one_of_each_kind
from custmgmt.domain.integrity import ChainHead
from custmgmt.domain.marketing import Campaign, Outcome, Product, RiskAssessment, Touch
from custmgmt.domain.membership import Membership
from custmgmt.domain.privacy import PiRequest
from custmgmt.domain.prospects import (
    Grade,
    IdentityKey,
    Prospect,
    Stage,
    earliest_claim,
    with_registration,
)
from custmgmt.domain.registrations import RegistrationBatch, trail_of
from custmgmt.domain.samples import CustodyEvent, Sample
from custmgmt.domain.stock import Department, StockCount
from custmgmt.domain.surveys import CareTask, SurveyResponse
from custmgmt.domain.visits import Visit
from custmgmt.errors import ConcurrencyError, StorageError
from custmgmt.ports.auth import Principal, Scope
from custmgmt.ports.notification import OutboxItem
from custmgmt.ports.roster import ROSTER
from custmgmt.ports.storage import ProspectQuery, UnitOfWork


class MemoryState:
    """What has been committed. Shared by every unit of work of one storage."""

    def __init__(self) -> None:  # noqa: PLR0915 (one attribute per roster entry's state)
        self.lock = threading.RLock()
        self.prospects: dict[str, Packed] = {}
        """Prospects by id, packed (``packed.pack``)."""
        self.key_index: dict[Compact, str] = {}
        self.keys_of: dict[str, Held] = {}
        """The sealed keys each prospect holds (``key_index`` is its inverse)."""
        self.registration_index: dict[str, str] = {}
        self.registration_of: dict[str, str] = {}
        """The registration id each prospect holds (``registration_index`` its inverse)."""
        self.customers: dict[str, Customer] = {}
        self.customer_keys: dict[Compact, str] = {}
        self.customer_keys_of: dict[str, Held] = {}
        self.credit: dict[str, CreditInstrument] = {}
        self.credit_limits: dict[str, CreditLimit] = {}
        self.delisting: dict[str, DelistingCase] = {}
        self.reviews: dict[str, Review] = {}
        self.consents: dict[str, list[ConsentRecord]] = {}
        """Each customer's consent history, in the order appended."""
        self.consent_ids: set[str] = set()
        self.campaigns: dict[str, Campaign] = {}
        self.products: dict[str, Product] = {}
        self.assessments: list[RiskAssessment] = []
        self.touches: dict[str, Touch] = {}
        """Campaign touches by notification id."""
        self.outcomes: list[Outcome] = []
        self.principals: dict[str, Principal] = {}
        self.plans: dict[str, Packed] = {}
        """Follow-up plans by prospect id, packed (``plans.pack_plan``)."""
        self.plan_index = PlanIndex()
        """The active plans by owner and due date (what ``due`` reads)."""
        self.samples: dict[str, Sample] = {}
        self.custody: dict[str, list[CustodyEvent]] = {}
        self.sample_counters: dict[int, int] = {}
        self.counters: dict[str, int] = {}
        """Named counters with a ceiling (the pool's daily cap): name -> value."""
        self._row_locks: dict[str, threading.Lock] = {}
        self.follow_ups: dict[str, FollowUp] = {}
        self.follow_ups_of: dict[str, list[str]] = {}
        """prospect id -> the ids of its follow-ups (what a reassignment rewrites)."""
        self.closed_months: list[ClosedMonth] = []
        self.audit: ByKindAndId[tuple[Packed, ...]] = ByKindAndId()
        """Each audit trail, its entries packed."""
        self.import_entries: dict[str, str] = {}
        """The import trail (kind ``prospect_import``) each import entry was committed to,
        by the entry's hash (the entry itself is read from ``audit``)."""
        self.heads: ByKindAndId[Packed] = ByKindAndId()
        """Chain heads, packed."""
        self.events: list[Packed] = []
        """The event log, packed."""
        self.outbox: dict[str, OutboxItem] = {}
        self.dedupe_keys: set[str] = set()
        self.departments: dict[str, Department] = {}
        self.stock_counts: list[StockCount] = []
        self.cursors: dict[str, Cursor] = {}
        self.shared = Shared()
        """Equal values many records repeat, stored once (see ``shared``)."""
        self.pi_requests: dict[str, PiRequest] = {}
        self.care_files: dict[str, CareFile] = {}
        self.complaints: dict[str, Complaint] = {}
        self.visits: dict[str, Visit] = {}
        self.surveys: dict[str, SurveyResponse] = {}
        self.care_tasks: dict[str, CareTask] = {}
        self.memberships: dict[str, Membership] = {}

    def row_lock(self, key: str) -> threading.Lock:
        """The lock a unit of work holds on ``key`` (like a row lock) until it ends."""
        with self.lock:
            return self._row_locks.setdefault(key, threading.Lock())


class MemoryCounters:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._state = uow.state
        self.staged: dict[str, tuple[int, int]] = {}
        """name -> (how many this unit took, the limit it took them under)"""

    def take(self, name: str, limit: int) -> bool:
        # Hold the counter until this unit ends: a concurrent unit queues for it, and
        # then sees this unit's takes (a row lock in SQL does the same).
        self._uow.hold(f"counter:{name}")
        taken, _ = self.staged.get(name, (0, limit))
        if self._state.counters.get(name, 0) + taken >= limit:
            return False
        self.staged[name] = (taken + 1, limit)
        return True

    def check(self) -> None:
        for name, (taken, limit) in self.staged.items():
            if self._state.counters.get(name, 0) + taken > limit:
                raise ConcurrencyError(f"counter {name!r} reached its limit meanwhile")

    def apply(self) -> None:
        for name, (taken, _) in self.staged.items():
            self._state.counters[name] = self._state.counters.get(name, 0) + taken


_OWNER, _TEAM = position(Prospect, "owner_id"), position(Prospect, "owner_team")


def _visible(query: ProspectQuery) -> Callable[[Packed], bool]:
    """The part of ``query.matches`` a packed prospect answers without being unpacked:
    whether the query's reach covers it and its owner and team are the ones asked for."""
    scope, me, team = query.reach.scope, query.reach.principal_id, query.reach.team
    owner, narrowed = query.owner, query.team

    def visible(row: Packed) -> bool:
        row_owner, row_team = row[_OWNER], row[_TEAM]
        if (owner is not None and row_owner != owner) or (
                narrowed is not None and row_team != narrowed):
            return False
        if scope is Scope.ANY or (scope is Scope.TEAM and team is not None
                                  and row_team == team):
            return True
        return scope >= Scope.OWN and row_owner == me

    return visible


class MemoryProspects:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._state = uow.state
        self.rows: VersionedStage[Prospect] = VersionedStage(
            "prospect", uow.state.prospects, packed=Prospect)
        self.keys = KeyStage(uow.state.key_index, uow.state.keys_of, uow.compact_keys)
        self.registrations = RegistrationStage(uow.state.registration_index,
                                               uow.state.registration_of)

    def _refuse_held(self, prospect_id: str, keys: frozenset[IdentityKey]) -> None:
        others = self.keys.others(prospect_id, keys)
        if not others:
            return
        held = earliest_claim({k: self.rows.get(h) for k, h in others.items()})
        if held is not None:
            raise held[0].claim_conflict(held[1])

    def _refuse_registered(self, prospect_id: str, registration_id: str) -> None:
        holder = self.registrations.holder(registration_id)
        if holder is not None and holder != prospect_id:
            raise self.rows.get(holder).claim_conflict()

    def add(self, prospect: Prospect, keys: frozenset[IdentityKey],
            plan: FollowUpPlan | None = None, trail: ChainHead | None = None) -> Prospect:
        prospect = with_registration(prospect)  # as SQL storage reads it back
        one_of_each_kind(keys)
        if plan is not None:
            first_plan_for(prospect, plan)  # refused before anything is staged
        if trail is not None:
            trail_of(prospect.id, trail)
        if self.rows.exists(prospect.id):
            raise ConcurrencyError(f"prospect {prospect.id!r} already exists")
        self._refuse_held(prospect.id, keys)
        self._refuse_registered(prospect.id, prospect.registration.id)
        stored = self.rows.add(prospect.id, prospect)
        self.keys.stage(prospect.id, keys)
        self.registrations.stage(prospect.id, prospect.registration.id)
        if plan is not None:
            cast(MemoryPlans, self._uow.plans).add_first([plan])
        if trail is not None:
            cast(MemoryHeads, self._uow.heads).add_checked([trail])
        return stored

    def add_batch(self, batch: RegistrationBatch) -> None:
        ids = batch.ids
        keys = list(map(batch.keys.row, range(len(ids))))  # of distinct kinds: checked
        added: list[str] = []
        mark, registered = self.keys.mark(), self.registrations.mark()
        try:
            if self._all_free(ids, keys, batch.registration_ids):  # the usual case
                added = list(ids)
                packed = packed_prospects(batch)
                if packed is not None:  # (no object a row)
                    self.rows.add_many_packed(zip(added, packed, strict=True))
                else:
                    self.rows.add_many_new(list(zip(added, batch.prospects(), strict=True)))
                self.keys.stage_new(zip(added, keys, strict=True))
                self.registrations.stage_new(added, batch.registration_ids)
            else:  # row by row: the first row refused raises what ``add`` raises
                for prospect, held in zip(batch.prospects(), keys, strict=True):
                    self.add(prospect, held)
                    added.append(prospect.id)
            # what the batch carries of its rows, written with them
            if batch.plans is not None:
                cast(MemoryPlans, self._uow.plans).add_batch_plans(batch)
            if batch.trails is not None:
                cast(MemoryHeads, self._uow.heads).add_checked(batch.trail_heads())
        except BaseException:
            plans = cast(MemoryPlans, self._uow.plans).rows
            for prospect_id in added:
                self.rows.discard(prospect_id)
                plans.discard(prospect_id)  # (its new ids: no plan was staged before)
            self.keys.restore(mark)
            self.registrations.restore(registered)
            raise

    def _all_free(self, ids: Sequence[str], keys: Sequence[frozenset[IdentityKey]],
                  registration_ids: Sequence[str]) -> bool:
        """Whether every prospect is new, every key unheld and given once, and every
        registration id too: then ``add`` would refuse none of them, whatever their
        order."""
        every = [k for held in keys for k in held]
        rows = self.rows
        return (len(set(every)) == len(every) and len(set(ids)) == len(ids)
                and len(set(registration_ids)) == len(registration_ids)
                and not any(map(rows.exists, ids))
                and not self.keys.holder_ids(every)
                and not self.registrations.any_held(registration_ids))

    def registered(self, registration_ids: Iterable[str]) -> frozenset[str]:
        holder = self.registrations.holder
        return frozenset(r for r in registration_ids if holder(r) is not None)

    def get(self, prospect_id: ProspectId) -> Prospect:
        return self.rows.get(prospect_id)

    def update(
        self, prospect: Prospect, keys: frozenset[IdentityKey] | None = None
    ) -> Prospect:
        prospect = with_registration(prospect)
        if keys is not None:
            one_of_each_kind(keys)  # before NotFound, as SQL checks it
        self.rows.require(prospect.id)
        if keys is not None:
            self._refuse_held(prospect.id, keys)
        registration_id = prospect.registration.id
        registered_again = self.registrations.registration_of(prospect.id) != registration_id
        if registered_again:
            self._refuse_registered(prospect.id, registration_id)
        stored = self.rows.update(prospect.id, prospect)
        if keys is not None:
            self.keys.stage(prospect.id, keys)
        if registered_again:
            self.registrations.stage(prospect.id, registration_id)
        return stored

    def replace_keys(self, keys: Mapping[ProspectId, frozenset[IdentityKey]]) -> None:
        for held in keys.values():
            one_of_each_kind(held)
        for prospect_id in keys:
            self.rows.require(prospect_id)
        for prospect_id, held in keys.items():
            self.keys.stage(prospect_id, held)

    def holders_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, Prospect]:
        """Who holds each key, as this unit sees it: its own writes over the committed index."""
        return {key: self.rows.get(holder_id)
                for key, holder_id in self.keys.holder_ids(keys).items()}

    def find(self, query: ProspectQuery) -> Sequence[Prospect]:
        def order(p: Prospect) -> tuple[datetime, str]:
            return (as_utc(p.registration.at), p.id)

        found: Iterable[Prospect] = (p for p in self.rows.values(_visible(query))
                                     if query.matches(p))
        if query.after is not None:
            after = (as_utc(query.after[0]), query.after[1])
            found = (p for p in found if order(p) > after)
        # the first page only: no sort of every row (and no copy of them all)
        return heapq.nsmallest(query.limit, found, key=order)

    def count_by_grade_and_stage(self, query: ProspectQuery) -> dict[tuple[Grade, Stage], int]:
        counts: dict[tuple[Grade, Stage], int] = {}
        for p in self.rows.values(_visible(query)):
            if query.matches(p):
                counts[(p.grade, p.stage)] = counts.get((p.grade, p.stage), 0) + 1
        return counts

    def furthest_stages(self, query: ProspectQuery) -> dict[tuple[Stage, bool], int]:
        counts: dict[tuple[Stage, bool], int] = {}
        for p in self.rows.values(_visible(query)):
            if query.matches(p):
                key = (p.furthest_stage, p.stage is Stage.LOST)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def check(self) -> None:
        """Under the lock: versions, then the key index as it would be after commit."""
        self.rows.check()
        clashes = self.keys.check()
        if clashes:
            held = earliest_claim({k: self.rows.get(h) for k, h in clashes.items()})
            if held is not None:
                raise held[0].claim_conflict(held[1])
        registered = self.registrations.clash()
        if registered is not None:
            raise self.rows.get(registered).claim_conflict()

    def apply(self) -> None:
        self.rows.apply()
        self.keys.apply()
        self.registrations.apply()


class MemoryPrincipals:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: dict[str, tuple[int, Principal]] = {}

    def get(self, principal_id: str) -> Principal | None:
        if principal_id in self.staged:
            return self.staged[principal_id][1]
        return self._state.principals.get(principal_id)

    def save(self, principal: Principal) -> Principal:
        current = self.get(principal.id)
        if (current.version if current else 0) != principal.version:
            raise ConcurrencyError(f"principal {principal.id!r} changed since it was read")
        expected = (self.staged[principal.id][0] if principal.id in self.staged
                    else principal.version)
        stored = attrs.evolve(principal, version=principal.version + 1)
        self.staged[principal.id] = (expected, stored)
        return stored

    def find(self, *, role: str | None = None, team: str | None = None) -> Sequence[Principal]:
        merged = {**self._state.principals,
                  **{pid: p for pid, (_, p) in self.staged.items()}}
        return [p for _, p in sorted(merged.items())
                if (role is None or role in p.roles) and (team is None or p.team == team)]

    def ids(self, *, role: str | None = None, team: str | None = None) -> Sequence[str]:
        return [p.id for p in self.find(role=role, team=team)]

    def check(self) -> None:
        for pid, (expected, _) in self.staged.items():
            stored = self._state.principals.get(pid)
            if (stored.version if stored else 0) != expected:
                raise ConcurrencyError(f"principal {pid!r} changed since it was read")

    def apply(self) -> None:
        self._state.principals.update({pid: p for pid, (_, p) in self.staged.items()})


class MemoryRepository(Protocol):
    """What the memory unit of work asks of each repository at commit, under the lock."""

    def check(self) -> None:
        """Raise (ConcurrencyError, ClaimConflict...) if this unit's writes cannot apply."""
        ...

    def apply(self) -> None:
        """Make this unit's writes the committed state (after every check passed)."""
        ...


REPOSITORIES: Mapping[str, Callable[[MemoryUnitOfWork], MemoryRepository]] = {
    "prospects": MemoryProspects, "customers": MemoryCustomers, "credit": MemoryCredit,
    "credit_limits": MemoryCreditLimits, "delisting": MemoryDelisting,
    "consents": MemoryConsents, "campaigns": MemoryCampaigns, "marketing": MemoryMarketing,
    "principals": MemoryPrincipals, "plans": MemoryPlans, "follow_ups": MemoryFollowUps,
    "closed_months": MemoryClosedMonths, "samples": MemorySamples,
    "departments": MemoryDepartments, "stock_counts": MemoryStockCounts,
    "counters": MemoryCounters, "audit": MemoryAudit,
    "heads": MemoryHeads, "events": MemoryEvents, "outbox": MemoryOutbox,
    "observer_cursors": MemoryObserverCursors, "pi_requests": MemoryPiRequests,
    "care_files": MemoryCareFiles, "complaints": MemoryComplaints, "visits": MemoryVisits,
    "surveys": MemorySurveys, "care_tasks": MemoryCareTasks, "memberships": MemoryMemberships,
}
"""The memory implementation of each roster entry (a test holds it to the roster)."""


_ORDER = {entry.name: n for n, entry in enumerate(ROSTER)}


class MemoryUnitOfWork:
    """Repositories are built from the roster, checked together and applied together.

    Each is built the first time the unit uses it (a due list touches two of the
    eighteen), and only those are checked and applied at commit, in roster order."""

    def __init__(self, state: MemoryState, read_only: bool = False) -> None:
        self.state = state
        self.read_only = read_only
        self._held: list[threading.Lock] = []
        self._repositories: dict[str, MemoryRepository] = {}
        self.compact_keys: dict[IdentityKey, Compact] = {}
        """The compact form of each identity key this unit met (``keys.compact``),
        shared by its prospect and customer key stages."""

    def __getattr__(self, name: str) -> MemoryRepository:
        # Only reached for a repository this unit has not built yet.
        make = REPOSITORIES.get(name)
        if make is None or name.startswith("_"):
            raise AttributeError(name)
        repository = self._repositories[name] = make(self)
        setattr(self, name, repository)
        return repository

    def hold(self, key: str) -> None:
        """Take the store's lock on ``key`` until this unit ends (commit or rollback),
        as a row lock would: a concurrent unit wanting it waits for it."""
        lock = self.state.row_lock(key)
        if lock in self._held:
            return
        if not lock.acquire(timeout=30):
            raise ConcurrencyError("timed out waiting for another unit of work")
        self._held.append(lock)

    def _release(self) -> None:
        held, self._held = self._held, []
        for lock in reversed(held):
            lock.release()

    def _begin(self) -> None:
        self._release()
        for name in self._repositories:
            delattr(self, name)
        self._repositories = {}
        self.compact_keys = {}

    def __enter__(self) -> Self:
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        if self.read_only:
            raise StorageError("a read-only unit of work cannot commit")
        used = sorted(self._repositories.items(), key=lambda item: _ORDER[item[0]])
        with self.state.lock:
            for _, repository in used:
                repository.check()
            for _, repository in used:
                repository.apply()
        self._begin()

    def rollback(self) -> None:
        self._begin()


class MemoryStorage:
    """``memory://``: everything in this process, gone when it ends."""

    def __init__(self) -> None:
        self.state = MemoryState()

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        # Its repositories come from the roster; the storage contract checks the port.
        return cast(UnitOfWork, MemoryUnitOfWork(self.state, read_only))

    def migrate(self) -> None:
        """Nothing to migrate in memory."""

    def close(self) -> None:
        """Nothing to release."""

