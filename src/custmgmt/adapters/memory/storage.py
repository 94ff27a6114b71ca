"""In-memory storage with the semantics of a real database transaction.

A unit of work stages its writes privately. ``commit()`` takes the store's
lock, checks every rule a database would (versions, unique identity keys,
audit sequence numbers, outbox dedupe keys) and then applies all writes, or
raises and applies none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

import attrs

from custmgmt.adapters.memory.customers import MemoryCustomers
from custmgmt.adapters.memory.records import (
    MemoryAudit,
    MemoryClosedMonths,
    MemoryDepartments,
    MemoryEvents,
    MemoryFollowUps,
    MemoryOutbox,
    MemoryPlans,
    MemorySamples,
    MemoryStockCounts,
    as_utc,
)
from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.common import DomainEvent, ProspectId
from custmgmt.domain.customers import Customer
from custmgmt.domain.followups import ClosedMonth, FollowUp, FollowUpPlan
from custmgmt.domain.prospects import Grade, IdentityKey, Prospect, Stage, earliest_claim
from custmgmt.domain.samples import CustodyEvent, Sample
from custmgmt.domain.stock import Department, StockCount
from custmgmt.errors import ConcurrencyError, NotFound, StorageError
from custmgmt.ports.auth import Principal
from custmgmt.ports.notification import OutboxItem
from custmgmt.ports.storage import ProspectQuery


class MemoryState:
    """What has been committed. Shared by every unit of work of one storage."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.prospects: dict[str, Prospect] = {}
        self.key_index: dict[IdentityKey, str] = {}
        self.customers: dict[str, Customer] = {}
        self.customer_keys: dict[IdentityKey, str] = {}
        self.principals: dict[str, Principal] = {}
        self.plans: dict[str, FollowUpPlan] = {}
        self.samples: dict[str, Sample] = {}
        self.custody: dict[str, list[CustodyEvent]] = {}
        self.sample_counters: dict[int, int] = {}
        self.follow_ups: list[FollowUp] = []
        self.closed_months: list[ClosedMonth] = []
        self.departments: dict[str, Department] = {}
        self.stock_counts: list[StockCount] = []
        self.audit: dict[tuple[str, str], list[AuditEntry]] = {}
        self.events: list[DomainEvent] = []
        self.outbox: dict[str, OutboxItem] = {}
        self.dedupe_keys: set[str] = set()


class MemoryProspects:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._state = uow.state
        self.staged: dict[str, tuple[int, Prospect]] = {}

    def _current(self, prospect_id: str) -> Prospect | None:
        if prospect_id in self.staged:
            return self.staged[prospect_id][1]
        return self._state.prospects.get(prospect_id)

    def add(self, prospect: Prospect) -> Prospect:
        if self._current(prospect.id) is not None:
            raise ConcurrencyError(f"prospect {prospect.id!r} already exists")
        held = earliest_claim(self.holders_of(prospect.active_keys))
        if held is not None:
            raise held[0].claim_conflict(held[1])
        stored = attrs.evolve(prospect, version=1)
        self.staged[prospect.id] = (0, stored)
        return stored

    def add_many(self, prospects: Sequence[Prospect]) -> Sequence[Prospect]:
        staged = dict(self.staged)
        try:
            return [self.add(p) for p in prospects]
        except BaseException:
            self.staged = staged
            raise

    def get(self, prospect_id: ProspectId) -> Prospect:
        found = self._current(prospect_id)
        if found is None:
            raise NotFound("prospect", prospect_id)
        return found

    def update(self, prospect: Prospect) -> Prospect:
        current = self.get(prospect.id)
        if current.version != prospect.version:
            raise ConcurrencyError(f"prospect {prospect.id!r} changed since it was read")
        expected = self.staged[prospect.id][0] if prospect.id in self.staged else current.version
        stored = attrs.evolve(prospect, version=prospect.version + 1)
        self.staged[prospect.id] = (expected, stored)
        return stored

    def _all(self) -> list[Prospect]:
        merged = dict(self._state.prospects)
        merged.update({pid: p for pid, (_, p) in self.staged.items()})
        return list(merged.values())

    def holders_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, Prospect]:
        """Who holds each key, as this unit sees it: its own writes over the committed index."""
        found: dict[IdentityKey, Prospect] = {}
        for key in set(keys):
            staged = [p for _, p in self.staged.values() if key in p.active_keys]
            holder_id = self._state.key_index.get(key)
            holder = staged[0] if staged else None if holder_id is None else self._current(
                holder_id)
            if holder is not None and key in holder.active_keys:
                found[key] = holder
        return found

    def find(self, query: ProspectQuery) -> Sequence[Prospect]:
        rows = sorted(
            (p for p in self._all() if query.matches(p)),
            key=lambda p: (as_utc(p.registration.at), p.id),
        )
        if query.after is not None:
            after = (as_utc(query.after[0]), query.after[1])
            rows = [p for p in rows if (as_utc(p.registration.at), p.id) > after]
        return rows[: query.limit]

    def count_by_grade_and_stage(self, query: ProspectQuery) -> dict[tuple[Grade, Stage], int]:
        counts: dict[tuple[Grade, Stage], int] = {}
        for p in self._all():
            if query.matches(p):
                counts[(p.grade, p.stage)] = counts.get((p.grade, p.stage), 0) + 1
        return counts

    def check(self, index: dict[IdentityKey, str]) -> None:
        """Verify staged rows against committed state; update ``index`` to the result."""
        for pid, (expected, _) in self.staged.items():
            stored = self._state.prospects.get(pid)
            if (stored.version if stored else 0) != expected:
                raise ConcurrencyError(f"prospect {pid!r} changed since it was read")
            for key in stored.active_keys if stored else ():
                index.pop(key, None)
        for pid, (_, prospect) in self.staged.items():
            for key in sorted(prospect.active_keys, key=lambda k: (k.kind.value, k.value)):
                holder_id = index.get(key)
                if holder_id is not None and holder_id != pid:
                    holder = self._current(holder_id) or self._state.prospects[holder_id]
                    raise holder.claim_conflict(key)
                index[key] = pid


