"""Care messages on every back end: greetings and promotions only to customers with
consent for that purpose and channel, never to a sealed one, once per occasion; the
dispatcher checks consent again when it sends."""

from __future__ import annotations

from datetime import date

import pytest

import custmgmt
from custmgmt import Money
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import PermissionDenied, ValidationError

App = custmgmt.CustomerManagement


def consent(app: App, root: custmgmt.Principal, customer_id: str, purpose: str,
            channel: str = "sms") -> None:
    app.consent.give(root, customer_id, purpose=purpose, channel=channel, source="form",
                     notice_version="2026-01")


def test_greetings_and_promotions_go_only_where_consent_allows(
    app: App, clock: FixedClock
) -> None:
    root = app.principal("u-root", roles={"admin"})
    gr = app.principal("u-gr", roles={"guest_relations"})
    runner = app.principal("u-worker", roles={"dispatcher"})
    ids = [app.customers.create(root, name=f"Guest {n}", organization=f"Guest {n} Co.",
                                phone=f"1380000{n:04d}").id for n in range(4)]
    willing, silent, sealed, marketing_only = ids
    consent(app, root, willing, "care")
    consent(app, root, sealed, "care")
    consent(app, root, marketing_only, "marketing")
    app.customers.set_status(root, sealed, status="sealed", reason="delisted")
    report = app.care.send_greeting(gr, occasion="spring-festival-2026",
                                    subject="Happy Spring Festival",
                                    body="Best wishes from all of us.", channel="sms",
                                    customer_ids=[*ids, "c-missing"])
    assert report.queued == (willing,)
    assert report.no_consent == (silent, marketing_only)
    assert report.refused == (sealed,) and report.unknown == ("c-missing",)
    (note,) = [i.notification for i in app.outbox(root) if i.notification.kind == "care.greeting"]
    assert (note.recipient_id, note.purpose, note.channel) == (willing, "care", "sms")
    # once per occasion, customer and channel
    again = app.care.send_greeting(gr, occasion="spring-festival-2026", subject="s", body="b",
                                   channel="sms", customer_ids=[willing])
    assert again.queued == () and again.already_queued == (willing,)
    # by e-mail nobody consented
    assert app.care.send_greeting(gr, occasion="o", subject="s", body="b", channel="email",
                                  customer_ids=[willing]).no_consent == (willing,)
    promo = app.care.send_promotion(gr, campaign="summer-2026", subject="Summer rates",
                                    body="20% off in July.", channel="sms", customer_ids=ids)
    assert promo.queued == (marketing_only,) and promo.refused == (sealed,)
    (offer,) = [i.notification for i in app.outbox(root)
                if i.notification.kind == "care.promotion"]
    assert offer.purpose == "marketing"
    # withdrawn after queueing: the dispatcher refuses it at send time
    app.consent.withdraw(root, willing, purpose="care", channel="sms", source="letter")
    done = app.notifications.dispatch(runner)
    assert (done.sent, done.refused) == (1, 1)
    with pytest.raises(PermissionDenied):
        app.care.send_greeting(app.principal("u-desk", roles={"front_desk"}), occasion="o",
                               subject="s", body="b", channel="sms", customer_ids=ids)
    with pytest.raises(ValidationError, match="segment"):
        app.care.send_greeting(gr, occasion="o", subject="s", body="b", channel="sms",
                               customer_ids=ids, segment="loyal")
    with pytest.raises(ValidationError, match="customer_ids"):  # more: target a segment
        app.care.send_greeting(gr, occasion="o", subject="s", body="b", channel="sms",
                               customer_ids=[f"c-{n}" for n in range(101)])
    with pytest.raises(ValidationError, match="channel"):
        app.care.send_greeting(gr, occasion="o", subject="s", body="b", channel="pigeon",
                               customer_ids=ids)


def test_birthday_greetings_and_segment_targets(app: App, clock: FixedClock) -> None:
    root = app.principal("u-root", roles={"admin"})
    gr = app.principal("u-gr", roles={"guest_relations"})
    desk = app.principal("u-desk", roles={"front_desk"})
    ids = [app.customers.create(root, name=f"Guest {n}", organization=f"Guest {n} Co.",
                                phone=f"1380000{n:04d}").id for n in range(3)]
    for cid in ids:
        consent(app, root, cid, "care")
        consent(app, root, cid, "marketing")
    app.care.record_birthday(desk, ids[0], date(1980, 3, 2))
    app.care.record_birthday(desk, ids[1], date(1988, 2, 29))
    app.care.record_birthday(desk, ids[2], date(1990, 3, 3))
    on = app.care.send_birthday_greetings(gr, subject="Happy birthday", body="b",
                                          channel="sms", on=date(2026, 3, 2))
    assert on.queued == (ids[0],)
    leap = app.care.send_birthday_greetings(gr, subject="Happy birthday", body="b",
                                            channel="sms", on=date(2026, 2, 28))
    assert leap.queued == (ids[1],)          # 29 February, greeted on the 28th
    assert app.care.send_birthday_greetings(gr, subject="s", body="b", channel="sms",
                                            on=date(2028, 2, 28)).queued == ()
    assert app.care.send_birthday_greetings(gr, subject="s", body="b", channel="sms",
                                            on=date(2026, 3, 2)).already_queued == (ids[0],)
    app.care.record_visit(desk, ids[2], kind="stay", started_on=date(2026, 2, 20),
                          ended_on=date(2026, 2, 28), spend=Money("800", "CNY"))
    target = app.care.send_promotion(gr, campaign="welcome-back", subject="s", body="b",
                                     channel="sms", segment="new", on=date(2026, 3, 2))
    assert target.queued == (ids[2],)
