"""app.privacy on every back end: who a person is, export, access, erasure with its legal
holds, the request log with its deadline, rights, and chains that verify afterwards."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

import custmgmt
from custmgmt import Money
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.credit import Condition
from custmgmt.domain.privacy import (
    ERASED,
    PersonalData,
    PiRequest,
    RequestKind,
    RequestStatus,
    SubjectKind,
)
from custmgmt.errors import (
    ClaimConflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from custmgmt.serialization import make_converter, structure
from tests.helpers import admin

App = custmgmt.CustomerManagement
P = custmgmt.Principal

NAME, PHONE, EMAIL = "Zhao Lihua", "139 1122 3344", "Zhao.Lihua@Example.CN"
ADDRESS, NEEDS = "No. 7 Qinghe Road, Haidian", "wants a mortgage for her flat"
PERSONAL = (NAME, "13911223344", "zhao.lihua@example.cn", ADDRESS, NEEDS)


@dataclass
class Shop:
    app: App
    clock: FixedClock
    officer: P
    am: P
    alice: P
    customer: str
    prospect: str


@pytest.fixture
def shop(app: App, clock: FixedClock) -> Shop:
    officer = app.principal("u-dpo", roles={"privacy_officer"})
    am = app.principal("u-am", roles={"account_manager", "relationship_manager"}, team="east")
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    customer = app.customers.create(am, name=NAME, phone=PHONE, address=ADDRESS).id
    prospect = app.prospects.register(alice, name=NAME, email=EMAIL, willingness="clear",
                                      potential_value=2_000_000, needs=NEEDS,
                                      customer_id=customer).id
    app.followups.record(alice, prospect, channel="phone", summary=f"first call, {NAME}",
                         outcome="interested")
    return Shop(app, clock, officer, am, alice, customer, prospect)


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [value for value in PERSONAL if value.lower() in lowered]


# -- who the person is, export and access -------------------------------------------

@pytest.mark.parametrize("by", ["customer_id", "prospect_id", "phone", "email"])
def test_any_handle_of_a_person_finds_all_of_them(shop: Shop, by: str) -> None:
    handle = {"customer_id": shop.customer, "prospect_id": shop.prospect,
              "phone": "+86 139-1122-3344", "email": EMAIL.upper()}[by]
    data = shop.app.privacy.access(shop.officer, **{by: handle})
    assert [c.id for c in data.customers] == [shop.customer]
    assert [p.id for p in data.prospects] == [shop.prospect]
    assert [f.summary for f in data.follow_ups] == [f"first call, {NAME}"]
    assert len(data.plans) == 1
    assert data.subject.kind is SubjectKind(by.removesuffix("_id"))
    assert not _leaks(repr(data))  # counts only


def test_export_is_one_json_document_that_reads_back(shop: Shop) -> None:
    text = shop.app.privacy.export(shop.officer, phone=PHONE)
    document = json.loads(text)
    assert document["customers"][0]["profile"]["name"] == NAME
    assert document["prospects"][0]["profile"]["email"] == EMAIL
    back = structure(make_converter(), document, PersonalData)
    assert back.customers[0].id == shop.customer
    assert back.follow_ups[0].summary == f"first call, {NAME}"
    (request,) = back.requests
    assert (request.kind, request.status) == (RequestKind.EXPORT, RequestStatus.ANSWERED)


def test_export_holds_samples_credit_and_delisting_cases(shop: Shop) -> None:
    app = shop.app
    receiver = app.principal("u-rita", roles={"sample_receiver"}, certifications={
        custmgmt.Certification("sample_receiver", date(2026, 12, 31))})
    sample = app.samples.receive(receiver, customer_id=shop.customer, sample_name="soil",
                                 quantity="2", unit="kg", description="garden soil",
                                 requested_work="analysis")
    approver = app.principal("u-appr", roles={"credit_approver"})
    app.credit.set_limit(approver, shop.customer, Money("1000000", "CNY"))
    intent = app.credit.draft_intent(
        shop.am, shop.customer, kind="loan_intent_letter", credit_line=Money("50000", "CNY"),
        conditions=(Condition(code="income", description="stable income"),),
        valid_from=date(2026, 3, 1), valid_until=date(2026, 12, 31))
    cr = app.principal("u-cr", roles={"customer_relations"})
    case = app.delisting.open_case(cr, shop.customer, grounds=["breach"], trigger="complaint")
    document = json.loads(app.privacy.export(shop.officer, customer_id=shop.customer))
    assert [s["id"] for s in document["samples"]] == [sample.id]
    assert [i["id"] for i in document["credit_instruments"]] == [intent.id]
    assert [limit["customer_id"] for limit in document["credit_limits"]] == [shop.customer]
    assert [c["id"] for c in document["delisting_cases"]] == [case.id]


def test_export_holds_the_consent_history_and_erasure_keeps_it(shop: Shop) -> None:
    app = shop.app
    given = app.consent.give(shop.am, shop.customer, purpose="marketing", channel="sms",
                             source="form", reference="F-17", notice_version="v3")
    shop.clock.advance(hours=1)
    withdrawn = app.consent.withdraw(shop.am, shop.customer, purpose="marketing",
                                     channel="sms", source="call_recording")
    document = json.loads(app.privacy.export(shop.officer, phone=PHONE))
    assert [(c["id"], c["given"]) for c in document["consents"]] == [
        (given.id, True), (withdrawn.id, False)]
    back = structure(make_converter(), document, PersonalData)
    assert back.consents == (given, withdrawn)
    app.privacy.erase(shop.officer, customer_id=shop.customer)
    assert app.privacy.access(shop.officer, customer_id=shop.customer).consents == (
        given, withdrawn)


def test_a_phone_nobody_holds_is_answered_with_nothing_held(shop: Shop) -> None:
    data = shop.app.privacy.access(shop.officer, phone="13700000000")
    assert (data.customers, data.prospects) == ((), ())
    (logged,) = shop.app.privacy.requests(shop.officer)
    assert logged.status is RequestStatus.ANSWERED
    assert logged.outcome == "shown: nothing held about the person"


def test_an_unknown_id_is_not_found_and_logs_nothing(shop: Shop) -> None:
    with pytest.raises(NotFound):
        shop.app.privacy.export(shop.officer, customer_id="c-nobody")
    assert shop.app.privacy.requests(shop.officer) == ()


@pytest.mark.parametrize("subject", [{}, {"customer_id": "c1", "phone": "13911223344"}])
def test_exactly_one_handle_names_the_person(shop: Shop, subject: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as raised:
        shop.app.privacy.access(shop.officer, **subject)
    assert raised.value.field == "subject"


def test_a_bad_phone_or_email_is_refused_by_field_without_echoing_it(shop: Shop) -> None:
    for field, value in (("phone", "12"), ("email", "zhao.lihua-at-example")):
        with pytest.raises(ValidationError) as raised:
            shop.app.privacy.access(shop.officer, **{field: value})
        assert raised.value.field == field
        assert value not in str(raised.value)


# -- the request log ------------------------------------------------------------------

def test_a_request_is_due_within_the_configured_days_and_listed_when_overdue(
        shop: Shop) -> None:
    app, officer = shop.app, shop.officer
    today = shop.clock.now().astimezone(app.settings.zone).date()
    request = app.privacy.receive(officer, "export", phone=PHONE)
    assert request.status is RequestStatus.OPEN
    assert request.due_on == today + timedelta(days=app.settings.pi_request_days)
    assert request.subject.kind is SubjectKind.PHONE
    assert "13911223344" not in request.subject.ref  # a sealed key, not the number
    assert app.privacy.overdue(officer, on=request.due_on) == ()
    assert app.privacy.overdue(officer, on=request.due_on + timedelta(days=1)) == (request,)
    shop.clock.advance(days=app.settings.pi_request_days + 1)
    assert [r.id for r in app.privacy.overdue(officer)] == [request.id]
    app.privacy.export(officer, request.id)
    assert app.privacy.overdue(officer) == ()
    answered = app.privacy.get(officer, request.id)
    assert answered.status is RequestStatus.ANSWERED
    assert answered.outcome == ("exported: 1 customers, 1 prospects, 1 follow_ups, 1 plans")
    assert answered.answered_by == officer.id
    assert app.audit.verify(admin(app), "pi_request", request.id) == 2


def test_an_answered_request_is_not_answered_twice_nor_as_another_kind(shop: Shop) -> None:
    app, officer = shop.app, shop.officer
    request = app.privacy.receive(officer, RequestKind.ACCESS, customer_id=shop.customer)
    with pytest.raises(ValidationError) as raised:
        app.privacy.erase(officer, request.id)
    assert raised.value.field == "request_id"
    with pytest.raises(ValidationError):
        app.privacy.access(officer, request.id, phone=PHONE)
    app.privacy.access(officer, request.id)
    with pytest.raises(InvalidTransition):
        app.privacy.access(officer, request.id)


def test_pi_request_days_is_a_validated_setting() -> None:
    assert custmgmt.Settings().pi_request_days == 15
    assert custmgmt.Settings(pi_request_days=30).pi_request_days == 30
    for bad in (0, 366, -1, "15", 1.5, True):
        with pytest.raises(ValidationError) as raised:
            custmgmt.Settings(pi_request_days=bad)  # type: ignore[arg-type]
        assert raised.value.field == "pi_request_days"


# -- erasure --------------------------------------------------------------------------

def test_erasure_pseudonymizes_the_person_and_keeps_the_business(shop: Shop) -> None:
    app, officer = shop.app, shop.officer
    done = app.privacy.erase(officer, email=EMAIL)
    assert done.status is RequestStatus.ANSWERED
    everyone = admin(app)
    customer = app.customers.get(everyone, shop.customer)
    prospect = app.prospects.get(everyone, shop.prospect)
    for profile in (customer.profile, prospect.profile):
        assert profile.name.value == f"erased-{done.id}"
        assert (profile.phone, profile.email) == (None, None)
        assert profile.address is not None and profile.address.value == ERASED
    assert prospect.profile.needs == ERASED
    (follow_up,) = app.privacy.access(officer, prospect_id=shop.prospect).follow_ups
    assert (follow_up.summary, follow_up.outcome, follow_up.needs, follow_up.by) == (
        ERASED, ERASED, None, shop.alice.id)
    assert (prospect.grade, prospect.owner_id, customer.owner_id) == (
        custmgmt.Grade.A, shop.alice.id, shop.am.id)
    assert not _leaks(app.privacy.export(officer, customer_id=shop.customer))
    # the trails verify: nothing personal was ever in the chained bytes
    assert app.audit.verify(everyone, "customer", shop.customer) >= 2
    assert app.audit.verify(everyone, "prospect", shop.prospect) >= 2
    assert app.audit.verify(everyone, "pi_request", done.id) == 2
    # the identity keys went with the phone and e-mail: the number may be used again
    again = app.customers.create(shop.am, name="Someone Else", phone=PHONE)
    assert again.id != shop.customer


def test_erasing_twice_changes_nothing_more(shop: Shop) -> None:
    app = shop.app
    first = app.privacy.erase(shop.officer, customer_id=shop.customer)
    before = app.customers.get(admin(app), shop.customer)
    second = app.privacy.erase(shop.officer, customer_id=shop.customer)
    assert second.status is RequestStatus.ANSWERED
    after = app.customers.get(admin(app), shop.customer)
    assert after.profile.name.value == f"erased-{first.id}"
    assert after.version == before.version


def test_an_open_credit_instrument_defers_erasure_with_the_reason(shop: Shop) -> None:
    app = shop.app
    approver = app.principal("u-appr", roles={"credit_approver"})
    app.credit.set_limit(approver, shop.customer, Money("1000000", "CNY"))
    intent = app.credit.draft_intent(
        shop.am, shop.customer, kind="loan_intent_letter", credit_line=Money("50000", "CNY"),
        conditions=(Condition(code="income", description="stable income"),),
        valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 31))
    before = app.customers.get(admin(app), shop.customer)
    deferred = app.privacy.erase(shop.officer, phone=PHONE)
    assert deferred.status is RequestStatus.DEFERRED
    assert deferred.reason == (f"legal hold: open credit instrument {intent.id} (draft)")
    assert app.customers.get(admin(app), shop.customer) == before
    assert app.privacy.overdue(shop.officer, on=date(2027, 1, 1)) == ()  # answered
    # once the hold is gone (the intent expired), the same request erases
    shop.clock.advance(days=40)
    done = app.privacy.erase(shop.officer, deferred.id)
    assert (done.id, done.status, done.reason) == (deferred.id, RequestStatus.ANSWERED, None)
    assert app.customers.get(admin(app), shop.customer).profile.phone is None


def test_an_unfinished_delisting_case_defers_erasure(shop: Shop) -> None:
    app = shop.app
    cr = app.principal("u-cr", roles={"customer_relations"})
    case = app.delisting.open_case(cr, shop.customer, grounds=["breach"], trigger="complaint")
    deferred = app.privacy.erase(shop.officer, prospect_id=shop.prospect)
    assert deferred.status is RequestStatus.DEFERRED
    assert deferred.reason == f"legal hold: open delisting case {case.id} (opened)"
    assert app.prospects.get(admin(app), shop.prospect).profile.email is not None


def test_erasure_leaves_the_custody_chain_of_their_samples_verifying(shop: Shop) -> None:
    app = shop.app
    receiver = app.principal("u-rita", roles={"sample_receiver"}, certifications={
        custmgmt.Certification("sample_receiver", date(2026, 12, 31))})
    sample = app.samples.receive(receiver, customer_id=shop.customer, sample_name="soil",
                                 quantity="2", unit="kg", description="garden soil",
                                 requested_work="analysis")
    assert app.privacy.erase(shop.officer, customer_id=shop.customer).status is \
        RequestStatus.ANSWERED
    app.samples.verify_chain(receiver, sample.id)
    assert app.samples.get(receiver, sample.id).info.customer_id == shop.customer


def test_nothing_personal_in_events_or_audit_entries_after_the_whole_story(
        shop: Shop) -> None:
    app = shop.app
    app.privacy.export(shop.officer, phone=PHONE)
    app.privacy.erase(shop.officer, phone=PHONE)
    everyone = admin(app)
    converter = make_converter()
    for event in app.events(everyone):
        assert not _leaks(json.dumps(converter.unstructure(event), ensure_ascii=False))
    for kind, rid in (("customer", shop.customer), ("prospect", shop.prospect)):
        trail = app.customers.audit_trail(everyone, rid) if kind == "customer" else \
            app.prospects.audit_trail(everyone, rid)
        assert not _leaks(repr([(e.before, e.after, e.action) for e in trail]))


# -- rights ---------------------------------------------------------------------------

RIGHTS = {
    # role: (receive, read, access, export, erase, refuse)
    "privacy_officer": (True, True, True, True, True, True),
    "admin": (True, True, True, True, True, True),
    "auditor": (False, True, False, False, False, False),
    "salesperson": (False, False, False, False, False, False),
    "account_manager": (False, False, False, False, False, False),
    "customer_relations": (False, False, False, False, False, False),
}


@pytest.mark.parametrize("role", sorted(RIGHTS))
def test_each_role_may_do_what_the_table_says_and_a_refusal_logs_nothing(
        shop: Shop, role: str) -> None:
    app = shop.app
    actor = app.principal(f"u-{role}", roles={role})
    pending = app.privacy.receive(shop.officer, "access", customer_id=shop.customer)
    calls = (
        lambda: app.privacy.receive(actor, "access", customer_id=shop.customer),
        lambda: app.privacy.requests(actor),
        lambda: app.privacy.access(actor, customer_id=shop.customer),
        lambda: app.privacy.export(actor, customer_id=shop.customer),
        lambda: app.privacy.erase(actor, customer_id=shop.customer),
        lambda: app.privacy.refuse(actor, pending.id, reason="unverified"),
    )
    for allowed, call in zip(RIGHTS[role], calls, strict=True):
        before = app.privacy.requests(shop.officer, limit=1000)
        if allowed:
            call()
        else:
            with pytest.raises(PermissionDenied):
                call()
            assert app.privacy.requests(shop.officer, limit=1000) == before


def test_a_forged_principal_is_refused(shop: Shop) -> None:
    forged = P(id="u-nobody", roles={"privacy_officer"})
    with pytest.raises(PermissionDenied):
        shop.app.privacy.export(forged, customer_id=shop.customer)


def test_a_request_reads_back_equal_on_every_backend(shop: Shop) -> None:
    request = shop.app.privacy.receive(shop.officer, "erasure", email=EMAIL)
    assert isinstance(request, PiRequest)
    assert shop.app.privacy.get(shop.officer, request.id) == request
    with pytest.raises(ClaimConflict):
        shop.app.customers.create(shop.am, name="Other", phone=PHONE)


def test_a_request_may_be_refused_with_the_reason(shop: Shop) -> None:
    app, officer = shop.app, shop.officer
    request = app.privacy.receive(officer, "erasure", customer_id=shop.customer)
    with pytest.raises(ValidationError) as raised:
        app.privacy.refuse(officer, request.id, reason="  ")
    assert raised.value.field == "reason"
    refused = app.privacy.refuse(officer, request.id, reason="identity not verified")
    assert (refused.status, refused.reason, refused.answered_by) == (
        RequestStatus.REFUSED, "identity not verified", officer.id)
    assert app.privacy.requests(officer, status="refused") == (refused,)
    with pytest.raises(InvalidTransition):
        app.privacy.erase(officer, request.id)
    assert app.customers.get(admin(app), shop.customer).profile.phone is not None
    assert app.audit.verify(admin(app), "pi_request", request.id) == 2


def test_refusing_needs_the_right_of_the_requests_kind_and_reveals_nothing(
        shop: Shop) -> None:
    app = shop.app
    request = app.privacy.receive(shop.officer, "export", customer_id=shop.customer)
    eraser = app.principal("u-eraser", roles={"auditor"})
    for rid in (request.id, "pi-none"):  # the same answer whether it exists or not
        with pytest.raises(PermissionDenied):
            app.privacy.refuse(eraser, rid, reason="no")
    assert app.privacy.get(shop.officer, request.id).status is RequestStatus.OPEN


def test_a_refused_call_is_logged_with_why_and_nothing_personal(
        shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    app = shop.app
    clerk = app.principal("u-clerk", roles={"salesperson"})
    with caplog.at_level("WARNING", logger="custmgmt.privacy"):
        with pytest.raises(PermissionDenied):
            app.privacy.export(clerk, phone=PHONE)
        with pytest.raises(NotFound):
            app.privacy.erase(shop.officer, customer_id="c-nobody")
    lines = [r.getMessage() for r in caplog.records if r.name == "custmgmt.privacy"]
    assert len(lines) == 2
    assert lines[0].startswith("personal-information export request refused for u-clerk: "
                               "PermissionDenied")
    assert "erasure request refused for u-dpo: NotFound" in lines[1]
    assert not _leaks(" ".join(lines))
