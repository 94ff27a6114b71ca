"""Storage ports: one repository per aggregate, a unit of work around them.

A unit of work is one transaction: everything written through its
repositories (including audit entries, events and the outbox) becomes visible
on ``commit()`` or not at all. Leaving the ``with`` block without committing,
or with an exception, discards it.

Aggregates carry a ``version``. ``add`` stores version 1; ``update`` takes the
aggregate as it was read (version n), stores version n + 1 and returns it, and
raises ``ConcurrencyError`` if the stored version is no longer n.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from attrs import field, frozen

from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.common import DomainEvent, ProspectId
from custmgmt.domain.consent import ConsentRecord, ContactChannel
from custmgmt.domain.credit import (
    CreditInstrument,
    CreditLimit,
    ExposureLine,
    InstrumentKind,
    InstrumentState,
)
from custmgmt.domain.customers import Customer, CustomerStatus, Purpose
from custmgmt.domain.delisting import DelistingCase, Review, ReviewDue
from custmgmt.domain.followups import Channel, ClosedMonth, DueItem, FollowUp, FollowUpPlan
from custmgmt.domain.identity import IdentityKey
from custmgmt.domain.integrity import ChainHead
from custmgmt.domain.marketing import Campaign, Outcome, Product, RiskAssessment, Touch
from custmgmt.domain.privacy import PiRequest, RequestStatus
from custmgmt.domain.prospects import Grade, Prospect, Stage
from custmgmt.domain.registrations import RegistrationBatch
from custmgmt.domain.samples import CustodyEvent, Sample, SampleState
from custmgmt.domain.stock import Department, StockCount
from custmgmt.ports.auth import Principal, Reach, Resource
from custmgmt.ports.care import (
    CareFileRepository,
    CareTaskRepository,
    ComplaintRepository,
    MembershipRepository,
    SurveyRepository,
    VisitRepository,
)
from custmgmt.ports.notification import Outbox


@frozen(kw_only=True)
class ProspectQuery:
    """Filters for listing prospects; ``None`` means "any". Order: registration time, id.

    ``reach`` is what the caller may see at all (own, team or any prospect);
    ``owner`` and ``team`` narrow that further.
    """

    reach: Reach
    owner: str | None = None
    team: str | None = None
    grade: Grade | None = None
    stage: Stage | None = None
    registration_active: bool | None = None
    """True: only prospects someone holds; False: only released ones."""
    registered_from: datetime | None = None
    """Only prospects registered at or after this instant."""
    registered_before: datetime | None = None
    """Only prospects registered before this instant."""
    customer_id: str | None = None
    """Only prospects linked to this customer."""
    limit: int = 50
    after: tuple[datetime, str] | None = field(default=None)
    """Keyset cursor: (registration time, prospect id) of the last row already seen."""

    def matches(self, prospect: Prospect) -> bool:
        """The filter in plain Python: adapters must select exactly these rows."""
        resource = Resource(kind="prospect", id=prospect.id, owner_id=prospect.owner_id,
                            team=prospect.owner_team)
        return (
            self.reach.covers(resource)
            and (self.owner is None or prospect.owner_id == self.owner)
            and (self.team is None or prospect.owner_team == self.team)
            and (self.grade is None or prospect.grade is self.grade)
            and (self.stage is None or prospect.stage is self.stage)
            and (self.registration_active is None
                 or prospect.registration_active is self.registration_active)
            and (self.registered_from is None
                 or prospect.registration.at >= self.registered_from)
            and (self.registered_before is None
                 or prospect.registration.at < self.registered_before)
            and (self.customer_id is None or prospect.customer_id == self.customer_id)
        )


T = TypeVar("T")


@frozen
class Page(Generic[T]):
    """One page of results; pass ``next_cursor`` back to get the next (None: last page)."""

    items: tuple[T, ...]
    next_cursor: str | None


class ProspectRepository(Protocol):
    """Prospects and the identity keys they hold.

    Keys arrive sealed (``domain.identity.KeyRing``: keyed hashes, never a clear
    phone or e-mail); the repository stores and compares them as opaque values and
    enforces that no two prospects hold one key (a unique index in SQL). A prospect
    holds at most one key of each kind: ``add``, ``add_many``, ``update`` and
    ``replace_keys`` refuse two of one kind with ValidationError (field ``keys``),
    checked before anything else, and store nothing.

    A registration id is held by one prospect at a time (a unique index in SQL): ``add``
    and ``add_batch`` refuse one that a stored prospect holds, or that the batch gives
    twice, with ClaimConflict naming that registration (``key_kind`` empty), and store
    nothing; ``update`` refuses one another prospect holds the same way, and the unit
    of work goes on. A prospect claimed again from the pool (``update`` with its new
    registration) frees its old id. A bulk import names each row's registration after
    the import and the line, so this is how a run again of an interrupted import knows
    a row it stored that holds no identity key.

    A prospect's history begins with its registration: one stored (``add``,
    ``update``) with no history reads back with ``registration_entry`` of its
    registration and grade as its history (``domain.prospects.with_registration``).
    A storage may keep that entry as the row's registration until the first change
    (the SQL storage does)."""

    def add(self, prospect: Prospect, keys: frozenset[IdentityKey],
            plan: FollowUpPlan | None = None, trail: ChainHead | None = None) -> Prospect:
        """Store a new prospect (version 1) holding ``keys``. Raises ClaimConflict if
        one of them is already held by another prospect: the first stands. ``plan``, its
        first follow-up plan (version 0, its owner and team the prospect's, else
        ConcurrencyError), is stored with it at version 1, as ``plans.save`` would store
        it after (``domain.followups.first_plan_for``): one write, not two. ``trail``,
        the head its audit trail starts with (``domain.registrations.trail_of``: chain
        ``PROSPECT_TRAILS``, the prospect's id, a seal of at most 200 printable
        characters, else ValidationError, field ``trail``, and nothing stored), is
        stored with it as ``heads.add_many([trail])`` would store it after."""
        ...

    def add_batch(self, batch: RegistrationBatch) -> None:
        """Store the prospects of ``batch`` (bulk import) as ``Prospect.register`` makes
        each row (``batch.prospects()``), at version 1, each holding its row's keys; all
        or nothing: if any key is held, or repeated within the batch, raise
        ClaimConflict and store none. What the batch carries of its rows is stored
        with them, in this unit of work: ``batch.plans``, each row's first follow-up
        plan (``domain.followups.plans_of(batch)``, as ``plans.add_many`` stores them),
        and ``batch.trails``, the heads of their audit trails
        (``batch.trail_heads()``, as ``heads.add_many`` stores them). Carried so that
        a storage can write each row whole, once. Any other error leaves the unit of
        work to be rolled back: what it wrote of the batch is not undone."""
        ...

    def holders_of(self, keys: Iterable[IdentityKey]) -> Mapping[IdentityKey, Prospect]:
        """For each of ``keys`` actively held, the prospect holding it (as this unit of
        work sees it). ``domain.prospects.earliest_claim`` picks the one that stands."""
        ...

    def registered(self, registration_ids: Iterable[str]) -> frozenset[str]:
        """Those of ``registration_ids`` a prospect holds (as this unit of work sees
        it): how a run again of an import finds the rows an earlier run stored."""
        ...

    def get(self, prospect_id: ProspectId) -> Prospect:
        """The prospect, or NotFound."""
        ...

    def update(
        self, prospect: Prospect, keys: frozenset[IdentityKey] | None = None
    ) -> Prospect:
        """Store a changed prospect; ConcurrencyError if it is stale. ``keys``: the keys
        it holds from now on (empty once released), or None to keep those it holds;
        ClaimConflict if one of them is held by someone else."""
        ...

    def replace_keys(self, keys: Mapping[ProspectId, frozenset[IdentityKey]]) -> None:
        """Swap the keys these prospects hold, without changing the prospects (re-keying
        with a new pepper); ClaimConflict if two would hold one key, NotFound if one of
        the prospects is not stored."""
        ...

    def find(self, query: ProspectQuery) -> Sequence[Prospect]:
        """Up to ``query.limit`` prospects in (registration time, id) order."""
        ...

    def count_by_grade_and_stage(self, query: ProspectQuery) -> dict[tuple[Grade, Stage], int]:
        """How many prospects match ``query`` (ignoring limit and cursor) per cell."""
        ...

    def furthest_stages(self, query: ProspectQuery) -> dict[tuple[Stage, bool], int]:
        """Of the prospects ``query`` matches (its ``after`` and ``limit`` aside), how
        many reached each pipeline stage as their furthest (``reports.highest_stage``:
        the current stage or any stage in their history), split by whether they are
        lost now: ``{(furthest stage, lost): count}``. Storage computes it."""
        ...


@frozen(kw_only=True)
class CustomerQuery:
    """Filters for listing customers; ``None`` means "any". Order: creation time, id."""

    reach: Reach
    owner: str | None = None
    team: str | None = None
    status: CustomerStatus | None = None
    needs_review: bool | None = None
    limit: int = 50
    after: tuple[datetime, str] | None = field(default=None)
    """Keyset cursor: (creation time, customer id) of the last row already seen."""

    def matches(self, customer: Customer) -> bool:
        """The filter in plain Python: adapters must select exactly these rows."""
        resource = Resource(kind="customer", id=customer.id, owner_id=customer.owner_id,
                            team=customer.owner_team)
        return (
            self.reach.covers(resource)
            and (self.owner is None or customer.owner_id == self.owner)
            and (self.team is None or customer.owner_team == self.team)
            and (self.status is None or customer.status is self.status)
            and (self.needs_review is None or customer.needs_review is self.needs_review)
        )


class CustomerRepository(Protocol):
    """Customers and the identity keys they hold: sealed by the services, as for
    prospects (opaque values to store and compare); no two customers hold one key."""

    def add(self, customer: Customer, keys: frozenset[IdentityKey]) -> Customer:
        """Store a new customer (version 1) holding ``keys``. Raises ClaimConflict naming
        the customer that already holds one of them: one company is never two customers."""
        ...

    def get(self, customer_id: str) -> Customer:
        """The customer, or NotFound."""
        ...

    def update(
        self, customer: Customer, keys: frozenset[IdentityKey] | None = None
    ) -> Customer:
        """Store a changed customer; ConcurrencyError if it is stale. ``keys``: the keys it
        holds from now on, or None to keep those it holds; ClaimConflict if one of them
        is held by another customer."""
        ...

    def replace_keys(self, keys: Mapping[str, frozenset[IdentityKey]]) -> None:
        """Swap the keys these customers hold, without changing the customers (re-keying
        with a new pepper); ClaimConflict if two would hold one key."""
        ...

    def holders_of(self, keys: Iterable[IdentityKey]) -> Mapping[IdentityKey, Customer]:
        """For each of ``keys`` some customer holds, that customer."""
        ...

    def find(self, query: CustomerQuery) -> Sequence[Customer]:
        """Up to ``query.limit`` customers in (creation time, id) order."""
        ...


@frozen(kw_only=True)
class CreditQuery:
    """Filters for listing credit instruments; ``None`` means "any". Order: creation
    time, id. ``state`` is the stored state (EXPIRED is derived when read)."""

    reach: Reach
    customer_id: str | None = None
    kind: InstrumentKind | None = None
    state: InstrumentState | None = None
    limit: int = 50
    after: tuple[datetime, str] | None = field(default=None)
    """Keyset cursor: (creation time, instrument id) of the last row already seen."""

    def matches(self, instrument: CreditInstrument) -> bool:
        """The filter in plain Python: adapters must select exactly these rows."""
        resource = Resource(kind="credit", id=instrument.id, owner_id=instrument.owner_id,
                            team=instrument.owner_team)
        return (
            self.reach.covers(resource)
            and (self.customer_id is None or instrument.customer_id == self.customer_id)
            and (self.kind is None or instrument.kind is self.kind)
            and (self.state is None or instrument.state is self.state)
        )


class CreditRepository(Protocol):
    """Credit instruments with their conditions and drawdowns (child records)."""

    def add(self, instrument: CreditInstrument) -> CreditInstrument:
        """Store a new instrument (version 1)."""
        ...

    def get(self, instrument_id: str) -> CreditInstrument:
        """The instrument, or NotFound."""
        ...

    def update(self, instrument: CreditInstrument) -> CreditInstrument:
        """Store a changed instrument (its new drawdowns too); ConcurrencyError if stale."""
        ...

    def find(self, query: CreditQuery) -> Sequence[CreditInstrument]:
        """Up to ``query.limit`` instruments in (creation time, id) order."""
        ...

    def exposure(self, on: date, customer_id: str | None = None) -> Sequence[ExposureLine]:
        """Binding instruments still exposed on local date ``on`` (approved, issued or
        active, validity not ended before ``on``): committed and drawn sums per customer,
        kind and currency, ordered so; computed by the storage, not by loading rows."""
        ...


class CreditLimitRepository(Protocol):
    """Each customer's approved credit limit."""

    def get(self, customer_id: str) -> CreditLimit | None: ...

    def save(self, limit: CreditLimit) -> CreditLimit:
        """Insert (version 0 -> 1) or replace (version n -> n + 1); ConcurrencyError if the
        stored version is not the one given."""
        ...


