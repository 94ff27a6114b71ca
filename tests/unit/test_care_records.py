"""app.care on every back end: stays and visits, satisfaction surveys with follow-up
tasks for low scores and the report with its trend, membership tiers evaluated on a
date (each change with its rule), and segments by recency, frequency and value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

import custmgmt
from custmgmt import Money
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.membership import Tier, window
from custmgmt.domain.segments import Segment, SegmentCuts
from custmgmt.domain.surveys import Answer, TaskState
from custmgmt.errors import CustomerRefused, InvalidTransition, PermissionDenied, ValidationError

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


@pytest.fixture
def hotel(app: App, clock: FixedClock) -> Hotel:
    root = app.principal("u-root", roles={"admin"})
    desk = app.principal("u-desk", roles={"front_desk"})
    relations = app.principal("u-gr", roles={"guest_relations"})
    duty = app.principal("u-duty", roles={"duty_manager"})
    guest = app.customers.create(root, name="Wang Wei", organization="Acme Co.",
                                 phone="13912345678").id
    return Hotel(app, clock, root, desk, relations, duty, guest)


def stay(h: Hotel, ended: date, spend: str = "1000", customer: str | None = None) -> str:
    return h.app.care.record_visit(h.desk, customer or h.guest, kind="stay",
                                   started_on=ended - timedelta(days=1), ended_on=ended,
                                   spend=Money(spend, "CNY"), service="room").id


def answers(**scores: int) -> list[Answer]:
    return [Answer(service=service, question=f"How was the {service}?", score=score,
                   comment="comment") for service, score in scores.items()]


# -- visits -------------------------------------------------------------------------------

def test_stays_and_visits_are_recorded_with_what_was_spent(hotel: Hotel) -> None:
    h = hotel
    first = h.app.care.record_visit(h.desk, h.guest, kind="stay", started_on=date(2026, 2, 1),
                                    ended_on=date(2026, 2, 3), spend="2400.50")
    lunch = h.app.care.record_visit(h.desk, h.guest, kind="visit", started_on=date(2026, 2, 5),
                                    spend=Money("188", "CNY"), service="restaurant")
    assert first.nights == 2 and first.spend == Money("2400.50", "CNY")
    assert lunch.ended_on == date(2026, 2, 5) and lunch.nights == 0
    assert [v.id for v in h.app.care.visits(h.desk, h.guest)] == [lunch.id, first.id]
    for fields, name in (({"started_on": date(2026, 2, 3), "ended_on": date(2026, 2, 1)},
                          "ended_on"), ({"spend": "-1"}, "spend"), ({"spend": 1.5}, "spend"),
                         ({"kind": "picnic"}, "kind")):
        call = {"kind": "stay", "started_on": date(2026, 2, 1), **fields}
        with pytest.raises(ValidationError) as refused:
            h.app.care.record_visit(h.desk, h.guest, **call)  # type: ignore[arg-type]
        assert refused.value.field == name
    assert len(h.app.care.visits(h.desk, h.guest)) == 2


# -- surveys ------------------------------------------------------------------------------

def test_a_low_score_opens_a_task_for_the_manager_of_that_service(hotel: Hotel) -> None:
    h = hotel
    rooms = h.app.principal("u-rooms", roles={"service_manager"}, team="room")
    visit = stay(h, date(2026, 3, 1))
    response, tasks = h.app.care.record_survey(
        h.desk, h.guest, visit_id=visit, answers=answers(room=2, restaurant=3, front_desk=1))
    assert response.visit_id == visit and len(response.answers) == 3
    assert sorted((t.service, t.assignee_id, t.score) for t in tasks) == [
        ("front_desk", "u-duty", 1), ("room", "u-rooms", 2)]   # no front-desk manager: duty
    notes = [i.notification for i in h.app.outbox(h.root)
             if i.notification.kind == "care.low_score"]
    assert sorted(n.recipient_id for n in notes) == ["u-duty", "u-rooms"]
    assert all("comment" not in n.body for n in notes)
    mine = h.app.care.tasks(rooms, assignee="u-rooms")
    assert [t.service for t in mine] == ["room"]
    done = h.app.care.close_task(rooms, mine[0].id, outcome="called the guest, apologised")
    assert done.state is TaskState.DONE and done.closed_by == "u-rooms"
    with pytest.raises(InvalidTransition):
        h.app.care.close_task(rooms, mine[0].id, outcome="again")
    assert h.app.care.tasks(rooms, assignee="u-rooms") == ()
    assert [t.id for t in h.app.care.tasks(rooms, assignee="u-rooms", state="done")] == [done.id]
    with pytest.raises(PermissionDenied):
        h.app.care.tasks(h.desk)


def test_the_follow_up_score_is_inclusive_and_configurable(hotel: Hotel) -> None:
    h = hotel
    visit = stay(h, date(2026, 3, 1))
    assert len(h.app.care.record_survey(h.desk, h.guest, visit_id=visit,
                                        answers=answers(room=3))[1]) == 0
    assert len(h.app.care.record_survey(h.desk, h.guest, visit_id=visit,
                                        answers=answers(room=2))[1]) == 1
    with pytest.raises(ValidationError, match="survey_follow_up_score"):
        custmgmt.Settings(survey_follow_up_score=5)


def test_a_response_is_about_a_visit_of_that_customer(hotel: Hotel) -> None:
    h = hotel
    other = h.app.customers.create(h.root, name="Li Na", organization="Bolt Co.",
                                   phone="13800001111").id
    theirs = stay(h, date(2026, 3, 1), customer=other)
    with pytest.raises(ValidationError, match="visit_id"):
        h.app.care.record_survey(h.desk, h.guest, visit_id=theirs, answers=answers(room=1))
    with pytest.raises(ValidationError, match="score"):
        Answer(service="room", question="q", score=6)
    with pytest.raises(ValidationError, match="answers"):
        h.app.care.record_survey(h.desk, other, visit_id=theirs, answers=[])
    assert h.app.care.tasks(h.root) == ()
    h.app.customers.set_status(h.root, other, status="sealed", reason="delisted")
    with pytest.raises(CustomerRefused):
        h.app.care.record_survey(h.desk, other, visit_id=theirs, answers=answers(room=5))
    with pytest.raises(CustomerRefused):
        h.app.care.record_visit(h.desk, other, kind="visit", started_on=date(2026, 3, 2))


def test_the_survey_report_gives_average_distribution_and_trend(hotel: Hotel) -> None:
    h = hotel
    visit = stay(h, date(2026, 2, 1))
    # February (the period before): room 4, 4
    h.clock.set(datetime(2026, 2, 10, 2, 0, tzinfo=UTC))
    h.app.care.record_survey(h.desk, h.guest, visit_id=visit, answers=answers(room=4))
    h.app.care.record_survey(h.desk, h.guest, visit_id=visit, answers=answers(room=4))
    # the last microsecond of 28 February in Shanghai (15:59:59.999999 UTC) is February
    h.clock.set(datetime(2026, 2, 28, 16, 0, tzinfo=UTC) - TICK)
    h.app.care.record_survey(h.desk, h.guest, visit_id=visit, answers=answers(room=4))
    # exactly midnight 1 March in Shanghai is March: room 5, 2, 3; restaurant 5
    h.clock.set(datetime(2026, 2, 28, 16, 0, tzinfo=UTC))
    h.app.care.record_survey(h.desk, h.guest, visit_id=visit,
                             answers=answers(room=5, restaurant=5))
    h.app.care.record_survey(h.desk, h.guest, visit_id=visit, answers=answers(room=2))
    h.app.care.record_survey(h.desk, h.guest, visit_id=visit, answers=answers(room=3))
    march = {s.service: s for s in h.app.care.survey_report(
        h.relations, start=date(2026, 3, 1), end=date(2026, 3, 28))}
    room = march["room"]
    assert (room.answers, room.average, room.distribution) == (
        3, Decimal("3.33"), (0, 1, 1, 0, 1))
    assert (room.previous_average, room.trend) == (Decimal("4.00"), Decimal("-0.67"))
    restaurant = march["restaurant"]
    assert (restaurant.average, restaurant.previous_average, restaurant.trend) == (
        Decimal("5.00"), None, None)
    (feb,) = h.app.care.survey_report(h.relations, start=date(2026, 2, 1),
                                      end=date(2026, 2, 28))
    assert (feb.service, feb.answers, feb.distribution) == ("room", 3, (0, 0, 0, 3, 0))
    with pytest.raises(PermissionDenied):
        h.app.care.survey_report(h.desk, start=date(2026, 3, 1), end=date(2026, 3, 31))


# -- membership ---------------------------------------------------------------------

def test_the_rolling_window_is_twelve_months_ending_on_the_date() -> None:
    assert window(date(2026, 3, 2)) == (date(2025, 3, 3), date(2026, 3, 2))
    assert window(date(2028, 2, 29)) == (date(2027, 3, 1), date(2028, 2, 29))


def test_a_tier_upgrade_and_downgrade_each_keep_the_rule_that_caused_it(hotel: Hotel) -> None:
    h = hotel
    for n in range(5):
        stay(h, date(2025, 3, 3) + timedelta(days=n * 30), spend="500")
    first = h.app.care.evaluate_membership(h.relations, h.guest, on=date(2026, 3, 2))
    assert first.tier == "silver" and first.since == date(2026, 3, 2)
    assert first.history[-1].before is None
    assert "5 stays >= 5" in first.history[-1].rule
    assert "2025-03-03..2026-03-02" in first.history[-1].rule
    brief = h.app.care.brief(h.desk, h.guest)
    assert brief.tier == "silver" and "welcome drink" in brief.benefits
    # one day later the first stay (ended 2025-03-03) leaves the window: 4 stays
    later = h.app.care.evaluate_membership(h.relations, h.guest, on=date(2026, 3, 3))
    assert later.tier == "member"
    assert [(c.before, c.after) for c in later.history] == [(None, "silver"),
                                                              ("silver", "member")]
    assert "silver no longer met" in later.history[-1].rule
    # the same result again: no new history entry
    again = h.app.care.evaluate_membership(h.relations, h.guest, on=date(2026, 3, 4))
    assert len(again.history) == 2 and again.evaluated_on == date(2026, 3, 4)
    # a big spend upgrades to gold by the spend rule
    stay(h, date(2026, 3, 4), spend="30000")
    gold = h.app.care.evaluate_membership(h.relations, h.guest, on=date(2026, 3, 4))
    assert gold.tier == "gold" and "spend 32000.00 CNY >= 30000 CNY" in gold.history[-1].rule
    assert h.app.care.membership(h.desk, h.guest) == gold
    with pytest.raises(PermissionDenied):
        h.app.care.evaluate_membership(h.desk, h.guest)


def test_evaluate_all_counts_the_changes(hotel: Hotel) -> None:
    h = hotel
    other = h.app.customers.create(h.root, name="Li Na", organization="Bolt Co.",
                                   phone="13800001111").id
    for n in range(15):
        stay(h, date(2026, 1, 1) + timedelta(days=n), customer=other)
    assert h.app.care.evaluate_all(h.relations, on=date(2026, 3, 2)) == 2
    assert h.app.care.evaluate_all(h.relations, on=date(2026, 3, 2)) == 0
    assert h.app.care.membership(h.relations, other).tier == "gold"  # type: ignore[union-attr]
    assert h.app.care.membership(h.relations, h.guest).tier == "member"  # type: ignore[union-attr]


def test_a_tier_scheme_is_checked() -> None:
    base = Tier(name="basic")
    with pytest.raises(ValidationError, match="membership_tiers"):
        custmgmt.Settings(membership_tiers=[Tier(name="x", min_stays=1)])
    with pytest.raises(ValidationError, match="membership_tiers"):
        custmgmt.Settings(membership_tiers=[base, Tier(name="top")])
    with pytest.raises(ValidationError, match="membership_tiers"):
        custmgmt.Settings(membership_tiers=[base, Tier(name="basic", min_stays=2)])
    with pytest.raises(ValidationError, match="min_spend"):
        Tier(name="x", min_spend=Money("-1", "CNY"))
    chosen = custmgmt.Settings(membership_tiers=[base, Tier(name="vip", min_stays=2)])
    assert [t.name for t in chosen.membership_tiers] == ["basic", "vip"]


# -- segments -------------------------------------------------------------------------

def test_customers_are_grouped_by_recency_frequency_and_value(hotel: Hotel) -> None:
    h = hotel
    on = date(2026, 3, 2)
    names = ["champion", "newcomer", "lapsed", "quiet", "gone"]
    ids = {name: h.app.customers.create(h.root, name=name, organization=f"{name} Co.",
                                        phone=f"1380000{n:04d}").id
           for n, name in enumerate(names)}
    for n in range(6):                                     # 6 stays, 36000 CNY, recent
        stay(h, on - timedelta(days=n * 10), spend="6000", customer=ids["champion"])
    stay(h, on - timedelta(days=3), spend="800", customer=ids["newcomer"])
    for n in range(3):                                     # valuable, last seen 200 days ago
        stay(h, on - timedelta(days=200 + n), spend="4000", customer=ids["lapsed"])
    stay(h, on - timedelta(days=300), spend="100", customer=ids["quiet"])
    stay(h, on - timedelta(days=400), spend="100", customer=ids["gone"])
    counts = {c.segment: c.customers for c in h.app.care.segments(h.relations, on=on)}
    assert counts[Segment.CHAMPION] == 1 and counts[Segment.NEW] == 1
    assert counts[Segment.AT_RISK] == 1 and counts[Segment.HIBERNATING] == 1
    assert counts[Segment.LOST] == 1 and sum(counts.values()) == 5
    (champion,) = h.app.care.segment_members(h.relations, "champion", on=on)
    assert champion.customer_id == ids["champion"]
    assert (champion.recency, champion.frequency, champion.monetary) == (3, 3, 3)
    assert champion.spend == Money("36000", "CNY") and champion.recency_days == 0
    # recency at its exact cut: 30 days is still 3, 31 days is 2
    assert h.app.care.segment_members(h.relations, "new", on=on + timedelta(days=27))[
        0].recency == 3
    assert h.app.care.segment_members(h.relations, "regular", on=on + timedelta(days=28))[
        0].customer_id == ids["newcomer"]
    # a sealed customer is never a target
    h.app.customers.set_status(h.root, ids["champion"], status="sealed", reason="delisted")
    assert h.app.care.segment_members(h.relations, Segment.CHAMPION, on=on) == ()
    with pytest.raises(PermissionDenied):
        h.app.care.segments(h.desk)
    with pytest.raises(ValidationError, match="recency_days"):
        SegmentCuts(recency_days=(90, 30))
