"""Follow-up plans and records, due and overdue lists, reminders."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

import custmgmt
from custmgmt import Grade
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.followups import Channel
from custmgmt.errors import InvalidTransition, PermissionDenied, ValidationError
from custmgmt.services import followups as followups_service
from custmgmt.services.collector import YOUNG
from tests.helpers import dispatcher, register_numbered

App = custmgmt.CustomerManagement
# 2026-03-02 09:30 in Shanghai.
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture
def team(app: App) -> dict[str, custmgmt.Principal]:
    return {
        "mia": app.principal("u-mia", roles={"sales_manager"}, team="east"),
        "alice": app.principal("u-alice", roles={"salesperson"}, team="east",
                               supervisor_id="u-mia"),
        "bob": app.principal("u-bob", roles={"salesperson"}, team="east",
                             supervisor_id="u-mia"),
        "wes": app.principal("u-wes", roles={"salesperson"}, team="west"),
    }


register = register_numbered


def test_registration_starts_a_plan_by_grade(app: App, team: dict[str, Any]) -> None:
    a = register(app, team["alice"], 1)
    d = register(app, team["alice"], 2, willingness="none")
    plan_a = app.followups.plan(team["alice"], a.id)
    plan_d = app.followups.plan(team["alice"], d.id)
    assert plan_a is not None and plan_d is not None
    assert (plan_a.anchor, plan_a.next_due) == (date(2026, 3, 2), date(2026, 3, 9))
    assert plan_d.next_due == date(2026, 3, 2) + timedelta(days=90)


def test_local_dates_follow_the_configured_zone_not_utc(team: dict[str, Any]) -> None:
    # 17:00 UTC on March 31st is already April 1st in Shanghai.
    clock = FixedClock(datetime(2026, 3, 31, 17, 0, tzinfo=UTC))
    with custmgmt.open("memory://", clock=clock) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register(app, alice, 1)
        plan = app.followups.plan(alice, p.id)
        assert plan is not None and plan.anchor == date(2026, 4, 1)
        assert [i.prospect_id for i in app.followups.due(alice, on=date(2026, 4, 8))] == [p.id]
        assert app.followups.due(alice, on=date(2026, 4, 7)) == ()
    utc = custmgmt.Settings(timezone="UTC")
    with custmgmt.open("memory://", clock=clock, settings=utc) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        plan = app.followups.plan(alice, register(app, alice, 1).id)
        assert plan is not None and plan.anchor == date(2026, 3, 31)


def test_recording_moves_the_plan_forward(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)
    clock.advance(days=3)
    record = app.followups.record(
        team["alice"], p.id, channel=Channel.VISIT, summary="Visited the plant",
        needs="solvent supply", problems="price", outcome="wants a proposal",
        next_step="send proposal")
    assert record.local_date == date(2026, 3, 5) and record.on_time
    assert record.due_on == date(2026, 3, 9)
    plan = app.followups.plan(team["alice"], p.id)
    assert plan is not None and plan.next_due == date(2026, 3, 12)
    record = app.followups.record(team["alice"], p.id, channel="phone", summary="Called",
                                  next_due=date(2026, 3, 8))
    plan = app.followups.plan(team["alice"], p.id)
    assert plan is not None and plan.next_due == date(2026, 3, 8)
    assert [f.channel for f in app.followups.history(team["alice"], prospect_id=p.id)] == [
        Channel.VISIT, Channel.PHONE]


def test_a_follow_up_in_the_past_counts_on_its_own_date(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)
    clock.advance(days=12)
    record = app.followups.record(team["alice"], p.id, channel="visit", summary="late entry",
                                  at=START + timedelta(days=10))
    assert record.local_date == date(2026, 3, 12) and not record.on_time


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"summary": "  "}, "summary"),
        ({"at": START + timedelta(hours=1)}, "at"),
        ({"at": datetime(2026, 3, 1, 12, 0)}, "at"),
        ({"next_due": date(2026, 3, 1)}, "next_due"),
        ({"next_due": "2026-04-01"}, "next_due"),
    ],
)
def test_bad_follow_ups_name_the_field_and_change_nothing(
    app: App, team: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    p = register(app, team["alice"], 1)
    before = app.followups.plan(team["alice"], p.id)
    values: dict[str, Any] = {"channel": "visit", "summary": "ok"}
    values.update(fields)
    with pytest.raises(ValidationError) as raised:
        app.followups.record(team["alice"], p.id, **values)
    assert raised.value.field == field
    assert app.followups.plan(team["alice"], p.id) == before
    assert app.followups.history(team["alice"]) == ()


def test_lost_prospects_are_not_followed_up_and_leave_the_plan(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    lost = register(app, team["alice"], 2)
    app.prospects.mark_lost(team["alice"], lost.id, reason="no budget")
    with pytest.raises(InvalidTransition):
        app.followups.record(team["alice"], lost.id, channel="phone", summary="hello")
    assert app.followups.due(team["alice"], on=date(2027, 1, 1)) == ()
    clock.advance(days=40)
    app.prospects.reopen(team["mia"], lost.id, reason="new budget")
    plan = app.followups.plan(team["alice"], lost.id)
    assert plan is not None and plan.active and plan.anchor == date(2026, 4, 11)


def test_regrading_recomputes_the_next_due_date(
    app: App, team: dict[str, Any]
) -> None:
    p = register(app, team["alice"], 1)
    app.followups.record(team["alice"], p.id, channel="phone", summary="hi",
                         next_due=date(2026, 3, 4))
    app.prospects.reassess(team["alice"], p.id, willingness="watching")
    plan = app.followups.plan(team["alice"], p.id)
    assert plan is not None and plan.grade is Grade.C
    assert plan.next_due == date(2026, 3, 2) + timedelta(days=30)


def test_transfer_moves_the_plan_to_the_new_owner(app: App, team: dict[str, Any]) -> None:
    p = register(app, team["alice"], 1)
    app.prospects.transfer(team["mia"], p.id, to_owner="u-bob", reason="rebalancing")
    assert [i.owner_id for i in app.followups.due(team["bob"], on=date(2026, 3, 9))] == ["u-bob"]
    assert app.followups.due(team["alice"], on=date(2026, 3, 9)) == ()


def test_due_is_ordered_by_grade_then_lateness_and_scoped(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    a_late = register(app, team["alice"], 1)                      # A, due 03-09
    c = register(app, team["alice"], 2, willingness="watching")   # C, due 04-01
    clock.advance(days=3)
    a_later = register(app, team["bob"], 3)                       # A, due 03-12
    register(app, team["wes"], 4)                                 # west team
    on = date(2026, 4, 5)
    mine = app.followups.due(team["alice"], on=on)
    assert [i.prospect_id for i in mine] == [a_late.id, c.id]
    everyone_east = app.followups.due(team["mia"], on=on)
    assert [(i.prospect_id, i.grade, i.days_late) for i in everyone_east] == [
        (a_late.id, Grade.A, 27), (a_later.id, Grade.A, 24), (c.id, Grade.C, 4)]
    assert [i.prospect_id for i in app.followups.due(team["mia"], on=on, owner="u-bob")] == [
        a_later.id]
    due_today = app.followups.due(team["alice"], on=date(2026, 3, 9))
    assert [i.days_late for i in due_today] == [0]
    assert app.followups.overdue(team["alice"], on=date(2026, 3, 9)) == ()
    assert len(app.followups.overdue(team["alice"], on=date(2026, 3, 10))) == 1
    with pytest.raises(ValidationError):
        app.followups.due(team["alice"], on="2026-03-09")  # type: ignore[arg-type]


def test_reminders_go_once_per_due_date_and_to_the_manager_after_grace(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)      # due 03-09
    with pytest.raises(PermissionDenied):
        app.followups.send_reminders(team["alice"])
    assert app.followups.send_reminders(team["mia"], on=date(2026, 3, 9)) == 0
    assert app.followups.send_reminders(team["mia"], on=date(2026, 3, 10)) == 1
    assert app.followups.send_reminders(team["mia"], on=date(2026, 3, 11)) == 0
    assert app.followups.send_reminders(team["mia"], on=date(2026, 3, 12)) == 1   # manager
    assert app.followups.send_reminders(team["mia"], on=date(2026, 3, 13)) == 0
    recipients = [i.notification.recipient_id for i in app.outbox(dispatcher(app))]
    assert recipients == ["u-alice", "u-mia"]
    clock.set(datetime(2026, 3, 13, 2, 0, tzinfo=UTC))
    app.followups.record(team["alice"], p.id, channel="phone", summary="finally")  # due 03-20
    assert app.followups.send_reminders(team["mia"], on=date(2026, 3, 21)) == 1
    assert app.notifications.dispatch(dispatcher(app)).sent == 3
    for item in app.outbox(dispatcher(app)):
        assert "P1" not in item.notification.subject + item.notification.body


def test_cadence_is_configurable(clock: FixedClock) -> None:
    settings = custmgmt.Settings(cadence_days={"A": 3, "B": 5, "C": 10, "D": 20})
    with custmgmt.open("memory://", clock=clock, settings=settings) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        plan = app.followups.plan(alice, register(app, alice, 1).id)
        assert plan is not None and plan.next_due == date(2026, 3, 5)
    with pytest.raises(ValidationError) as raised:
        custmgmt.Settings(cadence_days={"A": 3, "B": 0, "C": 10, "D": 20})
    assert raised.value.field == "cadence_days.B"


def test_access_to_follow_ups(app: App, team: dict[str, Any]) -> None:
    p = register(app, team["alice"], 1)
    with pytest.raises(PermissionDenied):
        app.followups.record(team["bob"], p.id, channel="phone", summary="poaching")
    with pytest.raises(PermissionDenied):
        app.followups.plan(team["wes"], p.id)
    app.followups.record(team["mia"], p.id, channel="visit", summary="manager joined")
    assert len(app.followups.history(team["alice"])) == 1
    assert app.followups.history(team["bob"]) == ()
    assert app.followups.history(team["wes"]) == ()



def test_a_long_due_list_is_read_with_fewer_young_collections(
    app: App, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An actor whose last due list was long reads the next one with the collector's
    young threshold raised (``services.collector``), and gets the same list; the
    threshold is put back after."""
    monkeypatch.setattr(followups_service, "LONG_LIST", 3)
    made = [register(app, team["alice"], n) for n in range(1, 4)]
    on = date(2026, 4, 5)
    first = app.followups.due(team["alice"], on=on)
    assert sorted(i.prospect_id for i in first) == sorted(p.id for p in made)
    inside: list[tuple[int, int, int]] = []
    real = followups_service.fewer_young_collections

    @contextmanager
    def watched() -> Iterator[None]:
        with real():
            inside.append(gc.get_threshold())
            yield

    monkeypatch.setattr(followups_service, "fewer_young_collections", watched)
    before = gc.get_threshold()
    assert app.followups.due(team["alice"], on=on) == first
    assert len(inside) == 1 and gc.get_threshold() == before
    if gc.isenabled() and 0 < before[0] < YOUNG:
        assert inside[0][0] == YOUNG
    assert app.followups.due(team["bob"], on=on) == ()  # a first (short) list: not raised
    assert len(inside) == 1