class CounterRepository(Protocol):
    """Named counters with a ceiling, enforced by the storage itself (a row updated
    atomically in SQL): the pool's daily cap holds however many claims run at once."""

    def take(self, name: str, limit: int) -> bool:
        """Add one to counter ``name`` if it is below ``limit`` and return True, or
        return False and change nothing. The addition counts only if this unit of work
        commits; concurrent units queue for the counter, so it never passes ``limit``
        (where a storage cannot queue, the later commit raises ConcurrencyError)."""
        ...


class DelistingRepository(Protocol):
    """Delisting cases (with their evidence, votes and history) and periodic reviews."""

    def add(self, case: DelistingCase) -> DelistingCase:
        """Store a new case (version 1)."""
        ...

    def get(self, case_id: str) -> DelistingCase:
        """The case, or NotFound."""
        ...

    def update(self, case: DelistingCase) -> DelistingCase:
        """Store a changed case; ConcurrencyError if it is stale."""
        ...

    def for_customer(self, customer_id: str) -> Sequence[DelistingCase]:
        """Every case of one customer, oldest first (opening time, then id)."""
        ...

    def record_review(self, review: Review) -> None:
        """Keep ``review`` as the customer's latest periodic review."""
        ...

    def reviews_due(self, before: datetime, limit: int) -> Sequence[ReviewDue]:
        """Active customers whose latest review (never reviewed: their creation) is
        before ``before``, longest waiting first (then by customer id), at most
        ``limit`` of them."""
        ...


