"""Contract tests for the customer repository: versions, unique identity keys, queries."""

from __future__ import annotations

from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.common import Phone
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.identity import IdentityKey, KeyKind, KeyRing
from custmgmt.errors import ClaimConflict, ConcurrencyError, NotFound
from custmgmt.ports.auth import Reach, Scope
from custmgmt.ports.storage import CustomerQuery, Storage
from custmgmt.testing.builders import T0, add_customer, customer_keys, make_customer

EVERYONE = Reach(scope=Scope.ANY, principal_id="u-admin")


class CustomerStorageContract:
    """Customers: one company is never two customers, versions refuse stale writes."""

    covers: ClassVar[tuple[str, ...]] = ("customers",)

    def test_an_added_customer_reads_back_equal_at_version_1(self, storage: Storage) -> None:
        customer = make_customer(1, organization="Acme Co., Ltd.")
        with storage.unit_of_work() as uow:
            stored = add_customer(uow, customer)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.customers.get(customer.id) == stored == attrs.evolve(customer, version=1)

    def test_a_missing_customer_is_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.customers.get("c-none")

    def test_an_uncommitted_customer_is_not_kept(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            add_customer(uow, make_customer(1))
            assert uow.customers.get("c-000001").version == 1
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.customers.get("c-000001")

    def test_a_held_identity_key_is_refused_naming_the_holder(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            add_customer(uow, make_customer(1, organization="Acme Co., Ltd."))
            uow.commit()
        twin = make_customer(2, organization="ACME co ltd")
        with storage.unit_of_work() as uow, pytest.raises(ClaimConflict) as raised:
            add_customer(uow, twin)
        assert (raised.value.registration_id, raised.value.key_kind) == (
            "c-000001", "organization")

    def test_a_later_unit_adding_the_same_company_is_refused(self, storage: Storage) -> None:
        first, second = storage.unit_of_work(), storage.unit_of_work()
        with first as a:
            add_customer(a, make_customer(1, phone="13800138000"))
            a.commit()
        with second as b, pytest.raises((ClaimConflict, ConcurrencyError)):
            add_customer(b, make_customer(2, phone="+86 138 0013 8000"))
            b.commit()
        with storage.unit_of_work() as uow:
            assert [c.id for c in uow.customers.find(CustomerQuery(reach=EVERYONE))] == [
                "c-000001"]

    def test_update_bumps_the_version_and_refuses_a_stale_copy(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = add_customer(uow, make_customer(1))
            uow.commit()
        sealed, _ = stored.set_status(CustomerStatus.SEALED, reason="delisted", by="u-x", at=T0)
        with storage.unit_of_work() as uow:
            updated = uow.customers.update(sealed)
            uow.commit()
        assert updated.version == 2
        with storage.unit_of_work() as uow:
            assert uow.customers.get(stored.id) == updated
            assert uow.customers.get(stored.id).history[-1].after == "sealed"
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.customers.update(sealed)

    def test_holders_of_follows_a_changed_profile(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = add_customer(uow, make_customer(1, phone="13800138000"))
            uow.commit()
        old_key = next(k for k in customer_keys(stored) if k.kind.value == "phone")
        moved = attrs.evolve(stored, profile=attrs.evolve(stored.profile,
                                                          phone=Phone("13900139000")))
        with storage.unit_of_work() as uow:
            uow.customers.update(moved, customer_keys(moved))
            uow.commit()
        new_key = next(k for k in customer_keys(moved) if k.kind.value == "phone")
        with storage.unit_of_work() as uow:
            assert old_key not in uow.customers.holders_of([old_key])
            assert uow.customers.holders_of([new_key])[new_key].id == stored.id
            add_customer(uow, make_customer(2, phone="13800138000"))  # the old key is free
            uow.commit()

    def test_update_without_keys_keeps_them_and_may_not_take_another_customers(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            one = add_customer(uow, make_customer(1, phone="13800138000"))
            two = add_customer(uow, make_customer(2))
            uow.commit()
        sealed, _ = one.set_status(CustomerStatus.SEALED, reason="delisted", by="u-x", at=T0)
        with storage.unit_of_work() as uow:
            uow.customers.update(sealed)
            uow.commit()
        with storage.unit_of_work() as uow:
            held = uow.customers.holders_of(customer_keys(one))
            assert {c.id for c in held.values()} == {one.id}
        stolen = attrs.evolve(two, profile=attrs.evolve(two.profile, phone=Phone("13800138000")))
        with storage.unit_of_work() as uow, pytest.raises((ClaimConflict, ConcurrencyError)):
            uow.customers.update(stolen, customer_keys(stolen))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.customers.get(two.id) == two

    def test_holders_of_a_batchs_many_keys_finds_each_whatever_its_text(
        self, storage: Storage
    ) -> None:
        # an import checks a batch's thousands of keys at once; a key is opaque text
        odd = IdentityKey(KeyKind.PHONE, "a,b")
        sealed = customer_keys(make_customer(2))
        with storage.unit_of_work() as uow:
            one = uow.customers.add(make_customer(1), frozenset({odd}))
            two = add_customer(uow, make_customer(2))
            uow.commit()
        others = [IdentityKey(kind, f"{kind.value}-{n:04d}") for n in range(600)
                  for kind in (KeyKind.PHONE, KeyKind.EMAIL)]
        with storage.unit_of_work(read_only=True) as uow:
            found = uow.customers.holders_of([*others[:300], odd, *sealed, *others[300:]])
            alone = uow.customers.holders_of([*others, *sealed])
            twice = uow.customers.holders_of(iter([*sealed, *others, *sealed]))
        assert {key: c.id for key, c in found.items()} == {
            odd: one.id, **dict.fromkeys(sealed, two.id)}
        assert {key: c.id for key, c in alone.items()} == dict.fromkeys(sealed, two.id)
        assert {key: c.id for key, c in twice.items()} == dict.fromkeys(sealed, two.id)

    def test_replace_keys_swaps_the_keys_and_refuses_a_shared_one(
        self, storage: Storage
    ) -> None:
        other = KeyRing(b"another pepper for the contract suite")
        with storage.unit_of_work() as uow:
            one = add_customer(uow, make_customer(1))
            two = add_customer(uow, make_customer(2))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.customers.replace_keys({c.id: c.held_keys(other) for c in (one, two)})
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.customers.holders_of([*customer_keys(one), *customer_keys(two)]) == {}
            assert {c.id for c in uow.customers.holders_of(one.held_keys(other)).values()} == {
                one.id}
            assert uow.customers.get(one.id) == one
        with storage.unit_of_work() as uow, pytest.raises(ClaimConflict):
            uow.customers.replace_keys({two.id: one.held_keys(other)})
            uow.commit()
        with storage.unit_of_work() as uow:
            assert {c.id for c in uow.customers.holders_of(two.held_keys(other)).values()} == {
                two.id}

    def test_find_filters_and_pages_in_creation_order(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for n in range(1, 6):
                add_customer(uow, make_customer(n, owner="u-anna" if n % 2 else "u-ben",
                                                team="accounts" if n < 5 else "west"))
            uow.commit()
        own = Reach(scope=Scope.OWN, principal_id="u-ben")
        team = Reach(scope=Scope.TEAM, principal_id="u-x", team="west")
        with storage.unit_of_work() as uow:
            def ids(query: CustomerQuery) -> list[str]:
                found = list(uow.customers.find(query))
                assert all(query.matches(c) for c in found)
                return [c.id for c in found]

            assert ids(CustomerQuery(reach=EVERYONE)) == [f"c-00000{n}" for n in range(1, 6)]
            assert ids(CustomerQuery(reach=own)) == ["c-000002", "c-000004"]
            assert ids(CustomerQuery(reach=team)) == ["c-000005"]
            assert ids(CustomerQuery(reach=EVERYONE, owner="u-anna", limit=2)) == [
                "c-000001", "c-000003"]
            third = uow.customers.get("c-000003")
            assert ids(CustomerQuery(reach=EVERYONE, after=(third.created_at, third.id))) == [
                "c-000004", "c-000005"]
            assert ids(CustomerQuery(reach=EVERYONE, status=CustomerStatus.SEALED)) == []
            assert ids(CustomerQuery(reach=EVERYONE, needs_review=True)) == []
