"""Follow-up plans (跟进频率) and follow-up records (跟进记录).

A plan says when a prospect is next due for a follow-up: its anchor (the
last follow-up, or the registration) plus the cadence for its grade and stage,
unless a follow-up set the next date by hand. Plans are derived from the
prospect, so regrading, advancing, winning, losing or transferring a prospect
re-derives its plan. A won prospect is a customer: it keeps a plan, on the
maintenance cadence ("认真为新老客户服务"). Dates here are local dates in the
configured zone; nothing reads a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple, Protocol, cast

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent, FrozenMap, ProspectId
from custmgmt.domain.prospects import Grade, Prospect, Stage
from custmgmt.domain.registrations import FirstPlans, RegistrationBatch
from custmgmt.domain.validation import (
    EARLIEST_DATE,
    LATEST_DATE,
    a_date,
    asked,
    aware,
    non_negative_int,
    of_type,
    optional,
    text,
    type_name,
    unchecked,
)
from custmgmt.errors import ConcurrencyError, FieldError, InvalidTransition, ValidationError


class Channel(enum.Enum):
    PHONE = "phone"
    EMAIL = "email"
    MAIL = "mail"
    """Materials sent by post."""
    VISIT = "visit"
    OTHER = "other"


class CadencePolicy(Protocol):
    """Days between follow-ups for a prospect's grade and pipeline stage (跟进计划:
    "根据不同的意向客户类别和业务进展情况"). Replaceable through a plugin.

    ``stage`` is CONTRACT_SIGNED for a won prospect (a customer being maintained).
    """

    def interval(self, grade: Grade, stage: Stage) -> int: ...


DEFAULT_CADENCE: Mapping[Grade, int] = {Grade.A: 7, Grade.B: 14, Grade.C: 30, Grade.D: 90}
DEFAULT_MAINTENANCE_DAYS = 30
"""Days between follow-ups of a won prospect (a customer), by default."""


def followed_up(stage: Stage) -> bool:
    """Whether a prospect in ``stage`` has a follow-up plan: open stages and won ones."""
    return stage is not Stage.LOST


def ordered_cadence(days: Mapping[Grade, int], field_name: str = "cadence_days") -> None:
    """A higher grade is never followed up less often than a lower one (高优先级更密集)."""
    for higher, lower in pairwise(Grade):
        if days[higher] > days[lower]:
            raise ValidationError(
                f"{field_name}.{higher.value}",
                f"grade {higher.value} ({days[higher]} days) would be followed up less often "
                f"than grade {lower.value} ({days[lower]} days)")


def ordered_cadence_days(value: object) -> FrozenMap[Grade, int]:
    days = cadence_days(value)
    ordered_cadence(days)
    return days


MAX_DAYS = 3650
"""No interval (cadence, protection window, cool-down) is longer than ten years."""


def asked_interval(policy: CadencePolicy, grade: Grade, stage: Stage) -> int:
    """The days ``policy`` puts between follow-ups of a prospect of ``grade`` in ``stage``:
    a whole number from 1 to ``MAX_DAYS``, as a configured cadence's are, else
    ``ValidationError`` naming the field ``interval`` (a plugin may answer anything, even
    an object whose ``__class__`` lies; an int subclass is read as its number). Its
    failure is refused by ``validation.asked``."""
    answer = asked("interval", "cadence policy", policy, "interval", grade, stage)
    kind = type(answer)
    if kind is bool or not issubclass(kind, int):
        raise ValidationError("interval", f"must be a whole number of days from 1 to "
                              f"{MAX_DAYS}, not {type_name(answer)}")
    days = int.__index__(cast(int, answer))  # an int subclass read as its number
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError("interval", f"must be a whole number of days from 1 to "
                              f"{MAX_DAYS}")
    return days


def cadence_days(value: object, field_name: str = "cadence_days") -> FrozenMap[Grade, int]:
    """1 to ``MAX_DAYS`` whole days for every grade (keys may be Grade or "A".."D")."""
    if not isinstance(value, Mapping):
        raise ValidationError(field_name, "must map each grade to a number of days")
    try:
        days = {Grade(getattr(k, "value", k)): v for k, v in value.items()}
    except (ValueError, TypeError):
        raise ValidationError(field_name, "keys must be the grades A, B, C, D") from None
    bad = [FieldError(f"{field_name}.{grade.value}", f"must be a whole number of days "
                      f"from 1 to {MAX_DAYS}")
           for grade in Grade
           if isinstance(n := days.get(grade), bool) or not isinstance(n, int)
           or not 1 <= n <= MAX_DAYS]
    if bad:
        raise ValidationError.of(bad)
    return FrozenMap(days)


def _positive_days(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ValidationError(attribute.name, f"must be a whole number of days from 1 to "
                              f"{MAX_DAYS}")


@frozen
class DefaultCadencePolicy:
    """A every 7 days, B 14, C 30, D 90 unless configured otherwise; a won prospect
    (a customer) every ``maintenance_days`` (30). The open stages share their grade's
    cadence."""

    days: FrozenMap[Grade, int] = field(factory=lambda: FrozenMap(DEFAULT_CADENCE),
                                        converter=ordered_cadence_days)
    maintenance_days: int = field(default=DEFAULT_MAINTENANCE_DAYS, validator=_positive_days)

    def interval(self, grade: Grade, stage: Stage) -> int:
        if stage is Stage.CONTRACT_SIGNED:
            return self.maintenance_days
        return self.days[grade]


@frozen(kw_only=True)
class FollowUpPlan:
    """When a prospect is next due, and for whom. No personal data."""

    prospect_id: ProspectId = field(validator=text(100))
    owner_id: str = field(validator=text(200))
    owner_team: str | None = None
    grade: Grade = field(validator=of_type(Grade))
    stage: Stage = field(default=Stage.INITIAL_CONTACT, validator=of_type(Stage))
    """The prospect's stage; CONTRACT_SIGNED: a customer on the maintenance cadence."""
    active: bool = True
    anchor: date = field(validator=a_date)
    """The last follow-up's local date, or the registration's."""
    override: date | None = field(default=None, validator=optional(a_date))
    """A next-due date a follow-up set by hand; regrading clears it."""
    next_due: date = field(validator=a_date)
    version: int = field(default=0, validator=non_negative_int)

    def days_late(self, on: date) -> int:
        return days_late(self.next_due, on)

    def by_cadence(self, policy: CadencePolicy, after: date) -> date:
        """When the cadence alone would have the next follow-up after ``after``."""
        return after + timedelta(days=asked_interval(policy, self.grade, self.stage))