class ConsentRepository(Protocol):
    """The consent history of each person: append-only (no update, no delete)."""

    def add(self, record: ConsentRecord) -> None:
        """Append ``record``; ConcurrencyError if its id is taken."""
        ...

    def history(self, customer_id: str) -> Sequence[ConsentRecord]:
        """Every record of one customer, in force order (``at``, then id)."""
        ...

    def latest(
        self, customer_id: str, purpose: Purpose, channel: ContactChannel, sensitive: bool,
        at: datetime,
    ) -> ConsentRecord | None:
        """The record in force at ``at`` for that purpose, channel and sensitivity: the
        last one (``at``, then id) dated at or before ``at``; None if there is none."""
        ...


class CampaignRepository(Protocol):
    """Marketing campaigns (versioned), with their segments and sends."""

    def add(self, campaign: Campaign) -> Campaign:
        """Store a new campaign (version 1)."""
        ...

    def get(self, campaign_id: str) -> Campaign:
        """The campaign, or NotFound."""
        ...

    def update(self, campaign: Campaign) -> Campaign:
        """Store a changed campaign; ConcurrencyError if it is stale."""
        ...


class MarketingRepository(Protocol):
    """What campaigns rest on and produce: products with their risk levels, customers'
    risk assessments, touches (the messages queued, then sent) and their outcomes.
    Assessments, touches and outcomes are appended; a touch only gets its send time
    and the consent it relied on."""

    def add_product(self, product: Product) -> None:
        """Store a new product; ConcurrencyError if its id is taken."""
        ...

    def product(self, product_id: str) -> Product:
        """The product, or NotFound."""
        ...

    def add_assessment(self, assessment: RiskAssessment) -> None:
        """Append a risk assessment."""
        ...

    def assessment(self, customer_id: str) -> RiskAssessment | None:
        """The customer's latest assessment (by assessment date, then recording time,
        then id), or None."""
        ...

    def add_touches(self, touches: Sequence[Touch]) -> None:
        """Append queued touches (not sent yet)."""
        ...

    def touch_for(self, notification_id: str) -> Touch | None:
        """The touch that notification carries, or None."""
        ...

    def mark_sent(self, notification_id: str, at: datetime, consent_id: str | None) -> None:
        """The touch's message was sent at ``at``, relying on ``consent_id``."""
        ...

    def touches(self, campaign_id: str) -> Sequence[Touch]:
        """Every touch of a campaign, in queue order (time, then id)."""
        ...

    def add_outcome(self, outcome: Outcome) -> None:
        """Append an outcome."""
        ...

    def outcomes(self, campaign_id: str) -> Sequence[Outcome]:
        """Every outcome of a campaign, oldest first (time, then id)."""
        ...


