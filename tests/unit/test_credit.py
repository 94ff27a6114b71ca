"""app.credit on every back end: the five kinds, four eyes, validity at local midnight,
draws, the tender result, revocation, limits and exposure, the guard and bad input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

import custmgmt
from custmgmt import Money
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.credit import (
    Benchmark,
    Condition,
    Counterparty,
    CreditEvent,
    CustomerConsent,
    Group,
    InstrumentKind,
    InstrumentState,
    InterestRate,
)
from custmgmt.errors import (
    CreditLimitExceeded,
    CustomerRefused,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RevocationNotAllowed,
    ValidationError,
)
from tests.helpers import admin, dispatcher

App = custmgmt.CustomerManagement
P = custmgmt.Principal
S = InstrumentState


def cny(amount: str) -> Money:
    return Money(amount, "CNY")


@dataclass
class Bank:
    app: App
    clock: FixedClock
    rm: P
    approver: P
    risk: P
    customer: str


@pytest.fixture
def bank(app: App, clock: FixedClock) -> Bank:
    rm = app.principal("u-rm", roles={"relationship_manager", "account_manager"}, team="east")
    approver = app.principal("u-appr", roles={"credit_approver"})
    risk = app.principal("u-risk", roles={"risk_officer"})
    customer = app.customers.create(rm, name="Wang Wei", organization="Acme Co., Ltd.",
                                    phone="13912345678").id
    app.credit.set_limit(approver, customer, cny("10000000"))
    return Bank(app, clock, rm, approver, risk, customer)


LETTER: dict[str, Any] = dict(
    amount=cny("1000000.00"), purpose="new production line",
    rate=InterestRate.floating(Benchmark.LPR_5Y, -20), term_months=36,
    drawdown_method="in tranches on request", commitment_fee=cny("2500"),
    valid_from=date(2026, 3, 1), valid_until=date(2026, 12, 31))


def letter(b: Bank, **changes: Any) -> custmgmt.CreditInstrument:
    return b.app.credit.draft_commitment_letter(b.rm, b.customer, **{**LETTER, **changes})


def issued(b: Bank, instrument: custmgmt.CreditInstrument) -> custmgmt.CreditInstrument:
    b.app.credit.submit(b.rm, instrument.id)
    b.app.credit.approve(b.approver, instrument.id)
    return b.app.credit.issue(b.rm, instrument.id)


def certificate(b: Bank, **changes: Any) -> custmgmt.CreditInstrument:
    fields: dict[str, Any] = dict(beneficiary="City Metro Authority", project="Line 5 lot 3",
                                  limit=cny("3000000"), construction_end=date(2027, 6, 30),
                                  valid_from=date(2026, 3, 1), valid_until=date(2027, 6, 30))
    return b.app.credit.draft_certificate(b.rm, b.customer, **{**fields, **changes})


CONDITIONS = (Condition(code="industry-policy", description="fits state industry policy"),
              Condition(code="credit-rules", description="meets the bank's credit rules"))


def intent(b: Bank, kind: str = "loan_intent_letter", **changes: Any) -> Any:
    fields: dict[str, Any] = dict(kind=kind, credit_line=cny("5000000"), conditions=CONDITIONS,
                                  valid_from=date(2026, 3, 1), valid_until=date(2027, 2, 28))
    return b.app.credit.draft_intent(b.rm, b.customer, **{**fields, **changes})


# -- the kinds -----------------------------------------------------------------------

def test_the_kind_alone_decides_the_group_and_whether_it_binds() -> None:
    assert {k: (k.group, k.binding) for k in InstrumentKind} == {
        InstrumentKind.LOAN_COMMITMENT_LETTER: (Group.COMMITMENT, True),
        InstrumentKind.BANK_CREDIT_CERTIFICATE: (Group.COMMITMENT, True),
        InstrumentKind.CONDITIONAL_COMMITMENT_LETTER: (Group.INTENT, False),
        InstrumentKind.LOAN_INTENT_LETTER: (Group.INTENT, False),
        InstrumentKind.COOPERATION_AGREEMENT: (Group.INTENT, False),
    }


def test_no_caller_flag_makes_an_instrument_bind(bank: Bank) -> None:
    with pytest.raises(ValidationError, match="binding") as refused:
        intent(bank, binding=True)
    assert refused.value.field == "arguments"
    agreement = intent(bank, "cooperation_agreement", counterparty="government")
    assert (agreement.binding, agreement.counterparty) == (False, Counterparty.GOVERNMENT)
    with pytest.raises(ValidationError) as raised:
        intent(bank, "cooperation_agreement")
    assert raised.value.field == "counterparty"
    with pytest.raises(ValidationError) as raised:
        intent(bank, "loan_commitment_letter")
    assert raised.value.field == "kind"


def test_a_letter_reads_back_as_drafted(bank: Bank) -> None:
    drafted = letter(bank)
    assert (drafted.state, drafted.kind, drafted.owner_id, drafted.version) == (
        S.DRAFT, InstrumentKind.LOAN_COMMITMENT_LETTER, "u-rm", 1)
    assert bank.app.credit.get(bank.rm, drafted.id) == drafted
    assert str(drafted.rate) == "LPR_5Y -20bp"
    fixed = letter(bank, rate=InterestRate.fixed("3.85"))
    assert bank.app.credit.get(bank.risk, fixed.id).rate == InterestRate(percent=Decimal("3.85"))


# -- the 12-month edge ----------------------------------------------------------------

def test_a_commitment_letter_needs_a_term_of_more_than_12_months(bank: Bank) -> None:
    with pytest.raises(ValidationError) as raised:
        letter(bank, term_months=12)
    assert raised.value.field == "term_months"
    assert letter(bank, term_months=13).term_months == 13
    assert len(bank.app.credit.list(bank.risk).items) == 1


def test_the_term_threshold_is_a_setting(clock: FixedClock) -> None:
    settings = custmgmt.Settings(commitment_min_term_months=60)
    with custmgmt.open("memory://", clock=clock, settings=settings) as app:
        rm = app.principal("u-rm", roles={"relationship_manager", "account_manager"})
        approver = app.principal("u-appr", roles={"credit_approver"})
        cid = app.customers.create(rm, name="A", organization="A Ltd", phone="13700000001").id
        app.credit.set_limit(approver, cid, cny("9000000"))
        with pytest.raises(ValidationError):
            app.credit.draft_commitment_letter(rm, cid, **{**LETTER, "term_months": 60})
        assert app.credit.draft_commitment_letter(
            rm, cid, **{**LETTER, "term_months": 61}).term_months == 61


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"amount": cny("0")}, "amount"),
    ({"amount": cny("-1")}, "amount"),
    ({"amount": cny("1.001")}, "amount"),
    ({"valid_until": date(2026, 2, 28)}, "valid_until"),
    ({"rate": "3.5%"}, "rate"),
    ({"commitment_fee": Money("1", "USD")}, "commitment_fee"),
])
def test_bad_letters_name_the_field_and_store_nothing(
    bank: Bank, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        letter(bank, **change)
    assert raised.value.field == field
    assert bank.app.credit.list(bank.risk).items == ()


def test_a_rate_needs_a_benchmark_and_a_spread_or_a_fixed_percent() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "rate.benchmark"),
        ({"benchmark": Benchmark.LPR_1Y}, "rate.spread_bp"),
        ({"spread_bp": 30}, "rate.benchmark"),
        ({"percent": Decimal(-1)}, "rate.percent"),
        ({"percent": Decimal(3), "spread_bp": 1}, "rate"),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationError) as raised:
            InterestRate(**fields)
        assert raised.value.field == field


def test_a_certificate_may_not_outlast_the_construction_period(bank: Bank) -> None:
    with pytest.raises(ValidationError) as raised:
        certificate(bank, valid_until=date(2027, 7, 1))
    assert raised.value.field == "valid_until"
    assert certificate(bank, valid_until=date(2027, 6, 30)).valid_until == date(2027, 6, 30)


def test_an_intent_states_distinct_named_conditions(bank: Bank) -> None:
    for bad in ((), (CONDITIONS[0], CONDITIONS[0]), ("industry",)):
        with pytest.raises(ValidationError) as raised:
            intent(bank, conditions=bad)
        assert raised.value.field.startswith("conditions")
    assert bank.app.credit.list(bank.risk).items == ()


# -- four eyes and the lifecycle --------------------------------------------------------

def test_the_maker_never_approves_and_an_approver_must_hold_the_right(bank: Bank) -> None:
    drafted = letter(bank)
    maker_approver = bank.app.principal("u-rm", roles={"relationship_manager",
                                                       "account_manager", "credit_approver"},
                                        team="east")
    bank.app.credit.submit(maker_approver, drafted.id)
    with pytest.raises(PermissionDenied):
        bank.app.credit.approve(maker_approver, drafted.id)
    with pytest.raises(PermissionDenied):
        bank.app.credit.approve(bank.risk, drafted.id)
    approved = bank.app.credit.approve(bank.approver, drafted.id)
    assert (approved.state, approved.approved_by) == (S.APPROVED, "u-appr")


def test_the_lifecycle_refuses_illegal_moves(bank: Bank) -> None:
    drafted = letter(bank)
    with pytest.raises(InvalidTransition):
        bank.app.credit.approve(bank.approver, drafted.id)  # not submitted
    with pytest.raises(InvalidTransition):
        bank.app.credit.issue(bank.rm, drafted.id)
    done = issued(bank, drafted)
    assert done.state is S.ISSUED
    with pytest.raises(InvalidTransition):
        bank.app.credit.submit(bank.rm, drafted.id)
    with pytest.raises(InvalidTransition):
        bank.app.credit.award(bank.rm, drafted.id, won=True)  # not a certificate
    changes = [e.change for e in bank.app.events(admin(bank.app))
               if isinstance(e, CreditEvent)]
    assert changes == ["drafted", "submitted", "approved", "issued"]
    trail = bank.app.credit.audit_trail(bank.risk, drafted.id)
    assert [e.action for e in trail] == ["draft", "submit", "approve", "issue"]
    auditor = bank.app.principal("u-auditor", roles={"auditor"})
    assert bank.app.audit.verify(auditor, "credit", drafted.id) == 4
    assert bank.app.audit.verify(auditor, "credit_limit", bank.customer) == 1


# -- validity at local midnight -----------------------------------------------------------

def test_validity_ends_at_local_midnight_in_the_configured_zone(bank: Bank) -> None:
    done = issued(bank, letter(bank, valid_until=date(2026, 3, 10)))
    # 2026-03-10 23:59 in Shanghai is 15:59 UTC: still valid, and a draw is accepted
    bank.clock.set(datetime(2026, 3, 10, 15, 59, tzinfo=UTC))
    assert bank.app.credit.get(bank.rm, done.id).state is S.ISSUED
    bank.app.credit.draw(bank.rm, done.id, cny("1"))
    # local midnight (16:00 UTC): expired when read, and no more draws
    bank.clock.set(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))
    assert bank.app.credit.get(bank.rm, done.id).state is S.EXPIRED
    assert [i.state for i in bank.app.credit.list(bank.risk).items] == [S.EXPIRED]
    with pytest.raises(InvalidTransition, match="validity ended"):
        bank.app.credit.draw(bank.rm, done.id, cny("1"))
    with pytest.raises(InvalidTransition):
        bank.app.credit.revoke(bank.approver, done.id, reason="too late")
    assert bank.app.credit.exposure_report(bank.risk) == ()


def test_no_draw_before_validity_starts(bank: Bank) -> None:
    done = issued(bank, letter(bank, valid_from=date(2026, 3, 5)))
    with pytest.raises(InvalidTransition, match="validity starts"):
        bank.app.credit.draw(bank.rm, done.id, cny("1"))


# -- draws -------------------------------------------------------------------------------

def test_draws_may_sum_exactly_to_the_amount_and_not_one_cent_more(bank: Bank) -> None:
    done = issued(bank, letter(bank, amount=cny("1000.00")))
    bank.app.credit.draw(bank.rm, done.id, cny("333.33"))
    bank.app.credit.draw(bank.rm, done.id, cny("333.33"))
    with pytest.raises(CreditLimitExceeded) as raised:
        bank.app.credit.draw(bank.rm, done.id, cny("333.35"))
    assert raised.value.field == "amount"
    assert bank.app.credit.get(bank.rm, done.id).drawn == cny("666.66")
    full = bank.app.credit.draw(bank.rm, done.id, cny("333.34"))
    assert (full.state, full.drawn, len(full.drawdowns)) == (S.FULFILLED, cny("1000"), 3)
    with pytest.raises(InvalidTransition):
        bank.app.credit.draw(bank.rm, done.id, cny("0.01"))


def test_one_draw_one_cent_over_is_refused(bank: Bank) -> None:
    done = issued(bank, letter(bank, amount=cny("1000.00")))
    with pytest.raises(CreditLimitExceeded):
        bank.app.credit.draw(bank.rm, done.id, cny("1000.01"))
    for bad in (cny("0"), cny("-5"), Money("5", "USD"), cny("0.001")):
        with pytest.raises(ValidationError):
            bank.app.credit.draw(bank.rm, done.id, bad)
    assert bank.app.credit.get(bank.rm, done.id).drawdowns == ()


def test_an_intent_has_nothing_to_draw_on(bank: Bank) -> None:
    done = issued(bank, intent(bank))
    with pytest.raises(InvalidTransition, match="intent"):
        bank.app.credit.draw(bank.rm, done.id, cny("1"))


# -- the credit certificate ------------------------------------------------------------------

def test_a_lost_bid_voids_the_certificate(bank: Bank) -> None:
    done = issued(bank, certificate(bank))
    void = bank.app.credit.award(bank.rm, done.id, won=False)
    assert void.state is S.VOID
    with pytest.raises(InvalidTransition):
        bank.app.credit.draw(bank.rm, done.id, cny("1"), project="Line 5 lot 3")
    with pytest.raises(InvalidTransition):
        bank.app.credit.award(bank.rm, done.id, won=True)


def test_a_won_bid_activates_draws_for_its_project_only_once_active(bank: Bank) -> None:
    done = issued(bank, certificate(bank))
    with pytest.raises(InvalidTransition, match="bid is won"):
        bank.app.credit.draw(bank.rm, done.id, cny("100"), project="Line 5 lot 3")
    active = bank.app.credit.award(bank.rm, done.id, won=True)
    assert active.state is S.ACTIVE
    with pytest.raises(ValidationError) as raised:
        bank.app.credit.draw(bank.rm, done.id, cny("100"), project="Line 6")
    assert raised.value.field == "project"
    with pytest.raises(CreditLimitExceeded):
        bank.app.credit.draw(bank.rm, done.id, cny("3000000.01"), project="Line 5 lot 3")
    drawn = bank.app.credit.draw(bank.rm, done.id, cny("100"), project="Line 5 lot 3")
    assert (drawn.state, drawn.drawn) == (S.ACTIVE, cny("100"))


# -- revocation ------------------------------------------------------------------------------

def test_a_binding_instrument_is_revoked_only_with_the_customers_consent(bank: Bank) -> None:
    done = issued(bank, letter(bank))
    with pytest.raises(RevocationNotAllowed, match="consent"):
        bank.app.credit.revoke(bank.approver, done.id, reason="the bank changed its mind")
    with pytest.raises(PermissionDenied):
        bank.app.credit.revoke(bank.rm, done.id, reason="x", consent=None)
    assert bank.app.credit.get(bank.rm, done.id).state is S.ISSUED
    later = CustomerConsent(consented_by="CFO Zhang", at=datetime(2026, 4, 1, tzinfo=UTC),
                            document_ref="ACME-2026-017")
    with pytest.raises(ValidationError) as raised:
        bank.app.credit.revoke(bank.approver, done.id, reason="x", consent=later)
    assert raised.value.field == "consent"
    consent = CustomerConsent(consented_by="CFO Zhang", at=bank.clock.now(),
                              document_ref="ACME-2026-017")
    revoked = bank.app.credit.revoke(bank.approver, done.id, reason="project cancelled",
                                     consent=consent)
    assert revoked.state is S.REVOKED
    assert revoked.revocation is not None and revoked.revocation.consent == consent
    assert bank.app.credit.get(bank.risk, done.id) == revoked
    last = bank.app.credit.audit_trail(bank.risk, done.id)[-1]
    assert (last.action, last.actor_id, dict(last.after or ())["consent_ref"]) == (
        "revoke", "u-appr", "ACME-2026-017")
    notes = [i.notification for i in bank.app.outbox(dispatcher(bank.app))]
    assert [(n.recipient_id, n.kind) for n in notes] == [(bank.customer, "credit.revoked")]


def test_a_certificate_binds_both_parties_until_consent(bank: Bank) -> None:
    done = issued(bank, certificate(bank))
    with pytest.raises(RevocationNotAllowed):
        bank.app.credit.revoke(bank.approver, done.id, reason="x",
                               failed_conditions=["credit-rules"])


def test_an_intent_is_revoked_by_citing_the_failed_conditions(bank: Bank) -> None:
    done = issued(bank, intent(bank, "conditional_commitment_letter"))
    with pytest.raises(RevocationNotAllowed, match="citing"):
        bank.app.credit.revoke(bank.approver, done.id, reason="not eligible")
    with pytest.raises(ValidationError) as raised:
        bank.app.credit.revoke(bank.approver, done.id, reason="not eligible",
                               failed_conditions=["no-such-condition"])
    assert raised.value.field == "failed_conditions"
    assert bank.app.credit.get(bank.rm, done.id).state is S.ISSUED
    assert bank.app.outbox(dispatcher(bank.app)) == ()
    revoked = bank.app.credit.revoke(bank.approver, done.id, reason="industry now restricted",
                                     failed_conditions=["industry-policy"])
    assert revoked.revocation is not None
    assert revoked.revocation.failed_conditions == ("industry-policy",)
    assert bank.app.credit.get(bank.risk, done.id) == revoked
    assert len(bank.app.outbox(dispatcher(bank.app))) == 1


# -- limits and exposure ---------------------------------------------------------------------

def test_binding_exposure_may_not_pass_the_approved_limit(bank: Bank) -> None:
    bank.app.credit.set_limit(bank.approver, bank.customer, cny("4000000"))
    first = issued(bank, letter(bank, amount=cny("3000000")))
    with pytest.raises(CreditLimitExceeded) as raised:
        certificate(bank, limit=cny("1000000.01"))
    assert isinstance(raised.value, ValidationError)
    intent(bank, credit_line=cny("50000000"))  # intents do not bind: no limit
    second = certificate(bank, limit=cny("1000000"))
    bank.app.credit.submit(bank.rm, second.id)
    bank.app.credit.draw(bank.rm, first.id, cny("500000"))  # drawn: leaves the undrawn
    bank.app.credit.approve(bank.approver, second.id)
    exposure = bank.app.credit.exposure(bank.risk, bank.customer)
    assert (exposure.outstanding, exposure.headroom) == (cny("3500000"), cny("500000"))
    # raced by a letter approved meanwhile: approval checks the limit again
    third = letter(bank, amount=cny("500000"))
    fourth = letter(bank, amount=cny("500000"))
    for i in (third, fourth):
        bank.app.credit.submit(bank.rm, i.id)
    bank.app.credit.approve(bank.approver, third.id)
    with pytest.raises(CreditLimitExceeded):
        bank.app.credit.approve(bank.approver, fourth.id)


def test_no_binding_instrument_without_an_approved_limit(app: App) -> None:
    rm = app.principal("u-rm", roles={"relationship_manager", "account_manager"})
    cid = app.customers.create(rm, name="B", organization="B Ltd", phone="13700000002").id
    with pytest.raises(CreditLimitExceeded, match="no approved credit limit"):
        app.credit.draft_commitment_letter(rm, cid, **LETTER)


def test_the_exposure_report_lists_off_balance_sheet_exposure_by_customer_and_kind(
    bank: Bank,
) -> None:
    other = bank.app.customers.create(bank.rm, name="Li", organization="Beta Ltd",
                                     phone="13700000003").id
    bank.app.credit.set_limit(bank.approver, other, cny("5000000"))
    a = issued(bank, letter(bank, amount=cny("1000000")))
    issued(bank, letter(bank, amount=cny("200000.50")))
    issued(bank, certificate(bank))
    issued(bank, intent(bank))
    bank.app.credit.draft_commitment_letter(bank.rm, other, **LETTER)  # a draft: no exposure
    b = bank.app.credit.draft_certificate(
        bank.rm, other, beneficiary="Port Authority", project="Berth 2", limit=cny("700000"),
        construction_end=date(2027, 1, 1), valid_from=date(2026, 3, 1),
        valid_until=date(2027, 1, 1))
    issued(bank, b)
    bank.app.credit.draw(bank.rm, a.id, cny("0.50"))
    report = bank.app.credit.exposure_report(bank.risk)
    letters, certs = InstrumentKind.LOAN_COMMITMENT_LETTER, InstrumentKind.BANK_CREDIT_CERTIFICATE
    # ordered by customer, then kind
    assert [(x.customer_id, x.kind, x.count, x.committed, x.drawn, x.outstanding)
            for x in report] == [
        (bank.customer, certs, 1, cny("3000000"), cny("0"), cny("3000000")),
        (bank.customer, letters, 2, cny("1200000.50"), cny("0.50"), cny("1200000.00")),
        (other, certs, 1, cny("700000"), cny("0"), cny("700000")),
    ]
    with pytest.raises(PermissionDenied):
        bank.app.credit.exposure_report(bank.rm)


# -- the customer guard -----------------------------------------------------------------------

def test_a_sealed_customer_gets_no_new_instrument_and_no_drawdown(bank: Bank) -> None:
    done = issued(bank, letter(bank))
    root = admin(bank.app)
    bank.app.customers.set_status(root, bank.customer, "sealed", reason="delisted")
    with pytest.raises(CustomerRefused):
        letter(bank)
    with pytest.raises(CustomerRefused):
        intent(bank)
    with pytest.raises(CustomerRefused):
        bank.app.credit.draw(bank.rm, done.id, cny("1"))
    assert len(bank.app.credit.list(bank.risk).items) == 1
    with pytest.raises(NotFound):
        bank.app.credit.draft_intent(root, "c-nobody", kind="loan_intent_letter",
                                     credit_line=cny("1"), conditions=CONDITIONS,
                                     valid_from=date(2026, 3, 1), valid_until=date(2026, 4, 1))


# -- who may do what --------------------------------------------------------------------------

ROLES = ("relationship_manager", "credit_approver", "risk_officer", "salesperson",
         "account_manager")
CELLS: dict[str, tuple[str, ...]] = {
    # action: the roles (of ROLES) that may do it to a record within their scope
    "draft": ("relationship_manager",),
    "read": ("relationship_manager", "credit_approver", "risk_officer"),
    "approve": ("credit_approver",),
    "issue": ("relationship_manager",),
    "award": ("relationship_manager",),
    "draw": ("relationship_manager",),
    "revoke": ("credit_approver",),
    "limit": ("credit_approver",),
    "report": ("credit_approver", "risk_officer"),
}


def _attempt(b: Bank, who: P, action: str) -> None:
    app, credit = b.app, b.app.credit
    if action == "draft":
        credit.draft_intent(who, b.customer, kind="loan_intent_letter", credit_line=cny("1"),
                            conditions=CONDITIONS, valid_from=date(2026, 3, 1),
                            valid_until=date(2026, 4, 1))
        return
    if action == "read":
        credit.get(who, letter(b).id)
        return
    if action == "limit":
        credit.set_limit(who, b.customer, cny("10000000"))
        return
    if action == "report":
        credit.exposure(who, b.customer)
        credit.exposure_report(who)
        return
    if action == "award":
        target = certificate(b)
    elif action == "revoke":
        target = intent(b)
    else:
        target = letter(b)
    credit.submit(b.rm, target.id)
    if action == "approve":
        credit.approve(who, target.id)
        return
    credit.approve(b.approver, target.id)
    if action == "issue":
        credit.issue(who, target.id)
        return
    credit.issue(b.rm, target.id)
    if action == "award":
        credit.award(who, target.id, won=True)
    elif action == "draw":
        credit.draw(who, target.id, cny("1"))
    else:
        credit.revoke(who, target.id, reason="r", failed_conditions=["credit-rules"])
    del app


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(CELLS))
def test_role_x_action(bank: Bank, role: str, action: str) -> None:
    """Cell by cell: a relationship manager acts on what they own (their customer's, their
    drafts); someone else with the role on what is not theirs is refused."""
    who = bank.app.principal(f"u-{role}", roles={role}, team="east")
    if role == "relationship_manager" and action in {"draft", "read", "issue", "award",
                                                     "draw"}:
        # the customer and the drafts are the bank RM's: another RM may not touch them
        with pytest.raises(PermissionDenied):
            _attempt(bank, who, action)
        _attempt(bank, bank.rm, action)
        return
    if role in CELLS[action]:
        _attempt(bank, who, action)
    else:
        with pytest.raises(PermissionDenied):
            _attempt(bank, who, action)


# -- hostile input ------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "bell\x07"], ids=repr)
def test_unstorable_text_and_edge_values_are_refused_and_nothing_is_stored(
    bank: Bank, bad: str
) -> None:
    done = issued(bank, intent(bank))
    calls: list[tuple[Any, str]] = [
        (lambda: letter(bank, purpose=bad), "purpose"),
        (lambda: letter(bank, drawdown_method=bad), "drawdown_method"),
        (lambda: certificate(bank, project=bad), "project"),
        (lambda: letter(bank, valid_until=date.max), "valid_until"),
        (lambda: letter(bank, term_months=10**5000), "term_months"),
        (lambda: letter(bank, term_months=True), "term_months"),
        (lambda: bank.app.credit.revoke(bank.approver, done.id, reason=bad,
                                        failed_conditions=["credit-rules"]), "reason"),
        (lambda: bank.app.credit.revoke(bank.approver, done.id, reason="r",
                                        failed_conditions=[bad]), "failed_conditions"),
        (lambda: bank.app.credit.get(bank.rm, bad), "instrument_id"),
    ]
    for call, field in calls:
        with pytest.raises(ValidationError) as raised:
            call()
        assert raised.value.field.startswith(field), (field, raised.value)
    assert [i.id for i in bank.app.credit.list(bank.risk).items] == [done.id]
    assert bank.app.credit.get(bank.rm, done.id) == done