def days_late(next_due: date, on: date) -> int:
    """How many days a follow-up due on ``next_due`` is late on ``on`` (0 if not yet)."""
    return max(0, (on - next_due).days)


class DueItem(NamedTuple):
    """One prospect waiting for a follow-up. No personal data: look the prospect up.

    A named tuple rather than an attrs class: a due list can hold thousands of rows,
    and building a frozen attrs instance costs about as much as reading the row."""

    prospect_id: str
    owner_id: str
    grade: Grade
    next_due: date
    days_late: int


def due_item(plan: FollowUpPlan, on: date) -> DueItem:
    return DueItem(plan.prospect_id, plan.owner_id, plan.grade, plan.next_due,
                   plan.days_late(on))


def by_priority(items: Iterable[DueItem]) -> list[DueItem]:
    """Grade first (A before D), then the most days late, then prospect id."""
    return sorted(items, key=lambda i: (i.grade.value, -i.days_late, i.prospect_id))


def derive_plan(
    prospect: Prospect,
    previous: FollowUpPlan | None,
    policy: CadencePolicy,
    today: date,
) -> FollowUpPlan:
    """The plan a prospect should have now, keeping what follow-ups already set.

    A new plan, or one coming back to life (a reopened prospect), starts today. A
    regrade drops a date set by hand; a change of stage keeps it only while it is not
    later than the new cadence.
    """
    active = followed_up(prospect.stage) and prospect.registration_active
    restart = previous is None or (active and not previous.active)
    anchor = today if restart or previous is None else previous.anchor
    regraded = previous is not None and previous.grade is not prospect.grade
    override = None if restart or regraded or previous is None else previous.override
    by_cadence = anchor + timedelta(days=asked_interval(policy, prospect.grade,
                                                        prospect.stage))
    if override is not None and override > by_cadence:
        override = None
    next_due = override or by_cadence
    fields: dict[str, Any] = {
        "prospect_id": prospect.id, "owner_id": prospect.owner_id,
        "owner_team": prospect.owner_team, "grade": prospect.grade,
        "stage": prospect.stage, "active": active,
        "anchor": anchor, "override": override, "next_due": next_due,
    }
    if previous is not None:
        return attrs.evolve(previous, **fields)
    # A new plan from a stored prospect (an import derives one per row) whose dates are in
    # range passes every validator of the plan: its id, owner, grade and stage passed the
    # prospect's own. Anything else is built by the validating constructor.
    proven = type(prospect) is Prospect and type(anchor) is date \
        and type(next_due) is date and EARLIEST_DATE <= anchor <= next_due <= LATEST_DATE
    return (_new_plan if proven else FollowUpPlan)(**fields)