class PrincipalRepository(Protocol):
    """Principals and their grants: roles, team, supervisor, certifications."""

    def get(self, principal_id: str) -> Principal | None: ...

    def find(self, *, role: str | None = None, team: str | None = None) -> Sequence[Principal]:
        """Principals holding ``role`` and/or in ``team``, ordered by id."""
        ...

    def ids(self, *, role: str | None = None, team: str | None = None) -> Sequence[str]:
        """The ids ``find`` would return, without loading the principals."""
        ...

    def save(self, principal: Principal) -> Principal:
        """Create (version 0 -> 1) or replace (version n -> n + 1) the principal's roles,
        team, supervisor, certifications and ``active`` flag, and return it as stored.
        ConcurrencyError if the stored version is not the one given: grants changed
        since they were read (a revoke is never lost to a concurrent grant)."""
        ...


@frozen(kw_only=True)
class FollowUpQuery:
    """Follow-ups the caller may see (``reach``), narrowed; dates are local and inclusive."""

    reach: Reach
    owner: str | None = None
    prospect_id: str | None = None
    channel: Channel | None = None
    date_from: date | None = None
    date_to: date | None = None
    stage: Stage | None = None
    """Only follow-ups recorded while the prospect was in this stage."""
    recorded_from: datetime | None = None
    """Only follow-ups recorded at or after this instant."""

    def matches(self, follow_up: FollowUp) -> bool:
        resource = Resource(kind="prospect", id=follow_up.prospect_id,
                            owner_id=follow_up.owner_id, team=follow_up.owner_team)
        return (
            self.reach.covers(resource)
            and (self.owner is None or follow_up.owner_id == self.owner)
            and (self.prospect_id is None or follow_up.prospect_id == self.prospect_id)
            and (self.channel is None or follow_up.channel is self.channel)
            and (self.date_from is None or follow_up.local_date >= self.date_from)
            and (self.date_to is None or follow_up.local_date <= self.date_to)
            and (self.stage is None or follow_up.stage is self.stage)
            and (self.recorded_from is None or follow_up.recorded_at >= self.recorded_from)
        )


