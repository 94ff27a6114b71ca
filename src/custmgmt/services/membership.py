"""Membership and segments, part of ``app.care``: tiers evaluated on a date from the
stays and spend of a rolling 12 months; customers grouped by recency, frequency and
monetary value, for targeting care messages."""

from __future__ import annotations

from datetime import date

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.membership import Membership, window
from custmgmt.domain.segments import (
    CustomerValue,
    Segment,
    SegmentCount,
    SegmentCuts,
    classify,
)
from custmgmt.domain.validation import require_date, require_enum, require_id
from custmgmt.ports.auth import Action, Principal, Reach, Scope
from custmgmt.ports.storage import CustomerQuery, UnitOfWork
from custmgmt.services.care_base import CareBase
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import page_limit

_EVERYONE = Reach(scope=Scope.ANY, principal_id="custmgmt-care")


def customer_values(uow: UnitOfWork, on: date, cuts: SegmentCuts) -> list[CustomerValue]:
    """Every active customer's recency, frequency and value on ``on``, with its segment."""
    start, end = window(on)
    return [classify(a, on, cuts) for a in uow.visits.activity(start, end, cuts.currency)]


@guarded
class MembershipCare(CareBase):
    """Membership tiers (会员管理) and customer segments (客户群体分析)."""

    def _day(self, on: date | None) -> date:
        return self._ctx.today() if on is None else require_date("on", on)

    def _evaluate(self, uow: UnitOfWork, who: Principal, customer_id: str, on: date
                  ) -> tuple[Membership, tuple[DomainEvent, ...]]:
        scheme = self._ctx.settings.membership_tiers
        currency = next((t.min_spend.currency for t in scheme if t.min_spend is not None),
                        "CNY")
        start, end = window(on)
        stays, spend = uow.visits.totals(customer_id, start, end, currency)
        current = uow.memberships.get(customer_id)
        membership, events = Membership.evaluate(
            current, customer_id=customer_id, scheme=scheme, stays=stays, spend=spend, on=on,
            by=who.id, at=self._ctx.now())
        return uow.memberships.save(membership), events

    def evaluate_membership(self, actor: Principal, customer_id: str, *,
                            on: date | None = None) -> Membership:
        """The customer's tier on ``on`` (default: today, local): the highest tier whose
        rule the stays or spend of the 12 months ending that day meet. An upgrade or a
        downgrade is kept in its history with the rule that caused it."""
        cid = require_id("customer_id", customer_id)
        day = self._day(on)
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.MEMBERSHIP_EVALUATE)
            self._customer(uow, cid)
            stored, events = self._evaluate(uow, who, cid, day)
            self._ctx.finish(uow, events)
        return stored

    def evaluate_all(self, actor: Principal, *, on: date | None = None) -> int:
        """Evaluate every active customer on ``on``; returns how many changed tier."""
        day = self._day(on)
        changed = 0
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.MEMBERSHIP_EVALUATE)
            events: list[DomainEvent] = []
            after = None
            while page := uow.customers.find(CustomerQuery(
                    reach=_EVERYONE, status=CustomerStatus.ACTIVE, limit=500, after=after)):
                for customer in page:
                    _, raised = self._evaluate(uow, who, customer.id, day)
                    events.extend(raised)
                    changed += len(raised)
                after = (page[-1].created_at, page[-1].id)
            self._ctx.finish(uow, events)
        return changed

    def membership(self, actor: Principal, customer_id: str) -> Membership | None:
        """The customer's membership and its history (None if never evaluated)."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_BRIEF)
            self._customer(uow, cid)
            return uow.memberships.get(cid)

    def _tier_of(self, uow: UnitOfWork, customer_id: str) -> tuple[str | None, tuple[str, ...]]:
        membership = uow.memberships.get(customer_id)
        if membership is None:
            return None, ()
        for tier in self._ctx.settings.membership_tiers:
            if tier.name == membership.tier:
                return tier.name, tier.benefits
        return membership.tier, ()

    # -- segments ----------------------------------------------------------------------

    def _values(self, uow: UnitOfWork, on: date) -> list[CustomerValue]:
        return customer_values(uow, on, self._ctx.settings.segment_cuts)

    def segments(self, actor: Principal, *, on: date | None = None
                 ) -> tuple[SegmentCount, ...]:
        """How many active customers are in each segment on ``on`` (default: today)."""
        day = self._day(on)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_SEGMENT)
            values = self._values(uow, day)
        return tuple(SegmentCount(segment=s, customers=sum(1 for v in values if v.segment is s))
                     for s in Segment)

    def segment_members(self, actor: Principal, segment: Segment | str, *,
                        on: date | None = None, limit: int = 100
                        ) -> tuple[CustomerValue, ...]:
        """The active customers of one segment on ``on``, by customer id: whom to target
        with a care message."""
        wanted = require_enum("segment", Segment, segment)
        day = self._day(on)
        size = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_SEGMENT)
            values = self._values(uow, day)
        return tuple(v for v in values if v.segment is wanted)[:size]
