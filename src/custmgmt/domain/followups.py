"""Follow-up plans (跟进频率) and follow-up records (跟进记录).

A plan says when a prospect is next due for a follow-up: its anchor (the
last follow-up, or the registration) plus the cadence for its grade, unless a
follow-up set the next date by hand. Plans are derived from the prospect, so
regrading, winning, losing or transferring a prospect re-derives its plan.
Dates here are local dates in the configured zone; nothing reads a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent, ProspectId
from custmgmt.domain.prospects import Grade, Prospect
from custmgmt.domain.validation import a_date, aware, non_negative_int, of_type, optional, text
from custmgmt.errors import InvalidTransition, ValidationError


class Channel(enum.Enum):
    PHONE = "phone"
    EMAIL = "email"
    MAIL = "mail"
    """Materials sent by post."""
    VISIT = "visit"
    OTHER = "other"


class CadencePolicy(Protocol):
    """Days between follow-ups for a grade. Replaceable through a plugin."""

    def interval(self, grade: Grade) -> int: ...


DEFAULT_CADENCE: Mapping[Grade, int] = {Grade.A: 7, Grade.B: 14, Grade.C: 30, Grade.D: 90}


def cadence_days(value: object, field_name: str = "cadence_days") -> dict[Grade, int]:
    """A whole number of days >= 1 for every grade (keys may be Grade or "A".."D")."""
    if not isinstance(value, Mapping):
        raise ValidationError(field_name, "must map each grade to a number of days")
    try:
        days = {Grade(getattr(k, "value", k)): v for k, v in value.items()}
    except ValueError:
        raise ValidationError(field_name, "keys must be the grades A, B, C, D") from None
    for grade in Grade:
        n = days.get(grade)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValidationError(f"{field_name}.{grade.value}",
                                  "must be a whole number of days >= 1")
    return days


@frozen
class DefaultCadencePolicy:
    """A every 7 days, B 14, C 30, D 90 unless configured otherwise."""

    days: dict[Grade, int] = field(factory=lambda: dict(DEFAULT_CADENCE),
                                   converter=cadence_days)

    def interval(self, grade: Grade) -> int:
        return self.days[grade]


@frozen(kw_only=True)
class FollowUpPlan:
    """When a prospect is next due, and for whom. No personal data."""

    prospect_id: ProspectId = field(validator=text(100))
    owner_id: str = field(validator=text(200))
    owner_team: str | None = None
    grade: Grade = field(validator=of_type(Grade))
    active: bool = True
    anchor: date = field(validator=a_date)
    """The last follow-up's local date, or the registration's."""
    override: date | None = field(default=None, validator=optional(a_date))
    """A next-due date a follow-up set by hand; regrading clears it."""
    next_due: date = field(validator=a_date)
    version: int = field(default=0, validator=non_negative_int)

    def days_late(self, on: date) -> int:
        return max(0, (on - self.next_due).days)


def derive_plan(
    prospect: Prospect,
    previous: FollowUpPlan | None,
    policy: CadencePolicy,
    today: date,
) -> FollowUpPlan:
    """The plan a prospect should have now, keeping what follow-ups already set.

    A new plan, or one coming back to life (a reopened prospect), starts today.
    """
    active = prospect.stage.is_open and prospect.registration_active
    restart = previous is None or (active and not previous.active)
    anchor = today if restart or previous is None else previous.anchor
    regraded = previous is not None and previous.grade is not prospect.grade
    override = None if restart or regraded or previous is None else previous.override
    next_due = override or anchor + timedelta(days=policy.interval(prospect.grade))
    fields: dict[str, Any] = {
        "prospect_id": prospect.id, "owner_id": prospect.owner_id,
        "owner_team": prospect.owner_team, "grade": prospect.grade,
        "active": active,
        "anchor": anchor, "override": override, "next_due": next_due,
    }
    if previous is None:
        return FollowUpPlan(**fields)
    return attrs.evolve(previous, **fields)


def after_follow_up(
    plan: FollowUpPlan, done_on: date, override: date | None, policy: CadencePolicy
) -> FollowUpPlan:
    """The plan moves forward: anchored on this follow-up, due again by cadence or by hand."""
    if override is not None and override < done_on:
        raise ValidationError("next_due", "must not be before the follow-up")
    anchor = max(plan.anchor, done_on)
    next_due = override or anchor + timedelta(days=policy.interval(plan.grade))
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

    @property
    def on_time(self) -> bool:
        return self.due_on is None or self.local_date <= self.due_on

    @property
    def is_visit(self) -> bool:
        return self.channel is Channel.VISIT


def check_can_follow_up(prospect: Prospect) -> None:
    if not prospect.stage.is_open:
        raise InvalidTransition(prospect.stage.value, "follow_up",
                                "won and lost prospects are not followed up")


@frozen(kw_only=True)
class FollowUpRecorded(DomainEvent):
    prospect_id: ProspectId
    follow_up_id: str
    channel: Channel
    next_due: date