_new_plan = unchecked(FollowUpPlan)


FIRST_STAGE = Stage.INITIAL_CONTACT
"""The stage a first plan is at: a new prospect's."""


def first_plans(
    batch: RegistrationBatch, policy: CadencePolicy, today: date
) -> list[FollowUpPlan]:
    """The plan of each prospect of ``batch``: what ``derive_plan`` gives a prospect just
    registered, due by its grade's cadence from ``today`` (the policy asked for each, as
    ``derive_plan`` asks it: a plugin may spread prospects over several days)."""
    in_range = type(today) is date and today >= EARLIEST_DATE
    dates = _first_due(batch.grades, policy, today)
    return [(_new_plan if in_range and type(due) is date and due <= LATEST_DATE
             else FollowUpPlan)(**fields)
            for due, fields in zip(dates, _plan_fields(batch, today, dates), strict=True)]


def first_plan_dates(grades: Sequence[Grade], policy: CadencePolicy, today: date) -> FirstPlans:
    """``first_plans`` of a batch with ``grades``, as the dates a batch carries to be
    written with its rows (``RegistrationBatch.plans``): no plan object a row."""
    return FirstPlans(anchor=today, next_due=tuple(_first_due(grades, policy, today)))


def first_plan_for(prospect: Prospect, plan: FollowUpPlan) -> FollowUpPlan:
    """``plan`` as stored with ``prospect`` just registered (version 1), if it is a first
    plan (version 0) of that prospect, with its owner and team; else ConcurrencyError,
    as ``plans.save`` refuses a plan not in step with its prospect."""
    if (plan.prospect_id, plan.owner_id, plan.owner_team, plan.version) != (
            prospect.id, prospect.owner_id, prospect.owner_team, 0):
        raise ConcurrencyError(f"plan of {plan.prospect_id!r} is not a first plan in step "
                               f"with prospect {prospect.id!r}")
    return attrs.evolve(plan, version=1)


def plans_of(batch: RegistrationBatch) -> list[FollowUpPlan]:
    """The plans ``batch.plans`` describes, as objects (version 0), for a storage that
    keeps plans as such; none without them. Its dates were checked by ``FirstPlans``."""
    if batch.plans is None:
        return []
    return [_new_plan(**fields)
            for fields in _plan_fields(batch, batch.plans.anchor, batch.plans.next_due)]


def _first_due(grades: Sequence[Grade], policy: CadencePolicy, today: date) -> list[date]:
    """Each row's first due date: ``today`` and its grade's interval at the first stage."""
    stage = FIRST_STAGE
    due_after: dict[int, date] = {}  # by the interval (a few distinct days)
    dates = []
    for grade in grades:
        days = asked_interval(policy, grade, stage)  # a row's own question, answer checked
        due = due_after.get(days)
        if due is None:
            due = due_after[days] = today + timedelta(days=days)
        dates.append(due)
    return dates


