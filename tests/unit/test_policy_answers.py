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
from custmgmt.errors import ClaimConflict, ConcurrencyError, StorageError, ValidationError
from custmgmt.plugins import hookimpl

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
PHONE = "13800138000"


class Seven(enum.IntEnum):
    DAYS = 7


def _fails() -> object:
    raise RuntimeError(f"no cadence for {PHONE}")  # a message that quotes the input


def _fails_as_storage() -> object:
    raise StorageError(f"no cadence for {PHONE}")  # custmgmt's own, not the plugin's to raise


class _ClaimsToBeInt:
    """An answer whose ``__class__`` lies (``isinstance`` believes it)."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return int


class _ClaimsToBeGrade:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return Grade


class _ClassRaises:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise ValueError(PHONE)


class _NameRaises(type):
    """A metaclass whose classes will not say their name."""

    @property  # type: ignore[misc,override]
    def __name__(cls) -> str:
        raise RuntimeError(PHONE)


class _Nameless(metaclass=_NameRaises):
    pass


class _NamelessError(Exception, metaclass=_NameRaises):
    pass


def _fails_namelessly() -> object:
    raise _NamelessError(PHONE)


class _Unequal:
    """A field that cannot be compared with anything."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError(PHONE)

    def __ne__(self, other: object) -> bool:
        raise RuntimeError(PHONE)

    __hash__ = None  # type: ignore[assignment]


def _refuses_oddly() -> object:
    raise ValidationError(_Unequal(), PHONE)  # type: ignore[arg-type]


BAD_INTERVALS: list[Callable[[], object]] = [
    lambda: "7", lambda: 7.0, lambda: 3.5, lambda: True, lambda: None, lambda: 0,
    lambda: -1, lambda: 3651, lambda: 10**9, lambda: 2**70, _ClaimsToBeInt, _ClassRaises,
    _Nameless, _fails, _fails_as_storage, _fails_namelessly, _refuses_oddly,
]
IDS = ["text", "float", "fraction", "bool", "none", "zero", "negative", "over-ten-years",
       "overflowing-timedelta", "overflowing-int", "class-lies", "class-raises",
       "type-without-a-name", "raises", "raises-storage-error", "raises-without-a-name",
       "refuses-with-an-odd-field"]


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
    # nothing of the plugin's exception chained to it (a logged traceback would show it)
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__
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
        trail = app.prospects.audit_trail(alice, prospect.id)
        _refused("interval",
                 lambda: app.prospects.advance(alice, prospect.id, to=Stage.PROPOSAL))
        after = app.prospects.get(alice, prospect.id), app.followups.plan(alice, prospect.id)
        assert after == before
        assert app.prospects.audit_trail(alice, prospect.id) == trail


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


class Answers:
    """A cadence answering ``answers`` in turn (then the last again), counting calls."""

    def __init__(self, *answers: object) -> None:
        self.answers, self.calls = list(answers), 0

    @hookimpl
    def custmgmt_cadence_policy(self, settings: object) -> Answers:
        return self

    def interval(self, grade: Grade, stage: Stage) -> object:
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


def _rows(count: int) -> list[dict[str, str]]:
    return [{"name": f"Person {n}", "phone": f"1390000{n:04d}", "willingness": "clear",
             "potential_value": "1"} for n in range(count)]


