"""The one customer guard: the status x purpose table, rules plugged in, one error."""

from __future__ import annotations

import pytest

from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.domain.customers import (
    STATUS_PERMITS,
    Customer,
    CustomerStatus,
    Purpose,
    refusal,
)
from custmgmt.errors import CustomerRefused, NotFound
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.guard import CustomerGuard
from custmgmt.testing.builders import T0, add_customer, make_customer

S, P = CustomerStatus, Purpose
# The whole table, written out: a new status or purpose fails here until it is decided.
EXPECTED: dict[tuple[CustomerStatus, Purpose], bool] = {
    (S.ACTIVE, P.SALES): True, (S.ACTIVE, P.SAMPLE_RECEIPT): True, (S.ACTIVE, P.CREDIT): True,
    (S.ACTIVE, P.MARKETING): True, (S.ACTIVE, P.CARE): True,
    (S.ACTIVE, P.PROFILING): True, (S.ACTIVE, P.SHARING): True,
    (S.SEALED, P.SALES): False, (S.SEALED, P.SAMPLE_RECEIPT): False, (S.SEALED, P.CREDIT): False,
    (S.SEALED, P.MARKETING): False, (S.SEALED, P.CARE): False,
    (S.SEALED, P.PROFILING): False, (S.SEALED, P.SHARING): False,
}


def test_the_table_covers_every_status_and_purpose() -> None:
    assert set(EXPECTED) == {(s, p) for s in CustomerStatus for p in Purpose}
    assert set(STATUS_PERMITS) == set(CustomerStatus)


@pytest.mark.parametrize(("status", "purpose"), list(EXPECTED), ids=lambda v: v.value)
def test_status_x_purpose(status: CustomerStatus, purpose: Purpose) -> None:
    reason = refusal(status, purpose)
    assert (reason is None) is EXPECTED[(status, purpose)]
    if reason is not None:
        assert status.value in reason and purpose.value in reason


def test_a_status_the_table_does_not_know_permits_nothing() -> None:
    only_active = {CustomerStatus.ACTIVE: frozenset(Purpose)}
    assert all(refusal(CustomerStatus.SEALED, p, only_active) for p in Purpose)


def _stored(customer: Customer) -> tuple[MemoryStorage, UnitOfWork]:
    storage = MemoryStorage()
    with storage.unit_of_work() as uow:
        add_customer(uow, customer)
        uow.commit()
    return storage, storage.unit_of_work().__enter__()


def test_the_guard_raises_one_error_naming_the_status() -> None:
    sealed, _ = make_customer(1).set_status(CustomerStatus.SEALED, reason="delisted",
                                            by="u-x", at=T0)
    _, uow = _stored(sealed)
    with pytest.raises(CustomerRefused) as raised:
        CustomerGuard().require(uow, "c-000001", Purpose.CARE, T0)
    assert (raised.value.customer_id, raised.value.status, raised.value.purpose) == (
        "c-000001", "sealed", "care")
    assert "sealed" in str(raised.value)
    with pytest.raises(NotFound):
        CustomerGuard().require(uow, "c-nobody", Purpose.CARE, T0)


def test_rules_plug_in_after_the_status_and_the_first_refusal_wins() -> None:
    asked: list[Purpose] = []

    def no_marketing_without_consent(
        uow: UnitOfWork, customer: Customer, purpose: Purpose, at: object
    ) -> str | None:
        asked.append(purpose)
        return "no marketing consent" if purpose is Purpose.MARKETING else None

    guard = CustomerGuard().with_rules(no_marketing_without_consent)
    _, uow = _stored(make_customer(1))
    assert guard.require(uow, "c-000001", Purpose.SALES, T0).id == "c-000001"
    with pytest.raises(CustomerRefused, match="no marketing consent") as raised:
        guard.require(uow, "c-000001", Purpose.MARKETING, T0)
    assert raised.value.status == "active"
    assert asked == [Purpose.SALES, Purpose.MARKETING]
    sealed, _ = make_customer(2).set_status(CustomerStatus.SEALED, reason="x", by="u", at=T0)
    _, uow = _stored(sealed)
    with pytest.raises(CustomerRefused, match="sealed"):
        guard.require(uow, "c-000002", Purpose.SALES, T0)
    assert asked == [Purpose.SALES, Purpose.MARKETING]  # the status answered first
