"""Marketing with consent: a campaign reaches only the suitable who consented, and a
withdrawal between two sends stops the second.

Wang Wei consents to marketing by SMS; a balanced fund (risk R3) suits his assessed
tolerance (R4). The campaign's material passes a compliance review by someone who
did not write it, a manager approves it, it runs. The first send reaches him. He
withdraws by replying "unsubscribe" while the second send is still queued: the
dispatcher refuses it at send time with ConsentRequired.

Run: python examples/06_marketing.py
"""

from __future__ import annotations

from datetime import UTC, datetime

import custmgmt
from custmgmt import DeliveryStatus, RiskLevel


def main() -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = custmgmt.open("sqlite://", clock=clock, ids=custmgmt.SequentialIds(), migrate=True,
                        settings=custmgmt.Settings(notifier="memory"))
    anna = app.principal("u-anna", roles={"account_manager"}, team="retail")
    mia = app.principal("u-mia", roles={"marketer"}, team="retail")
    rex = app.principal("u-rex", roles={"compliance_reviewer"})
    max_ = app.principal("u-max", roles={"marketing_manager"})
    worker = app.principal("u-worker", roles={"dispatcher"})

    wang = app.customers.create(anna, name="Wang Wei", phone="139 1234 5678")
    app.consent.give(anna, wang.id, purpose="marketing", channel="sms", source="form",
                     reference="F-2026-0113", notice_version="2026.1")
    app.marketing.assess_risk(anna, wang.id, tolerance=RiskLevel.R4)
    print(f"{wang.id} consents to marketing by SMS (notice 2026.1); risk tolerance R4")

    fund = app.marketing.add_product(max_, name="Balanced fund", risk_level=RiskLevel.R3)
    campaign = app.marketing.draft(
        mia, name="Spring fund", product_id=fund.id, segments={"savers": [wang.id]},
        channels=["sms"], subject="A balanced fund",
        body="Risk level R3. Past returns do not promise future ones.")
    app.marketing.submit(mia, campaign.id)
    app.marketing.review(rex, campaign.id, passed=True, note="advertising law: ok")
    app.marketing.approve(max_, campaign.id)
    app.marketing.start(mia, campaign.id)
    print(f"campaign {campaign.id}: reviewed by u-rex, approved by u-max, running")

    first = app.marketing.send(mia, campaign.id)
    report = app.notifications.dispatch(worker)
    print(f"send 1: {first.queued} queued, {report.sent} sent")

    second = app.marketing.send(mia, campaign.id)
    clock.advance(minutes=10)
    app.consent.withdraw(anna, wang.id, purpose="marketing", channel="sms",
                         source="unsubscribe", reference="SMS reply TD")
    report = app.notifications.dispatch(worker)
    print(f"send 2: {second.queued} queued; {wang.id} withdraws; {report.sent} sent, "
          f"{report.refused} refused")

    touches = app.marketing.touches(mia, campaign.id)
    sent, stopped = touches
    assert sent.sent_at is not None and sent.consent_id is not None
    item = app.notifications.get(worker, stopped.notification_id)
    assert stopped.sent_at is None and item.status is DeliveryStatus.REFUSED
    print(f"touch {sent.id} relied on consent {sent.consent_id}; the second message: "
          f"{item.last_error}")
    assert [n.recipient_id for n in app.notifier.sent] == [wang.id]  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
