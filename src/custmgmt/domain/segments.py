"""Customer segments (数据统计与客户分析): grouped by value and activity.

Each customer with stays or visits gets three scores from 1 to 3 against
configurable cut points (``SegmentCuts``): recency (days since the last visit,
fewer is better), frequency (visits in the rolling 12 months) and monetary value
(spend in those months). The scores place the customer in one segment, for
targeting care messages:

| segment | rule (R, F, M) |
|---|---|
| champion | R 3, F 3, M 3 |
| loyal | R >= 2, F >= 2, M >= 2 |
| new | R 3, F 1 |
| at_risk | R 1, M >= 2 (valuable, not seen lately) |
| hibernating | R 1 |
| lost | no visit in the 12 months |
| regular | anyone else |
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date

from attrs import field, frozen

from custmgmt.domain.common import Money
from custmgmt.domain.visits import Activity
from custmgmt.errors import ValidationError

__all__ = ["CustomerValue", "Segment", "SegmentCount", "SegmentCuts", "classify"]


class Segment(enum.Enum):
    CHAMPION = "champion"
    LOYAL = "loyal"
    NEW = "new"
    AT_RISK = "at_risk"
    HIBERNATING = "hibernating"
    LOST = "lost"
    REGULAR = "regular"


def _two(value: object, name: str) -> tuple[int, int]:
    if (not isinstance(value, tuple | list) or len(value) != 2
            or not all(type(v) is int and 0 <= v <= 100_000 for v in value)):
        raise ValidationError(name, "must be two whole numbers")
    low, high = value
    if not low < high:
        raise ValidationError(name, "the first cut must be below the second")
    return int(low), int(high)


def _recency(value: object) -> tuple[int, int]:
    return _two(value, "recency_days")


def _frequency(value: object) -> tuple[int, int]:
    return _two(value, "frequency")


def _monetary(value: object) -> tuple[Money, Money]:
    if (not isinstance(value, tuple | list) or len(value) != 2
            or not all(isinstance(v, Money) and not v.is_negative for v in value)):
        raise ValidationError("monetary", "must be two Money amounts")
    low, high = value
    if low.currency != high.currency or not low < high:
        raise ValidationError("monetary", "must be two amounts in one currency, low first")
    return low, high


@frozen(kw_only=True)
class SegmentCuts:
    """The cut points: ``recency_days`` (at most the first: 3, at most the second: 2,
    else 1), ``frequency`` and ``monetary`` (at least the second: 3, at least the first:
    2, else 1)."""

    recency_days: tuple[int, int] = field(default=(30, 180), converter=_recency)
    frequency: tuple[int, int] = field(default=(2, 6), converter=_frequency)
    monetary: tuple[Money, Money] = field(
        default=(Money("5000", "CNY"), Money("30000", "CNY")), converter=_monetary)

    @property
    def currency(self) -> str:
        return self.monetary[0].currency


@frozen(kw_only=True)
class CustomerValue:
    """A customer's activity, scores and segment as of a date."""

    customer_id: str
    last_visit: date
    recency_days: int
    visits: int
    spend: Money
    recency: int
    frequency: int
    monetary: int
    segment: Segment


@frozen(kw_only=True)
class SegmentCount:
    segment: Segment
    customers: int


def _up(value: int | Money, cuts: Sequence[int | Money]) -> int:
    low, high = cuts
    if value >= high:  # type: ignore[operator]
        return 3
    return 2 if value >= low else 1  # type: ignore[operator]


def classify(activity: Activity, on: date, cuts: SegmentCuts) -> CustomerValue:
    """The scores and segment of one customer's activity on ``on``."""
    days = (on - activity.last_visit).days
    r = 3 if days <= cuts.recency_days[0] else 2 if days <= cuts.recency_days[1] else 1
    f = _up(activity.visits, cuts.frequency)
    spend = activity.spend
    m = _up(spend, cuts.monetary) if spend.currency == cuts.currency else 1
    if activity.visits == 0:
        segment = Segment.LOST
    elif (r, f, m) == (3, 3, 3):
        segment = Segment.CHAMPION
    elif r >= 2 and f >= 2 and m >= 2:
        segment = Segment.LOYAL
    elif r == 3 and f == 1:
        segment = Segment.NEW
    elif r == 1 and m >= 2:
        segment = Segment.AT_RISK
    elif r == 1:
        segment = Segment.HIBERNATING
    else:
        segment = Segment.REGULAR
    return CustomerValue(customer_id=activity.customer_id, last_visit=activity.last_visit,
                         recency_days=days, visits=activity.visits, spend=spend, recency=r,
                         frequency=f, monetary=m, segment=segment)
