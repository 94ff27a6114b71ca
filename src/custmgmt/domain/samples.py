"""Customer samples (客户来样): receipt, registry, use, feedback, and a chain of custody.

Every change of custody, location or quantity appends a ``CustodyEvent`` that
carries the SHA-256 of the event before it. The sample itself keeps the head
hash and the length of its chain, so editing, deleting, inserting, reordering
or cutting off events is detected by ``verify_chain``. At every moment one
custodian holds the sample, and quantities are conserved:
received = in storage + checked out + consumed + disposed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
from attrs import field, frozen

from custmgmt.domain import legacy_hashes
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.integrity import (
    CUSTODY_EVENT,
    GENESIS,
    SAMPLE_RECORD,
    canonical_bytes,
    record_hash,
    sha256_hex,
)
from custmgmt.domain.quantities import exact, quantity
from custmgmt.domain.validation import aware, non_negative_int, of_type, optional, text
from custmgmt.errors import FieldError, IntegrityError, InvalidTransition, ValidationError


@frozen(kw_only=True)
class SampleInfo:
    """What the receiver checks at receipt (第七条): nothing may be missing."""

    customer_id: str
    sample_name: str
    quantity: Decimal
    unit: str
    description: str
    requested_work: str

    @classmethod
    def checked(cls, **given: object) -> SampleInfo:
        """Build it, or raise ValidationError naming every missing or bad field."""
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        for name in ("customer_id", "sample_name", "unit", "description", "requested_work"):
            raw = given.get(name)
            if not isinstance(raw, str) or not raw.strip():
                errors.append(FieldError(name, "is missing"))
            else:
                values[name] = raw.strip()
        try:
            values["quantity"] = quantity(given.get("quantity"))
        except ValidationError as error:
            errors.append(FieldError("quantity", "is missing" if given.get("quantity") is None
                                     else error.message))
        if errors:
            raise ValidationError.of(errors)
        return cls(**values)


@frozen(kw_only=True)
class Hazard:
    """A hazardous chemical's class and the handling procedure it must follow (第九条)."""

    hazard_class: str = field(validator=text(100))
    handling_procedure: str = field(validator=text(200))


class Light(enum.Enum):
    ANY = "any"
    DARK = "dark"


@frozen(kw_only=True)
class StorageCondition:
    """Special storage conditions (第十三条) and the label that says so."""

    min_celsius: Decimal | None = field(default=None, validator=optional(of_type(Decimal)))
    max_celsius: Decimal | None = field(default=None, validator=optional(of_type(Decimal)))
    light: Light = field(default=Light.ANY, validator=of_type(Light))
    max_humidity_percent: int | None = field(default=None, validator=optional(of_type(int)))
    segregation: str | None = field(default=None, validator=optional(text(200)))

    def __attrs_post_init__(self) -> None:
        low, high = self.min_celsius, self.max_celsius
        if low is not None and high is not None and low > high:
            raise ValidationError("max_celsius", "must not be below min_celsius")
        humidity = self.max_humidity_percent
        if humidity is not None and not 0 <= humidity <= 100:
            raise ValidationError("max_humidity_percent", "must be between 0 and 100")

    @property
    def label(self) -> str:
        parts = []
        if self.min_celsius is not None or self.max_celsius is not None:
            low = "" if self.min_celsius is None else f"{self.min_celsius}"
            high = "" if self.max_celsius is None else f"{self.max_celsius}"
            parts.append(f"store at {low}..{high} °C")
        if self.light is Light.DARK:
            parts.append("keep dark")
        if self.max_humidity_percent is not None:
            parts.append(f"humidity <= {self.max_humidity_percent}%")
        if self.segregation:
            parts.append(f"segregate: {self.segregation}")
        return "; ".join(parts) or "no special conditions"


class SampleState(enum.Enum):
    RECEIVED = "received"
    REGISTERED = "registered"
    DISPOSED = "disposed"


class ApplicationStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    CHECKED_OUT = "checked_out"
    RETURNED = "returned"
    CONSUMED = "consumed"
    DISPOSED = "disposed"
    """A single-use sample's remainder after use went to disposal, not back to stock."""

    @property
    def used(self) -> bool:
        """The applicant is done with it: feedback may follow."""
        return self in (ApplicationStatus.RETURNED, ApplicationStatus.CONSUMED,
                        ApplicationStatus.DISPOSED)


@frozen(kw_only=True)
class UseApplication:
    """An application to use a sample (第十六条): who, why, how much, until when."""

    id: str
    applicant: str
    purpose: str
    quantity: Decimal
    expected_return: date | None
    status: ApplicationStatus = ApplicationStatus.PENDING
    approved_by: str | None = None
    hazard_approved_by: str | None = None
    taken: Decimal = Decimal(0)
    used: Decimal = Decimal(0)
    issued_by: str | None = None
    """The registry member who checked it out: custodian again of what is left."""


