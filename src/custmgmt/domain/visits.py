"""Stays and visits (消费行为): when a customer came, for which service, what was spent.

Membership (stays or spend in a rolling 12 months) and segments (recency,
frequency, monetary value) are computed from these; survey responses and
complaints may name the visit they are about.
"""

from __future__ import annotations

from datetime import date, datetime

from attrs import field, frozen

from custmgmt.domain.care import VisitKind
from custmgmt.domain.common import DomainEvent, Money, non_negative_money
from custmgmt.domain.validation import a_date, aware, of_type, optional, text
from custmgmt.errors import ValidationError

__all__ = ["Activity", "Visit", "VisitRecorded"]


@frozen(kw_only=True)
class Visit:
    """One stay (check-in to check-out, local dates) or visit (one day) of a customer,
    and what was spent. Immutable once recorded."""

    id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    kind: VisitKind = field(validator=of_type(VisitKind))
    started_on: date = field(validator=a_date)
    ended_on: date = field(validator=a_date)
    spend: Money = field(validator=non_negative_money)
    service: str | None = field(default=None, validator=optional(text(100)))
    recorded_by: str = field(validator=text(200))
    recorded_at: datetime = field(validator=aware)

    def __attrs_post_init__(self) -> None:
        if self.ended_on < self.started_on:
            raise ValidationError("ended_on", "must not be before started_on")
        if (self.ended_on - self.started_on).days > 366:
            raise ValidationError("ended_on", "a stay is at most 366 nights")

    @property
    def nights(self) -> int:
        return (self.ended_on - self.started_on).days


@frozen(kw_only=True)
class VisitRecorded(DomainEvent):
    visit_id: str
    customer_id: str


@frozen(kw_only=True)
class Activity:
    """One customer's stays and visits as the storage sums them: the last one ever
    ended (up to the end of the window), and how many ended within the window and
    what they spent (in one currency)."""

    customer_id: str
    last_visit: date
    visits: int
    spend: Money
