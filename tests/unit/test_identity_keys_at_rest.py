"""Identity keys at rest are keyed hashes; matching stays exact on every back end,
for prospects and for customers alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import custmgmt
from custmgmt.adapters.memory.keys import expand
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.sql.column_types import unpack_key
from custmgmt.adapters.sql.tables import CustomerRow, ProspectRow
from custmgmt.adapters.sql.translate import customer_values, prospect_values
from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.errors import ClaimConflict
from custmgmt.testing.builders import make_customer, make_prospect

PEPPER = b"a secret pepper for the tests"
KEY_COLUMNS = ("phone_key", "email_key", "organization_key", "credit_code_key")


def _stored_keys(app: custmgmt.CustomerManagement, holder: str = "prospect",
                 ) -> set[tuple[str, str]]:
    storage = app._storage  # the test looks at what is at rest
    if isinstance(storage, MemoryStorage):
        index = storage.state.key_index if holder == "prospect" else storage.state.customer_keys
        return {(k.kind.value, k.value) for k in map(expand, index)}
    with storage.engine.connect() as connection:  # type: ignore[attr-defined]
        if holder == "customer":
            rows = connection.execute(sa.text("SELECT kind, value FROM custmgmt_customer_keys"))
            return {(kind, value) for kind, value in rows}
        # a prospect's keys are columns of its row, kept as bytes (column_types.pack_key)
        held = connection.execute(sa.text(
            f"SELECT {', '.join(KEY_COLUMNS)} FROM custmgmt_prospects")).all()
    return {(column.removesuffix("_key"), unpack_key(bytes(value)))
            for row in held for column, value in zip(KEY_COLUMNS, row, strict=True)
            if value is not None}


def _assert_sealed(stored: set[tuple[str, str]], *clear: str) -> None:
    for _, value in stored:
        assert len(value) == 64 and all(c in "0123456789abcdef" for c in value)
        assert not any(c in value for c in clear)


@pytest.fixture
def peppered(clock: FixedClock, storage_url: str) -> Iterator[custmgmt.CustomerManagement]:
    settings = custmgmt.Settings(key_pepper=PEPPER)
    with custmgmt.open(storage_url, clock=clock, ids=SequentialIds(), migrate=True,
                       settings=settings) as opened:
        yield opened


def test_keys_at_rest_are_keyed_hashes_not_clear_phones_or_emails(
    peppered: custmgmt.CustomerManagement,
) -> None:
    alice = peppered.principal("u-alice", roles={"salesperson"})
    anna = peppered.principal("u-anna", roles={"account_manager"})
    peppered.prospects.register(alice, name="Wang", phone="010-6552 9988",
                                email="Wang.Wei@Example.com", organization="Acme Co., Ltd.",
                                willingness="clear", potential_value=1)
    peppered.customers.create(anna, name="Li", phone="021-5555 1234",
                              email="Li.Na@Example.com", organization="Bolt Co.")
    ring = peppered.settings.key_ring
    stored = _stored_keys(peppered)
    assert {kind for kind, _ in stored} == {"phone", "email", "organization"}
    _assert_sealed(stored, "65529988", "wang", "acme")
    assert ("phone", ring.phone("+861065529988").value) in stored
    customers = _stored_keys(peppered, "customer")
    assert {kind for kind, _ in customers} == {"phone", "email", "organization"}
    _assert_sealed(customers, "55551234", "li.na", "bolt")
    assert ("phone", ring.phone("+86 21 5555 1234").value) in customers


@pytest.mark.parametrize("other", ["+86 (0)10 6552 9988", "1065529988", "(010)65529988",
                                   "0086 10 6552 9988"])
def test_landline_forms_still_match_exactly(
    peppered: custmgmt.CustomerManagement, other: str
) -> None:
    alice = peppered.principal("u-alice", roles={"salesperson"})
    bob = peppered.principal("u-bob", roles={"salesperson"})
    first = peppered.prospects.register(alice, name="A", phone="010-6552 9988",
                                        willingness="clear", potential_value=1)
    with pytest.raises(ClaimConflict) as caught:
        peppered.prospects.register(bob, name="B", phone=other, willingness="clear",
                                    potential_value=1)
    assert caught.value.registration_id == first.registration.id
    peppered.prospects.register(bob, name="C", phone="010-6552 9989", willingness="clear",
                                potential_value=1)
    peppered.prospects.register(bob, name="D", organization="Acme Co.", phone="13900139000",
                                willingness="clear", potential_value=1)
    with pytest.raises(ClaimConflict):
        peppered.prospects.register(alice, name="E", organization="ACME CO., LTD",
                                    phone="13700137000", willingness="clear", potential_value=1)
    found = peppered.prospects.find(alice, phone=other)
    assert [(m.key.value, m.holder_id) for m in found] == [("phone", first.id)]


@pytest.mark.parametrize("other", ["+86 (0)10 6552 9988", "1065529988", "0086 10 6552 9988"])
def test_one_company_is_one_customer_however_its_landline_or_name_is_written(
    peppered: custmgmt.CustomerManagement, other: str
) -> None:
    anna = peppered.principal("u-anna", roles={"account_manager"})
    ben = peppered.principal("u-ben", roles={"account_manager"})
    first = peppered.customers.create(anna, name="A", phone="010-6552 9988",
                                      organization="Acme Co.")
    for twin in ({"phone": other}, {"organization": "ACME Co., Ltd.", "phone": "13900139000"}):
        with pytest.raises(ClaimConflict) as caught:
            peppered.customers.create(ben, name="B", **twin)
        assert caught.value.registration_id == first.id
    found = peppered.customers.find(anna, phone=other)
    assert [(m.key.value, m.holder_id) for m in found] == [("phone", first.id)]
    # A changed profile moves the customer's keys: the old landline is free again.
    peppered.customers.update_profile(anna, first.id, phone="021-5555 1234")
    other_one = peppered.customers.create(ben, name="C", phone=other)
    with pytest.raises(ClaimConflict) as caught:
        peppered.customers.create(ben, name="D", phone="+86 21 5555 1234")
    assert caught.value.registration_id == first.id
    assert other_one.id != first.id


def test_a_won_prospect_links_to_the_customer_whose_landline_is_written_otherwise(
    peppered: custmgmt.CustomerManagement,
) -> None:
    anna = peppered.principal("u-anna", roles={"account_manager"})
    alice = peppered.principal("u-alice", roles={"salesperson"})
    customer = peppered.customers.create(anna, name="A", phone="+86 (0)10 6552 9988")
    prospect = peppered.prospects.register(alice, name="A", phone="010-65529988",
                                           willingness="clear", potential_value=1)
    peppered.followups.record(alice, prospect.id, channel="phone", summary="closing call")
    won = peppered.prospects.mark_won(alice, prospect.id)
    assert won.customer_id == customer.id


def test_a_new_pepper_needs_a_rekey_which_keeps_matching_exact(sql_url: str) -> None:
    with custmgmt.open(sql_url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        anna = app.principal("u-anna", roles={"account_manager"})
        app.prospects.register(alice, name="A", phone="13800138000", willingness="clear",
                               potential_value=1)
        app.customers.create(anna, name="C", phone="010-6552 9988", organization="Acme Co.")
        app.principal("u-bob", roles={"salesperson"})
        app.principal("u-ben", roles={"account_manager"})
        before = _stored_keys(app), _stored_keys(app, "customer")
    settings = custmgmt.Settings(key_pepper=PEPPER)
    with custmgmt.open(sql_url, settings=settings) as app:
        bob, ben = app.get_principal("u-bob"), app.get_principal("u-ben")
        assert bob is not None and ben is not None
        # Before the rekey, keys sealed with the old pepper are not seen.
        assert app.prospects.find(bob, phone="13800138000") == ()
        assert app.rekey_identity_keys() == custmgmt.app.RekeyReport(prospects=1, customers=1)
        after = _stored_keys(app), _stored_keys(app, "customer")
        assert after[0].isdisjoint(before[0]) and len(after[0]) == 1
        assert after[1].isdisjoint(before[1]) and len(after[1]) == 2
        with pytest.raises(ClaimConflict):
            app.prospects.register(bob, name="B", phone="+86 138 0013 8000",
                                   willingness="clear", potential_value=1)
        with pytest.raises(ClaimConflict):
            app.customers.create(ben, name="D", phone="+86 10 6552 9988")


def test_the_migration_seals_the_clear_keys_of_existing_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    migrate.upgrade(engine, "0008")
    old = make_prospect(1, organization="Acme Co.")
    customer = make_customer(1, organization="Bolt Co.", phone="021-5555-1234")
    twin = make_customer(2, organization="BOLT Company", phone="13600136000")
    assert old.profile.phone is not None
    with engine.begin() as connection:
        connection.execute(sa.insert(ProspectRow.__table__), [prospect_values(old)])
        connection.execute(sa.insert(CustomerRow.__table__),
                           [customer_values(customer), customer_values(twin)])
        connection.execute(sa.text(
            "INSERT INTO custmgmt_prospect_keys (kind, value, prospect_id) VALUES "
            "('phone', :phone, :id), ('organization', 'acmeco', :id)"),
            {"phone": "".join(c for c in old.profile.phone.value if c.isdigit()), "id": old.id})
        # Under the old rules "bolt co" and "bolt company" were two organizations.
        connection.execute(sa.text(
            "INSERT INTO custmgmt_customer_keys (kind, value, customer_id) VALUES "
            "('phone', '02155551234', :one), ('organization', 'boltco', :one), "
            "('organization', 'boltcompany', :two)"), {"one": customer.id, "two": twin.id})
    engine.dispose()
    clock = FixedClock(old.registration.at)
    with custmgmt.open(url, migrate=True, clock=clock) as app:
        stored = _stored_keys(app)
        assert {kind for kind, _ in stored} == {"phone", "email", "organization"}
        assert all(len(value) == 64 for _, value in stored)
        bob = app.principal("u-bob", roles={"salesperson"})
        for clash in ({"phone": "+86 " + old.profile.phone.value}, {"organization": "ACME"}):
            with pytest.raises(ClaimConflict) as caught:
                app.prospects.register(bob, name="B", willingness="clear", potential_value=1,
                                       **({"phone": "13900139000"} | clash))
            assert caught.value.registration_id == old.registration.id
        customers = _stored_keys(app, "customer")
        assert all(len(value) == 64 for _, value in customers)
        # The earlier customer keeps the organization key the new rules give both.
        admin = app.principal("u-admin", roles={"admin"})
        held = {(m.key.value, m.holder_id)
                for m in app.customers.find(admin, organization="Bolt", phone="13600136000")}
        assert held == {("organization", customer.id), ("phone", twin.id)}
        ben = app.principal("u-ben", roles={"account_manager"})
        with pytest.raises(ClaimConflict) as caught:
            app.customers.create(ben, name="X", phone="+86 (0)21 5555 1234")
        assert caught.value.registration_id == customer.id
