"""app.customers: created directly or by winning a prospect, one company one customer,
access like prospects, lookup by identity keys, and the guard in the other areas."""

from __future__ import annotations

from datetime import date

import pytest

import custmgmt
from custmgmt import Certification, Stage
from custmgmt.domain.customers import Customer, CustomerChange, CustomerKind, CustomerStatus
from custmgmt.domain.prospects import ChangeKind, KeyKind, Prospect
from custmgmt.errors import (
    ClaimConflict,
    CustomerRefused,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from tests.helpers import admin, register_numbered

App = custmgmt.CustomerManagement
Who = dict[str, custmgmt.Principal]


@pytest.fixture
def who(app: App) -> Who:
    return {
        "anna": app.principal("u-anna", roles={"account_manager"}, team="east"),
        "ben": app.principal("u-ben", roles={"account_manager"}, team="west"),
        "alice": app.principal("u-alice", roles={"salesperson"}, team="east"),
        "bob": app.principal("u-bob", roles={"salesperson"}, team="east"),
        "mia": app.principal("u-mia", roles={"sales_manager"}, team="east"),
        "reader": app.principal("u-read", roles={"customer_reader"}),
        "admin": app.principal("u-admin", roles={"admin"}),
        "rita": app.principal("u-rita", roles={"sample_receiver"}, certifications={
            Certification("sample_receiver", date(2026, 12, 31))}),
    }


def win(app: App, actor: custmgmt.Principal, prospect_id: str) -> Prospect:
    """Follow the prospect up in its stage (the rule for leaving one), then win it."""
    app.followups.record(actor, prospect_id, channel="phone", summary="closing call")
    return app.prospects.mark_won(actor, prospect_id)


def acme(app: App, who: Who) -> Customer:
    return app.customers.create(who["anna"], name="Wang Wei", organization="Acme Co., Ltd.",
                                phone="13912345678", credit_code="91350100M000100Y43")


def test_an_account_manager_creates_an_existing_client(app: App, who: Who) -> None:
    c = acme(app, who)
    assert (c.kind, c.owner_id, c.owner_team, c.status) == (
        CustomerKind.ORGANIZATION, "u-anna", "east", CustomerStatus.ACTIVE)
    assert [h.kind for h in app.customers.history(who["anna"], c.id)] == [CustomerChange.CREATED]
    person = app.customers.create(who["anna"], name="Li Na", email="li.na@example.com")
    assert person.kind is CustomerKind.PERSON
    assert app.customers.get(who["anna"], c.id) == c
    assert [e.action for e in app.customers.audit_trail(who["anna"], c.id)] == ["create"]


@pytest.mark.parametrize("twin", [
    {"organization": "ＡＣＭＥ co ltd"}, {"phone": "+86 139-1234-5678"},
    {"credit_code": "91350100m000100y43", "organization": "Other Name Ltd"},
])
def test_one_company_is_never_two_customers(app: App, who: Who, twin: dict[str, str]) -> None:
    c = acme(app, who)
    with pytest.raises(ClaimConflict) as raised:
        app.customers.create(who["ben"], name="Someone", address="somewhere", **twin)
    assert (raised.value.owner_id, raised.value.registration_id) == ("u-anna", c.id)
    assert len(app.customers.list(who["admin"]).items) == 1


def test_a_salesperson_may_not_create_customers(app: App, who: Who) -> None:
    with pytest.raises(PermissionDenied):
        app.customers.create(who["alice"], name="X", phone="13800138000")


def test_winning_a_prospect_creates_its_customer(app: App, who: Who) -> None:
    p = register_numbered(app, who["alice"], 1, organization="Star Trading")
    won = win(app, who["alice"], p.id)
    assert won.stage is Stage.CONTRACT_SIGNED and won.customer_id is not None
    assert won.history[-1].kind is ChangeKind.CUSTOMER
    c = app.customers.get(who["alice"], won.customer_id)
    assert (c.profile, c.owner_id, c.owner_team) == (p.profile, "u-alice", "east")
    assert "won prospect" in (c.history[0].reason or "")
    names = [e.name for e in app.events(admin(app))][-3:]
    assert names == ["StageChanged", "CustomerCreated", "ProspectCustomerNamed"]


def test_advancing_to_contract_signed_is_winning_too(app: App, who: Who) -> None:
    p = register_numbered(app, who["alice"], 1)
    app.followups.record(who["alice"], p.id, channel="visit", summary="signing")
    won = app.prospects.advance(who["alice"], p.id, to=Stage.CONTRACT_SIGNED)
    assert won.customer_id is not None
    assert app.customers.get(who["alice"], won.customer_id).profile == p.profile


def test_winning_links_to_the_customer_with_the_same_keys(app: App, who: Who) -> None:
    c = acme(app, who)
    p = app.prospects.register(who["alice"], name="Wang", phone="139 1234 5678",
                               willingness="clear", potential_value=1000)
    won = win(app, who["alice"], p.id)
    assert won.customer_id == c.id
    assert len(app.customers.list(who["admin"]).items) == 1
    linked = app.customers.get(who["anna"], c.id)
    assert (linked.history[-1].kind, linked.history[-1].after) == (CustomerChange.LINKED, p.id)


def test_a_prospect_may_name_its_customer(app: App, who: Who) -> None:
    c = acme(app, who)
    other = app.customers.create(who["anna"], name="Li Na", email="li.na@example.com")
    p = register_numbered(app, who["alice"], 1, customer_id=c.id)
    assert p.customer_id == c.id
    q = register_numbered(app, who["alice"], 2)
    q = app.prospects.name_customer(who["alice"], q.id, other.id)
    assert (q.customer_id, q.history[-1].kind) == (other.id, ChangeKind.CUSTOMER)
    assert win(app, who["alice"], q.id).customer_id == other.id
    with pytest.raises(NotFound):
        register_numbered(app, who["alice"], 3, customer_id="c-nobody")
    with pytest.raises(NotFound):
        app.prospects.name_customer(who["alice"], p.id, "c-nobody")


def test_samples_reference_a_customer_that_exists(app: App, who: Who) -> None:
    c = acme(app, who)
    fields = {"sample_name": "resin", "quantity": 1, "unit": "kg", "description": "bag",
              "requested_work": "test"}
    with pytest.raises(NotFound) as raised:
        app.samples.receive(who["rita"], customer_id="c-nobody", **fields)
    assert raised.value.kind == "customer"
    with pytest.raises(ValidationError) as bad:
        app.samples.receive(who["rita"], customer_id=123, **fields)  # type: ignore[arg-type]
    assert bad.value.field == "customer_id"
    assert app.samples.receive(who["rita"], customer_id=c.id, **fields).info.customer_id == c.id


def test_a_sealed_customer_is_refused_everywhere_naming_its_status(app: App, who: Who) -> None:
    c = acme(app, who)
    named = app.prospects.register(who["alice"], name="Zhao", email="zhao@example.com",
                                   willingness="clear", potential_value=1, customer_id=c.id)
    sealed = app.customers.set_status(who["admin"], c.id, "sealed", reason="delisted")
    assert sealed.status is CustomerStatus.SEALED
    with pytest.raises(CustomerRefused, match="sealed") as raised:
        app.samples.receive(who["rita"], customer_id=c.id, sample_name="r", quantity=1,
                            unit="kg", description="d", requested_work="w")
    assert (raised.value.status, raised.value.purpose) == ("sealed", "sample_receipt")
    with pytest.raises(CustomerRefused, match="sealed"):  # a sealed company's keys
        app.prospects.register(who["bob"], name="W", organization="acme company limited",
                               address="x", willingness="clear", potential_value=1)
    with pytest.raises(CustomerRefused, match="sealed"):
        register_numbered(app, who["bob"], 7, customer_id=c.id)
    with pytest.raises(CustomerRefused, match="sealed"):
        win(app, who["alice"], named.id)
    assert app.prospects.get(who["alice"], named.id).stage is Stage.INITIAL_CONTACT
    with pytest.raises(PermissionDenied):
        app.customers.set_status(who["anna"], c.id, "active", reason="mine")
    app.customers.set_status(who["admin"], c.id, "active", reason="objection upheld")
    assert win(app, who["alice"], named.id).customer_id == c.id


def test_access_follows_the_prospect_rule(app: App, who: Who) -> None:
    p = register_numbered(app, who["alice"], 1)
    cid = win(app, who["alice"], p.id).customer_id
    assert cid is not None
    assert app.customers.get(who["alice"], cid).id == cid           # owner
    assert app.customers.get(who["mia"], cid).id == cid             # owner's manager
    assert app.customers.get(who["reader"], cid).id == cid          # a role granted it
    for outsider in ("bob", "anna", "rita"):
        with pytest.raises(PermissionDenied):
            app.customers.get(who[outsider], cid)
    assert [c.id for c in app.customers.list(who["bob"]).items] == []
    assert [c.id for c in app.customers.list(who["mia"]).items] == [cid]


def test_find_says_who_holds_a_key_without_leaking(app: App, who: Who) -> None:
    c = acme(app, who)
    mine = app.customers.find(who["anna"], organization="acme co ltd", phone="13912345678")
    assert [(m.key, m.holder_id, m.owner_id, m.record) for m in mine] == [
        (KeyKind.ORGANIZATION, c.id, "u-anna", c), (KeyKind.PHONE, c.id, "u-anna", c)]
    theirs = app.customers.find(who["ben"], credit_code="91350100M000100Y43")
    assert [(m.key, m.holder_id, m.owner_id, m.record) for m in theirs] == [
        (KeyKind.CREDIT_CODE, None, "u-anna", None)]
    assert app.customers.find(who["ben"], email="nobody@example.com") == ()
    with pytest.raises(ValidationError):
        app.customers.find(who["ben"])
    with pytest.raises(PermissionDenied):
        app.customers.find(who["rita"], phone="13912345678")

    p = app.prospects.register(who["alice"], name="Li", phone="13800138000",
                               willingness="clear", potential_value=1)
    (own,) = app.prospects.find(who["alice"], phone="+86 138-0013-8000")
    assert (own.holder_id, own.record) == (p.id, p)
    (hidden,) = app.prospects.find(who["bob"], phone="13800138000")
    assert (hidden.key, hidden.holder_id, hidden.owner_id, hidden.record) == (
        KeyKind.PHONE, None, "u-alice", None)


def test_transfer_profile_and_review(app: App, who: Who) -> None:
    p = register_numbered(app, who["alice"], 1)
    cid = win(app, who["alice"], p.id).customer_id
    assert cid is not None
    with pytest.raises(PermissionDenied):
        app.customers.transfer(who["alice"], cid, to_owner="u-bob", reason="leaving")
    moved = app.customers.transfer(who["mia"], cid, to_owner="u-bob", reason="alice leaves")
    assert (moved.owner_id, moved.history[-1].reason) == ("u-bob", "alice leaves")
    with pytest.raises(PermissionDenied):
        app.customers.get(who["alice"], cid)
    changed = app.customers.update_profile(who["bob"], cid, email="new@example.com")
    assert changed.profile.email is not None and changed.history[-1].after == "email"
    acme(app, who)
    with pytest.raises(ClaimConflict):
        app.customers.update_profile(who["bob"], cid, phone="139 1234 5678")
    with pytest.raises(ValidationError):
        app.customers.update_profile(who["bob"], cid, favourite_colour="red")
    with pytest.raises(InvalidTransitionError):
        app.customers.review(who["admin"], cid, note="fine")


InvalidTransitionError = custmgmt.errors.InvalidTransition


def test_a_sealed_customer_is_not_followed_up_by_name_or_by_its_keys(
    app: App, who: Who
) -> None:
    c = acme(app, who)
    named = app.prospects.register(who["alice"], name="Zhao", email="zhao@example.com",
                                   willingness="clear", potential_value=1, customer_id=c.id)
    by_keys = app.prospects.register(who["bob"], name="Qian", phone="13812345000",
                                     willingness="clear", potential_value=1)
    other = app.customers.create(who["ben"], name="Qian", phone="13812345000")  # since
    for customer_id in (c.id, other.id):
        app.customers.set_status(who["admin"], customer_id, "sealed", reason="delisted")
    for actor, prospect in ((who["alice"], named), (who["bob"], by_keys)):
        with pytest.raises(CustomerRefused, match="sealed") as raised:
            app.followups.record(actor, prospect.id, channel="phone", summary="still there?")
        assert raised.value.purpose == "sales"
        assert app.followups.history(actor, prospect_id=prospect.id) == ()
    app.customers.set_status(who["admin"], c.id, "active", reason="objection upheld")
    app.followups.record(who["alice"], named.id, channel="phone", summary="welcome back")
    assert len(app.followups.history(who["alice"], prospect_id=named.id)) == 1


def test_an_import_rejects_only_the_rows_of_a_sealed_customer(app: App, who: Who) -> None:
    c = acme(app, who)
    app.customers.set_status(who["admin"], c.id, "sealed", reason="delisted")
    rows = [
        {"name": "A", "phone": "13800000001", "willingness": "clear", "potential_value": "1"},
        {"name": "B", "phone": "+86 139 1234 5678", "willingness": "clear",
         "potential_value": "1"},
        {"name": "C", "phone": "13800000003", "willingness": "clear", "potential_value": "1"},
    ]
    report = app.prospects.import_many(who["alice"], rows)
    assert report.imported == 2
    (rejected,) = report.rejected
    assert rejected.line == 2 and "sealed" in rejected.reason and c.id in rejected.reason
    assert "5678" not in rejected.reason
    assert app.prospects.counts(who["admin"]).total == 2


def test_a_large_batch_finds_each_key_a_customer_holds(app: App, who: Who) -> None:
    """A batch of many keys is looked up a kind at a time (not key by key): the rows of
    a customer's phone and of its organization are both refused, the rest stored."""
    c = acme(app, who)
    app.customers.set_status(who["admin"], c.id, "sealed", reason="delisted")
    rows = [{"name": f"P{n}", "phone": f"1380000{n:04d}", "email": f"p{n}@example.com",
             "willingness": "clear", "potential_value": "1"} for n in range(1, 31)]
    rows[11]["phone"] = "139 1234 5678"
    rows[23] = {"name": "Org", "organization": "ACME CO., LTD.",
                "phone": "13700000024", "willingness": "clear", "potential_value": "1"}
    report = app.prospects.import_many(who["alice"], rows)
    assert report.imported == 28
    assert [r.line for r in report.rejected] == [12, 24]
    assert all("sealed" in r.reason and c.id in r.reason for r in report.rejected)
    assert app.prospects.counts(who["admin"]).total == 28
