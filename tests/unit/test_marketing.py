"""app.marketing on every back end: the campaign's life with a compliance review by
someone other than the author, sends only while running, suitability and consent
deciding who is reached (the rest counted by reason), touches with the consent they
relied on, send-time refusals, outcomes and conversion per channel and segment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

import custmgmt
from custmgmt import CampaignState, DeliveryStatus, DispatchReport, Exclusion, RiskLevel
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.marketing import CampaignChanged
from custmgmt.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from tests.helpers import admin

App = custmgmt.CustomerManagement
P = custmgmt.Principal


@dataclass
class Shop:
    app: App
    clock: FixedClock
    am: P
    mkt: P
    reviewer: P
    boss: P
    ops: P
    product: str
    c: dict[str, str]


def consent(s: Shop, who: str, channel: str = "sms", sensitive: bool = False
            ) -> custmgmt.ConsentRecord:
    return s.app.consent.give(s.am, s.c[who], purpose="marketing", channel=channel,
                              source="form", notice_version="2026.1", sensitive=sensitive)


@pytest.fixture
def shop(app: App, clock: FixedClock) -> Shop:
    am = app.principal("u-am", roles={"account_manager"}, team="retail")
    mkt = app.principal("u-mkt", roles={"marketer"}, team="retail")
    reviewer = app.principal("u-rev", roles={"compliance_reviewer"})
    boss = app.principal("u-boss", roles={"marketing_manager"})
    product = app.marketing.add_product(boss, name="Balanced fund", risk_level=RiskLevel.R3)
    c = {name: app.customers.create(am, name=f"Person {name}", phone=f"1390000{n:04d}").id
         for n, name in enumerate(["ok", "timid", "unassessed", "expired", "silent",
                                   "sealed", "email"], start=1)}
    today = clock.now().date()
    for name, level in (("ok", 4), ("timid", 2), ("silent", 5), ("sealed", 5), ("email", 3)):
        app.marketing.assess_risk(am, c[name], tolerance=level)
    app.marketing.assess_risk(am, c["expired"], tolerance=5,
                              assessed_on=today - timedelta(days=400),
                              valid_until=today - timedelta(days=1))
    s = Shop(app, clock, am, mkt, reviewer, boss, admin(app), product.id, c)
    for name in ("ok", "timid", "unassessed", "expired", "sealed"):
        consent(s, name)
    consent(s, "email", "email")
    with app._storage.unit_of_work() as uow:  # as delisting's sealing leaves it
        sealed = uow.customers.get(c["sealed"])
        uow.customers.update(attrs.evolve(sealed, status=CustomerStatus.SEALED))
        uow.commit()
    return s


def draft(s: Shop, **changes: object) -> custmgmt.Campaign:
    fields: dict[str, object] = {
        "name": "Spring fund", "product_id": s.product,
        "segments": {"savers": [s.c["ok"], s.c["timid"], s.c["unassessed"]],
                     "others": [s.c["expired"], s.c["silent"], s.c["sealed"], s.c["email"]]},
        "channels": ["sms", "email"], "subject": "A balanced fund",
        "body": "Risk level R3. Past returns do not promise future ones."}
    fields.update(changes)
    return s.app.marketing.draft(s.mkt, **fields)  # type: ignore[arg-type]


def running(s: Shop, **changes: object) -> custmgmt.Campaign:
    campaign = draft(s, **changes)
    s.app.marketing.submit(s.mkt, campaign.id)
    s.app.marketing.review(s.reviewer, campaign.id, passed=True, note="advertising law: ok")
    s.app.marketing.approve(s.boss, campaign.id)
    return s.app.marketing.start(s.mkt, campaign.id)


def test_the_life_of_a_campaign(shop: Shop) -> None:
    app = shop.app
    campaign = draft(shop)
    assert campaign.state is CampaignState.DRAFT and campaign.owner_id == "u-mkt"
    assert campaign.material.author_id == "u-mkt"
    with pytest.raises(InvalidTransition):
        app.marketing.send(shop.mkt, campaign.id)  # only a running campaign sends
    app.marketing.submit(shop.mkt, campaign.id)
    with pytest.raises(InvalidTransition):  # no approval before the material passed review
        app.marketing.approve(shop.boss, campaign.id)
    reviewed = app.marketing.review(shop.reviewer, campaign.id, passed=True, note="ok")
    assert reviewed.review_passed and reviewed.reviewed_by == "u-rev"
    approved = app.marketing.approve(shop.boss, campaign.id)
    assert approved.state is CampaignState.APPROVED and approved.approved_by == "u-boss"
    with pytest.raises(InvalidTransition):
        app.marketing.send(shop.mkt, campaign.id)  # approved, not yet running
    assert app.marketing.start(shop.mkt, campaign.id).state is CampaignState.RUNNING
    with pytest.raises(InvalidTransition):
        app.marketing.evaluate(shop.mkt, campaign.id)
    assert app.marketing.close(shop.mkt, campaign.id).state is CampaignState.CLOSED
    with pytest.raises(InvalidTransition):
        app.marketing.send(shop.mkt, campaign.id)
    app.marketing.evaluate(shop.mkt, campaign.id)
    assert app.marketing.get(shop.mkt, campaign.id).state is CampaignState.EVALUATED
    changes = [e.change for e in app.events(shop.ops) if isinstance(e, CampaignChanged)]
    assert changes == ["drafted", "submitted", "review passed", "approved", "started",
                       "closed", "evaluated"]
    assert app.audit.verify(shop.ops, "campaign", campaign.id) == 7


def test_the_material_is_reviewed_by_someone_other_than_its_author(shop: Shop) -> None:
    app = shop.app
    author = app.principal("u-mkt", roles={"marketer", "compliance_reviewer",
                                           "marketing_manager"}, team="retail")
    campaign = draft(shop)
    app.marketing.submit(author, campaign.id)
    with pytest.raises(PermissionDenied):
        app.marketing.review(author, campaign.id, passed=True, note="my own work: fine")
    failed = app.marketing.review(shop.reviewer, campaign.id, passed=False,
                                  note="promises returns")
    assert failed.state is CampaignState.DRAFT and failed.review_passed is False
    revised = app.marketing.revise(shop.boss, campaign.id, body="Returns are not promised.")
    assert revised.material.author_id == "u-boss" and revised.review_passed is None
    app.marketing.submit(author, campaign.id)
    with pytest.raises(PermissionDenied):  # the new author may not review it either
        app.marketing.review(app.principal("u-boss", roles={"compliance_reviewer"}),
                             campaign.id, passed=True, note="ok")
    app.marketing.review(author, campaign.id, passed=True, note="ok")  # not its author now
    with pytest.raises(PermissionDenied):  # the owner does not approve their campaign
        app.marketing.approve(author, campaign.id)


def test_a_send_reaches_the_suitable_who_consented_and_counts_the_rest(shop: Shop) -> None:
    campaign = running(shop)
    wave = shop.app.marketing.send(shop.mkt, campaign.id)
    assert wave.number == 1 and wave.queued == 2
    assert dict(wave.excluded) == {
        Exclusion.REFUSED: 1, Exclusion.NO_ASSESSMENT: 1, Exclusion.ASSESSMENT_EXPIRED: 1,
        Exclusion.TOLERANCE_BELOW: 1, Exclusion.NO_CONSENT: 1}
    touches = shop.app.marketing.touches(shop.mkt, campaign.id)
    assert {(t.customer_id, t.channel.value, t.segment) for t in touches} == {
        (shop.c["ok"], "sms", "savers"), (shop.c["email"], "email", "others")}
    assert all(t.sent_at is None for t in touches)
    assert shop.app.marketing.get(shop.mkt, campaign.id).waves == (wave,)


def test_each_message_sent_is_a_touch_with_the_consent_it_relied_on(shop: Shop) -> None:
    campaign = running(shop)
    shop.app.marketing.send(shop.mkt, campaign.id)
    shop.clock.advance(minutes=3)
    assert shop.app.notifications.dispatch(shop.ops) == DispatchReport(sent=2)
    in_force = {r.customer_id: r.id for c in (shop.c["ok"], shop.c["email"])
                for r in shop.app.consent.current(shop.am, c)}
    for touch in shop.app.marketing.touches(shop.mkt, campaign.id):
        assert touch.sent_at == shop.clock.now()
        assert touch.consent_id == in_force[touch.customer_id]
    sent = shop.app.notifier.sent  # type: ignore[attr-defined]
    assert {n.recipient_id for n in sent} == {shop.c["ok"], shop.c["email"]}
    assert all(n.purpose == "marketing" and "Person" not in n.body for n in sent)


def test_a_withdrawal_between_two_sends_stops_the_second(shop: Shop) -> None:
    campaign = running(shop, segments={"savers": [shop.c["ok"]]})
    shop.app.marketing.send(shop.mkt, campaign.id)
    assert shop.app.notifications.dispatch(shop.ops) == DispatchReport(sent=1)
    second = shop.app.marketing.send(shop.mkt, campaign.id)
    assert second.queued == 1
    shop.clock.advance(minutes=1)
    shop.app.consent.withdraw(shop.am, shop.c["ok"], purpose="marketing", channel="sms",
                              source="unsubscribe")
    assert shop.app.notifications.dispatch(shop.ops) == DispatchReport(refused=1)
    first, queued = shop.app.marketing.touches(shop.mkt, campaign.id)
    assert first.sent_at is not None and queued.sent_at is None
    item = shop.app.notifications.get(shop.ops, queued.notification_id)
    assert item.status is DeliveryStatus.REFUSED
    assert item.last_error is not None and item.last_error.startswith("ConsentRequired")
    third = shop.app.marketing.send(shop.mkt, campaign.id)
    assert third.queued == 0 and dict(third.excluded) == {Exclusion.NO_CONSENT: 1}
    report = shop.app.marketing.report(shop.mkt, campaign.id)
    assert (report.touches, report.not_sent) == (1, 1)


def test_closing_a_campaign_stops_its_queued_messages(shop: Shop) -> None:
    campaign = running(shop)
    shop.app.marketing.send(shop.mkt, campaign.id)
    shop.app.marketing.close(shop.mkt, campaign.id)
    assert shop.app.notifications.dispatch(shop.ops) == DispatchReport(refused=2)
    for touch in shop.app.marketing.touches(shop.mkt, campaign.id):
        error = shop.app.notifications.get(shop.ops, touch.notification_id).last_error
        assert error is not None and "only a running campaign sends" in error


def test_suitability_is_checked_again_at_send_time(shop: Shop) -> None:
    campaign = running(shop, segments={"savers": [shop.c["ok"]]})
    shop.app.marketing.send(shop.mkt, campaign.id)
    shop.app.marketing.assess_risk(shop.am, shop.c["ok"], tolerance=RiskLevel.R1)
    assert shop.app.notifications.dispatch(shop.ops) == DispatchReport(refused=1)
    (touch,) = shop.app.marketing.touches(shop.mkt, campaign.id)
    error = shop.app.notifications.get(shop.ops, touch.notification_id).last_error
    assert error == "Unsuitable: tolerance_below"


def test_an_assessment_that_expires_excludes_the_customer_from_then_on(shop: Shop) -> None:
    campaign = running(shop, segments={"savers": [shop.c["ok"]]})
    shop.clock.advance(days=366)
    wave = shop.app.marketing.send(shop.mkt, campaign.id)
    assert dict(wave.excluded) == {Exclusion.ASSESSMENT_EXPIRED: 1}


def test_a_campaign_using_sensitive_data_needs_the_separate_consent(shop: Shop) -> None:
    campaign = running(shop, segments={"savers": [shop.c["ok"], shop.c["email"]]},
                       uses_sensitive_data=True)
    wave = shop.app.marketing.send(shop.mkt, campaign.id)
    assert wave.queued == 0 and dict(wave.excluded) == {Exclusion.NO_CONSENT: 2}
    consent(shop, "ok", sensitive=True)
    assert shop.app.marketing.send(shop.mkt, campaign.id).queued == 1
    shop.app.consent.withdraw(shop.am, shop.c["ok"], purpose="marketing", channel="sms",
                              source="letter", sensitive=True)
    assert shop.app.notifications.dispatch(shop.ops) == DispatchReport(refused=1)


def test_the_evaluation_links_touches_to_outcomes_per_channel_and_segment(
    shop: Shop,
) -> None:
    app = shop.app
    campaign = running(shop)
    app.marketing.send(shop.mkt, campaign.id)
    app.notifications.dispatch(shop.ops)
    shop.clock.advance(days=1)
    with pytest.raises(ValidationError) as not_reached:
        app.marketing.record_outcome(shop.mkt, campaign.id, shop.c["timid"], "response")
    assert not_reached.value.field == "customer_id"
    for who, kind in (("ok", "response"), ("ok", "prospect_registered"),
                      ("ok", "product_taken"), ("email", "response")):
        outcome = app.marketing.record_outcome(shop.mkt, campaign.id, shop.c[who], kind)
        assert outcome.touch_id in {t.id for t in app.marketing.touches(shop.mkt, campaign.id)}
    app.marketing.close(shop.mkt, campaign.id)
    report = app.marketing.evaluate(shop.mkt, campaign.id)
    assert report.state is CampaignState.EVALUATED
    assert (report.touches, report.customers, report.not_sent) == (2, 2, 0)
    email, sms = report.by_channel
    assert (sms.name, sms.touched, sms.responded, sms.registered, sms.converted) == (
        "sms", 1, 1, 1, 1)
    assert (email.name, email.touched, email.responded, email.converted) == (
        "email", 1, 1, 0)
    assert sms.conversion == Decimal("1") and email.conversion == Decimal("0")
    assert [(line.name, line.touched, line.converted) for line in report.by_segment] == [
        ("others", 1, 0), ("savers", 1, 1)]
    assert report.total.conversion == Decimal("0.5")
    assert dict(report.excluded)[Exclusion.TOLERANCE_BELOW] == 1
    with pytest.raises(ValidationError):  # evaluated: no more outcomes
        app.marketing.record_outcome(shop.mkt, campaign.id, shop.c["ok"], "response")


def test_who_may_do_what(shop: Shop) -> None:
    app = shop.app
    other = app.principal("u-mkt2", roles={"marketer"}, team="wealth")
    sales = app.principal("u-sales", roles={"salesperson"})
    campaign = running(shop)
    with pytest.raises(PermissionDenied):
        app.marketing.add_product(shop.mkt, name="X", risk_level=1)
    with pytest.raises(PermissionDenied):
        app.marketing.draft(shop.reviewer, name="x", product_id=shop.product,
                            segments={"s": [shop.c["ok"]]}, channels=["sms"], subject="s",
                            body="b")
    with pytest.raises(PermissionDenied):
        app.marketing.send(other, campaign.id)  # not their campaign
    with pytest.raises(PermissionDenied):
        app.marketing.close(other, campaign.id)
    with pytest.raises(PermissionDenied):
        app.marketing.get(sales, campaign.id)
    with pytest.raises(PermissionDenied):
        app.marketing.assess_risk(shop.mkt, shop.c["ok"], tolerance=5)
    with pytest.raises(PermissionDenied):
        app.marketing.approve(shop.reviewer, campaign.id)
    assert app.marketing.get(other, campaign.id).id == campaign.id  # reading is wide
    assert app.marketing.send(shop.boss, campaign.id).queued == 2  # managers run any


@pytest.mark.parametrize(("field", "changes"), [
    ("segments", {"segments": {"s": ["c-nobody"]}}),
    ("segments", {"segments": {}}),
    ("segments", {"segments": {"s": []}}),
    ("channels", {"channels": ["pigeon"]}),
    ("channels", {"channels": []}),
    ("channels", {"channels": ["sms", "sms"]}),
    ("product_id", {"product_id": "pd-nope"}),
    ("subject", {"subject": " "}),
    ("uses_sensitive_data", {"uses_sensitive_data": "yes"}),
])
def test_bad_input_names_the_field_and_stores_nothing(
    shop: Shop, field: str, changes: dict[str, object]
) -> None:
    with pytest.raises(ValidationError) as raised:
        draft(shop, **changes)
    assert field in {e.path for e in raised.value.errors}
    assert not [e for e in shop.app.events(shop.ops) if isinstance(e, CampaignChanged)]


def test_risk_input_is_checked(shop: Shop) -> None:
    with pytest.raises(ValidationError) as level:
        shop.app.marketing.assess_risk(shop.am, shop.c["ok"], tolerance=6)
    assert level.value.field == "tolerance"
    with pytest.raises(ValidationError) as ahead:
        shop.app.marketing.assess_risk(shop.am, shop.c["ok"], tolerance=3,
                                       assessed_on=shop.clock.now().date() + timedelta(1))
    assert ahead.value.field == "assessed_on"
    with pytest.raises(ValidationError) as backwards:
        shop.app.marketing.assess_risk(shop.am, shop.c["ok"], tolerance=3,
                                       valid_until=shop.clock.now().date() - timedelta(1))
    assert backwards.value.field == "valid_until"
    with pytest.raises(NotFound):
        shop.app.marketing.get_product(shop.boss, "pd-nope")
    assert shop.app.marketing.get_product(shop.mkt, shop.product).risk_level is RiskLevel.R3