class FollowUpPlanRepository(Protocol):
    """One follow-up plan per stored prospect: its cadence and next due date. A plan is
    part of its prospect (the SQL storage keeps it in the prospect's row): its owner and
    team are its prospect's, so a plan moves with its prospect (the plan keeper saves
    it after the prospect, in the same unit)."""

    def get(self, prospect_id: str) -> FollowUpPlan | None: ...

    def save(self, plan: FollowUpPlan) -> FollowUpPlan:
        """Insert (version 0 -> 1) or update (version n -> n + 1). NotFound("prospect")
        if its prospect is not stored, NotFound("plan") for an update of a plan not
        stored; ConcurrencyError if stale, if a new plan's prospect has one already, or
        if its owner and team are not its prospect's as stored."""
        ...

    def add_many(self, plans: Sequence[FollowUpPlan]) -> None:
        """``save`` of each plan, all or none: a refused plan leaves none of them written."""
        ...

    def due(self, reach: Reach, on: date, owner: str | None = None) -> Sequence[FollowUpPlan]:
        """Active plans within ``reach`` whose next due date is on or before ``on``,
        ordered by next due date, then prospect id."""
        ...

    def due_items(self, reach: Reach, on: date, owner: str | None = None) -> Sequence[DueItem]:
        """The plans ``due`` selects as due-list items (``domain.followups.due_item``),
        ordered by ``domain.followups.by_priority``: the due list a person reads, built
        without loading whole plans (it is the most frequent query)."""
        ...

    def due_for(self, principal_id: str, reach: Reach, on: date, owner: str | None = None,
                known: Principal | None = None,
                ) -> tuple[Principal | None, Sequence[DueItem]]:
        """The principal ``principal_id`` as ``PrincipalRepository.get`` returns it, and
        ``due_items(reach, on, owner)``, read together: where the storage can, in one
        statement (one snapshot, one round trip). ``reach`` is what the caller expects
        the principal's grants to give; it must drop the list if they give another.
        ``known`` is the principal as an earlier ``due_for`` returned it: if storage
        still holds exactly that, it may return ``known`` itself, having checked it
        in the same snapshot as the list instead of reading it again."""
        ...


