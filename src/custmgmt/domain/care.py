"""The customer file of customer care (酒店客户管理 一、二): when a customer usually
comes, what they prefer, and what front-line staff see when serving them.

The policy asks a service business to collect each customer's usual stay (or
visit) periods (常用住房时段) and to serve them by their needs and preferences
(根据客户的需求和偏好,提供个性化的服务). A ``CareFile`` keeps that beside the
customer (one file per customer id); ``Brief`` is what someone at the front
desk is shown: the preferences and the membership tier, the contacts masked
unless their role may read them, nothing else.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.validation import (
    a_date,
    aware,
    clean_text,
    non_negative_int,
    of_type,
    optional,
    text,
)
from custmgmt.errors import ValidationError

__all__ = [
    "MAX_TAGS", "Brief", "CareFile", "CareFileChanged", "Preferences", "StayPattern",
    "VisitKind", "birthdays_on", "month_day",
]

MAX_TAGS = 30
"""A preference file holds at most this many free-form tags."""


def _numbers(low: int, high: int, name: str) -> Any:
    def convert(value: object) -> tuple[int, ...]:
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise ValidationError(name, f"must be a collection of numbers {low}..{high}")
        items = tuple(value)
        if len(items) > 31 or not all(type(v) is int and low <= v <= high for v in items):
            raise ValidationError(name, f"must be numbers from {low} to {high}")
        return tuple(sorted(set(items)))

    return convert


def _weekdays(value: object) -> tuple[int, ...]:
    return _numbers(0, 6, "weekdays")(value)  # type: ignore[no-any-return]


def _months(value: object) -> tuple[int, ...]:
    return _numbers(1, 12, "months")(value)  # type: ignore[no-any-return]


@frozen(kw_only=True)
class StayPattern:
    """When a customer usually comes (常用住房时段): on which weekdays (0 Monday ..
    6 Sunday) and in which months (1..12); empty means "any". ``note`` says it in
    words ("Spring Festival", "business trips mid-week")."""

    weekdays: tuple[int, ...] = field(default=(), converter=_weekdays)
    months: tuple[int, ...] = field(default=(), converter=_months)
    note: str | None = field(default=None, validator=optional(text(200)))

    def __attrs_post_init__(self) -> None:
        if not self.weekdays and not self.months and self.note is None:
            raise ValidationError("usual_periods", "a period needs weekdays, months or a note")


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("tags", "must be a collection of short texts")
    items = tuple(value)
    if len(items) > MAX_TAGS:
        raise ValidationError("tags", f"must hold at most {MAX_TAGS} tags")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item) > 50:
            raise ValidationError("tags", "every tag must be text of 1 to 50 characters")
        tag = item.strip()
        clean_text("tags", tag)
        if tag not in out:
            out.append(tag)
    return tuple(out)


@frozen(kw_only=True)
class Preferences:
    """What a customer prefers: room (or table, or seat) type, floor, diet, the
    language to be served in, and free-form tags ("quiet room", "extra pillow")."""

    room_type: str | None = field(default=None, validator=optional(text(100)))
    floor: str | None = field(default=None, validator=optional(text(50)))
    """"high", "low", "3" ... as the customer put it."""
    diet: str | None = field(default=None, validator=optional(text(200)))
    language: str | None = field(default=None, validator=optional(text(50)))
    tags: tuple[str, ...] = field(default=(), converter=_tags)


class VisitKind(enum.Enum):
    """A stay (hotel nights) or a visit (a meal, an appointment, a service call)."""

    STAY = "stay"
    VISIT = "visit"


@frozen(kw_only=True)
class CareFileChanged(DomainEvent):
    """A customer's preferences or usual periods changed (the names of what changed)."""

    customer_id: str
    fields: tuple[str, ...]


@frozen(kw_only=True)
class CareFile:
    """The care file kept on a customer (one per customer id): preferences and usual
    periods. Versioned like every aggregate (0: never stored)."""

    customer_id: str = field(validator=text(100))
    preferences: Preferences = field(factory=Preferences, validator=of_type(Preferences))
    usual_periods: tuple[StayPattern, ...] = field(default=())
    birthday: date | None = field(default=None, validator=optional(a_date), repr=False)
    """For birthday greetings (the year may be unknown: any year will do)."""
    updated_at: datetime | None = field(default=None, validator=optional(aware))
    updated_by: str | None = field(default=None, validator=optional(text(200)))
    version: int = field(default=0, validator=non_negative_int)

    @usual_periods.validator
    def _periods(self, _attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple) or not all(isinstance(p, StayPattern) for p in value):
            raise ValidationError("usual_periods", "must be StayPattern values")
        if len(value) > 12:
            raise ValidationError("usual_periods", "must hold at most 12 periods")

    def changed(
        self, *, preferences: Preferences, usual_periods: tuple[StayPattern, ...], by: str,
        at: datetime,
    ) -> tuple[CareFile, tuple[DomainEvent, ...]]:
        """This file with new preferences and periods; no event if nothing changed."""
        names = tuple(a.name for a in attrs.fields(Preferences)
                      if getattr(preferences, a.name) != getattr(self.preferences, a.name))
        if usual_periods != self.usual_periods:
            names = (*names, "usual_periods")
        if not names:
            return self, ()
        changed = attrs.evolve(self, preferences=preferences, usual_periods=usual_periods,
                               updated_at=at, updated_by=by)
        return changed, (CareFileChanged(actor_id=by, occurred_at=at,
                                         customer_id=self.customer_id, fields=names),)

    def born(self, birthday: date | None, *, by: str, at: datetime
             ) -> tuple[CareFile, tuple[DomainEvent, ...]]:
        """This file with the customer's birthday set (or cleared)."""
        if birthday == self.birthday:
            return self, ()
        changed = attrs.evolve(self, birthday=birthday, updated_at=at, updated_by=by)
        return changed, (CareFileChanged(actor_id=by, occurred_at=at,
                                         customer_id=self.customer_id, fields=("birthday",)),)


def month_day(day: date) -> str:
    """``MM-DD`` of a date: how birthdays are looked up."""
    return day.strftime("%m-%d")


def birthdays_on(day: date) -> tuple[str, ...]:
    """The ``MM-DD`` of the birthdays celebrated on ``day``: 29 February is celebrated on
    28 February in a year without it."""
    found = [month_day(day)]
    if (day.month, day.day) == (2, 28):
        try:
            day.replace(day=29)
        except ValueError:
            found.append("02-29")
    return tuple(found)


@frozen(kw_only=True)
class Brief:
    """What front-line staff see when serving a customer, and nothing more: the name
    to greet them by, contacts (masked unless the reader's role may read them), the
    preferences and usual periods, the membership tier and its benefits, and the
    complaints still open (so nobody is surprised)."""

    customer_id: str
    name: str = field(repr=False)
    phone: str | None = field(repr=False)
    """Masked (``*******5678``) unless the reader may read the customer's contacts."""
    email: str | None = field(repr=False)
    contacts_masked: bool
    preferences: Preferences
    usual_periods: tuple[StayPattern, ...]
    tier: str | None
    benefits: tuple[str, ...]
    open_complaints: int
