"""Memory repositories beside prospects: plans, follow-ups, samples, audit."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, cast

import attrs

from custmgmt.adapters.memory.packed import Packed, pack, position, unpack
from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.audit import IMPORT_KIND, AuditEntry
from custmgmt.domain.followups import ClosedMonth, FollowUp
from custmgmt.domain.integrity import ChainHead, checked_head
from custmgmt.domain.registrations import PROSPECT_TRAILS
from custmgmt.domain.samples import CustodyEvent, Sample, SampleState
from custmgmt.domain.stock import Department, StockCount
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import FollowUpQuery, OnTimeCount, VisitDay

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryProspects, MemoryUnitOfWork


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


class MemorySamples:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self._uow = uow
        self.rows: VersionedStage[Sample] = VersionedStage("sample", uow.state.samples)
        self.events: list[CustodyEvent] = []
        self.counters: dict[int, tuple[int, int]] = {}

    def get(self, sample_id: str) -> Sample:
        return self.rows.get(sample_id)

    def add(self, sample: Sample, events: Sequence[CustodyEvent]) -> Sample:
        stored = self.rows.add(sample.id, sample)
        self.events.extend(events)
        return stored

    def update(self, sample: Sample, events: Sequence[CustodyEvent]) -> Sample:
        stored = self.rows.update(sample.id, sample)
        self.events.extend(events)
        return stored

    def chain(self, sample_id: str) -> Sequence[CustodyEvent]:
        mine = [e for e in self.events if e.sample_id == sample_id]
        return sorted([*self._state.custody.get(sample_id, []), *mine],
                      key=lambda e: e.sequence)

    def next_number(self, year: int) -> int:
        """Like the counter row's lock in SQL: the first number of a year taken in this
        unit holds the year until the unit ends, so a concurrent unit queues for its
        numbers (and then sees these as taken) instead of failing at commit."""
        self._uow.hold(f"sample-number:{year}")
        seen, taken = self.counters.get(year, (self._state.sample_counters.get(year, 0), 0))
        self.counters[year] = (seen, taken + 1)
        return seen + taken + 1

    def find(
        self, *, location: str | None = None, state: SampleState | None = None,
        customer_id: str | None = None,
    ) -> Sequence[Sample]:
        found = [s for s in self.rows.merged().values()
                 if (location is None or s.location == location)
                 and (customer_id is None or s.info.customer_id == customer_id)
                 and (state is None or s.state is state)]
        return sorted(found, key=lambda s: (s.number or "", s.id))

    def check(self) -> None:
        self.rows.check()
        for year, (seen, _) in self.counters.items():
            if self._state.sample_counters.get(year, 0) != seen:
                raise ConcurrencyError(f"sample numbers of {year} were taken meanwhile")

    def apply(self) -> None:
        state = self._state
        self.rows.apply()
        for event in self.events:
            state.custody.setdefault(event.sample_id, []).append(event)
        for year, (seen, taken) in self.counters.items():
            state.sample_counters[year] = seen + taken


class MemoryFollowUps:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: dict[str, FollowUp] = {}
        self.owners: dict[str, tuple[str, str | None]] = {}
        self.redacted: dict[str, str] = {}

    def add(self, follow_up: FollowUp) -> None:
        if follow_up.id in self._state.follow_ups or follow_up.id in self.staged:
            raise ConcurrencyError(f"follow-up {follow_up.id!r} already exists")
        self.staged[follow_up.id] = follow_up

    def _owned(self, follow_up: FollowUp) -> FollowUp:
        text = self.redacted.get(follow_up.prospect_id)
        if text is not None:
            def kept(value: str | None) -> str | None:
                return None if value is None else text

            follow_up = attrs.evolve(
                follow_up, summary=text, needs=kept(follow_up.needs),
                problems=kept(follow_up.problems), outcome=kept(follow_up.outcome),
                next_step=kept(follow_up.next_step))
        owner = self.owners.get(follow_up.prospect_id)
        if owner is None or owner == (follow_up.owner_id, follow_up.owner_team):
            return follow_up
        return attrs.evolve(follow_up, owner_id=owner[0], owner_team=owner[1])

    def merged(self) -> list[FollowUp]:
        committed = list(self._state.follow_ups.values())  # one atomic copy
        return [self._owned(f) for f in [*committed, *self.staged.values()]]

    def find(self, query: FollowUpQuery) -> Sequence[FollowUp]:
        found = [f for f in self.merged() if query.matches(f)]
        return sorted(found, key=lambda f: (f.local_date, as_utc(f.at), f.id))

    def visit_days(self, date_from: date, date_to: date) -> Sequence[VisitDay]:
        seen: dict[tuple[str, date], set[str]] = {}
        for f in self.merged():
            if f.is_visit and date_from <= f.local_date <= date_to:
                seen.setdefault((f.by, f.local_date), set()).add(f.prospect_id)
        return [VisitDay(person, day, len(prospects))
                for (person, day), prospects in sorted(seen.items())]

    def on_time_counts(self, query: FollowUpQuery) -> Sequence[OnTimeCount]:
        counts: dict[str, tuple[int, int]] = {}
        for f in self.merged():
            if query.matches(f):
                total, on_time = counts.get(f.owner_id, (0, 0))
                counts[f.owner_id] = (total + 1, on_time + f.on_time)
        return [OnTimeCount(owner, total, on_time)
                for owner, (total, on_time) in sorted(counts.items())]

    def reassign(self, prospect_id: str, owner_id: str, owner_team: str | None) -> None:
        self.owners[prospect_id] = (owner_id, owner_team)

    def redact(self, prospect_id: str, text: str) -> None:
        self.redacted[prospect_id] = text

    def check(self) -> None:
        """Nothing a concurrent unit could have taken."""

    def apply(self) -> None:
        """Only this unit's records, and the records of the prospects it reassigned or
        redacted."""
        state = self._state
        for follow_up in self.staged.values():
            state.follow_ups[follow_up.id] = self._owned(follow_up)
            state.follow_ups_of.setdefault(follow_up.prospect_id, []).append(follow_up.id)
        for prospect_id in {*self.owners, *self.redacted}:
            for follow_up_id in state.follow_ups_of.get(prospect_id, ()):
                state.follow_ups[follow_up_id] = self._owned(state.follow_ups[follow_up_id])


class MemoryClosedMonths:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: list[ClosedMonth] = []

    def add(self, closed: ClosedMonth) -> None:
        if any((c.month, c.team) == (closed.month, closed.team)
               for c in [*self._state.closed_months, *self.staged]):
            raise ConcurrencyError(f"month {closed.month} is already closed")
        self.staged.append(closed)

    def find(self, month: str) -> Sequence[ClosedMonth]:
        found = [c for c in [*self._state.closed_months, *self.staged] if c.month == month]
        return sorted(found, key=lambda c: c.team or "")

    def check(self) -> None:
        committed = {(c.month, c.team) for c in self._state.closed_months}
        for closed in self.staged:
            if (closed.month, closed.team) in committed:
                raise ConcurrencyError(f"month {closed.month} was closed meanwhile")

    def apply(self) -> None:
        self._state.closed_months.extend(self.staged)


class MemoryAudit:
    """Each trail is committed as a tuple of packed entries (``packed``): no object per
    entry for the garbage collector to walk, the snapshots most entries of an import
    repeat stored once."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: dict[tuple[str, str], list[AuditEntry]] = {}
        """This unit's entries, by trail."""

    def append(self, entry: AuditEntry) -> None:
        key = (entry.resource_kind, entry.resource_id)
        mine = self.staged.get(key)
        committed = self._state.audit.get(key)
        if entry.sequence != (len(committed) if committed else 0) + (len(mine) if mine else 0):
            raise ConcurrencyError(f"audit sequence {entry.sequence} of {entry.resource_id!r}")
        if mine is None:
            self.staged[key] = [entry]
        else:
            mine.append(entry)

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        """``append`` of each entry in turn (all or none), each kind's committed trails
        found once (an import appends a thousand first entries)."""
        done: list[tuple[str, str]] = []
        staged, audit = self.staged, self._state.audit
        inners: dict[str, dict[str, tuple[Packed, ...]] | None] = {}
        try:
            for entry in entries:
                kind, rid = entry.resource_kind, entry.resource_id
                if kind in inners:
                    inner = inners[kind]
                else:
                    inner = inners[kind] = audit.inner(kind)
                key = (kind, rid)
                mine = staged.get(key)
                committed = None if inner is None else inner.get(rid)
                if entry.sequence != (len(committed) if committed else 0) + (
                        len(mine) if mine else 0):
                    raise ConcurrencyError(
                        f"audit sequence {entry.sequence} of {entry.resource_id!r}")
                if mine is None:
                    staged[key] = [entry]
                else:
                    mine.append(entry)
                done.append(key)
        except BaseException:
            for key in reversed(done):
                mine = self.staged[key]
                mine.pop()
                if not mine:
                    del self.staged[key]
            raise

    def trail(self, resource_kind: str, resource_id: str) -> Sequence[AuditEntry]:
        key = (resource_kind, resource_id)
        return [*map(unpack, self._state.audit.get(key) or ()), *self.staged.get(key, ())]

    def trails(self) -> Sequence[tuple[str, str]]:
        return sorted({*self._state.audit, *self.staged})

    def import_entry(self, entry_hash: str) -> AuditEntry | None:
        # staged entries first, then the one import trail the hash was committed to
        trails = [mine for (kind, _), mine in self.staged.items() if kind == IMPORT_KIND]
        import_id = self._state.import_entries.get(entry_hash)
        if import_id is not None:
            trails.append([*map(unpack, self._state.audit.get((IMPORT_KIND, import_id)) or ())])
        return next((e for trail in trails for e in trail if e.hash == entry_hash), None)

    def check(self) -> None:
        for key, mine in self.staged.items():
            committed = self._state.audit.get(key)
            if mine[0].sequence < (len(committed) if committed else 0):
                raise ConcurrencyError(f"audit trail of {key[1]!r} moved on")

    def apply(self) -> None:
        audit = self._state.audit
        inners: dict[str, dict[str, tuple[Packed, ...]]] = {}
        for (kind, rid), mine in self.staged.items():
            inner = inners.get(kind)
            if inner is None:
                inner = inners[kind] = audit.of_kind(kind)
            packed = tuple(map(pack, mine))
            committed = inner.get(rid)
            inner[rid] = packed if committed is None else committed + packed
            if kind == IMPORT_KIND:
                self._state.import_entries.update((e.hash, rid) for e in mine)


