"""Policy fidelity of follow-ups and visit points (issue 9), on every back end.

业务员客户报备 (visit points, genuine records, serving old customers too) and
意向客户跟进管理制度 (plan by category and progress, every step followed up).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

import custmgmt
from custmgmt import Grade, Stage
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import ClaimConflict, InvalidTransition, PermissionDenied, ValidationError
from custmgmt.ports.hookspecs import hookimpl
from tests.helpers import register_numbered

App = custmgmt.CustomerManagement
# 2026-03-02 09:30 in Shanghai, a Monday.
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
register = register_numbered


@pytest.fixture
def team(app: App) -> dict[str, custmgmt.Principal]:
    return {
        "mia": app.principal("u-mia", roles={"sales_manager"}, team="east"),
        "alice": app.principal("u-alice", roles={"salesperson"}, team="east",
                               supervisor_id="u-mia"),
        "bob": app.principal("u-bob", roles={"salesperson"}, team="east",
                             supervisor_id="u-mia"),
        "ned": app.principal("u-ned", roles={"sales_manager"}, team="north"),
        "nora": app.principal("u-nora", roles={"salesperson"}, team="north",
                              supervisor_id="u-ned"),
        "root": app.principal("u-root", roles={"admin"}),
    }


def visit(app: App, who: custmgmt.Principal, pid: str, **kw: Any) -> Any:
    return app.followups.record(who, pid, channel="visit", summary="visited", **kw)


def win(app: App, who: custmgmt.Principal, pid: str) -> Any:
    app.followups.record(who, pid, channel="phone", summary="closing the deal")
    return app.prospects.mark_won(who, pid)


# -- Existing customers are served and visited too ------------------------------------

def test_a_won_prospect_is_followed_up_and_its_visit_earns_a_point(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)
    won = win(app, team["alice"], p.id)
    assert won.stage is Stage.CONTRACT_SIGNED
    clock.advance(days=1)
    record = visit(app, team["alice"], p.id)
    assert record.stage is Stage.CONTRACT_SIGNED
    plan = app.followups.plan(team["alice"], p.id)
    assert plan is not None and plan.active and plan.stage is Stage.CONTRACT_SIGNED
    assert plan.next_due == date(2026, 3, 3) + timedelta(days=30)   # maintenance cadence
    (row,) = [r for r in app.reports.visit_points(team["mia"], month="2026-03").rows
              if r.principal_id == "u-alice"]
    assert row.points == 1
    assert [i.prospect_id for i in app.followups.due(team["alice"], on=date(2026, 4, 2))] == [
        p.id]


def test_the_maintenance_cadence_is_configurable(clock: FixedClock) -> None:
    settings = custmgmt.Settings(maintenance_days=45)
    with custmgmt.open("memory://", clock=clock, settings=settings) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register(app, alice, 1)
        win(app, alice, p.id)
        plan = app.followups.plan(alice, p.id)
        assert plan is not None and plan.next_due == date(2026, 3, 2) + timedelta(days=45)
    with pytest.raises(ValidationError) as raised:
        custmgmt.Settings(maintenance_days=0)
    assert raised.value.field == "maintenance_days"


# -- One point per customer visited ----------------------------------------------------

def test_several_visits_to_one_prospect_on_one_local_day_are_one_point(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p1, p2 = register(app, team["alice"], 1), register(app, team["alice"], 2)
    clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))       # 23:00 on the 3rd locally
    for hours in (0, 1, 4):                                   # 23:00, then 00:00 and 03:00
        visit(app, team["alice"], p1.id, at=datetime(2026, 3, 3, 1 + hours, 0, tzinfo=UTC))
    visit(app, team["alice"], p2.id, at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 3, 17, 0, tzinfo=UTC))       # 01:00 on the 4th locally
    visit(app, team["alice"], p1.id)
    visit(app, team["alice"], p1.id)
    report = app.reports.visit_points(team["alice"], month="2026-03")
    assert [(r.principal_id, r.points) for r in report.rows] == [("u-alice", 3)]


# -- Points only from genuine records --------------------------------------------------

def test_a_follow_up_cannot_be_dated_before_the_registration(
    app: App, team: dict[str, Any]
) -> None:
    p = register(app, team["alice"], 1)
    with pytest.raises(ValidationError) as raised:
        visit(app, team["alice"], p.id, at=START - timedelta(minutes=1))
    assert raised.value.field == "at"
    with pytest.raises(ValidationError):
        visit(app, team["mia"], p.id, at=START - timedelta(minutes=1), reason="I was there")
    assert app.followups.history(team["mia"]) == ()


def test_older_records_need_a_manager_and_a_reason_kept_on_the_record(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)
    clock.advance(days=5)                                     # today: 03-07
    assert visit(app, team["alice"], p.id, at=START + timedelta(days=3)).local_date == date(
        2026, 3, 5)                                           # two days back: fine
    plan_before = app.followups.plan(team["alice"], p.id)
    with pytest.raises(ValidationError) as raised:
        visit(app, team["alice"], p.id, at=START + timedelta(days=2))
    assert raised.value.field == "at"
    with pytest.raises(PermissionDenied):
        visit(app, team["alice"], p.id, at=START + timedelta(days=2), reason="forgot")
    with pytest.raises(ValidationError):
        visit(app, team["mia"], p.id, at=START + timedelta(days=2))
    assert app.followups.plan(team["alice"], p.id) == plan_before
    late = visit(app, team["mia"], p.id, at=START + timedelta(days=2),
                 reason="paper visit sheet handed in late")
    assert late.local_date == date(2026, 3, 4)
    stored = [f for f in app.followups.history(team["alice"], prospect_id=p.id)
              if f.id == late.id]
    assert [f.reason for f in stored] == ["paper visit sheet handed in late"]
    assert len(app.followups.history(team["alice"], prospect_id=p.id)) == 2


def test_a_manager_records_a_late_visit_for_the_salesperson_who_made_it(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)
    clock.advance(days=5)                                     # today: 03-07
    with pytest.raises(PermissionDenied):
        visit(app, team["bob"], p.id, on_behalf_of="u-alice")
    with pytest.raises(PermissionDenied):
        visit(app, team["alice"], p.id, on_behalf_of="u-bob")
    with pytest.raises(ValidationError) as raised:
        visit(app, team["mia"], p.id, on_behalf_of="u-nobody")
    assert raised.value.field == "on_behalf_of"
    late = visit(app, team["mia"], p.id, at=START + timedelta(days=1), on_behalf_of="u-alice",
                 reason="alice's visit sheet came in by post")
    assert (late.by, late.recorded_by, late.reason) == (
        "u-alice", "u-mia", "alice's visit sheet came in by post")
    (stored,) = app.followups.history(team["alice"], prospect_id=p.id)
    assert (stored.by, stored.recorded_by) == ("u-alice", "u-mia")
    rows = app.reports.visit_points(team["mia"], month="2026-03").rows
    assert [(r.principal_id, r.points) for r in rows] == [("u-alice", 1), ("u-bob", 0)]


def test_the_record_window_is_configurable(clock: FixedClock) -> None:
    with custmgmt.open("memory://", clock=clock,
                       settings=custmgmt.Settings(record_window_days=0)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register(app, alice, 1)
        clock.advance(days=1)
        with pytest.raises(ValidationError):
            visit(app, alice, p.id, at=START)


def test_a_closed_month_takes_no_more_records(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)
    q = register(app, team["nora"], 2)
    clock.set(datetime(2026, 3, 31, 3, 0, tzinfo=UTC))
    visit(app, team["alice"], p.id)
    with pytest.raises(PermissionDenied):
        app.reports.close_month(team["alice"], "2026-03")
    with pytest.raises(ValidationError) as raised:
        app.reports.close_month(team["mia"], "2026-04")       # has not begun
    assert raised.value.field == "month"
    closed = app.reports.close_month(team["mia"], "2026-03")
    assert (closed.month, closed.team, closed.closed_by) == ("2026-03", "east", "u-mia")
    with pytest.raises(InvalidTransition):
        app.reports.close_month(team["mia"], date(2026, 3, 1))
    assert app.reports.visit_points(team["mia"], month="2026-03").closed
    clock.set(datetime(2026, 4, 1, 3, 0, tzinfo=UTC))
    for who in (team["alice"], team["mia"]):
        with pytest.raises(ValidationError) as raised:
            visit(app, who, p.id, at=datetime(2026, 3, 31, 9, 0, tzinfo=UTC),
                  reason="forgot to enter it")
        assert raised.value.field == "at"
    visit(app, team["alice"], p.id)                           # April is open
    visit(app, team["nora"], q.id, at=datetime(2026, 3, 31, 9, 0, tzinfo=UTC))  # other team
    app.reports.close_month(team["root"], "2026-03")          # now for everyone
    with pytest.raises(ValidationError):
        visit(app, team["nora"], q.id, at=datetime(2026, 3, 31, 10, 0, tzinfo=UTC))
    assert len(app.followups.history(team["root"])) == 3


# -- At least one visit a day on average -----------------------------------------------

def test_the_report_lists_working_days_without_a_visit(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)                       # Monday 03-02
    clock.set(datetime(2026, 3, 4, 2, 0, tzinfo=UTC))         # Wednesday 03-04
    visit(app, team["alice"], p.id)
    clock.set(datetime(2026, 3, 9, 2, 0, tzinfo=UTC))         # Monday 03-09
    visit(app, team["alice"], p.id, at=datetime(2026, 3, 7, 2, 0, tzinfo=UTC))  # Saturday
    report = app.reports.visit_points(team["mia"], month="2026-03")
    rows = {r.principal_id: r.days_without_visit for r in report.rows}
    # Working days up to today (Monday 9th): 2, 3, 4, 5, 6, 9; a Saturday visit is a point
    # but no working day.
    assert rows["u-alice"] == (date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 5),
                               date(2026, 3, 6), date(2026, 3, 9))
    assert rows["u-bob"] == (date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4),
                             date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 9))
    february = app.reports.visit_points(team["alice"], month="2026-02")
    assert len(february.rows[0].days_without_visit) == 20


# -- A lost prospect does not block everyone for ever ----------------------------------

def test_a_lost_prospect_is_released_at_once_by_default(
    app: App, team: dict[str, Any]
) -> None:
    p = register(app, team["alice"], 1)
    lost = app.prospects.mark_lost(team["alice"], p.id, reason="chose a competitor")
    assert not lost.registration_active
    again = register(app, team["bob"], 1)
    assert again.owner_id == "u-bob" and again.id != p.id
    with pytest.raises(ClaimConflict):                      # the old one cannot come back
        app.prospects.reopen(team["mia"], p.id, reason="they called alice")


def test_a_lost_prospect_is_released_after_the_configured_days(
    clock: FixedClock, storage_url: str
) -> None:
    settings = custmgmt.Settings(lost_release_days=3)
    with custmgmt.open(storage_url, clock=clock, settings=settings, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        bob = app.principal("u-bob", roles={"salesperson"})
        p = register(app, alice, 1)
        app.prospects.mark_lost(alice, p.id, reason="no budget this year")
        clock.advance(days=2)
        with pytest.raises(ClaimConflict) as raised:
            register(app, bob, 1)
        assert raised.value.owner_id == "u-alice"
        assert raised.value.registration_id == p.registration.id
        clock.advance(days=1)
        again = register(app, bob, 1)
        assert again.owner_id == "u-bob"
        assert not app.prospects.get(alice, p.id).registration_active


def test_a_lost_prospect_due_for_release_can_be_imported_again(
    clock: FixedClock, storage_url: str
) -> None:
    settings = custmgmt.Settings(lost_release_days=3)
    with custmgmt.open(storage_url, clock=clock, settings=settings, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        bob = app.principal("u-bob", roles={"salesperson"})
        p = register(app, alice, 1)
        app.prospects.mark_lost(alice, p.id, reason="no budget this year")
        row = {"name": "P1", "phone": "13800000001", "willingness": "clear",
               "potential_value": "2000000"}
        early = app.prospects.import_many(bob, [row])
        assert early.imported == 0 and "u-alice" in early.rejected[0].reason
        clock.advance(days=3)
        assert app.prospects.import_many(bob, [row]).imported == 1
        assert not app.prospects.get(alice, p.id).registration_active


def test_a_won_customer_never_lapses_to_the_pool(clock: FixedClock, storage_url: str) -> None:
    settings = custmgmt.Settings(ownership_lapse=True,
                                 protection_days={"A": 10, "B": 20, "C": 30, "D": 60})
    with custmgmt.open(storage_url, clock=clock, settings=settings, migrate=True) as app:
        root = app.principal("u-root", roles={"admin"})
        alice = app.principal("u-alice", roles={"salesperson"})
        won = register(app, alice, 1)
        win(app, alice, won.id)
        open_one = register(app, alice, 2)
        clock.advance(days=45)
        assert app.pool.release_lapsed(root).released == (open_one.id,)
        assert app.prospects.get(alice, won.id).registration_active


# -- Plan by category and progress -----------------------------------------------------

class StagedCadence:
    """A plugin cadence: proposals and negotiations are followed up twice as often."""

    def interval(self, grade: Grade, stage: Stage) -> int:
        base = {Grade.A: 8, Grade.B: 14, Grade.C: 30, Grade.D: 90}[grade]
        return base // 2 if stage in (Stage.PROPOSAL, Stage.NEGOTIATION) else base


class StagedCadencePlugin:
    @hookimpl
    def custmgmt_cadence_policy(self, settings: custmgmt.Settings) -> StagedCadence:
        return StagedCadence()


def test_the_cadence_policy_receives_the_stage(clock: FixedClock, storage_url: str) -> None:
    with custmgmt.open(storage_url, clock=clock, plugins=[StagedCadencePlugin()],
                       migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register(app, alice, 1)
        plan = app.followups.plan(alice, p.id)
        assert plan is not None and plan.next_due == date(2026, 3, 10)
        app.followups.record(alice, p.id, channel="phone", summary="needs known")
        app.prospects.advance(alice, p.id, to=Stage.PROPOSAL)
        plan = app.followups.plan(alice, p.id)
        assert plan is not None and plan.stage is Stage.PROPOSAL
        assert plan.next_due == date(2026, 3, 6)


def test_the_default_cadence_ignores_the_open_stage(app: App, team: dict[str, Any]) -> None:
    p = register(app, team["alice"], 1)
    app.followups.record(team["alice"], p.id, channel="phone", summary="hi")
    app.prospects.advance(team["alice"], p.id, to=Stage.NEGOTIATION)
    plan = app.followups.plan(team["alice"], p.id)
    assert plan is not None and plan.next_due == date(2026, 3, 9)


@pytest.mark.parametrize(("days", "field"), [
    ({"A": 20, "B": 14, "C": 30, "D": 90}, "cadence_days.A"),
    ({"A": 7, "B": 14, "C": 100, "D": 90}, "cadence_days.C"),
])
def test_settings_refuse_a_higher_grade_followed_up_less_often(
    days: dict[str, int], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        custmgmt.Settings(cadence_days=days)
    assert raised.value.field == field
    custmgmt.Settings(cadence_days={"A": 7, "B": 7, "C": 30, "D": 90})


def test_next_due_may_come_forward_but_later_needs_a_manager_and_a_reason(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)                       # A: 7 days
    visit(app, team["alice"], p.id, next_due=date(2026, 3, 4))
    plan = app.followups.plan(team["alice"], p.id)
    assert plan is not None and plan.next_due == date(2026, 3, 4)
    with pytest.raises(ValidationError) as raised:
        visit(app, team["alice"], p.id, next_due=date(2026, 3, 10))
    assert raised.value.field == "next_due"
    with pytest.raises(PermissionDenied):
        visit(app, team["alice"], p.id, next_due=date(2026, 3, 10), reason="on holiday")
    visit(app, team["alice"], p.id, next_due=date(2026, 3, 9))  # exactly the cadence
    pushed = visit(app, team["mia"], p.id, next_due=date(2026, 3, 30),
                   reason="the customer's plant is shut until the 30th")
    assert pushed.reason == "the customer's plant is shut until the 30th"
    plan = app.followups.plan(team["alice"], p.id)
    assert plan is not None and plan.next_due == date(2026, 3, 30)


# -- Effective follow-up at every step -------------------------------------------------

def test_leaving_a_stage_needs_a_follow_up_recorded_in_it(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)
    with pytest.raises(InvalidTransition) as raised:
        app.prospects.advance(team["alice"], p.id, to=Stage.NEEDS_IDENTIFIED)
    assert "initial_contact" in str(raised.value)
    app.followups.record(team["alice"], p.id, channel="phone", summary="first call")
    clock.advance(minutes=5)
    app.prospects.advance(team["alice"], p.id, to=Stage.NEEDS_IDENTIFIED)
    with pytest.raises(InvalidTransition) as raised:   # the first call was another stage
        app.prospects.mark_won(team["alice"], p.id)
    assert "needs_identified" in str(raised.value)
    assert app.prospects.get(team["alice"], p.id).stage is Stage.NEEDS_IDENTIFIED
    app.followups.record(team["alice"], p.id, channel="visit", summary="needs meeting")
    assert app.prospects.mark_won(team["alice"], p.id).stage is Stage.CONTRACT_SIGNED


def test_back_in_a_stage_it_needs_a_new_follow_up(
    app: App, team: dict[str, Any], clock: FixedClock
) -> None:
    p = register(app, team["alice"], 1)
    app.followups.record(team["alice"], p.id, channel="phone", summary="call")
    clock.advance(minutes=1)
    app.prospects.advance(team["alice"], p.id, to=Stage.PROPOSAL)
    clock.advance(minutes=1)
    app.prospects.step_back(team["alice"], p.id, to=Stage.INITIAL_CONTACT, reason="restart")
    clock.advance(minutes=1)
    with pytest.raises(InvalidTransition):
        app.prospects.advance(team["alice"], p.id, to=Stage.PROPOSAL)


def test_the_stage_rule_can_be_switched_off(clock: FixedClock) -> None:
    settings = custmgmt.Settings(require_follow_up_per_stage=False)
    with custmgmt.open("memory://", clock=clock, settings=settings) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register(app, alice, 1)
        assert app.prospects.mark_won(alice, p.id).stage is Stage.CONTRACT_SIGNED


# -- Records follow ownership ----------------------------------------------------------

def test_follow_up_history_follows_a_transfer(app: App, team: dict[str, Any]) -> None:
    p = register(app, team["alice"], 1)
    visit(app, team["alice"], p.id)
    app.followups.record(team["alice"], p.id, channel="phone", summary="call")
    app.prospects.transfer(team["root"], p.id, to_owner="u-nora", reason="moved region")
    assert len(app.followups.history(team["nora"], prospect_id=p.id)) == 2
    assert len(app.followups.history(team["ned"])) == 2
    assert app.followups.history(team["alice"]) == ()
    assert app.followups.history(team["mia"]) == ()
    # The visit points stay with whoever visited.
    rows = app.reports.visit_points(team["mia"], month="2026-03").rows
    assert {r.principal_id: r.points for r in rows}["u-alice"] == 1


# -- Who sees which rows of the visit-points report ------------------------------------

def test_a_salesperson_sees_only_their_row_and_a_manager_their_team(
    app: App, team: dict[str, Any]
) -> None:
    p = register(app, team["alice"], 1)
    q = register(app, team["nora"], 2)
    visit(app, team["alice"], p.id)
    visit(app, team["mia"], p.id)                              # the manager came along
    visit(app, team["root"], p.id)                             # and the boss
    visit(app, team["nora"], q.id)
    mine = app.reports.visit_points(team["alice"], month="2026-03")
    assert [(r.principal_id, r.points) for r in mine.rows] == [("u-alice", 1)]
    east = app.reports.visit_points(team["mia"], month="2026-03")
    assert [(r.principal_id, r.points) for r in east.rows] == [
        ("u-alice", 1), ("u-bob", 0), ("u-mia", 1)]
    everyone = app.reports.visit_points(team["root"], month="2026-03")
    assert [r.principal_id for r in everyone.rows] == [
        "u-alice", "u-bob", "u-mia", "u-nora", "u-root"]