class FeedbackStatus(enum.Enum):
    SUBMITTED = "submitted"
    ARCHIVED = "archived"
    """Reviewed and archived by the registry; the report to the customer is queued."""


NONE_GIVEN = "none"
"""Feedback text meaning "nothing to say" for problems or suggestions, given explicitly."""


@frozen(kw_only=True)
class Feedback:
    """A user's feedback after use (第二十一、二十二条): effect, problems, suggestions,
    each given or explicitly "none"; the registry archives it (第二十三条)."""

    id: str
    user: str
    """Who used the sample and whose feedback this is."""
    filed_by: str
    """The user, or the registry member who filed it on the user's behalf."""
    effect: str
    problems: str
    suggestions: str
    submitted_at: datetime = field(validator=aware)
    status: FeedbackStatus = FeedbackStatus.SUBMITTED
    archived_by: str | None = None
    archived_at: datetime | None = None
    review_note: str | None = None


class CustodyKind(enum.Enum):
    RECEIVED = "received"
    ANOMALY = "anomaly"
    REGISTERED = "registered"
    DISTRIBUTED = "distributed"
    APPLIED = "applied"
    APPROVED = "approved"
    HAZARD_APPROVED = "hazard_approved"
    CHECKED_OUT = "checked_out"
    USED = "used"
    RETURNED = "returned"
    DISPOSED = "disposed"
    FEEDBACK = "feedback"
    """Effect, problems and suggestions after use, as the user submitted them."""
    FEEDBACK_ARCHIVED = "feedback_archived"
    """The registry reviewed and archived the feedback; the report goes to the customer."""
    DISTRIBUTION_APPROVED = "distribution_approved"
    """A safety officer's approval to distribute a hazardous sample to a recipient."""


@frozen(kw_only=True)
class CustodyEvent:
    """One link of the chain. ``details`` holds no personal data."""

    sample_id: str
    sequence: int
    kind: CustodyKind
    at: datetime = field(validator=aware)
    actor_id: str
    custodian: str
    location: str | None
    in_storage: Decimal
    checked_out: Decimal
    consumed: Decimal
    disposed: Decimal
    details: tuple[tuple[str, str], ...] = ()
    record: str = ""
    """The digest of the whole sample record as this event left it (``record_digest``)."""
    previous_hash: str = GENESIS
    hash: str = ""


def event_hash(event: CustodyEvent) -> str:
    """SHA-256 of the event's canonical bytes (``domain.integrity``), its own hash aside."""
    return record_hash(CUSTODY_EVENT, event)


@frozen(kw_only=True)
class SampleEvent(DomainEvent):
    sample_id: str
    kind: CustodyKind


