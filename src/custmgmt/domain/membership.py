"""Membership (会员管理与服务优惠): tiers with entry rules and benefits.

A tier is entered by stays (a stay or a visit counts as one) or by spend within a
rolling 12 months ending on the evaluation date. Tiers are listed lowest first;
the first is the base tier everyone has. Evaluated on a date, a customer gets the
highest tier whose rule they meet: an upgrade or a downgrade, kept in the
customer's membership history with the rule that caused it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent, Money
from custmgmt.domain.validation import a_date, aware, non_negative_int, optional, text
from custmgmt.errors import ValidationError

__all__ = [
    "DEFAULT_TIERS", "Membership", "Tier", "TierChange", "TierChanged", "tiers", "window",
]


def _benefits(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("benefits", "must be a collection of texts")
    items = tuple(value)
    if len(items) > 30 or not all(isinstance(b, str) and b.strip() and len(b) <= 200
                                  for b in items):
        raise ValidationError("benefits", "must be at most 30 texts of 1 to 200 characters")
    return tuple(b.strip() for b in items)


def _stays(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise ValidationError("min_stays", "must be a whole number from 1 to 100000")
    return value


def _spend(value: object) -> Money | None:
    if value is None:
        return None
    if not isinstance(value, Money) or value.amount <= 0:
        raise ValidationError("min_spend", "must be a positive Money")
    return value


@frozen(kw_only=True)
class Tier:
    """A membership tier: entered with ``min_stays`` stays or ``min_spend`` spent in the
    rolling 12 months (either is enough; the base tier has neither), giving
    ``benefits``."""

    name: str = field(validator=text(50))
    min_stays: int | None = field(default=None, converter=_stays)
    min_spend: Money | None = field(default=None, converter=_spend)
    benefits: tuple[str, ...] = field(default=(), converter=_benefits)

    def met_by(self, stays: int, spend: Money | None) -> str | None:
        """The rule met by ``stays`` and ``spend``, in words; None if neither is met."""
        if self.min_stays is not None and stays >= self.min_stays:
            return f"{stays} stays >= {self.min_stays}"
        if (self.min_spend is not None and spend is not None
                and spend.currency == self.min_spend.currency and spend >= self.min_spend):
            return f"spend {spend} >= {self.min_spend}"
        return None


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(name="member", benefits=("member rate", "free Wi-Fi")),
    Tier(name="silver", min_stays=5, min_spend=Money("10000", "CNY"),
         benefits=("late checkout 14:00", "welcome drink")),
    Tier(name="gold", min_stays=15, min_spend=Money("30000", "CNY"),
         benefits=("room upgrade when available", "late checkout 16:00", "breakfast")),
    Tier(name="platinum", min_stays=40, min_spend=Money("80000", "CNY"),
         benefits=("suite upgrade when available", "lounge access", "guaranteed room")),
)
"""The default scheme: member, silver, gold, platinum."""


def tiers(value: object) -> tuple[Tier, ...]:
    """A tier scheme, lowest first: the first without a rule, every other with one,
    names unique, spends in one currency (ValidationError naming ``membership_tiers``)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("membership_tiers", "must be a list of Tier, lowest first")
    items = tuple(value)
    if not items or len(items) > 20 or not all(isinstance(t, Tier) for t in items):
        raise ValidationError("membership_tiers", "must be 1 to 20 Tier values")
    if items[0].min_stays is not None or items[0].min_spend is not None:
        raise ValidationError("membership_tiers", "the first (base) tier has no entry rule")
    if any(t.min_stays is None and t.min_spend is None for t in items[1:]):
        raise ValidationError("membership_tiers", "every tier above the base needs a rule")
    if len({t.name for t in items}) != len(items):
        raise ValidationError("membership_tiers", "tier names must be unique")
    if len({t.min_spend.currency for t in items if t.min_spend is not None}) > 1:
        raise ValidationError("membership_tiers", "spend rules must use one currency")
    return items


def window(on: date) -> tuple[date, date]:
    """The rolling 12 months ending on ``on``, inclusive: from the day after the same
    date a year earlier (29 February counts back to 28 February) to ``on``."""
    try:
        year_before = on.replace(year=on.year - 1)
    except ValueError:
        year_before = on.replace(year=on.year - 1, day=28)
    return year_before + timedelta(days=1), on


@frozen(kw_only=True)
class TierChange:
    """One change of tier: evaluated on ``on``, from ``before`` to ``after``, because
    of ``rule`` (the rule met, or why the higher tier was lost)."""

    on: date = field(validator=a_date)
    before: str | None
    after: str
    rule: str
    by: str
    at: datetime = field(validator=aware)


@frozen(kw_only=True)
class TierChanged(DomainEvent):
    customer_id: str
    before: str | None
    after: str
    rule: str


@frozen(kw_only=True)
class Membership:
    """A customer's tier, since when, when it was last evaluated, and every change."""

    customer_id: str = field(validator=text(100))
    tier: str = field(validator=text(50))
    since: date = field(validator=a_date)
    evaluated_on: date | None = field(default=None, validator=optional(a_date))
    history: tuple[TierChange, ...] = ()
    version: int = field(default=0, validator=non_negative_int)

    @classmethod
    def evaluate(
        cls, current: Membership | None, *, customer_id: str, scheme: tuple[Tier, ...],
        stays: int, spend: Money | None, on: date, by: str, at: datetime,
    ) -> tuple[Membership, tuple[DomainEvent, ...]]:
        """The membership after evaluating on ``on`` with ``stays`` and ``spend`` in the
        window: the highest tier met (the base tier if none is). A change is kept in
        history with its rule; no change keeps the tier and its ``since``."""
        start, end = window(on)
        period = f"{start.isoformat()}..{end.isoformat()}"
        chosen, rule = scheme[0], f"no rule met in {period}"
        for tier in reversed(scheme[1:]):
            met = tier.met_by(stays, spend)
            if met is not None:
                chosen, rule = tier, f"{tier.name}: {met} in {period}"
                break
        before = None if current is None else current.tier
        if before == chosen.name and current is not None:
            return attrs.evolve(current, evaluated_on=on), ()
        names = [t.name for t in scheme]
        if before in names and names.index(chosen.name) < names.index(before):
            rule = f"{before} no longer met ({stays} stays, spend {spend}); {rule}"
        change = TierChange(on=on, before=before, after=chosen.name, rule=rule, by=by, at=at)
        history = () if current is None else current.history
        version = 0 if current is None else current.version
        membership = cls(customer_id=customer_id, tier=chosen.name, since=on, evaluated_on=on,
                         history=(*history, change), version=version)
        return membership, (TierChanged(actor_id=by, occurred_at=at, customer_id=customer_id,
                                        before=before, after=chosen.name, rule=rule),)
