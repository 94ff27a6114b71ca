"""app.delisting on memory, SQLite and PostgreSQL: the case, the vote, notice, sealing,
sealed reads, open items, objection, periodic review (客户摘牌管理制度)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import custmgmt
from custmgmt import Certification, Money
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.credit import Benchmark, InterestRate
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.delisting import CaseState, DelistingCase, Step
from custmgmt.errors import (
    CustomerRefused,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from custmgmt.services.sealed import SEALED
from tests.helpers import admin

App = custmgmt.CustomerManagement
Who = dict[str, custmgmt.Principal]


@pytest.fixture
def who(app: App) -> Who:
    people = {
        "cr": app.principal("u-cr", roles={"customer_relations"}),
        "am": app.principal("u-am", roles={"account_manager"}, team="east"),
        "alice": app.principal("u-alice", roles={"salesperson"}, team="east"),
        "reader": app.principal("u-reader", roles={"sealed_reader"}),
        "rita": app.principal("u-rita", roles={"sample_receiver"}, certifications={
            Certification("sample_receiver", date(2026, 12, 31))}),
        "admin": admin(app),
    }
    for n in range(1, 6):
        people[f"l{n}"] = app.principal(f"u-lead{n}", roles={"leadership"})
    return people


def acme(app: App, who: Who) -> str:
    return app.customers.create(who["am"], name="Wang Wei", organization="Acme Co., Ltd.",
                                phone="13912345678").id


def investigated(app: App, who: Who, customer_id: str) -> DelistingCase:
    case = app.delisting.open_case(who["cr"], customer_id, grounds=["breach"],
                                   trigger="complaint", trigger_note="supplier complaint")
    app.delisting.add_evidence(who["cr"], case.id, kind="document",
                               description="unpaid invoices 2025", source="finance")
    return app.delisting.summarize(who["cr"], case.id, summary="breach confirmed")


def decided(app: App, who: Who, customer_id: str) -> DelistingCase:
    case = app.delisting.open_vote(who["cr"], investigated(app, who, customer_id).id)
    for n in (1, 2, 3):
        app.delisting.vote(who[f"l{n}"], case.id, "for")
    return app.delisting.close_vote(who["cr"], case.id)


def notified(app: App, who: Who, customer_id: str) -> DelistingCase:
    case = decided(app, who, customer_id)
    return app.delisting.notify(who["cr"], case.id, reasons="three invoices unpaid",
                                basis="客户摘牌管理制度 二、1(4)")


def sealed(app: App, who: Who) -> tuple[str, DelistingCase]:
    cid = acme(app, who)
    case = notified(app, who, cid)
    return cid, app.delisting.seal(who["cr"], case.id)


# -- the case ------------------------------------------------------------------------


def test_a_case_runs_from_opening_to_sealing_with_every_step_in_history(
        app: App, who: Who) -> None:
    cid, case = sealed(app, who)
    assert case.state is CaseState.SEALED and case.sealed
    steps = [s.step for s in case.history]
    assert steps == [Step.OPENED, Step.EVIDENCE, Step.SUMMARY, Step.VOTE_OPENED, Step.VOTED,
                     Step.VOTED, Step.VOTED, Step.DECIDED, Step.NOTIFIED, Step.SEALED]
    assert all(s.by and s.at for s in case.history)
    assert case.history[-1].by == "u-cr"
    stored = app.delisting.get(who["cr"], case.id)
    assert stored == case
    assert app.delisting.cases_of(who["l1"], cid) == (case,)
    trail = app.delisting.audit_trail(who["cr"], case.id)
    assert [e.action for e in trail] == [
        "open", "evidence", "summary", "open_vote", "vote", "vote", "vote", "close_vote",
        "notify", "seal"]
    assert app.customers.history(who["admin"], cid)[-1].after == "sealed"


def test_grounds_are_checked_and_other_needs_a_description(app: App, who: Who) -> None:
    cid = acme(app, who)
    with pytest.raises(ValidationError) as raised:
        app.delisting.open_case(who["cr"], cid, grounds=["rudeness"], trigger="complaint")
    assert raised.value.field == "grounds"
    with pytest.raises(ValidationError) as raised:
        app.delisting.open_case(who["cr"], cid, grounds=["other"], trigger="feedback")
    assert raised.value.field == "other_ground"
    case = app.delisting.open_case(who["cr"], cid, grounds=["other", "unauthorized_use"],
                                   other_ground="leaked tender documents",
                                   trigger="periodic_review")
    assert [g.value for g in case.grounds] == ["other", "unauthorized_use"]
    assert app.delisting.cases_of(who["cr"], cid) == (case,)


def test_only_customer_relations_opens_and_one_unfinished_case_per_customer(
        app: App, who: Who) -> None:
    cid = acme(app, who)
    with pytest.raises(PermissionDenied):
        app.delisting.open_case(who["l1"], cid, grounds=["breach"], trigger="complaint")
    with pytest.raises(NotFound):
        app.delisting.open_case(who["cr"], "c-none", grounds=["breach"], trigger="complaint")
    app.delisting.open_case(who["cr"], cid, grounds=["breach"], trigger="complaint")
    with pytest.raises(InvalidTransition):
        app.delisting.open_case(who["cr"], cid, grounds=["breach"], trigger="complaint")


def test_no_vote_without_evidence_and_the_written_summary(app: App, who: Who) -> None:
    cid = acme(app, who)
    case = app.delisting.open_case(who["cr"], cid, grounds=["breach"], trigger="complaint")
    with pytest.raises(InvalidTransition):
        app.delisting.open_vote(who["cr"], case.id)
    app.delisting.summarize(who["cr"], case.id, summary="written summary")
    with pytest.raises(InvalidTransition, match="no evidence"):
        app.delisting.open_vote(who["cr"], case.id)
    other = app.delisting.open_case(who["cr"], acme2(app, who), grounds=["breach"],
                                    trigger="complaint")
    app.delisting.add_evidence(who["cr"], other.id, kind="interview",
                               description="call with the customer", source="phone")
    with pytest.raises(InvalidTransition, match="summary"):
        app.delisting.open_vote(who["cr"], other.id)
    with pytest.raises(ValidationError) as raised:
        app.delisting.summarize(who["cr"], other.id, summary="  ")
    assert raised.value.field == "summary"
    assert app.delisting.get(who["cr"], other.id).summary is None


def acme2(app: App, who: Who) -> str:
    return app.customers.create(who["am"], name="Li Lei", organization="Beta Trading",
                                phone="13987654321").id


# -- the vote ------------------------------------------------------------------------


def vote_with(app: App, who: Who, leaders: int, choices: dict[int, str]) -> DelistingCase:
    for n in range(leaders + 1, 6):  # fewer leaders: the rest lose the role first
        app.principal(f"u-lead{n}", roles=set())
    case = app.delisting.open_vote(who["cr"], investigated(app, who, acme(app, who)).id)
    assert len(case.panel) == leaders
    for n, choice in choices.items():
        app.delisting.vote(who[f"l{n}"], case.id, choice)
    return app.delisting.close_vote(who["cr"], case.id)


@pytest.mark.parametrize(("leaders", "choices", "state"), [
    (5, {1: "for", 2: "for", 3: "for"}, CaseState.DECIDED),
    (5, {1: "for", 2: "for", 3: "abstain", 4: "abstain", 5: "abstain"}, CaseState.REJECTED),
    (4, {1: "for", 2: "for", 3: "against", 4: "against"}, CaseState.REJECTED),
    (4, {1: "for", 2: "for"}, CaseState.REJECTED),
    (4, {1: "for", 2: "for", 3: "for"}, CaseState.DECIDED),
    (5, {1: "for", 2: "for"}, CaseState.REJECTED),
    (1, {1: "for"}, CaseState.DECIDED),
    (2, {1: "for", 2: "abstain"}, CaseState.REJECTED),
], ids=["3of5", "2for3abstain", "tie2of4", "2of4", "3of4", "2of5notvoted", "1of1", "1of2"])
def test_more_than_half_of_the_whole_panel(app: App, who: Who, leaders: int,
                                           choices: dict[int, str], state: CaseState) -> None:
    assert vote_with(app, who, leaders, choices).state is state


def test_a_member_added_after_the_vote_opened_does_not_count(app: App, who: Who) -> None:
    app.principal("u-lead5", roles=set())
    case = app.delisting.open_vote(who["cr"], investigated(app, who, acme(app, who)).id)
    assert case.panel == ("u-lead1", "u-lead2", "u-lead3", "u-lead4")
    late = app.principal("u-late", roles={"leadership"})
    with pytest.raises(InvalidTransition, match="panel"):
        app.delisting.vote(late, case.id, "for")
    app.delisting.vote(who["l1"], case.id, "for")
    app.delisting.vote(who["l2"], case.id, "for")
    tally = app.delisting.tally(who["cr"], case.id)
    assert (tally.panel_size, tally.votes_for, tally.not_voted, tally.passes) == (4, 2, 2, False)
    assert app.delisting.close_vote(who["cr"], case.id).state is CaseState.REJECTED


def test_each_member_votes_once_and_may_change_until_it_closes(app: App, who: Who) -> None:
    case = app.delisting.open_vote(who["cr"], investigated(app, who, acme(app, who)).id)
    for n in (1, 2, 3):
        app.delisting.vote(who[f"l{n}"], case.id, "for")
    changed = app.delisting.vote(who["l3"], case.id, "against")
    assert len(changed.votes) == 3
    assert {v.member_id: v.choice.value for v in changed.votes}["u-lead3"] == "against"
    assert app.delisting.tally(who["cr"], case.id).votes_for == 2
    app.delisting.vote(who["l3"], case.id, "for")
    closed = app.delisting.close_vote(who["cr"], case.id)
    assert closed.state is CaseState.DECIDED
    with pytest.raises(InvalidTransition):
        app.delisting.vote(who["l4"], case.id, "against")
    with pytest.raises(PermissionDenied):
        app.delisting.vote(who["cr"], case.id, "for")


def test_a_rejected_case_is_final(app: App, who: Who) -> None:
    case = vote_with(app, who, 5, {1: "for"})
    assert case.is_closed
    with pytest.raises(InvalidTransition):
        app.delisting.notify(who["cr"], case.id, reasons="r", basis="b")
    with pytest.raises(InvalidTransition):
        app.delisting.seal(who["cr"], case.id)


# -- the notice ----------------------------------------------------------------------


def test_the_notice_names_grounds_reasons_and_basis_and_goes_through_the_outbox(
        app: App, who: Who) -> None:
    cid = acme(app, who)
    case = decided(app, who, cid)
    for missing in ({"reasons": " ", "basis": "policy"}, {"reasons": "why", "basis": ""}):
        with pytest.raises(ValidationError) as raised:
            app.delisting.notify(who["cr"], case.id, **missing)
        assert raised.value.field in ("reasons", "basis")
    assert app.delisting.get(who["cr"], case.id).notice is None
    assert not [i for i in app.outbox(who["admin"]) if i.notification.kind == "delisting.notice"]
    done = app.delisting.notify(who["cr"], case.id, reasons="三张发票逾期未付",
                                basis="客户摘牌管理制度 二、1(4)")
    assert done.state is CaseState.NOTIFIED and done.notice is not None
    text = done.notice.text
    assert "客户摘牌通知书" in text and "Acme Co., Ltd." in text
    assert "违反合同约定" in text and "三张发票逾期未付" in text and "二、1(4)" in text
    sent = [i.notification for i in app.outbox(who["admin"])
            if i.notification.kind == "delisting.notice"]
    assert len(sent) == 1 and sent[0].body == text and sent[0].recipient_id == cid
    assert sent[0].id == done.notice.notification_id
    assert app.delisting.get(who["cr"], case.id).notice == done.notice


def test_the_notice_in_english(app: App, who: Who) -> None:
    case = decided(app, who, acme(app, who))
    done = app.delisting.notify(who["cr"], case.id, reasons="three invoices unpaid",
                                basis="policy 2.1(4)", language="en")
    assert done.notice is not None
    assert done.notice.text.startswith("Notice of delisting")
    assert "breach of contract" in done.notice.text and "policy 2.1(4)" in done.notice.text


# -- sealing -------------------------------------------------------------------------


def test_sealing_sets_the_status_and_erases_nothing(app: App, who: Who) -> None:
    cid, _ = sealed(app, who)
    shown = app.customers.get(who["admin"], cid)
    assert shown.status is CustomerStatus.SEALED
    assert shown.profile.phone is None and shown.profile.address is not None
    assert shown.profile.address.value == SEALED
    stored = app.delisting.read_sealed(who["reader"], cid, reason="court order 2026-17")
    assert stored.profile.phone is not None and stored.profile.phone.key.endswith("13912345678")
    assert stored.status is CustomerStatus.SEALED


def test_sealed_reads_need_the_right_and_a_reason_and_are_audited(app: App, who: Who) -> None:
    cid, _ = sealed(app, who)
    for person in ("cr", "am", "alice", "l1"):
        with pytest.raises(PermissionDenied):
            app.delisting.read_sealed(who[person], cid, reason="curious")
    with pytest.raises(ValidationError) as raised:
        app.delisting.read_sealed(who["reader"], cid, reason=" ")
    assert raised.value.field == "reason"
    app.delisting.read_sealed(who["reader"], cid, reason="legal claim")
    reads = [e for e in app.customers.audit_trail(who["admin"], cid)
             if e.action == "sealed_read"]
    assert len(reads) == 1
    assert (reads[0].actor_id, dict(reads[0].after)) == (
        "u-reader", {"read": f"customer {cid}", "reason": "legal claim"})


# The authorization table for sealed reads: role -> may read sealed data.
SEALED_READ_TABLE = {
    "sealed_reader": True, "admin": True, "customer_relations": False, "leadership": False,
    "account_manager": False, "customer_reader": False, "sales_manager": False,
    "salesperson": False, "auditor": False,
}


@pytest.mark.parametrize(("role", "allowed"), list(SEALED_READ_TABLE.items()))
def test_sealed_read_authorization_table(app: App, who: Who, role: str, allowed: bool) -> None:
    cid, _ = sealed(app, who)
    person = app.principal(f"u-{role}", roles={role})
    if allowed:
        assert app.delisting.read_sealed(person, cid, reason="check").id == cid
    else:
        with pytest.raises(PermissionDenied):
            app.delisting.read_sealed(person, cid, reason="check")


def test_a_linked_prospects_contacts_are_sealed_too(app: App, who: Who) -> None:
    cid = acme(app, who)
    p = app.prospects.register(who["alice"], name="Wang Wei", phone="13811112222",
                               willingness="clear", potential_value=2_000_000, customer_id=cid)
    app.followups.record(who["alice"], p.id, channel="phone", summary="closing")
    case = notified(app, who, cid)
    app.delisting.seal(who["l1"], case.id, override="plans end with the relationship")
    shown = app.prospects.get(who["alice"], p.id)
    assert shown.profile.phone is None and shown.profile.address is not None
    assert [q.profile.phone for q in app.prospects.list(who["alice"]).items] == [None]
    with pytest.raises(PermissionDenied):
        app.delisting.read_sealed_prospect(who["alice"], p.id, reason="need it")
    full = app.delisting.read_sealed_prospect(who["reader"], p.id, reason="collections")
    assert full.profile.phone is not None


def test_open_items_block_sealing_until_a_leader_overrides(app: App, who: Who) -> None:
    cid = acme(app, who)
    sample = app.samples.receive(who["rita"], customer_id=cid, sample_name="resin",
                                 quantity="1", unit="kg", description="bag",
                                 requested_work="test")
    p = app.prospects.register(who["alice"], name="Wang Wei", phone="13811112222",
                               willingness="clear", potential_value=2_000_000, customer_id=cid)
    case = notified(app, who, cid)
    items = app.delisting.open_items(who["cr"], case.id)
    assert {(i.kind, i.id) for i in items} == {("sample", sample.id), ("followup_plan", p.id)}
    with pytest.raises(InvalidTransition, match="still open"):
        app.delisting.seal(who["cr"], case.id)
    with pytest.raises(PermissionDenied):  # customer relations is no leader
        app.delisting.seal(who["cr"], case.id, override="urgent")
    with pytest.raises(ValidationError):
        app.delisting.seal(who["l1"], case.id, override="  ")
    assert app.customers.get(who["admin"], cid).status is CustomerStatus.ACTIVE
    done = app.delisting.seal(who["l1"], case.id, override="the board decided to proceed")
    assert done.state is CaseState.SEALED
    override = [s for s in done.history if s.step is Step.OVERRIDE]
    assert len(override) == 1 and override[0].by == "u-lead1"
    assert override[0].note is not None and "the board decided" in override[0].note
    assert sample.id in override[0].note


# -- every area refuses a sealed customer, naming its status -------------------------


def refused(call: Any) -> CustomerRefused:
    with pytest.raises(CustomerRefused) as raised:
        call()
    assert raised.value.status == "sealed" and "sealed" in str(raised.value)
    return raised.value


def test_every_area_refuses_a_sealed_customer(app: App, who: Who) -> None:
    cid = acme(app, who)
    p = app.prospects.register(who["alice"], name="Zhao", phone="13822223333",
                               willingness="clear", potential_value=2_000_000)
    app.prospects.name_customer(who["alice"], p.id, cid)
    app.followups.record(who["alice"], p.id, channel="phone", summary="first call")
    case = notified(app, who, cid)
    app.delisting.seal(who["l1"], case.id, override="relationship ends")
    # registration: the sealed customer's keys, or naming it
    assert refused(lambda: app.prospects.register(
        who["alice"], name="Again", phone="13912345678", willingness="clear",
        potential_value=1)).purpose == "sales"
    refused(lambda: app.prospects.register(
        who["alice"], name="Other", phone="13700000000", willingness="clear",
        potential_value=1, customer_id=cid))
    # bulk import
    report = app.prospects.import_many(who["alice"], [
        {"name": "Again", "organization": "ACME co ltd", "willingness": "clear",
         "potential_value": "1", "phone": "13600000000"}])
    assert report.imported == 0 and "sealed" in report.rejected[0].reason
    # follow-ups and winning
    refused(lambda: app.followups.record(who["alice"], p.id, channel="phone",
                                         summary="again"))
    refused(lambda: app.prospects.mark_won(who["alice"], p.id))
    # sample receipt
    assert refused(lambda: app.samples.receive(
        who["rita"], customer_id=cid, sample_name="resin", quantity="1", unit="kg",
        description="bag", requested_work="test")).purpose == "sample_receipt"


# -- objection -----------------------------------------------------------------------


@pytest.mark.parametrize(("outcome", "state", "status"), [
    ("upheld", CaseState.UPHELD, CustomerStatus.SEALED),
    ("reversed", CaseState.REVERSED, CustomerStatus.ACTIVE),
    ("legal", CaseState.LEGAL, CustomerStatus.SEALED),
])
def test_objection_outcomes(app: App, who: Who, outcome: str, state: CaseState,
                            status: CustomerStatus) -> None:
    cid, case = sealed(app, who)
    with pytest.raises(InvalidTransition):
        app.delisting.resolve_objection(who["cr"], case.id, outcome, note="too early")
    opened = app.delisting.objection(who["cr"], case.id, statement="the invoices were paid")
    assert opened.state is CaseState.OBJECTION
    done = app.delisting.resolve_objection(who["cr"], case.id, outcome, note="discussed")
    assert done.state is state and done.history[-1].step is Step.RESOLVED
    assert done.history[-1].note == f"{outcome}: discussed"
    assert done.history[-1].by == "u-cr"
    assert app.customers.get(who["admin"], cid).status is status
    if outcome == "reversed":
        assert app.customers.history(who["admin"], cid)[-1].after == "active"
        assert app.customers.get(who["admin"], cid).profile.phone is not None
    with pytest.raises(InvalidTransition):
        app.delisting.objection(who["cr"], case.id, statement="again")


def test_an_objection_before_sealing_upheld_may_then_be_sealed(app: App, who: Who) -> None:
    cid = acme(app, who)
    case = notified(app, who, cid)
    app.delisting.objection(who["cr"], case.id, statement="we disagree")
    with pytest.raises(InvalidTransition):
        app.delisting.seal(who["cr"], case.id)
    app.delisting.resolve_objection(who["cr"], case.id, "upheld", note="facts stand")
    assert app.delisting.seal(who["cr"], case.id).state is CaseState.SEALED


def test_illegal_moves_raise_invalid_transition(app: App, who: Who) -> None:
    cid = acme(app, who)
    case = app.delisting.open_case(who["cr"], cid, grounds=["breach"], trigger="complaint")
    for move in (lambda: app.delisting.close_vote(who["cr"], case.id),
                 lambda: app.delisting.notify(who["cr"], case.id, reasons="r", basis="b"),
                 lambda: app.delisting.seal(who["cr"], case.id),
                 lambda: app.delisting.objection(who["cr"], case.id, statement="s"),
                 lambda: app.delisting.vote(who["l1"], case.id, "for")):
        with pytest.raises(InvalidTransition):
            move()
    assert app.delisting.get(who["cr"], case.id).state is CaseState.OPENED


# -- periodic review -----------------------------------------------------------------


def test_review_due_lists_customers_not_reviewed_for_the_setting(
        app: App, who: Who, clock: FixedClock) -> None:
    old = acme(app, who)
    clock.advance(days=200)
    reviewed = acme2(app, who)
    assert app.delisting.review_due(who["cr"]) == ()
    clock.advance(days=200)  # old: 400 days, reviewed: 200 days
    assert [d.customer_id for d in app.delisting.review_due(who["cr"])] == [old]
    app.delisting.record_review(who["cr"], old, note="all fine")
    assert app.delisting.review_due(who["cr"]) == ()
    clock.advance(days=200)
    due = app.delisting.review_due(who["cr"])
    assert [d.customer_id for d in due] == [reviewed]
    assert due[0].last_reviewed_at is None
    with pytest.raises(PermissionDenied):
        app.delisting.review_due(who["alice"])


def test_the_review_setting_is_validated() -> None:
    assert custmgmt.Settings(delisting_review_months=6).delisting_review_months == 6
    for bad in (0, 121, "12", True):
        with pytest.raises(ValidationError) as raised:
            custmgmt.Settings(delisting_review_months=bad)  # type: ignore[arg-type]
        assert raised.value.field == "delisting_review_months"


# -- credit: binding instruments are open items; a sealed customer gets no credit ------


def _letter(app: App, rm: custmgmt.Principal, customer_id: str) -> custmgmt.CreditInstrument:
    return app.credit.draft_commitment_letter(
        rm, customer_id, amount=Money("1000000.00", "CNY"), purpose="new production line",
        rate=InterestRate.floating(Benchmark.LPR_5Y, -20), term_months=36,
        drawdown_method="in tranches on request", commitment_fee=Money("2500", "CNY"),
        valid_from=date(2026, 3, 1), valid_until=date(2026, 12, 31))


def test_a_binding_credit_instrument_is_open_and_a_sealed_customer_gets_no_credit(
        app: App, who: Who) -> None:
    rm = app.principal("u-rm", roles={"relationship_manager", "account_manager"}, team="east")
    approver = app.principal("u-appr", roles={"credit_approver"})
    cid = app.customers.create(rm, name="Wang Wei", organization="Acme Co., Ltd.",
                               phone="13912345678").id
    app.credit.set_limit(approver, cid, Money("10000000", "CNY"))
    letter = _letter(app, rm, cid)
    app.credit.submit(rm, letter.id)
    app.credit.approve(approver, letter.id)
    app.credit.issue(rm, letter.id)
    case = notified(app, who, cid)
    items = app.delisting.open_items(who["cr"], case.id)
    assert [(i.kind, i.id) for i in items] == [("credit_instrument", letter.id)]
    with pytest.raises(InvalidTransition, match="credit_instrument"):
        app.delisting.seal(who["cr"], case.id)
    app.delisting.seal(who["l1"], case.id, override="the letter is being wound down")
    assert refused(lambda: _letter(app, rm, cid)).purpose == "credit"