@frozen
class VisitDay:
    """How many distinct prospects one person visited on one local day."""

    person: str
    day: date
    prospects: int


@frozen
class OnTimeCount:
    """Of one owner's follow-ups, how many there are and how many were on time."""

    owner_id: str
    follow_ups: int
    on_time: int


class FollowUpRepository(Protocol):
    """Follow-up records (append-only)."""

    def add(self, follow_up: FollowUp) -> None: ...

    def find(self, query: FollowUpQuery) -> Sequence[FollowUp]:
        """Matching follow-ups ordered by local date, time, then id."""
        ...

    def visit_days(self, date_from: date, date_to: date) -> Sequence[VisitDay]:
        """For each person and local day from ``date_from`` to ``date_to`` (inclusive)
        with a visit (channel ``visit``), how many distinct prospects that person
        visited, ordered by person then day. Reports read these aggregates instead
        of the records: storage computes them."""
        ...

    def on_time_counts(self, query: FollowUpQuery) -> Sequence[OnTimeCount]:
        """Per owner, of the follow-ups ``query`` matches, how many there are and how
        many were on time (``FollowUp.on_time``), ordered by owner."""
        ...

    def reassign(self, prospect_id: str, owner_id: str, owner_team: str | None) -> None:
        """Every follow-up of the prospect now belongs to its new owner and team
        (records follow ownership: who may read them is decided by these fields)."""
        ...

    def redact(self, prospect_id: str, text: str) -> None:
        """Every follow-up of the prospect has its free text (summary, and needs,
        problems, outcome and next step where given) replaced by ``text``: erasing a
        person keeps the records (who, when, channel, stage) and drops what was written
        about them."""
        ...


class ClosedMonthRepository(Protocol):
    """Closed months (月结): a closed month takes no more follow-up records."""

    def add(self, closed: ClosedMonth) -> None:
        """Record a closed month; ConcurrencyError if that month and team is already closed."""
        ...

    def find(self, month: str) -> Sequence[ClosedMonth]:
        """Every closure of ``month`` (``YYYY-MM``), for everyone or per team, by team."""
        ...


