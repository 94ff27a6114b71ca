"""Reports checked against hand counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

import custmgmt
from custmgmt import Stage
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import PermissionDenied, ValidationError
from tests.helpers import register_numbered

App = custmgmt.CustomerManagement


@pytest.fixture
def people(app: App) -> dict[str, custmgmt.Principal]:
    return {
        "mia": app.principal("u-mia", roles={"sales_manager"}, team="east"),
        "alice": app.principal("u-alice", roles={"salesperson"}, team="east"),
        "bob": app.principal("u-bob", roles={"salesperson"}, team="east"),
        "wes": app.principal("u-wes", roles={"salesperson"}, team="west"),
        "root": app.principal("u-root", roles={"admin"}),
    }


register = register_numbered


def visit(app: App, who: custmgmt.Principal, pid: str, at: datetime) -> None:
    app.followups.record(who, pid, channel="visit", summary="visit", at=at)


def test_visit_points_count_by_local_month_and_flag_shortfalls(
    app: App, people: dict[str, Any], clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 30, 1, 0, tzinfo=UTC))
    pa = [register(app, people["alice"], n) for n in (1, 2)]
    pb = [register(app, people["bob"], n) for n in (3, 4, 5)]
    clock.set(datetime(2026, 3, 31, 10, 0, tzinfo=UTC))          # 18:00 March 31st locally
    visit(app, people["alice"], pa[0].id, clock.now())
    for day in range(14):                                        # 14 days x 2 prospects
        clock.set(datetime(2026, 3, 31, 17, 0, tzinfo=UTC) + timedelta(days=day))
        for p in pa:
            visit(app, people["alice"], p.id, clock.now())
    for day in range(9):                                         # 9 days x 3 prospects
        clock.set(datetime(2026, 4, 15, 2, 0, tzinfo=UTC) + timedelta(days=day))
        for p in pb:
            visit(app, people["bob"], p.id, clock.now())
    app.followups.record(people["bob"], pb[0].id, channel="phone", summary="not a visit")
    clock.set(datetime(2026, 4, 30, 10, 0, tzinfo=UTC))
    report = app.reports.visit_points(people["mia"], month="2026-04")
    assert report.minimum == 30 and report.month == "2026-04"
    rows = {r.principal_id: (r.points, r.shortfall, r.flagged) for r in report.rows}
    assert rows == {"u-alice": (28, 2, False), "u-bob": (27, 3, True)}
    march = app.reports.visit_points(people["root"], month=date(2026, 3, 15))
    assert {r.principal_id: r.points for r in march.rows} == {
        "u-alice": 1, "u-bob": 0, "u-wes": 0}
    own = app.reports.visit_points(people["bob"], month="2026-04")
    assert [r.principal_id for r in own.rows] == ["u-bob"]


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-4", "April", 202604, None,
                                   "\uff12\uff10\uff12\uff16-\uff10\uff13",  # full-width
                                   "\u0662\u0660\u0662\u0666-\u0660\u0663",  # Arabic-Indic
                                   "2026-03x", "2026/03", "1899-12", "3000-01", "9999-12"])
def test_a_month_that_does_not_exist_is_refused(
    app: App, people: dict[str, Any], month: object
) -> None:
    with pytest.raises(ValidationError) as raised:
        app.reports.visit_points(people["mia"], month=month)  # type: ignore[arg-type]
    assert raised.value.field == "month"


def test_visit_minimum_is_configurable(clock: FixedClock) -> None:
    settings = custmgmt.Settings(visit_minimum=2, visit_flag_shortfall=1)
    with custmgmt.open("memory://", clock=clock, settings=settings) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        (row,) = app.reports.visit_points(alice, month="2026-03").rows
        assert (row.points, row.shortfall, row.flagged) == (0, 2, True)


def test_funnel_counts_stages_reached_and_exact_conversion(
    app: App, people: dict[str, Any], clock: FixedClock
) -> None:
    alice, bob = people["alice"], people["bob"]
    ps = [register(app, alice if n < 4 else bob, n) for n in range(6)]
    # p0 stays at initial contact; p1 reaches proposal then is lost; p2 and p3 are won
    # (p3 jumps straight from needs to signed); p4 is at negotiation; p5 steps back.
    def advance(who: custmgmt.Principal, pid: str, to: Stage) -> None:
        app.followups.record(who, pid, channel="phone", summary="before moving on")
        app.prospects.advance(who, pid, to=to)

    advance(alice, ps[1].id, Stage.PROPOSAL)
    app.prospects.mark_lost(alice, ps[1].id, reason="price")
    for stage in (Stage.NEEDS_IDENTIFIED, Stage.PROPOSAL, Stage.NEGOTIATION,
                  Stage.CONTRACT_SIGNED):
        advance(alice, ps[2].id, stage)
    advance(alice, ps[3].id, Stage.NEEDS_IDENTIFIED)
    advance(alice, ps[3].id, Stage.CONTRACT_SIGNED)
    advance(bob, ps[4].id, Stage.NEGOTIATION)
    advance(bob, ps[5].id, Stage.PROPOSAL)
    app.prospects.step_back(bob, ps[5].id, to=Stage.INITIAL_CONTACT, reason="restart")
    clock.advance(days=40)
    register(app, alice, 99)  # registered outside the period
    funnel = app.reports.funnel(people["mia"], start=date(2026, 3, 1), end=date(2026, 3, 31))
    reached = [(s.stage, s.reached) for s in funnel.steps]
    assert reached == [(Stage.INITIAL_CONTACT, 6), (Stage.NEEDS_IDENTIFIED, 5),
                       (Stage.PROPOSAL, 5), (Stage.NEGOTIATION, 3),
                       (Stage.CONTRACT_SIGNED, 2)]
    assert [s.conversion_to_next for s in funnel.steps] == [
        Fraction(5, 6), Fraction(1), Fraction(3, 5), Fraction(2, 3), None]
    assert funnel.total == 6 and funnel.lost == 1
    alone = app.reports.funnel(people["mia"], start=date(2026, 3, 1), end=date(2026, 3, 31),
                               owner="u-bob")
    assert [s.reached for s in alone.steps] == [2, 2, 2, 1, 0]
    assert alone.steps[3].conversion_to_next == Fraction(0)
    mine = app.reports.funnel(alice, start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert mine.total == 4
    empty = app.reports.funnel(alice, start=date(2025, 1, 1), end=date(2025, 1, 31))
    assert [s.conversion_to_next for s in empty.steps] == [None] * 5
    with pytest.raises(ValidationError):
        app.reports.funnel(alice, start=date(2026, 3, 2), end=date(2026, 3, 1))


def test_compliance_is_the_share_done_by_the_due_date(
    app: App, people: dict[str, Any], clock: FixedClock
) -> None:
    alice, bob = people["alice"], people["bob"]
    pa = register(app, alice, 1)   # A: due 03-09
    pb = register(app, bob, 2)     # A: due 03-09
    clock.advance(days=5)
    app.followups.record(alice, pa.id, channel="phone", summary="on time")   # 03-07, due 03-09
    clock.advance(days=10)
    app.followups.record(alice, pa.id, channel="phone", summary="late")      # 03-17, due 03-14
    app.followups.record(bob, pb.id, channel="phone", summary="late")        # 03-17, due 03-09
    report = app.reports.followup_compliance(people["mia"], start=date(2026, 3, 1),
                                             end=date(2026, 3, 31))
    assert (report.follow_ups, report.on_time, report.rate) == (3, 1, Fraction(1, 3))
    assert [(r.owner_id, r.follow_ups, r.on_time, r.rate) for r in report.by_owner] == [
        ("u-alice", 2, 1, Fraction(1, 2)), ("u-bob", 1, 0, Fraction(0))]
    nothing = app.reports.followup_compliance(alice, start=date(2026, 5, 1),
                                              end=date(2026, 5, 31))
    assert nothing.rate is None


def test_reports_need_the_right(app: App) -> None:
    outsider = app.principal("u-x", roles={"prospect_reader"})
    with pytest.raises(PermissionDenied):
        app.reports.visit_points(outsider, month="2026-03")