@pytest.mark.parametrize("days", [1, 3650])
def test_the_bounds_of_an_interval_are_answers(storage_url: str, days: int) -> None:
    with _open(storage_url, Answers(days)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        plan = app.followups.plan(alice, _register(app, alice).id)
        assert plan is not None and (plan.next_due - START.date()).days == days


def test_an_import_asks_the_cadence_for_each_row(storage_url: str) -> None:
    cadence = Answers(7, 8, 9)  # a plugin spreading first follow-ups over three days
    with _open(storage_url, cadence) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        assert app.prospects.import_many(alice, _rows(3)).imported == 3
        assert cadence.calls == 3
        due = sorted((i.next_due - START.date()).days
                     for i in app.followups.due(alice, on=date(2026, 12, 31)))
        assert due == [7, 8, 9]


def test_a_bad_interval_stops_an_import_at_its_batch_the_batches_before_stay(
        storage_url: str) -> None:
    cadence = Answers(7, 7, "7")  # good for the first batch's two rows, then not
    progress: list[int] = []
    with _open(storage_url, cadence) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        _refused("interval", lambda: app.prospects.import_many(
            alice, _rows(4), batch_size=2, on_progress=lambda n, _: progress.append(n)))
        assert sorted(p.profile.name.value for p in app.prospects.mine(alice).items) == [
            "Person 0", "Person 1"]
        assert progress == [2]


class Raising:
    """Both policies raise ``error`` (the grade only for willingness NONE)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    @hookimpl
    def custmgmt_grading_policy(self, settings: object) -> Raising:
        return self

    @hookimpl
    def custmgmt_cadence_policy(self, settings: object) -> Raising:
        return self

    def grade(self, willingness: Willingness, potential_value: object) -> Grade:
        if willingness is Willingness.NONE:
            raise self.error
        return Grade.A

    def interval(self, grade: Grade, stage: Stage) -> int:
        if stage is Stage.PROPOSAL:
            raise self.error
        return 7


def test_a_validation_error_a_policy_raises_is_passed_on(storage_url: str) -> None:
    with _open(storage_url, Raising(ValidationError("potential_value", "not ours"))) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        with pytest.raises(ValidationError) as raised:
            _register(app, alice, willingness="none")
        assert (raised.value.field, raised.value.message) == ("potential_value", "not ours")
        assert app.prospects.mine(alice).items == ()


@pytest.mark.parametrize("error", [StorageError("x"), ClaimConflict("u-bob", "r-1", START),
                                   ConcurrencyError("x")],
                         ids=["storage", "claim", "concurrency"])
def test_custmgmts_other_errors_from_a_policy_are_its_failure(
        storage_url: str, error: Exception) -> None:
    """A policy must not steer its caller's retries (an import writes a batch again row
    by row after a StorageError or a ClaimConflict)."""
    name = type(error).__name__
    with _open(storage_url, Raising(error)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        refused = _refused("grade", lambda: _register(app, alice, willingness="none"))
        assert refused.message == f"the grading policy failed ({name})"
        report = app.prospects.import_many(alice, [{**_rows(1)[0], "willingness": "none"}])
        assert [(r.field, r.reason) for r in report.rejected] == [
            ("grade", f"the grading policy failed ({name})")]
        prospect = _register(app, alice)
        app.followups.record(alice, prospect.id, channel="phone", summary="needs known")
        refused = _refused("interval", lambda: app.prospects.advance(alice, prospect.id,
                                                                     to=Stage.PROPOSAL))
        assert refused.message == f"the cadence policy failed ({name})"
        assert [p.id for p in app.prospects.mine(alice).items] == [prospect.id]


class Unaskable:
    """Policies whose methods cannot even be found: a property that raises, or none."""

    def __init__(self, missing: bool) -> None:
        self.missing = missing

    @hookimpl
    def custmgmt_grading_policy(self, settings: object) -> object:
        return object() if self.missing else self

    @hookimpl
    def custmgmt_cadence_policy(self, settings: object) -> object:
        return object() if self.missing else self

    @property
    def grade(self) -> object:
        raise RuntimeError(PHONE)

    @property
    def interval(self) -> object:
        raise RuntimeError(PHONE)


@pytest.mark.parametrize("missing", [False, True], ids=["raising-property", "no-method"])
def test_a_policy_method_that_cannot_be_found_is_the_policys_failure(
        storage_url: str, missing: bool) -> None:
    failure = "AttributeError" if missing else "RuntimeError"
    with _open(storage_url, Unaskable(missing)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        refused = _refused("grade", lambda: _register(app, alice))
        assert refused.message == f"the grading policy failed ({failure})"
        report = app.prospects.import_many(alice, _rows(1))
        assert [(r.field, r.reason) for r in report.rejected] == [
            ("grade", f"the grading policy failed ({failure})")]
        assert app.prospects.mine(alice).items == ()


def test_a_plugins_refusal_is_made_again_from_its_text(storage_url: str) -> None:
    error = ValidationError("potential_value", "not ours")
    with _open(storage_url, Raising(error)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        with pytest.raises(ValidationError) as raised:
            _register(app, alice, willingness="none")
        assert raised.value is not error and raised.value.__cause__ is None
        assert [(e.path, e.message) for e in raised.value.errors] == [
            ("potential_value", "not ours")]


class Interrupted(BaseException):
    """Not an Exception: an interrupt is never a plugin's answer."""


def test_an_interrupt_in_a_policy_is_not_swallowed(storage_url: str) -> None:
    with _open(storage_url, Raising(Interrupted())) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        with pytest.raises(Interrupted):
            _register(app, alice, willingness="none")
        assert app.prospects.mine(alice).items == ()


def test_an_int_subclass_answer_is_read_as_its_number(storage_url: str) -> None:
    with _open(storage_url, Cadence(lambda: Seven.DAYS)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        prospect = _register(app, alice)
        plan = app.followups.plan(alice, prospect.id)
        assert plan is not None and plan.next_due == date(2026, 3, 9)
        assert type(plan.next_due) is date


@pytest.mark.parametrize("answer", [lambda: "A", lambda: None, _ClaimsToBeGrade,
                                    _ClassRaises, _Nameless, _fails, _fails_namelessly,
                                    _refuses_oddly],
                         ids=["text", "none", "class-lies", "class-raises",
                              "type-without-a-name", "raises", "raises-without-a-name",
                              "refuses-with-an-odd-field"])
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