class SampleRepository(Protocol):
    """Samples and their append-only chain of custody events."""

    def add(self, sample: Sample, events: Sequence[CustodyEvent]) -> Sample:
        """Store a new sample (version 1) with the first events of its chain."""
        ...

    def update(self, sample: Sample, events: Sequence[CustodyEvent]) -> Sample:
        """Store the changed sample and append ``events`` to its chain, all or nothing;
        ConcurrencyError if the sample changed since it was read."""
        ...

    def get(self, sample_id: str) -> Sample:
        """The sample, or NotFound."""
        ...

    def chain(self, sample_id: str) -> Sequence[CustodyEvent]:
        """The stored custody events, in the order of their sequence numbers."""
        ...

    def next_number(self, year: int) -> int:
        """The next registry number of ``year`` (1, 2, ...), gap-free: it is taken only if
        this unit of work commits, and concurrent units queue for it."""
        ...

    def find(
        self, *, location: str | None = None, state: SampleState | None = None,
        customer_id: str | None = None,
    ) -> Sequence[Sample]:
        """Samples by location, state and/or customer, ordered by number (unnumbered
        samples first, on every back end), then id."""
        ...


class DepartmentRepository(Protocol):
    """The departments samples are distributed to (分发): who may hold them."""

    def add(self, department: Department) -> None:
        """Register a department; ConcurrencyError if its id is registered already."""
        ...

    def get(self, department_id: str) -> Department | None: ...

    def all(self) -> Sequence[Department]:
        """Every registered department, by id."""
        ...


class StockCountRepository(Protocol):
    """Physical stock counts (盘点) of samples, kept as counted."""

    def add(self, count: StockCount) -> None:
        """Keep a physical count as counted; ConcurrencyError if its id exists."""
        ...

    def find(self, location: str | None = None) -> Sequence[StockCount]:
        """Counts (of one location, or all), oldest first, then by id."""
        ...


class AuditLog(Protocol):
    """The append-only, hash-chained audit trail of each resource."""

    def append(self, entry: AuditEntry) -> None:
        """Add the next entry of a resource's trail; ConcurrencyError if its
        sequence number is already taken."""
        ...

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        """Append several entries; all or nothing."""
        ...

    def trail(self, resource_kind: str, resource_id: str) -> Sequence[AuditEntry]:
        """Every entry for one resource, in sequence order."""
        ...

    def trails(self) -> Sequence[tuple[str, str]]:
        """Every ``(resource kind, resource id)`` that has a trail, in that order."""
        ...

    def import_entry(self, entry_hash: str) -> AuditEntry | None:
        """The entry of an import's trail (kind ``prospect_import``: one entry a batch)
        whose hash is ``entry_hash``, or None; an imported prospect's trail starts from
        one. Found by the hash without reading every import's trail."""
        ...


@frozen
class StoredEvent:
    """A domain event and its position in the log (1, 2, ...: commit order)."""

    position: int
    event: DomainEvent


class ChainHeadRepository(Protocol):
    """The head of every custody chain and audit trail, with its seal if a key is set.

    The head of a prospect's audit trail (chain ``PROSPECT_TRAILS``) is its prospect's:
    a storage may keep it with the prospect (the SQL storage keeps it in the prospect's
    row), so ``save`` or ``add_many`` of one for a prospect not stored raises NotFound
    and changes nothing. Both refuse a head no storage keeps (``integrity.head_problem``:
    a negative length, a hash that is no SHA-256 in hex, a seal with a line break...)
    with ValidationError, field ``head``, and change nothing."""

    def get(self, chain: str, chain_id: str) -> ChainHead | None:
        """The head of one chain as this unit of work sees it, or None."""
        ...

    def save(self, head: ChainHead) -> None:
        """Create or replace the head of ``head.chain`` / ``head.chain_id``."""
        ...

    def add_many(self, heads: Sequence[ChainHead]) -> None:
        """Create the heads of new chains (a bulk import's new trails), all or nothing;
        ConcurrencyError if one of them has a head already."""
        ...

    def ids(self, chain: str) -> Sequence[str]:
        """The id of every head of ``chain`` (``"audit:prospect"``...), in order."""
        ...


class EventLog(Protocol):
    """Every domain event, in the order the changes that raised them were committed."""

    def append(self, event: DomainEvent) -> None: ...

    def append_many(self, events: Sequence[DomainEvent]) -> None: ...

    def all(self) -> Sequence[DomainEvent]:
        """Every recorded event in the order recorded."""
        ...

    def after(self, position: int, limit: int) -> Sequence[StoredEvent]:
        """Up to ``limit`` committed events past ``position``, in order. Positions grow
        in commit order: a reader that has seen position n never later finds a
        committed event at or below n that it has not seen."""
        ...

    def last_position(self) -> int:
        """The position of the last committed event (0: none yet)."""
        ...


