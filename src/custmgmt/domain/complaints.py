"""Complaints (投诉处理与客户反馈): received, acknowledged in time, resolved, confirmed.

The policy asks for a complaint mechanism that answers in time and solves the
problem (及时回应客户的投诉和反馈,积极解决问题). A complaint is received (the
channel, what happened, a severity) and from then has two deadlines set per
severity (``Settings.complaint_acknowledge`` / ``complaint_resolve``): to be
acknowledged, and to be resolved. Resolved (what was done), the customer
confirms it, or it is reopened and has a new deadline to be resolved again.

A deadline is met by an action at or before it; the first instant after it, the
complaint is overdue and the escalation sweep tells the duty manager, once per
deadline (the complaint records that it was escalated for that deadline).

A deadline is a ``Within``: whole local days in the configured zone (the same
wall-clock time N days later, so 23 or 25 hours across a DST change) plus
hours of elapsed time.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent, FrozenMap
from custmgmt.domain.validation import aware, non_negative_int, of_type, optional, text
from custmgmt.errors import InvalidTransition, ValidationError

__all__ = [
    "AGE_BUCKETS",
    "DEFAULT_ACKNOWLEDGE",
    "DEFAULT_RESOLVE",
    "OPEN",
    "AgeBucket",
    "Complaint",
    "ComplaintAcknowledged",
    "ComplaintChannel",
    "ComplaintConfirmed",
    "ComplaintEntry",
    "ComplaintEscalated",
    "ComplaintReceived",
    "ComplaintReopened",
    "ComplaintResolved",
    "ComplaintState",
    "ComplaintStep",
    "Deadline",
    "Severity",
    "TimingLine",
    "Within",
    "average_minutes",
    "deadlines",
]


class Severity(enum.Enum):
    """How serious a complaint is; each has its own deadlines."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ComplaintChannel(enum.Enum):
    """How the complaint reached the business."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    EMAIL = "email"
    ONLINE = "online"
    """A review site, an app, a chat."""
    LETTER = "letter"
    OTHER = "other"


class ComplaintState(enum.Enum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    """Resolved by staff; waiting for the customer to confirm (or to reopen it)."""
    REOPENED = "reopened"
    """The customer was not satisfied with the resolution: to be resolved again."""
    CONFIRMED = "confirmed"
    """The customer confirmed the resolution: closed."""


OPEN = frozenset({ComplaintState.RECEIVED, ComplaintState.ACKNOWLEDGED,
                  ComplaintState.REOPENED})
"""States in which a complaint still waits for staff (a resolution)."""


class Deadline(enum.Enum):
    """Which of a complaint's deadlines: to acknowledge or to resolve."""

    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


