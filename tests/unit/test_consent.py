"""app.consent on every back end: per person, purpose and channel; the history append-only
and the current state a view of it; separate consent for sensitive data; withdrawal
stopping the next send at once (refused with ConsentRequired); rights; bad input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import attrs
import pytest

import custmgmt
from custmgmt import ConsentSource, ContactChannel, DeliveryStatus, DispatchReport, Purpose
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.consent import ConsentChanged
from custmgmt.errors import ConsentRequired, NotFound, PermissionDenied, ValidationError
from custmgmt.ports.notification import NotificationPurpose
from custmgmt.testing import sample_notification
from tests.conftest import START
from tests.helpers import admin

App = custmgmt.CustomerManagement
P = custmgmt.Principal


@dataclass
class Desk:
    app: App
    clock: FixedClock
    am: P
    other_am: P
    relations: P
    ops: P
    customer: str
    other: str


@pytest.fixture
def desk(app: App, clock: FixedClock) -> Desk:
    am = app.principal("u-am", roles={"account_manager"}, team="east")
    other_am = app.principal("u-am2", roles={"account_manager"}, team="west")
    relations = app.principal("u-cr", roles={"customer_relations"})
    customer = app.customers.create(am, name="Wang Wei", phone="13912345678").id
    other = app.customers.create(other_am, name="Li Na", phone="13987654321").id
    return Desk(app, clock, am, other_am, relations, admin(app), customer, other)


def give(d: Desk, channel: str = "sms", purpose: str = "marketing", **more: object
         ) -> custmgmt.ConsentRecord:
    fields: dict[str, object] = {"source": "form", "notice_version": "2026.1",
                                 "reference": "F-0001"}
    fields.update(more)
    return d.app.consent.give(d.am, d.customer, purpose=purpose, channel=channel,
                              **fields)  # type: ignore[arg-type]


def withdraw(d: Desk, channel: str = "sms", purpose: str = "marketing", **more: object
             ) -> custmgmt.ConsentRecord:
    fields: dict[str, object] = {"source": "call_recording", "reference": "REC-2026-0042"}
    fields.update(more)
    return d.app.consent.withdraw(d.am, d.customer, purpose=purpose, channel=channel,
                                  **fields)  # type: ignore[arg-type]


def queue(d: Desk, n: int, *, purpose: str = NotificationPurpose.MARKETING,
          channel: str = "sms", to: str | None = None) -> str:
    note = attrs.evolve(sample_notification(n), recipient_id=to or d.customer,
                        purpose=purpose, channel=channel)
    with d.app._storage.unit_of_work() as uow:
        uow.outbox.add(note)
        uow.commit()
    return note.id


def test_a_consent_keeps_when_source_reference_and_notice_version(desk: Desk) -> None:
    record = give(desk)
    assert record.given and record.at == START and record.recorded_at == START
    assert (record.purpose, record.channel) == (Purpose.MARKETING, ContactChannel.SMS)
    assert record.source is ConsentSource.FORM and record.reference == "F-0001"
    assert record.notice_version == "2026.1" and record.recorded_by == "u-am"
    assert not record.sensitive
    assert desk.app.consent.history(desk.am, desk.customer) == (record,)


def test_consent_is_per_purpose_and_per_channel(desk: Desk) -> None:
    give(desk, "sms", "marketing")
    allows = desk.app.consent.allows
    assert allows(desk.am, desk.customer, "marketing", "sms")
    assert not allows(desk.am, desk.customer, "marketing", "email")
    assert not allows(desk.am, desk.customer, "care", "sms")
    assert not allows(desk.am, desk.customer, Purpose.PROFILING, ContactChannel.SMS)
    for channel in ContactChannel:
        give(desk, channel.value, "sharing")
        assert allows(desk.am, desk.customer, Purpose.SHARING, channel)


def test_the_history_is_append_only_and_the_current_state_a_view_of_it(
    desk: Desk, clock: FixedClock
) -> None:
    first = give(desk, "sms")
    clock.advance(hours=1)
    email = give(desk, "email")
    clock.advance(hours=1)
    out = withdraw(desk, "sms")
    clock.advance(hours=1)
    back = give(desk, "sms", source="online", notice_version="2026.2")
    history = desk.app.consent.history(desk.am, desk.customer)
    assert history == (first, email, out, back)
    assert desk.app.consent.current(desk.am, desk.customer) == (email, back)
    # the view at an earlier moment is read from the same history
    assert desk.app.consent.current(desk.am, desk.customer, at=out.at) == (email, out)
    assert desk.app.consent.current(desk.am, desk.customer, at=START) == (first,)
    assert not desk.app.consent.allows(desk.am, desk.customer, "marketing", "sms", at=out.at)
    assert desk.app.consent.allows(desk.am, desk.customer, "marketing", "sms")


def test_sensitive_information_needs_its_own_separate_consent(desk: Desk) -> None:
    give(desk, "sms")
    allows = desk.app.consent.allows
    assert not allows(desk.am, desk.customer, "marketing", "sms", sensitive=True)
    separate = give(desk, "sms", sensitive=True)
    assert separate.sensitive
    assert allows(desk.am, desk.customer, "marketing", "sms", sensitive=True)
    withdraw(desk, "sms", sensitive=True)
    assert not allows(desk.am, desk.customer, "marketing", "sms", sensitive=True)
    assert allows(desk.am, desk.customer, "marketing", "sms")  # the ordinary one stands
    withdraw(desk, "sms")
    give(desk, "sms", sensitive=True)
    assert not allows(desk.am, desk.customer, "marketing", "sms")  # nor the other way round


def test_a_withdrawal_between_two_sends_stops_the_second(desk: Desk, clock: FixedClock
                                                         ) -> None:
    give(desk, "sms")
    first = queue(desk, 1)
    assert desk.app.notifications.dispatch(desk.ops) == DispatchReport(sent=1)
    second = queue(desk, 2)  # already queued when the person withdraws
    clock.advance(minutes=5)
    withdraw(desk, "sms")
    assert desk.app.notifications.dispatch(desk.ops) == DispatchReport(refused=1)
    assert [n.id for n in desk.app.notifier.sent] == [first]  # type: ignore[attr-defined]
    refused = desk.app.notifications.get(desk.ops, second)
    assert refused.status is DeliveryStatus.REFUSED
    assert refused.last_error is not None
    assert refused.last_error.startswith("ConsentRequired: ")
    assert "withdrawn" in refused.last_error and "Wang" not in refused.last_error


def test_marketing_and_care_messages_need_consent_on_their_own_channel(desk: Desk) -> None:
    give(desk, "email", "care")
    ok = queue(desk, 1, purpose=NotificationPurpose.CARE, channel="email")
    wrong_channel = queue(desk, 2, purpose=NotificationPurpose.CARE, channel="sms")
    wrong_purpose = queue(desk, 3, purpose=NotificationPurpose.MARKETING, channel="email")
    internal = queue(desk, 4, purpose=NotificationPurpose.MARKETING, channel="internal")
    not_a_customer = queue(desk, 5, to="u-alice")
    work = queue(desk, 6, purpose=NotificationPurpose.OPERATIONS, channel="internal",
                 to="u-alice")
    assert desk.app.notifications.dispatch(desk.ops) == DispatchReport(sent=2, refused=4)
    sent = {n.id for n in desk.app.notifier.sent}  # type: ignore[attr-defined]
    assert sent == {ok, work}
    for nid in (wrong_channel, wrong_purpose, internal, not_a_customer):
        item = desk.app.notifications.get(desk.ops, nid)
        assert item.status is DeliveryStatus.REFUSED
        assert item.last_error is not None and item.last_error.startswith("ConsentRequired")


def test_a_sealed_customer_is_not_contacted_whatever_it_consented(desk: Desk) -> None:
    give(desk, "sms")
    with desk.app._storage.unit_of_work() as uow:  # as delisting's sealing leaves it
        customer = uow.customers.get(desk.customer)
        uow.customers.update(attrs.evolve(customer, status=custmgmt.domain.customers
                                          .CustomerStatus.SEALED))
        uow.commit()
    assert not desk.app.consent.allows(desk.am, desk.customer, "marketing", "sms")
    nid = queue(desk, 1)
    assert desk.app.notifications.dispatch(desk.ops) == DispatchReport(refused=1)
    error = desk.app.notifications.get(desk.ops, nid).last_error
    assert error is not None and "sealed" in error
    withdraw(desk, "sms")  # a withdrawal is always taken, sealed or not
    assert desk.app.consent.history(desk.am, desk.customer)[-1].given is False


def test_consent_may_be_dated_back_but_never_ahead_nor_before_the_record_in_force(
    desk: Desk, clock: FixedClock
) -> None:
    signed = give(desk, at=START - timedelta(days=2))
    assert signed.at == START - timedelta(days=2) and signed.recorded_at == START
    with pytest.raises(ValidationError) as ahead:
        give(desk, at=START + timedelta(seconds=1))
    assert ahead.value.field == "at"
    with pytest.raises(ValidationError) as before:
        withdraw(desk, at=START - timedelta(days=3))
    assert before.value.field == "at"
    assert desk.app.consent.history(desk.am, desk.customer) == (signed,)


def test_every_change_is_an_event_and_an_audit_entry_without_personal_data(
    desk: Desk
) -> None:
    record = withdraw(desk, "wechat")
    (event,) = [e for e in desk.app.events(desk.ops) if isinstance(e, ConsentChanged)]
    assert (event.customer_id, event.record_id, event.given) == (desk.customer, record.id,
                                                                 False)
    assert event.channel is ContactChannel.WECHAT
    assert desk.app.audit.verify(desk.ops, "consent", desk.customer) == 1
    with desk.app._storage.unit_of_work(read_only=True) as uow:
        (entry,) = uow.audit.trail("consent", desk.customer)
    assert entry.action == "withdraw" and entry.after is not None
    assert dict(entry.after)["channel"] == "wechat" and "Wang" not in repr(entry)


@pytest.mark.parametrize(("field", "changes"), [
    ("purpose", {"purpose": "sales"}),
    ("purpose", {"purpose": "credit"}),
    ("purpose", {"purpose": "spam"}),
    ("channel", {"channel": "pigeon"}),
    ("source", {"source": "rumour"}),
    ("notice_version", {"notice_version": ""}),
    ("notice_version", {"notice_version": "v" * 51}),
    ("reference", {"reference": "r" * 201}),
    ("sensitive", {"sensitive": "yes"}),
    ("at", {"at": "yesterday"}),
])
def test_bad_input_names_the_field_and_stores_nothing(
    desk: Desk, field: str, changes: dict[str, object]
) -> None:
    with pytest.raises(ValidationError) as raised:
        give(desk, **changes)
    assert field in {raised.value.field, *(p.path for p in raised.value.errors)}
    assert desk.app.consent.history(desk.am, desk.customer) == ()


def test_who_may_record_and_read_consent(desk: Desk) -> None:
    app = desk.app
    sales = app.principal("u-sales", roles={"salesperson"})
    marketer = app.principal("u-mkt", roles={"marketer"})
    with pytest.raises(PermissionDenied):
        app.consent.give(desk.other_am, desk.customer, purpose="marketing", channel="sms",
                         source="form", notice_version="1")
    with pytest.raises(PermissionDenied):
        app.consent.give(sales, desk.customer, purpose="marketing", channel="sms",
                         source="form", notice_version="1")
    with pytest.raises(PermissionDenied):
        app.consent.withdraw(marketer, desk.customer, purpose="marketing", channel="sms",
                             source="form")
    with pytest.raises(PermissionDenied):
        app.consent.history(desk.other_am, desk.customer)
    app.consent.give(desk.relations, desk.other, purpose="marketing", channel="post",
                     source="letter", notice_version="1")
    assert app.consent.allows(marketer, desk.other, "marketing", "post")
    assert len(app.consent.history(marketer, desk.other)) == 1
    with pytest.raises(PermissionDenied):  # no existence oracle for a narrow right
        app.consent.history(desk.other_am, "c-nobody")
    with pytest.raises(NotFound):
        app.consent.history(desk.relations, "c-nobody")


def test_consent_required_says_what_is_missing_without_personal_data() -> None:
    error = ConsentRequired("c-000001", "marketing", "sms", "consent withdrawn")
    assert (error.customer_id, error.purpose, error.channel) == ("c-000001", "marketing", "sms")
    assert str(error) == "customer 'c-000001' has no marketing consent on sms: consent withdrawn"


def test_a_marketing_follow_up_by_phone_email_or_post_needs_consent_on_that_channel(
    desk: Desk, clock: FixedClock
) -> None:
    app = desk.app
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    prospect = app.prospects.register(alice, name="Wang Wei", phone="13912345678",
                                      willingness="clear", potential_value=1000)
    stranger = app.prospects.register(alice, name="Zhao Lei", phone="13700001111",
                                      willingness="clear", potential_value=1000)
    with pytest.raises(ConsentRequired) as refused:
        app.followups.record(alice, prospect.id, channel="phone", summary="fund offer",
                             purpose="marketing")
    assert refused.value.channel == "phone" and "Wang" not in str(refused.value)
    give(desk, "phone")
    clock.advance(minutes=1)
    app.followups.record(alice, prospect.id, channel="phone", summary="fund offer",
                         purpose="marketing")
    with pytest.raises(ConsentRequired):  # consent by phone is not consent by post
        app.followups.record(alice, prospect.id, channel="mail", summary="brochure",
                             purpose="marketing")
    app.followups.record(alice, prospect.id, channel="visit", summary="met at the branch",
                         purpose="marketing")  # a visit is no remote channel
    with pytest.raises(ConsentRequired):  # nobody known to have consented
        app.followups.record(alice, stranger.id, channel="email", summary="offer",
                             purpose="marketing")
    withdraw(desk, "phone")
    clock.advance(minutes=1)
    with pytest.raises(ConsentRequired):
        app.followups.record(alice, prospect.id, channel="phone", summary="again",
                             purpose="marketing")
    app.followups.record(alice, prospect.id, channel="phone", summary="service call")
    with pytest.raises(ValidationError) as bad:
        app.followups.record(alice, prospect.id, channel="phone", summary="x",
                             purpose="credit")
    assert bad.value.field == "purpose"
