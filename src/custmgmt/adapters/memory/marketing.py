"""The memory marketing repositories: versioned campaigns; products, assessments,
touches and outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from custmgmt.adapters.memory.records import as_utc
from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.marketing import Campaign, Outcome, Product, RiskAssessment, Touch
from custmgmt.errors import ConcurrencyError, NotFound

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


class MemoryCampaigns:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows: VersionedStage[Campaign] = VersionedStage("campaign", uow.state.campaigns)

    def add(self, campaign: Campaign) -> Campaign:
        return self.rows.add(campaign.id, campaign)

    def get(self, campaign_id: str) -> Campaign:
        return self.rows.get(campaign_id)

    def update(self, campaign: Campaign) -> Campaign:
        return self.rows.update(campaign.id, campaign)

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()


class MemoryMarketing:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self._products: dict[str, Product] = {}
        self._assessments: list[RiskAssessment] = []
        self._touches: dict[str, Touch] = {}
        # by notification id: this unit's new touches and sent marks
        self._outcomes: list[Outcome] = []

    def add_product(self, product: Product) -> None:
        if product.id in self._state.products or product.id in self._products:
            raise ConcurrencyError(f"product {product.id!r} already exists")
        self._products[product.id] = product

    def product(self, product_id: str) -> Product:
        found = self._products.get(product_id) or self._state.products.get(product_id)
        if found is None:
            raise NotFound("product", product_id)
        return found

    def add_assessment(self, assessment: RiskAssessment) -> None:
        self._assessments.append(assessment)

    def assessment(self, customer_id: str) -> RiskAssessment | None:
        found = [a for a in [*self._state.assessments, *self._assessments]
                 if a.customer_id == customer_id]
        found.sort(key=lambda a: (a.assessed_on, as_utc(a.recorded_at), a.id))
        return found[-1] if found else None

    def _merged(self) -> dict[str, Touch]:
        return {**self._state.touches, **self._touches}

    def add_touches(self, touches: Sequence[Touch]) -> None:
        merged = self._merged()
        for touch in touches:
            if touch.notification_id in merged:
                raise ConcurrencyError(f"touch {touch.id!r} already exists")
        for touch in touches:
            self._touches[touch.notification_id] = touch

    def touch_for(self, notification_id: str) -> Touch | None:
        return self._merged().get(notification_id)

    def mark_sent(self, notification_id: str, at: datetime, consent_id: str | None) -> None:
        touch = self.touch_for(notification_id)
        if touch is not None:
            self._touches[notification_id] = attrs.evolve(touch, sent_at=at,
                                                         consent_id=consent_id)

    def touches(self, campaign_id: str) -> Sequence[Touch]:
        return sorted((t for t in self._merged().values() if t.campaign_id == campaign_id),
                      key=lambda t: (as_utc(t.queued_at), t.id))

    def add_outcome(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)

    def outcomes(self, campaign_id: str) -> Sequence[Outcome]:
        return sorted((o for o in [*self._state.outcomes, *self._outcomes]
                       if o.campaign_id == campaign_id), key=lambda o: (as_utc(o.at), o.id))

    def check(self) -> None:
        for product_id in self._products:
            if product_id in self._state.products:
                raise ConcurrencyError(f"product {product_id!r} already exists")

    def apply(self) -> None:
        self._state.products.update(self._products)
        self._state.assessments.extend(self._assessments)
        self._state.touches.update(self._touches)
        self._state.outcomes.extend(self._outcomes)