def _plan_fields(batch: RegistrationBatch, anchor: date, dates: Sequence[date]
                 ) -> Iterator[dict[str, Any]]:
    stage = FIRST_STAGE
    owner, team, active = batch.owner_id, batch.owner_team, followed_up(stage)
    for prospect_id, grade, due in zip(batch.ids, batch.grades, dates, strict=True):
        yield {"prospect_id": prospect_id, "owner_id": owner, "owner_team": team,
               "grade": grade, "stage": stage, "active": active, "anchor": anchor,
               "override": None, "next_due": due}


def after_follow_up(
    plan: FollowUpPlan, done_on: date, override: date | None, policy: CadencePolicy
) -> FollowUpPlan:
    """The plan moves forward: anchored on this follow-up, due again by cadence or by hand."""
    if override is not None and override < done_on:
        raise ValidationError("next_due", "must not be before the follow-up")
    anchor = max(plan.anchor, done_on)
    next_due = override or plan.by_cadence(policy, anchor)
    return attrs.evolve(plan, anchor=anchor, override=override, next_due=next_due)


def _channel(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, Channel):
        raise ValidationError(attribute.name, "must be one of: "
                              + ", ".join(c.value for c in Channel))


@frozen(kw_only=True)
class FollowUp:
    """One contact with a prospect and what was learned (跟进记录)."""

    id: str = field(validator=text(100))
    prospect_id: ProspectId = field(validator=text(100))
    owner_id: str = field(validator=text(200))
    owner_team: str | None = None
    by: str = field(validator=text(200))
    channel: Channel = field(validator=_channel)
    at: datetime = field(validator=aware)
    local_date: date = field(validator=a_date)
    summary: str = field(validator=text(4000))
    needs: str | None = field(default=None, validator=optional(text(4000)))
    problems: str | None = field(default=None, validator=optional(text(4000)))
    outcome: str | None = field(default=None, validator=optional(text(2000)))
    next_step: str | None = field(default=None, validator=optional(text(2000)))
    next_due: date | None = field(default=None, validator=optional(a_date))
    """A next-due date set by hand for this prospect."""
    due_on: date | None = field(default=None, validator=optional(a_date))
    """The date the plan said this follow-up was due by, when it was recorded."""
    recorded_at: datetime = field(validator=aware)
    stage: Stage | None = field(default=None, validator=optional(of_type(Stage)))
    """The prospect's pipeline stage when this follow-up was recorded."""
    reason: str | None = field(default=None, validator=optional(text(2000)))
    """Why a sales manager recorded it late or pushed the next one past the cadence."""
    recorded_by: str | None = field(default=None, validator=optional(text(200)))
    """Who entered it, when that is not ``by`` (a manager recording a salesperson's visit)."""

    @property
    def on_time(self) -> bool:
        return self.due_on is None or self.local_date <= self.due_on

    @property
    def is_visit(self) -> bool:
        return self.channel is Channel.VISIT


def check_can_follow_up(prospect: Prospect) -> None:
    """Open and won prospects are followed up (a won one is a customer); lost ones not."""
    if not followed_up(prospect.stage):
        raise InvalidTransition(prospect.stage.value, "follow_up",
                                "lost prospects are not followed up")


def visit_points(visits: Iterable[FollowUp]) -> dict[str, set[tuple[str, date]]]:
    """Visit points (业务积分) per person: one per prospect visited per local day
    ("每拜访一个客户积一分"), however many visit records that day has."""
    points: dict[str, set[tuple[str, date]]] = {}
    for visit in visits:
        if visit.is_visit:
            points.setdefault(visit.by, set()).add((visit.prospect_id, visit.local_date))
    return points


@frozen(kw_only=True)
class ClosedMonth:
    """A month whose report was closed (月结): it takes no more follow-up records.

    ``team`` None closes the month for everyone; otherwise for that team only.
    """

    month: str = field(validator=text(7))
    """``YYYY-MM``."""
    team: str | None = field(default=None, validator=optional(text(100)))
    closed_by: str = field(validator=text(200))
    closed_at: datetime = field(validator=aware)

    def covers(self, month: str, team: str | None) -> bool:
        return self.month == month and (self.team is None or self.team == team)


@frozen(kw_only=True)
class FollowUpRecorded(DomainEvent):
    prospect_id: ProspectId
    follow_up_id: str
    channel: Channel
    next_due: date