_CHAIN = position(ChainHead, "chain")


def _packed_head(head: ChainHead) -> Packed:
    """The head packed, its chain name (one of a few) stored once."""
    packed = pack(head)
    chain = sys.intern(packed[_CHAIN])
    if chain is packed[_CHAIN]:
        return packed
    return (*packed[:_CHAIN], chain, *packed[_CHAIN + 1:])


class MemoryHeads:
    """Committed heads are packed (``packed``). A prospect's audit trail's head is its
    prospect's, as in the SQL storage (which keeps it in the prospect's row): none for a
    prospect not stored (NotFound)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._state = uow.state
        self.staged: dict[tuple[str, str], ChainHead] = {}

    def _require_prospects(self, heads: Sequence[ChainHead]) -> None:
        prospects = cast("MemoryProspects", self._uow.prospects).rows
        for head in heads:
            if head.chain == PROSPECT_TRAILS and not prospects.exists(head.chain_id):
                raise NotFound("prospect", head.chain_id)

    def get(self, chain: str, chain_id: str) -> ChainHead | None:
        key = (chain, chain_id)
        found = self.staged.get(key)
        return found if found is not None else unpack(self._state.heads.get(key))

    def save(self, head: ChainHead) -> None:
        checked_head(head)
        self._require_prospects((head,))
        self.staged[(head.chain, head.chain_id)] = head

    def add_many(self, heads: Sequence[ChainHead]) -> None:
        for head in heads:
            checked_head(head)
        self.add_checked(heads)

    def add_checked(self, heads: Sequence[ChainHead]) -> None:
        """``add_many`` of heads already checked (a batch's, made from its checked
        ``TrailStart``; a registration's, by ``trail_of``)."""
        self._require_prospects(heads)
        keys = [(h.chain, h.chain_id) for h in heads]
        committed = self._state.heads
        inners = {chain: committed.inner(chain) for chain in {k[0] for k in keys}}
        staged = self.staged
        if len(set(keys)) != len(keys) or any(
                k in staged or ((inner := inners[k[0]]) is not None and k[1] in inner)
                for k in keys):
            raise ConcurrencyError("the head of a chain in the batch exists already")
        staged.update(zip(keys, heads, strict=True))

    def ids(self, chain: str) -> Sequence[str]:
        return sorted({*(self._state.heads.inner(chain) or ()),
                       *(cid for name, cid in self.staged if name == chain)})

    def check(self) -> None:
        """Nothing to check: the chain a head belongs to is checked by its own log."""

    def apply(self) -> None:
        heads = self._state.heads
        inners: dict[str, dict[str, Packed]] = {}
        for (chain, chain_id), head in self.staged.items():
            inner = inners.get(chain)
            if inner is None:
                inner = inners[chain] = heads.of_kind(chain)
            inner[chain_id] = _packed_head(head)


class MemoryDepartments:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: dict[str, Department] = {}

    def add(self, department: Department) -> None:
        if self.get(department.id) is not None:
            raise ConcurrencyError(f"department {department.id!r} is registered already")
        self.staged[department.id] = department

    def get(self, department_id: str) -> Department | None:
        return self.staged.get(department_id) or self._state.departments.get(department_id)

    def all(self) -> Sequence[Department]:
        merged = {**self._state.departments, **self.staged}
        return [d for _, d in sorted(merged.items())]

    def check(self) -> None:
        for department_id in self.staged:
            if department_id in self._state.departments:
                raise ConcurrencyError(f"department {department_id!r} was registered meanwhile")

    def apply(self) -> None:
        self._state.departments.update(self.staged)


class MemoryStockCounts:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: list[StockCount] = []

    def add(self, count: StockCount) -> None:
        if any(c.id == count.id for c in [*self._state.stock_counts, *self.staged]):
            raise ConcurrencyError(f"stock count {count.id!r} already exists")
        self.staged.append(count)

    def find(self, location: str | None = None) -> Sequence[StockCount]:
        found = [c for c in [*self._state.stock_counts, *self.staged]
                 if location is None or c.location == location]
        return sorted(found, key=lambda c: (as_utc(c.at), c.id))

    def check(self) -> None:
        """Ids are new ones: nothing a concurrent unit could have taken."""

    def apply(self) -> None:
        self._state.stock_counts.extend(self.staged)
