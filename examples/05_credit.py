"""Credit instruments: a binding loan commitment letter under four eyes, a tender credit
certificate that takes effect only when the bid is won, a revocable intent, the customer's
credit limit and the exposure report.

Run: python examples/05_credit.py
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import custmgmt
from custmgmt import Benchmark, Condition, CustomerConsent, InterestRate, Money
from custmgmt.errors import (
    CreditLimitExceeded,
    InvalidTransition,
    PermissionDenied,
    RevocationNotAllowed,
)


def main() -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = custmgmt.open("sqlite://", clock=clock, ids=custmgmt.SequentialIds(), migrate=True)
    rachel = app.principal("u-rachel", roles={"relationship_manager", "account_manager"},
                           team="corporate")
    carl = app.principal("u-carl", roles={"credit_approver"})
    rita = app.principal("u-rita", roles={"risk_officer"})
    acme = app.customers.create(rachel, name="Wang Wei", organization="Acme Co., Ltd.",
                                phone="139 1234 5678")
    app.credit.set_limit(carl, acme.id, Money("8000000", "CNY"))
    print(f"{acme.id}: approved credit limit 8000000 CNY")

    letter = app.credit.draft_commitment_letter(
        rachel, acme.id, amount=Money("5000000", "CNY"), purpose="new production line",
        rate=InterestRate.floating(Benchmark.LPR_5Y, -20), term_months=36,
        drawdown_method="in tranches on request", commitment_fee=Money("12500", "CNY"),
        valid_from=date(2026, 3, 1), valid_until=date(2026, 12, 31))
    app.credit.submit(rachel, letter.id)
    try:
        app.credit.approve(rachel, letter.id)
    except PermissionDenied:
        print(f"{letter.id}: the maker may not approve her own letter (four eyes)")
    app.credit.approve(carl, letter.id)
    app.credit.issue(rachel, letter.id)
    letter = app.credit.draw(rachel, letter.id, Money("2000000", "CNY"))
    print(f"{letter.id}: issued, {letter.drawn} drawn, {letter.undrawn} still committed")
    try:
        app.credit.revoke(carl, letter.id, reason="the bank changed its mind")
    except RevocationNotAllowed as refused:
        print(f"{letter.id}: revocation refused: {refused}")

    certificate = {"beneficiary": "City Metro Authority", "project": "Line 5 lot 3",
                   "construction_end": date(2027, 6, 30), "valid_from": date(2026, 3, 1),
                   "valid_until": date(2027, 6, 30)}
    try:
        app.credit.draft_certificate(rachel, acme.id, limit=Money("6000000", "CNY"),
                                     **certificate)  # type: ignore[arg-type]
    except CreditLimitExceeded as over:
        print(f"a 6000000 CNY certificate is refused: {over}")
    cert = app.credit.draft_certificate(rachel, acme.id, limit=Money("3000000", "CNY"),
                                        **certificate)  # type: ignore[arg-type]
    app.credit.submit(rachel, cert.id)
    app.credit.approve(carl, cert.id)
    app.credit.issue(rachel, cert.id)
    try:
        app.credit.draw(rachel, cert.id, Money("1", "CNY"), project="Line 5 lot 3")
    except InvalidTransition:
        print(f"{cert.id}: no draw before the bid is won")
    cert = app.credit.award(rachel, cert.id, won=True)
    cert = app.credit.draw(rachel, cert.id, Money("500000", "CNY"), project="Line 5 lot 3")
    print(f"{cert.id}: bid won, {cert.state.value}, {cert.drawn} drawn for {cert.project}")

    intent = app.credit.draft_intent(
        rachel, acme.id, kind="cooperation_agreement", counterparty="government",
        credit_line=Money("50000000", "CNY"),
        conditions=[Condition(code="industry-policy", description="state industry policy")],
        valid_from=date(2026, 3, 1), valid_until=date(2028, 2, 29))
    app.credit.submit(rachel, intent.id)
    app.credit.approve(carl, intent.id)
    app.credit.issue(rachel, intent.id)
    app.credit.revoke(carl, intent.id, reason="the zone's industry is now restricted",
                      failed_conditions=["industry-policy"])
    print(f"{intent.id}: cooperation agreement revoked citing 'industry-policy'")

    consent = CustomerConsent(consented_by="CFO Zhang", at=clock.now(),
                              document_ref="ACME-2026-017")
    app.credit.revoke(carl, letter.id, reason="plan changed, customer agreed", consent=consent)
    print(f"{letter.id}: revoked with the customer's consent (document ACME-2026-017)")

    for line in app.credit.exposure_report(rita):
        print(f"exposure {line.customer_id} {line.kind.value}: committed {line.committed}, "
              f"drawn {line.drawn}, outstanding {line.outstanding}")
    notices = [item.notification.subject for item in app.outbox(
        app.principal("u-dispatch", roles={"dispatcher"}))]
    print(f"customer notified: {notices}")


if __name__ == "__main__":
    main()
