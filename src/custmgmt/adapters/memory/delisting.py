"""The memory delisting repository: versioned cases and each customer's latest review."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.delisting import DelistingCase, Review, ReviewDue

if TYPE_CHECKING:
    from custmgmt.adapters.memory.customers import MemoryCustomers
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


class MemoryDelisting:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._state = uow.state
        self.rows: VersionedStage[DelistingCase] = VersionedStage(
            "delisting case", uow.state.delisting)
        self.reviews: dict[str, Review] = {}

    def add(self, case: DelistingCase) -> DelistingCase:
        return self.rows.add(case.id, case)

    def get(self, case_id: str) -> DelistingCase:
        return self.rows.get(case_id)

    def update(self, case: DelistingCase) -> DelistingCase:
        return self.rows.update(case.id, case)

    def for_customer(self, customer_id: str) -> Sequence[DelistingCase]:
        return sorted((c for c in self.rows.merged().values() if c.customer_id == customer_id),
                      key=lambda c: (c.opened_at, c.id))

    def record_review(self, review: Review) -> None:
        self.reviews[review.customer_id] = review

    def reviews_due(self, before: datetime, limit: int) -> Sequence[ReviewDue]:
        latest = {**self._state.reviews, **self.reviews}
        due = []
        customers: MemoryCustomers = getattr(self._uow, "customers")  # noqa: B009
        for customer in customers.rows.merged().values():
            if customer.status is not CustomerStatus.ACTIVE:
                continue
            review = latest.get(customer.id)
            since = customer.created_at if review is None else review.reviewed_at
            if since < before:
                due.append(ReviewDue(customer_id=customer.id, since=since,
                                     last_reviewed_at=None if review is None
                                     else review.reviewed_at))
        due.sort(key=lambda d: (d.since, d.customer_id))
        return due[:limit]

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()
        self._state.reviews.update(self.reviews)