def _span(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 366 * 24:
        raise ValidationError(name, "must be a whole number from 0 to 8784")
    return value


def _days(value: object) -> int:
    return _span(value, "days")


def _hours(value: object) -> int:
    return _span(value, "hours")


@frozen
class Within:
    """A deadline's length: ``days`` local calendar days (same wall-clock time, in the
    configured zone) plus ``hours`` elapsed hours. ``Within(hours=4)``, ``Within(days=3)``."""

    days: int = field(default=0, converter=_days)
    hours: int = field(default=0, converter=_hours)

    def __attrs_post_init__(self) -> None:
        if self.days == 0 and self.hours == 0:
            raise ValidationError("deadline", "must be at least one hour")
        if self.days > 366:
            raise ValidationError("days", "must be at most 366")

    def after(self, start: datetime, zone: tzinfo) -> datetime:
        """The deadline for something that started at ``start`` (UTC)."""
        local = start.astimezone(zone)
        wall = local.replace(tzinfo=None) + timedelta(days=self.days)
        # a wall-clock time that does not exist (spring forward) lands after the gap
        shifted = wall.replace(tzinfo=zone).astimezone(UTC)
        return shifted + timedelta(hours=self.hours)


DEFAULT_ACKNOWLEDGE: Mapping[Severity, Within] = FrozenMap({
    Severity.CRITICAL: Within(hours=1), Severity.HIGH: Within(hours=4),
    Severity.MEDIUM: Within(hours=12), Severity.LOW: Within(days=1)})
"""How long staff have to acknowledge a complaint, per severity."""
DEFAULT_RESOLVE: Mapping[Severity, Within] = FrozenMap({
    Severity.CRITICAL: Within(hours=24), Severity.HIGH: Within(days=2),
    Severity.MEDIUM: Within(days=3), Severity.LOW: Within(days=7)})
"""How long staff have to resolve a complaint (from receipt, or from a reopening)."""


def deadlines(value: object, name: str) -> FrozenMap[Severity, Within]:
    """A deadline for every severity (by member or value), or ValidationError naming
    the setting ``name``."""
    if not isinstance(value, Mapping):
        raise ValidationError(name, "must map every severity to a Within")
    out: dict[Severity, Within] = {}
    for key, within in value.items():
        try:
            severity = key if isinstance(key, Severity) else Severity(key)
        except (ValueError, TypeError):
            raise ValidationError(name, "keys must be severities: "
                                  + ", ".join(s.value for s in Severity)) from None
        if not isinstance(within, Within):
            raise ValidationError(name, "values must be Within(days=..., hours=...)")
        out[severity] = within
    missing = [s.value for s in Severity if s not in out]
    if missing:
        raise ValidationError(name, "has no deadline for " + ", ".join(missing))
    return FrozenMap({s: out[s] for s in Severity})


class ComplaintStep(enum.Enum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
    ESCALATED = "escalated"


@frozen(kw_only=True)
class ComplaintEntry:
    """One step in a complaint's life: what, who, when, and a note."""

    step: ComplaintStep
    by: str
    at: datetime = field(validator=aware)
    note: str | None = field(default=None, repr=False)


@frozen(kw_only=True)
class ComplaintReceived(DomainEvent):
    complaint_id: str
    customer_id: str
    severity: Severity


@frozen(kw_only=True)
class ComplaintAcknowledged(DomainEvent):
    complaint_id: str
    late: bool


@frozen(kw_only=True)
class ComplaintResolved(DomainEvent):
    complaint_id: str
    late: bool


@frozen(kw_only=True)
class ComplaintConfirmed(DomainEvent):
    complaint_id: str


@frozen(kw_only=True)
class ComplaintReopened(DomainEvent):
    complaint_id: str


@frozen(kw_only=True)
class ComplaintEscalated(DomainEvent):
    complaint_id: str
    deadline: Deadline
    due: str
    """The deadline that passed (ISO 8601, UTC)."""


Changed = tuple["Complaint", tuple[DomainEvent, ...]]


@frozen(kw_only=True)
class Complaint:
    """A customer's complaint and where it stands. ``acknowledge_due`` and
    ``resolve_due`` are instants (UTC); ``*_escalated`` say that the duty manager
    was told about the current deadline passing (reset when a reopening sets a new
    resolve deadline). ``summary`` and ``resolution`` are kept out of ``repr``."""

    id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    channel: ComplaintChannel = field(validator=of_type(ComplaintChannel))
    severity: Severity = field(validator=of_type(Severity))
    summary: str = field(validator=text(4000), repr=False)
    """What happened, as the customer told it."""
    service: str | None = field(default=None, validator=optional(text(100)))
    """Which service it is about (room, restaurant, front desk ...), if known."""
    visit_id: str | None = field(default=None, validator=optional(text(100)))
    received_at: datetime = field(validator=aware)
    received_by: str = field(validator=text(200))
    received_day: date
    """The local date of receipt in the configured zone (reports group by it)."""
    acknowledge_due: datetime = field(validator=aware)
    resolve_due: datetime = field(validator=aware)
    state: ComplaintState = ComplaintState.RECEIVED
    acknowledged_at: datetime | None = field(default=None, validator=optional(aware))
    resolved_at: datetime | None = field(default=None, validator=optional(aware))
    """The latest resolution."""
    first_resolved_at: datetime | None = field(default=None, validator=optional(aware))
    resolution: str | None = field(default=None, repr=False)
    confirmed_at: datetime | None = field(default=None, validator=optional(aware))
    acknowledged_late: bool = False
    """Acknowledged after its deadline."""
    resolved_late: bool = False
    """First resolved after the resolve deadline it had then."""
    acknowledge_escalated: bool = False
    resolve_escalated: bool = False
    history: tuple[ComplaintEntry, ...] = ()
    version: int = field(default=0, validator=non_negative_int)

    @property
    def is_open(self) -> bool:
        """Still waiting for staff: received, acknowledged or reopened."""
        return self.state in OPEN

    @property
    def seconds_to_acknowledge(self) -> int | None:
        if self.acknowledged_at is None:
            return None
        return int((self.acknowledged_at - self.received_at).total_seconds())

    @property
    def seconds_to_resolve(self) -> int | None:
        """From receipt to the first resolution."""
        if self.first_resolved_at is None:
            return None
        return int((self.first_resolved_at - self.received_at).total_seconds())

    @classmethod
    def receive(
        cls, *, id: str, customer_id: str, channel: ComplaintChannel, severity: Severity,
        summary: str, service: str | None, visit_id: str | None, by: str, at: datetime,
        zone: tzinfo, acknowledge_within: Within, resolve_within: Within,
    ) -> Changed:
        complaint = cls(
            id=id, customer_id=customer_id, channel=channel, severity=severity,
            summary=summary, service=service, visit_id=visit_id, received_at=at,
            received_by=by, received_day=at.astimezone(zone).date(),
            acknowledge_due=acknowledge_within.after(at, zone),
            resolve_due=resolve_within.after(at, zone),
            history=(ComplaintEntry(step=ComplaintStep.RECEIVED, by=by, at=at),))
        return complaint, (ComplaintReceived(actor_id=by, occurred_at=at, complaint_id=id,
                                             customer_id=customer_id, severity=severity),)

    def _step(self, step: ComplaintStep, by: str, at: datetime, note: str | None = None,
              **changes: object) -> Complaint:
        entry = ComplaintEntry(step=step, by=by, at=at, note=note)
        return attrs.evolve(self, history=(*self.history, entry), **changes)  # type: ignore[arg-type]

    def _refuse(self, wanted: ComplaintState, *allowed: ComplaintState) -> None:
        if self.state not in allowed:
            raise InvalidTransition(self.state.value, wanted.value,
                                    "allowed from " + ", ".join(s.value for s in allowed))

    def acknowledge(self, *, by: str, at: datetime, note: str | None = None) -> Changed:
        """Staff tell the customer the complaint is being handled (RECEIVED only)."""
        self._refuse(ComplaintState.ACKNOWLEDGED, ComplaintState.RECEIVED)
        changed = self._step(ComplaintStep.ACKNOWLEDGED, by, at, note,
                             state=ComplaintState.ACKNOWLEDGED, acknowledged_at=at,
                             acknowledged_late=at > self.acknowledge_due)
        return changed, (ComplaintAcknowledged(actor_id=by, occurred_at=at, complaint_id=self.id,
                                               late=at > self.acknowledge_due),)

    def resolve(self, *, resolution: str, by: str, at: datetime) -> Changed:
        """What was done about it (after acknowledging, or after a reopening)."""
        self._refuse(ComplaintState.RESOLVED, ComplaintState.ACKNOWLEDGED,
                     ComplaintState.REOPENED)
        first = self.first_resolved_at is None
        changed = self._step(ComplaintStep.RESOLVED, by, at, resolution,
                             state=ComplaintState.RESOLVED, resolved_at=at,
                             first_resolved_at=at if first else self.first_resolved_at,
                             resolved_late=(at > self.resolve_due) if first
                             else self.resolved_late, resolution=resolution)
        return changed, (ComplaintResolved(actor_id=by, occurred_at=at, complaint_id=self.id,
                                           late=at > self.resolve_due),)

    def confirm(self, *, by: str, at: datetime, note: str | None = None) -> Changed:
        """The customer confirms the resolution: closed."""
        self._refuse(ComplaintState.CONFIRMED, ComplaintState.RESOLVED)
        changed = self._step(ComplaintStep.CONFIRMED, by, at, note,
                             state=ComplaintState.CONFIRMED, confirmed_at=at)
        return changed, (ComplaintConfirmed(actor_id=by, occurred_at=at, complaint_id=self.id),)

    def reopen(self, *, reason: str, by: str, at: datetime, zone: tzinfo,
               resolve_within: Within) -> Changed:
        """The customer is not satisfied: to be resolved again, by a new deadline counted
        from now (which may be escalated again)."""
        self._refuse(ComplaintState.REOPENED, ComplaintState.RESOLVED)
        changed = self._step(ComplaintStep.REOPENED, by, at, reason,
                             state=ComplaintState.REOPENED,
                             resolve_due=resolve_within.after(at, zone),
                             resolve_escalated=False)
        return changed, (ComplaintReopened(actor_id=by, occurred_at=at, complaint_id=self.id),)

    def overdue(self, now: datetime) -> tuple[Deadline, ...]:
        """The deadlines passed at ``now`` (strictly after them) and not escalated yet."""
        found: list[Deadline] = []
        if (self.state is ComplaintState.RECEIVED and not self.acknowledge_escalated
                and now > self.acknowledge_due):
            found.append(Deadline.ACKNOWLEDGE)
        if self.is_open and not self.resolve_escalated and now > self.resolve_due:
            found.append(Deadline.RESOLVE)
        return tuple(found)

    def escalated(self, deadline: Deadline, *, by: str, at: datetime) -> Changed:
        """Record that the duty manager was told ``deadline`` passed."""
        due = self.acknowledge_due if deadline is Deadline.ACKNOWLEDGE else self.resolve_due
        flag = ("acknowledge_escalated" if deadline is Deadline.ACKNOWLEDGE
                else "resolve_escalated")
        changed = self._step(ComplaintStep.ESCALATED, by, at, deadline.value, **{flag: True})
        return changed, (ComplaintEscalated(actor_id=by, occurred_at=at, complaint_id=self.id,
                                            deadline=deadline, due=due.isoformat()),)


# -- reports ---------------------------------------------------------------------------

@frozen(kw_only=True)
class AgeBucket:
    """Open complaints received at least ``min_hours`` and less than ``max_hours`` ago
    (``None``: no upper bound)."""

    label: str
    min_hours: int
    max_hours: int | None
    count: int


AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("under 1 day", 0, 24), ("1-3 days", 24, 72), ("3-7 days", 72, 168),
    ("over 7 days", 168, None))
"""The age buckets of the open-complaints report: label, from hours, to hours."""


@frozen(kw_only=True)
class TimingLine:
    """Of the complaints received in one local month: how many, the average time to
    acknowledge and to (first) resolve them in minutes (None if none was), and how
    many of those were late."""

    month: str
    received: int
    acknowledged: int
    average_acknowledge_minutes: Decimal | None
    acknowledged_late: int
    resolved: int
    average_resolve_minutes: Decimal | None
    resolved_late: int


def average_minutes(total_seconds: int, count: int) -> Decimal | None:
    """``total_seconds / count`` in minutes, to one decimal place (None if ``count`` is 0)."""
    if count == 0:
        return None
    return (Decimal(total_seconds) / Decimal(60 * count)).quantize(Decimal("0.1"),
                                                                    rounding=ROUND_HALF_UP)
