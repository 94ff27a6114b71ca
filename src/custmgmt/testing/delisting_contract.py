"""Contract tests for the delisting repository: a case and its children round-trip,
versions refuse stale writes, evidence and history only grow, reviews come due."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.delisting import (
    DelistingCase,
    Evidence,
    EvidenceKind,
    Ground,
    Language,
    Notice,
    Review,
    Trigger,
    VoteChoice,
)
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import Storage
from custmgmt.testing.builders import T0, add_customer, make_customer


def _case(n: int, customer_id: str = "c-000001") -> DelistingCase:
    return DelistingCase.open(
        id=f"dl-{n:06d}", customer_id=customer_id, grounds=[Ground.BREACH, Ground.OTHER],
        other_ground="leaked documents", trigger=Trigger.COMPLAINT, trigger_note="a complaint",
        by="u-cr", at=T0 + timedelta(minutes=n))[0]


def _far_along(case: DelistingCase) -> DelistingCase:
    """Evidence, summary, a panel of three with two votes (one changed), a notice."""
    at = T0 + timedelta(hours=1)
    case = case.add_evidence(Evidence(kind=EvidenceKind.DOCUMENT, description="invoices",
                                      source="finance", received_at=at, received_by="u-cr"),
                             by="u-cr", at=at)[0]
    case = case.summarize("breach confirmed", by="u-cr", at=at)[0]
    case = case.open_vote(["u-l3", "u-l1", "u-l2"], by="u-cr", at=at)[0]
    case = case.vote("u-l2", VoteChoice.AGAINST, at=at)[0]
    case = case.vote("u-l1", VoteChoice.FOR, at=at)[0]
    case = case.vote("u-l2", VoteChoice.FOR, at=at)[0]
    case = case.close_vote(by="u-cr", at=at)[0]
    return case.notified(Notice(language=Language.ZH, text="通知\n全文", reasons="r",
                                basis="b", issued_by="u-cr", issued_at=at,
                                notification_id="n-1"))[0]


class DelistingStorageContract:
    """Delisting cases and periodic reviews."""

    covers: ClassVar[tuple[str, ...]] = ("delisting",)

    def _customer(self, storage: Storage, n: int = 1) -> None:
        with storage.unit_of_work() as uow:
            add_customer(uow, make_customer(n))
            uow.commit()

    def test_a_case_reads_back_equal_with_all_its_children(self, storage: Storage) -> None:
        self._customer(storage)
        with storage.unit_of_work() as uow:
            stored = uow.delisting.add(_case(1))
            uow.commit()
        assert stored.version == 1
        far = _far_along(stored)
        with storage.unit_of_work() as uow:
            updated = uow.delisting.update(far)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            again = uow.delisting.get(stored.id)
        assert again == updated == attrs.evolve(far, version=2)
        assert again.panel == ("u-l1", "u-l2", "u-l3")
        assert [(v.member_id, v.choice) for v in again.votes] == [
            ("u-l1", VoteChoice.FOR), ("u-l2", VoteChoice.FOR)]

    def test_a_missing_case_is_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.delisting.get("dl-none")

    def test_a_stale_case_is_refused(self, storage: Storage) -> None:
        self._customer(storage)
        with storage.unit_of_work() as uow:
            stored = uow.delisting.add(_case(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.delisting.update(stored.summarize("one", by="u-cr", at=T0)[0])
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.delisting.update(stored.summarize("two", by="u-cr", at=T0)[0])
            uow.commit()

    def test_cases_of_a_customer_oldest_first(self, storage: Storage) -> None:
        self._customer(storage, 1)
        self._customer(storage, 2)
        with storage.unit_of_work() as uow:
            for case in (_case(3), _case(1), _case(2, "c-000002")):
                uow.delisting.add(case)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert [c.id for c in uow.delisting.for_customer("c-000001")] == [
                "dl-000001", "dl-000003"]
            assert uow.delisting.for_customer("c-none") == []

    def test_reviews_come_due_for_active_customers_only(self, storage: Storage) -> None:
        for n in (1, 2, 3):
            self._customer(storage, n)
        with storage.unit_of_work() as uow:
            sealed = uow.customers.get("c-000003").set_status(
                CustomerStatus.SEALED, reason="delisted", by="u-cr", at=T0)[0]
            uow.customers.update(sealed)
            uow.delisting.record_review(Review(customer_id="c-000001", reviewed_by="u-cr",
                                               reviewed_at=T0 + timedelta(days=10),
                                               note="fine"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            due = uow.delisting.reviews_due(T0 + timedelta(days=20), 10)
            assert [(d.customer_id, d.last_reviewed_at) for d in due] == [
                ("c-000002", None), ("c-000001", T0 + timedelta(days=10))]
            assert [d.customer_id for d in uow.delisting.reviews_due(
                T0 + timedelta(days=5), 10)] == ["c-000002"]
            assert len(uow.delisting.reviews_due(T0 + timedelta(days=20), 1)) == 1
        with storage.unit_of_work() as uow:
            uow.delisting.record_review(Review(customer_id="c-000002", reviewed_by="u-cr",
                                               reviewed_at=T0 + timedelta(days=30),
                                               note="fine"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert [d.customer_id for d in uow.delisting.reviews_due(
                T0 + timedelta(days=20), 10)] == ["c-000001"]
