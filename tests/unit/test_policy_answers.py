"""A grading or cadence plugin may answer anything or fail in any way: the call that
asked it is refused with ValidationError naming the field (``grade``, ``interval``) and
changes nothing, or, in an import, the row is reported. On every back end."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

import custmgmt
from custmgmt import Grade, Stage, Willingness
from custmgmt.errors import ValidationError
from custmgmt.plugins import hookimpl

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
PHONE = "13800138000"


class Seven(enum.IntEnum):
    DAYS = 7


def _fails() -> object:
    raise RuntimeError(f"no cadence for {PHONE}")  # a message that quotes the input


BAD_INTERVALS: list[Callable[[], object]] = [
    lambda: "7", lambda: 7.0, lambda: 3.5, lambda: True, lambda: None, lambda: 0,
    lambda: -1, lambda: 3651, lambda: 10**9, lambda: 2**70, _fails,
]
IDS = ["text", "float", "fraction", "bool", "none", "zero", "negative", "over-ten-years",
       "overflowing-timedelta", "overflowing-int", "raises"]


class Cadence:
    """Answers ``answer()`` for the stages in ``bad_in`` (every stage if None), else 7."""

    def __init__(self, answer: Callable[[], object], bad_in: set[Stage] | None = None
                 ) -> None:
        self.answer, self.bad_in = answer, bad_in

    @hookimpl
    def custmgmt_cadence_policy(self, settings: object) -> Cadence:
        return self

    def interval(self, grade: Grade, stage: Stage) -> object:
        return self.answer() if self.bad_in is None or stage in self.bad_in else 7


class Grading:
    """Answers ``answer()`` for willingness NONE, else A."""

    def __init__(self, answer: Callable[[], object]) -> None:
        self.answer = answer

    @hookimpl
    def custmgmt_grading_policy(self, settings: object) -> Grading:
        return self

    def grade(self, willingness: Willingness, potential_value: object) -> object:
        return self.answer() if willingness is Willingness.NONE else Grade.A


def _open(url: str, plugin: object) -> custmgmt.CustomerManagement:
    return custmgmt.open(url, migrate=True, plugins=[plugin],
                         clock=custmgmt.FixedClock(START))


def _register(app: custmgmt.CustomerManagement, who: custmgmt.Principal,
              willingness: str = "clear") -> custmgmt.Prospect:
    return app.prospects.register(who, name="Li Na", phone=PHONE, willingness=willingness,
                                  potential_value=1)


def _refused(field: str, call: Callable[[], object]) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        call()
    assert raised.value.field == field
    assert PHONE not in str(raised.value)
    return raised.value


@pytest.mark.parametrize("answer", BAD_INTERVALS, ids=IDS)
def test_a_bad_interval_refuses_a_registration_and_an_import_storing_nothing(
        storage_url: str, answer: Callable[[], object]) -> None:
    with _open(storage_url, Cadence(answer)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        _refused("interval", lambda: _register(app, alice))
        _refused("interval", lambda: app.prospects.import_many(alice, [
            {"name": "Li Na", "phone": PHONE, "willingness": "clear",
             "potential_value": "1"}]))
        assert app.prospects.mine(alice).items == ()
        assert app.followups.due(alice, on=date(2027, 1, 1)) == ()


@pytest.mark.parametrize("answer", BAD_INTERVALS, ids=IDS)
def test_a_bad_interval_for_the_next_stage_refuses_the_advance(
        storage_url: str, answer: Callable[[], object]) -> None:
    with _open(storage_url, Cadence(answer, bad_in={Stage.PROPOSAL})) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        prospect = _register(app, alice)
        app.followups.record(alice, prospect.id, channel="phone", summary="needs known")
        before = app.prospects.get(alice, prospect.id), app.followups.plan(alice, prospect.id)
        _refused("interval",
                 lambda: app.prospects.advance(alice, prospect.id, to=Stage.PROPOSAL))
        after = app.prospects.get(alice, prospect.id), app.followups.plan(alice, prospect.id)
        assert after == before


@pytest.mark.parametrize("answer", BAD_INTERVALS, ids=IDS)
def test_a_bad_interval_refuses_a_follow_up_recording_nothing(
        storage_url: str, answer: Callable[[], object]) -> None:
    cadence = Cadence(lambda: 7)
    with _open(storage_url, cadence) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        prospect = _register(app, alice)
        plan = app.followups.plan(alice, prospect.id)
        cadence.answer = answer  # the plan is moved on by the cadence of its stage
        _refused("interval", lambda: app.followups.record(alice, prospect.id,
                                                          channel="phone", summary="call"))
        assert app.followups.history(alice, prospect_id=prospect.id) == ()
        assert app.followups.plan(alice, prospect.id) == plan


def test_an_int_subclass_answer_is_read_as_its_number(storage_url: str) -> None:
    with _open(storage_url, Cadence(lambda: Seven.DAYS)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        prospect = _register(app, alice)
        plan = app.followups.plan(alice, prospect.id)
        assert plan is not None and plan.next_due == date(2026, 3, 9)
        assert type(plan.next_due) is date


@pytest.mark.parametrize("answer", [lambda: "A", lambda: None, _fails],
                         ids=["text", "none", "raises"])
def test_a_bad_grade_refuses_the_call_or_rejects_the_row(
        storage_url: str, answer: Callable[[], object]) -> None:
    with _open(storage_url, Grading(answer)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        _refused("grade", lambda: _register(app, alice, willingness="none"))
        assert app.prospects.mine(alice).items == ()
        prospect = _register(app, alice)
        _refused("grade", lambda: app.prospects.reassess(alice, prospect.id,
                                                         willingness="none"))
        assert app.prospects.get(alice, prospect.id) == prospect
        report = app.prospects.import_many(alice, [
            {"name": "Wang Fang", "phone": "13900139000", "willingness": "none",
             "potential_value": "1"},
            {"name": "Zhao Lei", "phone": "13700137000", "willingness": "clear",
             "potential_value": "1"}])
        assert report.imported == 1
        assert [(r.line, r.field) for r in report.rejected] == [(1, "grade")]
        assert PHONE not in report.rejected[0].reason
