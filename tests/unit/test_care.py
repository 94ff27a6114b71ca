"""app.care on every back end: the customer file and brief, complaints with deadlines
per severity checked at their exact edges, escalation once per deadline, reports, the
guard (never a sealed customer) and the rights of each role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import custmgmt
from custmgmt import worker
from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.domain.care import StayPattern
from custmgmt.domain.complaints import ComplaintState, Deadline, Severity, Within
from custmgmt.errors import (
    CustomerRefused,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)

App = custmgmt.CustomerManagement
P = custmgmt.Principal
TICK = timedelta(microseconds=1)


@dataclass
class Hotel:
    app: App
    clock: FixedClock
    root: P
    desk: P
    relations: P
    duty: P
    guest: str


def open_hotel(url: str, clock: FixedClock, **settings: Any) -> Hotel:
    app = custmgmt.open(url, clock=clock, ids=SequentialIds(), migrate=True,
                        settings=custmgmt.Settings(notifier="memory", **settings))
    root = app.principal("u-root", roles={"admin"})
    desk = app.principal("u-desk", roles={"front_desk"})
    relations = app.principal("u-gr", roles={"guest_relations"})
    duty = app.principal("u-duty", roles={"duty_manager"})
    guest = app.customers.create(root, name="Wang Wei", organization="Acme Co.",
                                 phone="13912345678", email="wang.wei@example.com").id
    return Hotel(app, clock, root, desk, relations, duty, guest)


@pytest.fixture
def hotel(app: App, clock: FixedClock) -> Hotel:
    root = app.principal("u-root", roles={"admin"})
    desk = app.principal("u-desk", roles={"front_desk"})
    relations = app.principal("u-gr", roles={"guest_relations"})
    duty = app.principal("u-duty", roles={"duty_manager"})
    guest = app.customers.create(root, name="Wang Wei", organization="Acme Co.",
                                 phone="13912345678", email="wang.wei@example.com").id
    return Hotel(app, clock, root, desk, relations, duty, guest)


def seal(h: Hotel) -> None:
    h.app.customers.set_status(h.root, h.guest, status="sealed", reason="delisted")


def overdue_notes(h: Hotel) -> list[tuple[str, str | None]]:
    return [(i.notification.recipient_id, i.notification.dedupe_key)
            for i in h.app.outbox(h.root) if i.notification.kind == "complaint.overdue"]


# -- the customer file and the brief ----------------------------------------------------

def test_preferences_and_usual_periods_are_kept_on_the_customer(hotel: Hotel) -> None:
    h = hotel
    assert h.app.care.file(h.desk, h.guest).version == 0
    h.app.care.record_preferences(h.desk, h.guest, room_type="king", floor="high",
                                  diet="vegetarian", language="粤语",
                                  tags=["quiet", "extra pillow", "quiet"])
    kept = h.app.care.record_usual_periods(
        h.desk, h.guest, [StayPattern(weekdays=[0, 1, 2]),
                          StayPattern(months=(2,), note="Spring Festival")])
    assert kept.version == 2 and kept.updated_by == "u-desk"
    again = h.app.care.file(h.relations, h.guest)
    assert again == kept
    assert again.preferences.tags == ("quiet", "extra pillow")
    assert again.usual_periods[0].weekdays == (0, 1, 2)
    # setting the same again changes nothing (no new version)
    same = h.app.care.record_preferences(h.desk, h.guest, room_type="king", floor="high",
                                         diet="vegetarian", language="粤语",
                                         tags=["quiet", "extra pillow"])
    assert same.version == 2
    cleared = h.app.care.record_preferences(h.desk, h.guest, room_type="twin")
    assert (cleared.preferences.room_type, cleared.preferences.diet) == ("twin", None)
    assert cleared.usual_periods == kept.usual_periods
    # every change of the file is on its audit trail (three versions, three entries)
    assert h.app.audit.verify(h.root, "care_file", h.guest) == 3


def test_a_birthday_is_kept_on_the_file(hotel: Hotel) -> None:
    h = hotel
    kept = h.app.care.record_birthday(h.desk, h.guest, date(1985, 3, 2))
    assert kept.birthday == date(1985, 3, 2) and "1985" not in repr(kept)
    assert h.app.care.record_birthday(h.desk, h.guest, date(1985, 3, 2)).version == kept.version
    assert h.app.care.record_birthday(h.desk, h.guest, None).birthday is None
    with pytest.raises(ValidationError, match="birthday"):
        h.app.care.record_birthday(h.desk, h.guest, datetime(1985, 3, 2))  # type: ignore[arg-type]


def test_the_brief_masks_contacts_unless_the_role_may_read_the_customer(hotel: Hotel) -> None:
    h = hotel
    h.app.care.record_preferences(h.desk, h.guest, room_type="king", language="English")
    brief = h.app.care.brief(h.desk, h.guest)
    assert brief.name == "Wang Wei"
    assert (brief.phone, brief.email, brief.contacts_masked) == (
        "*******5678", "w****@example.com", True)
    assert brief.preferences.room_type == "king" and brief.open_complaints == 0
    assert "5678" not in repr(brief) and "Wang" not in repr(brief)
    reader = h.app.principal("u-reader", roles={"front_desk", "customer_reader"})
    clear = h.app.care.brief(reader, h.guest)
    assert (clear.phone, clear.email, clear.contacts_masked) == (
        "13912345678", "wang.wei@example.com", False)
    # an account manager reads the brief of the customers they own, in clear
    owner = h.app.principal("u-am", roles={"account_manager"})
    own = h.app.customers.create(owner, name="Li Na", organization="Bolt Co.",
                                 phone="13800001111").id
    assert h.app.care.brief(owner, own).phone == "13800001111"
    with pytest.raises(PermissionDenied):
        h.app.care.brief(owner, h.guest)
    h.app.care.receive_complaint(h.desk, h.guest, channel="in_person", severity="low",
                                 summary="slow check-in")
    assert h.app.care.brief(h.desk, h.guest).open_complaints == 1


def test_nothing_is_done_for_a_sealed_customer(hotel: Hotel) -> None:
    h = hotel
    complaint = h.app.care.receive_complaint(h.desk, h.guest, channel="phone",
                                             severity="high", summary="noise")
    seal(h)
    calls = [
        lambda: h.app.care.brief(h.desk, h.guest),
        lambda: h.app.care.file(h.desk, h.guest),
        lambda: h.app.care.record_preferences(h.desk, h.guest, room_type="king"),
        lambda: h.app.care.record_usual_periods(h.desk, h.guest, [StayPattern(months=[1])]),
        lambda: h.app.care.receive_complaint(h.desk, h.guest, channel="phone",
                                             severity="low", summary="x"),
        lambda: h.app.care.acknowledge_complaint(h.duty, complaint.id),
    ]
    for call in calls:
        with pytest.raises(CustomerRefused):
            call()
    assert h.app.care.complaint(h.duty, complaint.id).state is ComplaintState.RECEIVED


def test_bad_preferences_name_the_field_and_save_nothing(hotel: Hotel) -> None:
    h = hotel
    for fields, name in (({"room_type": "x" * 101}, "room_type"),
                         ({"tags": ["ok", ""]}, "tags"), ({"tags": "quiet"}, "tags"),
                         ({"tags": [f"t{n}" for n in range(31)]}, "tags"),
                         ({"language": "\x00"}, "language")):
        with pytest.raises(ValidationError) as refused:
            h.app.care.record_preferences(h.desk, h.guest, **fields)
        assert refused.value.field == name
    for periods, name in (([StayPattern(weekdays=[1])] * 13, "periods"), (["mondays"], "periods")):
        with pytest.raises(ValidationError) as refused:
            h.app.care.record_usual_periods(h.desk, h.guest, periods)  # type: ignore[arg-type]
        assert refused.value.field == name
    with pytest.raises(ValidationError, match="weekdays"):
        StayPattern(weekdays=[7])
    with pytest.raises(ValidationError, match="usual_periods"):
        StayPattern()
    assert h.app.care.file(h.desk, h.guest).version == 0


# -- complaints ---------------------------------------------------------------------

def test_a_complaint_goes_received_acknowledged_resolved_confirmed(hotel: Hotel) -> None:
    h = hotel
    received = h.app.care.receive_complaint(h.desk, h.guest, channel="phone",
                                            severity=Severity.HIGH, summary="cold shower",
                                            service="room")
    assert received.state is ComplaintState.RECEIVED and received.received_by == "u-desk"
    assert received.id.startswith("cm-")  # campaigns are "cp-": one prefix, one kind
    assert received.acknowledge_due == h.clock.now() + timedelta(hours=4)
    assert received.resolve_due == h.clock.now() + timedelta(days=2)
    assert "cold shower" not in repr(received)
    with pytest.raises(InvalidTransition):
        h.app.care.resolve_complaint(h.duty, received.id, resolution="fixed")
    h.clock.advance(minutes=30)
    acked = h.app.care.acknowledge_complaint(h.duty, received.id, note="plumber called")
    assert acked.state is ComplaintState.ACKNOWLEDGED and not acked.acknowledged_late
    h.clock.advance(hours=2)
    resolved = h.app.care.resolve_complaint(h.duty, received.id, resolution="boiler fixed")
    assert resolved.seconds_to_resolve == 9000 and not resolved.resolved_late
    confirmed = h.app.care.confirm_complaint(h.relations, received.id, note="thanked us")
    assert confirmed.state is ComplaintState.CONFIRMED and not confirmed.is_open
    assert [e.step.value for e in confirmed.history] == [
        "received", "acknowledged", "resolved", "confirmed"]
    with pytest.raises(InvalidTransition):
        h.app.care.reopen_complaint(h.relations, received.id, reason="again")
    assert h.app.audit.verify(h.root, "complaint", received.id) == 4


def test_a_reopened_complaint_has_a_new_deadline_and_is_escalated_again(hotel: Hotel) -> None:
    h = hotel
    c = h.app.care.receive_complaint(h.desk, h.guest, channel="email", severity="critical",
                                     summary="billing error")
    h.app.care.acknowledge_complaint(h.duty, c.id)
    h.app.care.resolve_complaint(h.duty, c.id, resolution="refunded")
    h.clock.advance(hours=30)   # past the first resolve deadline, but it was resolved
    assert h.app.care.escalate_overdue(h.duty) == 0
    reopened = h.app.care.reopen_complaint(h.relations, c.id, reason="refund not received")
    assert reopened.state is ComplaintState.REOPENED and reopened.is_open
    assert reopened.resolve_due == h.clock.now() + timedelta(hours=24)
    h.clock.set(reopened.resolve_due + TICK)
    assert h.app.care.escalate_overdue(h.duty) == 1
    assert h.app.care.escalate_overdue(h.duty) == 0
    again = h.app.care.resolve_complaint(h.duty, c.id, resolution="refund re-sent")
    assert again.first_resolved_at is not None and again.resolved_at == h.clock.now()
    assert not again.resolved_late          # the first resolution was in time


@pytest.mark.parametrize("severity", list(Severity))
def test_each_deadline_is_met_exactly_at_it_and_escalated_one_microsecond_after(
    hotel: Hotel, severity: Severity,
) -> None:
    h = hotel
    c = h.app.care.receive_complaint(h.desk, h.guest, channel="phone", severity=severity,
                                     summary="x")
    settings = h.app.settings
    assert c.acknowledge_due == settings.complaint_acknowledge[severity].after(
        c.received_at, settings.zone)
    h.clock.set(c.acknowledge_due - TICK)
    assert h.app.care.escalate_overdue(h.duty) == 0
    h.clock.set(c.acknowledge_due)
    assert h.app.care.escalate_overdue(h.duty) == 0
    h.clock.set(c.acknowledge_due + TICK)
    assert h.app.care.escalate_overdue(h.duty) == 1
    assert h.app.care.escalate_overdue(h.duty) == 0          # once per deadline
    assert overdue_notes(h) == [
        ("u-duty", f"complaint.overdue:{c.id}:acknowledge:{c.acknowledge_due.isoformat()}"
                   ":u-duty")]
    h.clock.set(c.resolve_due)
    assert h.app.care.escalate_overdue(h.duty) == 0
    h.clock.set(c.resolve_due + TICK)
    assert h.app.care.escalate_overdue(h.duty) == 1
    assert h.app.care.escalate_overdue(h.duty) == 0
    stored = h.app.care.complaint(h.duty, c.id)
    assert stored.acknowledge_escalated and stored.resolve_escalated
    assert [e.note for e in stored.history if e.step.value == "escalated"] == [
        "acknowledge", "resolve"]


def test_acknowledging_exactly_at_the_deadline_is_in_time(hotel: Hotel) -> None:
    h = hotel
    on_time = h.app.care.receive_complaint(h.desk, h.guest, channel="phone", severity="high",
                                           summary="x")
    late = h.app.care.receive_complaint(h.desk, h.guest, channel="phone", severity="high",
                                        summary="y")
    h.clock.set(on_time.acknowledge_due)
    assert not h.app.care.acknowledge_complaint(h.duty, on_time.id).acknowledged_late
    h.clock.set(late.acknowledge_due + TICK)
    assert h.app.care.acknowledge_complaint(h.duty, late.id).acknowledged_late
    # acknowledged before the sweep ran: nothing to escalate for that deadline
    assert h.app.care.escalate_overdue(h.duty) == 0


@pytest.mark.parametrize(("zone", "received", "hours"), [
    # Shanghai has no DST: one local day is always 24 hours
    ("Asia/Shanghai", datetime(2026, 3, 7, 15, 0, tzinfo=UTC), 24),
    # New York springs forward on 2026-03-08: that local day has 23 hours
    ("America/New_York", datetime(2026, 3, 7, 15, 0, tzinfo=UTC), 23),
    # ... and falls back on 2026-11-01: 25 hours
    ("America/New_York", datetime(2026, 10, 31, 15, 0, tzinfo=UTC), 25),
])
def test_a_deadline_in_days_is_the_same_local_time_in_the_configured_zone(
    storage_url: str, zone: str, received: datetime, hours: int,
) -> None:
    clock = FixedClock(received)
    h = open_hotel(storage_url, clock, timezone=zone,
                   complaint_acknowledge={s: Within(days=1) for s in Severity})
    try:
        c = h.app.care.receive_complaint(h.desk, h.guest, channel="phone", severity="low",
                                         summary="x")
        assert c.acknowledge_due - c.received_at == timedelta(hours=hours)
        assert c.received_day == received.astimezone(h.app.settings.zone).date()
        for moment, escalated in ((c.acknowledge_due - TICK, 0), (c.acknowledge_due, 0),
                                  (c.acknowledge_due + TICK, 1)):
            clock.set(moment)
            assert h.app.care.escalate_overdue(h.duty) == escalated
    finally:
        h.app.close()


def test_a_wall_time_that_does_not_exist_lands_after_the_gap() -> None:
    from zoneinfo import ZoneInfo
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 7, 7, 30, tzinfo=UTC)  # 02:30 EST on 2026-03-07
    due = Within(days=1).after(start, zone)           # 02:30 on 03-08 does not exist
    assert due.astimezone(zone).hour == 3 and due - start == timedelta(hours=24)
    assert Within(days=1, hours=2).after(start, zone) == due + timedelta(hours=2)


def test_escalations_go_to_every_duty_manager_or_to_the_role(hotel: Hotel) -> None:
    h = hotel
    h.app.principal("u-duty2", roles={"duty_manager"})
    h.app.principal("u-gone", roles={"duty_manager"})
    h.app.principals.deactivate(h.root, "u-gone")
    c = h.app.care.receive_complaint(h.desk, h.guest, channel="phone", severity="critical",
                                     summary="x")
    h.clock.set(c.acknowledge_due + TICK)
    assert h.app.care.escalate_overdue(h.root) == 1
    assert sorted(r for r, _ in overdue_notes(h)) == ["u-duty", "u-duty2"]
    for who in ("u-duty", "u-duty2"):
        h.app.principals.revoke(h.root, who, ["duty_manager"])
    h.clock.set(c.resolve_due + TICK)
    assert h.app.care.escalate_overdue(h.root) == 1
    assert [r for r, _ in overdue_notes(h)][-1] == "role:duty_manager"


def test_the_worker_round_escalates_and_delivers(hotel: Hotel) -> None:
    h = hotel
    runner = h.app.principal("u-worker", roles={"dispatcher", "sales_manager"})
    c = h.app.care.receive_complaint(h.desk, h.guest, channel="phone", severity="high",
                                     summary="x")
    h.clock.set(c.acknowledge_due + TICK)
    done = worker.run_round(h.app, runner)
    assert (done.escalated, done.sent, done.error) == (1, 1, None)
    assert "escalated 1" in str(done)
    assert worker.run_round(h.app, runner).escalated == 0
    sent = [n for n in h.app.notifier.sent if n.kind == "complaint.overdue"]  # type: ignore[attr-defined]
    assert [n.recipient_id for n in sent] == ["u-duty"]
    assert "acknowledged" in sent[0].subject and "Wang" not in sent[0].body


def test_reports_open_by_age_timing_and_repeat_complainers(hotel: Hotel) -> None:
    h = hotel
    other = h.app.customers.create(h.root, name="Li Na", organization="Bolt Co.",
                                   phone="13800001111").id
    start = h.clock.now()
    first = h.app.care.receive_complaint(h.desk, h.guest, channel="phone", severity="high",
                                         summary="a")
    h.clock.advance(minutes=90)
    h.app.care.acknowledge_complaint(h.duty, first.id)
    h.clock.advance(hours=4, minutes=30)
    h.app.care.resolve_complaint(h.duty, first.id, resolution="r")   # 6 h after receipt
    h.clock.set(start + timedelta(days=2))
    h.app.care.receive_complaint(h.desk, other, channel="email", severity="low", summary="b")
    h.clock.set(start + timedelta(days=5))
    h.app.care.receive_complaint(h.desk, h.guest, channel="online", severity="medium",
                                 summary="c")
    h.clock.set(start + timedelta(days=10))
    ages = h.app.care.open_complaints_by_age(h.relations)
    assert [(a.label, a.count) for a in ages] == [
        ("under 1 day", 0), ("1-3 days", 0), ("3-7 days", 1), ("over 7 days", 1)]
    h.clock.set(start + timedelta(days=6) - TICK)     # the third is just under a day old
    assert [a.count for a in h.app.care.open_complaints_by_age(h.relations)] == [1, 0, 1, 0]
    h.clock.set(start + timedelta(days=6))            # exactly one day: "1-3 days"
    assert [a.count for a in h.app.care.open_complaints_by_age(h.relations)] == [0, 1, 1, 0]
    (march,) = h.app.care.complaint_timing(h.relations, start=date(2026, 3, 1),
                                           end=date(2026, 3, 31))
    assert (march.received, march.acknowledged, march.resolved) == (3, 1, 1)
    assert march.average_acknowledge_minutes == Decimal("90.0")
    assert march.average_resolve_minutes == Decimal("360.0")
    assert h.app.care.complaint_timing(h.relations, start=date(2026, 4, 1),
                                       end=date(2026, 4, 30)) == ()
    repeat = h.app.care.repeat_complainers(h.relations, start=date(2026, 3, 1),
                                           end=date(2026, 3, 31))
    assert [(r.customer_id, r.complaints) for r in repeat] == [(h.guest, 2)]
    with pytest.raises(ValidationError, match="end"):
        h.app.care.complaint_timing(h.relations, start=date(2026, 3, 2), end=date(2026, 3, 1))
    page = h.app.care.complaints(h.relations, customer_id=h.guest, limit=1)
    assert len(page.items) == 1 and page.next_cursor is not None
    rest = h.app.care.complaints(h.relations, customer_id=h.guest, cursor=page.next_cursor)
    assert [c.summary for c in (*page.items, *rest.items)] == ["a", "c"]
    assert len(h.app.care.complaints(h.relations, open_only=True).items) == 2


def test_each_role_may_do_only_its_part(hotel: Hotel) -> None:
    h = hotel
    manager = h.app.principal("u-rooms", roles={"service_manager"}, team="room")
    salesperson = h.app.principal("u-sales", roles={"salesperson"})
    c = h.app.care.receive_complaint(h.desk, h.guest, channel="phone", severity="low",
                                     summary="x")
    refused = [
        lambda: h.app.care.acknowledge_complaint(h.desk, c.id),       # front desk: no
        lambda: h.app.care.complaint(h.desk, c.id),
        lambda: h.app.care.escalate_overdue(h.desk),
        lambda: h.app.care.escalate_overdue(h.relations),
        lambda: h.app.care.open_complaints_by_age(h.desk),
        lambda: h.app.care.receive_complaint(manager, h.guest, channel="phone",
                                             severity="low", summary="x"),
        lambda: h.app.care.brief(salesperson, h.guest),
        lambda: h.app.care.record_preferences(h.duty, h.guest, room_type="king"),
    ]
    for call in refused:
        with pytest.raises(PermissionDenied):
            call()
    assert h.app.care.complaint(manager, c.id).id == c.id
    assert h.app.care.brief(manager, h.guest).contacts_masked


def test_unknown_ids_and_bad_values_are_refused(hotel: Hotel) -> None:
    h = hotel
    with pytest.raises(NotFound):
        h.app.care.receive_complaint(h.desk, "c-missing", channel="phone", severity="low",
                                     summary="x")
    with pytest.raises(NotFound):
        h.app.care.acknowledge_complaint(h.duty, "cp-missing")
    with pytest.raises(ValidationError) as refused:
        h.app.care.receive_complaint(h.desk, h.guest, channel="pigeon", severity="dire",
                                     summary="")
    assert refused.value.field in ("channel", "severity", "summary")
    assert h.app.care.complaints(h.root).items == ()


def test_deadline_settings_need_every_severity() -> None:
    with pytest.raises(ValidationError, match="complaint_acknowledge"):
        custmgmt.Settings(complaint_acknowledge={Severity.LOW: Within(hours=1)})
    with pytest.raises(ValidationError, match="complaint_resolve"):
        custmgmt.Settings(complaint_resolve={"bad": Within(hours=1)})
    with pytest.raises(ValidationError, match="deadline"):
        Within()
    with pytest.raises(ValidationError, match="days"):
        Within(days=-1)
    chosen = custmgmt.Settings(complaint_resolve={s.value: Within(days=5) for s in Severity})
    assert chosen.complaint_resolve[Severity.CRITICAL] == Within(days=5)


def test_deadline_enum_values() -> None:
    assert {d.value for d in Deadline} == {"acknowledge", "resolve"}


def test_the_care_tables_survive_reopening_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    clock = FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    h = open_hotel(url, clock)
    h.app.care.record_preferences(h.desk, h.guest, room_type="suite")
    h.app.close()
    with custmgmt.open(url) as again:
        assert again.care.file(h.desk, h.guest).preferences.room_type == "suite"