class MemoryPrincipals:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: dict[str, Principal] = {}

    def get(self, principal_id: str) -> Principal | None:
        return self.staged.get(principal_id) or self._state.principals.get(principal_id)

    def save(self, principal: Principal) -> None:
        self.staged[principal.id] = principal

    def find(self, *, role: str | None = None, team: str | None = None) -> Sequence[Principal]:
        merged = {**self._state.principals, **self.staged}
        return [p for _, p in sorted(merged.items())
                if (role is None or role in p.roles) and (team is None or p.team == team)]


class MemoryUnitOfWork:
    def __init__(self, state: MemoryState, read_only: bool = False) -> None:
        self.state = state
        self.read_only = read_only
        self._begin()

    def _begin(self) -> None:
        self.prospects = MemoryProspects(self)
        self.customers = MemoryCustomers(self)
        self.principals = MemoryPrincipals(self)
        self.plans = MemoryPlans(self)
        self.follow_ups = MemoryFollowUps(self)
        self.closed_months = MemoryClosedMonths(self)
        self.departments = MemoryDepartments(self)
        self.stock_counts = MemoryStockCounts(self)
        self.samples = MemorySamples(self)
        self.audit = MemoryAudit(self)
        self.events = MemoryEvents(self)
        self.outbox = MemoryOutbox(self)

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
        state = self.state
        with state.lock:
            index = dict(state.key_index)
            self.prospects.check(index)
            self.customers.check()
            self.audit.check()
            self.plans.check()
            self.samples.check()
            self.closed_months.check()
            self.departments.check()
            self.outbox.check()
            self._apply(index)
        self._begin()

    def _apply(self, index: dict[IdentityKey, str]) -> None:
        state = self.state
        state.prospects.update({pid: p for pid, (_, p) in self.prospects.staged.items()})
        state.key_index = index
        self.customers.apply()
        state.principals.update(self.principals.staged)
        state.plans.update({pid: plan for pid, (_, plan) in self.plans.staged.items()})
        state.follow_ups[:] = self.follow_ups.merged()
        state.closed_months.extend(self.closed_months.staged)
        state.departments.update(self.departments.staged)
        state.stock_counts.extend(self.stock_counts.staged)
        self.samples.apply()
        for entry in self.audit.staged:
            state.audit.setdefault((entry.resource_kind, entry.resource_id), []).append(entry)
        state.events.extend(self.events.staged)
        for nid, item in self.outbox.staged.items():
            state.outbox[nid] = item
            if item.notification.dedupe_key is not None:
                state.dedupe_keys.add(item.notification.dedupe_key)

    def rollback(self) -> None:
        self._begin()


class MemoryStorage:
    """``memory://``: everything in this process, gone when it ends."""

    def __init__(self) -> None:
        self.state = MemoryState()

    def unit_of_work(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.state, read_only)

    def migrate(self) -> None:
        """Nothing to migrate in memory."""

    def close(self) -> None:
        """Nothing to release."""