@frozen(kw_only=True)
class Sample:
    """A customer's sample and where it stands. Quantities are exact Decimals."""

    id: str = field(validator=text(100))
    number: str | None = None
    info: SampleInfo = field(validator=of_type(SampleInfo))
    hazard: Hazard | None = None
    state: SampleState = SampleState.RECEIVED
    custodian: str = field(validator=text(200))
    location: str | None = None
    classification: str | None = None
    storage: StorageCondition | None = None
    single_use: bool = False
    received: Decimal
    in_storage: Decimal
    checked_out: Decimal = Decimal(0)
    consumed: Decimal = Decimal(0)
    disposed: Decimal = Decimal(0)
    applications: tuple[UseApplication, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    distribution_approval: tuple[str, str] | None = None
    """(recipient, safety officer) of a hazardous sample's pending distribution."""
    head_hash: str = GENESIS
    chain_length: int = field(default=0, validator=non_negative_int)
    version: int = field(default=0, validator=non_negative_int)

    @property
    def is_hazardous(self) -> bool:
        return self.hazard is not None

    def ensure_conserved(self) -> None:
        """received = in storage + checked out + consumed + disposed, none negative."""
        total = self.in_storage + self.checked_out + self.consumed + self.disposed
        if total != self.received or min(self.in_storage, self.checked_out, self.consumed,
                                         self.disposed) < 0:
            raise InvalidTransition(self.state.value, "unbalanced", "quantities not conserved")

    def application(self, application_id: str) -> UseApplication:
        for app in self.applications:
            if app.id == application_id:
                return app
        raise ValidationError("application_id", "no such application for this sample")

    def feedback_entry(self, feedback_id: str) -> Feedback:
        for entry in self.feedback:
            if entry.id == feedback_id:
                return entry
        raise ValidationError("feedback_id", "no such feedback for this sample")

    def with_feedback(self, entry: Feedback) -> Sample:
        return attrs.evolve(self, feedback=tuple(
            entry if f.id == entry.id else f for f in self.feedback))

    def with_application(self, app: UseApplication) -> Sample:
        return attrs.evolve(self, applications=tuple(
            app if a.id == app.id else a for a in self.applications))

    def ensure_live(self, action: str) -> None:
        if self.state is SampleState.DISPOSED:
            raise InvalidTransition(self.state.value, action, "the sample is no longer in use")


Changed = tuple[Sample, CustodyEvent]

NOT_IN_RECORD = ("head_hash", "chain_length", "version")
"""Sample fields the record digest leaves out: the chain and the storage keep them."""


def record_digest(sample: Sample) -> str:
    """SHA-256 of the sample's canonical bytes, chain head and version aside."""
    return sha256_hex(canonical_bytes(SAMPLE_RECORD, sample, without=NOT_IN_RECORD))


def state_after(state: SampleState, event: CustodyEvent) -> SampleState:
    """The state a sample is in after ``event``: registered by its registration, disposed
    of once a disposal leaves nothing in storage and nothing out."""
    if event.kind is CustodyKind.REGISTERED:
        return SampleState.REGISTERED
    if event.kind is CustodyKind.DISPOSED and event.in_storage == 0 and event.checked_out == 0:
        return SampleState.DISPOSED
    return state


@frozen(kw_only=True)
class Replayed:
    """What a sample must look like, by its custody events alone."""

    state: SampleState
    number: str | None
    custodian: str
    location: str | None
    received: Decimal
    in_storage: Decimal
    checked_out: Decimal
    consumed: Decimal
    disposed: Decimal

    @classmethod
    def of(cls, events: Sequence[CustodyEvent]) -> Replayed:
        first, last = events[0], events[-1]
        state, number = SampleState.RECEIVED, None
        for event in events:
            state = state_after(state, event)
            if event.kind is CustodyKind.REGISTERED:
                number = dict(event.details).get("number")
        with exact():
            received = first.in_storage + first.checked_out + first.consumed + first.disposed
        return cls(state=state, number=number, custodian=last.custodian,
                   location=last.location, received=received, in_storage=last.in_storage,
                   checked_out=last.checked_out, consumed=last.consumed,
                   disposed=last.disposed)

    def differences(self, sample: Sample) -> list[str]:
        """The names of the fields where ``sample`` is not what the events say."""
        return [a.name for a in attrs.fields(Replayed)
                if getattr(sample, a.name) != getattr(self, a.name)]


class Chain:
    """Appends custody events to a sample, linking each to the one before; checks a chain.

    The bytes hashed are fixed by ``custmgmt.domain.integrity``, not by any converter.
    """

    def link(
        self, before: Sample, after: Sample, kind: CustodyKind, *, actor: str, at: datetime,
        details: Mapping[str, str] | None = None,
    ) -> Changed:
        with exact():
            after.ensure_conserved()
        draft = CustodyEvent(
            sample_id=after.id, sequence=before.chain_length, kind=kind,
            at=at.astimezone(UTC),  # stored in UTC, so hashed in UTC
            actor_id=actor,
            custodian=after.custodian, location=after.location, in_storage=after.in_storage,
            checked_out=after.checked_out, consumed=after.consumed, disposed=after.disposed,
            details=tuple(sorted((details or {}).items())), record=record_digest(after),
            previous_hash=before.head_hash,
        )
        event = attrs.evolve(draft, hash=event_hash(draft))
        linked = attrs.evolve(after, head_hash=event.hash, chain_length=before.chain_length + 1)
        return linked, event

    def verify(self, sample: Sample, events: Sequence[CustodyEvent]) -> None:
        """Raise IntegrityError naming the first event that does not hold, or the part
        of the stored sample that is not what its events say."""
        previous = GENESIS
        written_by_0_1 = legacy_hashes.custody_prefix(events)
        for index, event in enumerate(events):
            if event.sample_id != sample.id or event.sequence != index:
                raise IntegrityError(f"sample {sample.id}: event {index} is missing, "
                                     "inserted or out of order")
            if event.previous_hash != previous:
                raise IntegrityError(f"sample {sample.id}: event {index} does not follow "
                                     "the event before it")
            if index >= written_by_0_1 and event_hash(event) != event.hash:
                raise IntegrityError(f"sample {sample.id}: event {index} was edited")
            previous = event.hash
        if len(events) != sample.chain_length or previous != sample.head_hash:
            raise IntegrityError(f"sample {sample.id}: the chain ends at event {len(events)}, "
                                 f"the sample expects {sample.chain_length} events")
        self.verify_record(sample, events)

    def verify_record(self, sample: Sample, events: Sequence[CustodyEvent]) -> None:
        """The stored sample must be what its (already checked) events give when replayed,
        and exactly the record the newest event was written for."""
        if not events:
            raise IntegrityError(f"sample {sample.id}: it has no custody events")
        differing = Replayed.of(events).differences(sample)
        if differing:
            raise IntegrityError(f"sample {sample.id}: the stored {', '.join(differing)} "
                                 "differ from what its custody events give")
        if events[-1].record == "" and legacy_hashes.custody_prefix(events) == len(events):
            return  # 0.1.0 kept no record digest: the replay above is what can be checked
        if events[-1].record != record_digest(sample):
            raise IntegrityError(f"sample {sample.id}: the stored record differs from the "
                                 f"one event {len(events) - 1} was written for")