class ObserverCursorRepository(Protocol):
    """How far each event observer has read the event log, and who is feeding it now."""

    def start(self, observer: str, position: int) -> None:
        """Create ``observer``'s cursor at ``position`` unless it already has one."""
        ...

    def position(self, observer: str) -> int | None:
        """The last position ``observer`` has seen, or None if it has no cursor."""
        ...

    def lease(self, observer: str, *, worker: str, now: datetime, until: datetime) -> int | None:
        """Lease the cursor to ``worker`` until ``until`` and return its position; None if
        there is no cursor or another worker holds an unexpired lease (skipped, never
        waited for)."""
        ...

    def settle(self, observer: str, *, worker: str, position: int,
               until: datetime | None) -> None:
        """Move the cursor to ``position``; ``until`` None releases the lease, a time keeps
        it held until then (back-off after the observer failed). A worker whose lease
        was taken over changes nothing."""
        ...


class PiRequestRepository(Protocol):
    """Personal-information requests (access, export, erasure) and their answers."""

    def add(self, request: PiRequest) -> PiRequest:
        """Store a new request (version 0 -> 1); ConcurrencyError if its id exists."""
        ...

    def get(self, request_id: str) -> PiRequest:
        """NotFound if there is none."""
        ...

    def update(self, request: PiRequest) -> PiRequest:
        """Replace version n with n + 1; ConcurrencyError if the stored one moved."""
        ...

    def find(
        self,
        *,
        status: RequestStatus | None = None,
        due_before: date | None = None,
        subject_ref: str | None = None,
        limit: int = 500,
    ) -> Sequence[PiRequest]:
        """Requests oldest first (received, then id): with ``status``, only those in it;
        with ``due_before``, only those due strictly before that day; with
        ``subject_ref``, only those about that subject (an id or a sealed key)."""
        ...


class UnitOfWork(Protocol):
    """One transaction: the repositories as attributes, ``commit()`` keeps everything."""

    @property
    def prospects(self) -> ProspectRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def credit(self) -> CreditRepository: ...

    @property
    def credit_limits(self) -> CreditLimitRepository: ...

    @property
    def delisting(self) -> DelistingRepository: ...

    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def campaigns(self) -> CampaignRepository: ...

    @property
    def marketing(self) -> MarketingRepository: ...

    @property
    def principals(self) -> PrincipalRepository: ...

    @property
    def plans(self) -> FollowUpPlanRepository: ...

    @property
    def follow_ups(self) -> FollowUpRepository: ...

    @property
    def closed_months(self) -> ClosedMonthRepository: ...

    @property
    def samples(self) -> SampleRepository: ...

    @property
    def departments(self) -> DepartmentRepository: ...

    @property
    def stock_counts(self) -> StockCountRepository: ...

    @property
    def counters(self) -> CounterRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def heads(self) -> ChainHeadRepository: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def observer_cursors(self) -> ObserverCursorRepository: ...

    @property
    def pi_requests(self) -> PiRequestRepository: ...

    @property
    def care_files(self) -> CareFileRepository: ...

    @property
    def complaints(self) -> ComplaintRepository: ...

    @property
    def visits(self) -> VisitRepository: ...

    @property
    def surveys(self) -> SurveyRepository: ...

    @property
    def care_tasks(self) -> CareTaskRepository: ...

    @property
    def memberships(self) -> MembershipRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make every change of this unit visible at once, or raise and keep none
        (StorageError in a read-only unit)."""
        ...

    def rollback(self) -> None: ...


class Storage(Protocol):
    """A storage back end opened from a URL: hands out units of work."""

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work. ``read_only=True`` promises it only reads: it must not
        take a write lock (readers never wait for a writer, nor block one), it sees
        committed data, and its ``commit()`` raises StorageError."""
        ...

    def migrate(self) -> None:
        """Bring the schema up to date (a no-op where there is none)."""
        ...

    def close(self) -> None: ...
