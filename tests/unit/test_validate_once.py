"""Inputs checked once: the records a registration or an import builds from values that
passed their checks are built without running the same validators again, and what
they refuse is still refused, with the same error, everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import custmgmt
from custmgmt.domain.common import (
    Money,
    OrganizationName,
    PersonName,
    Phone,
    ProspectId,
    RegistrationId,
)
from custmgmt.domain.followups import DefaultCadencePolicy, FollowUpPlan, derive_plan
from custmgmt.domain.grading import DefaultGradingPolicy, Grade, Willingness, asked_grade
from custmgmt.domain.prospects import (
    ChangeKind,
    HistoryEntry,
    Profile,
    Prospect,
    ProspectKind,
    ProspectRegistered,
    Registration,
)
from custmgmt.domain.validation import unchecked
from custmgmt.errors import ValidationError
from custmgmt.services.inputs import build, build_optional, optional_text
from custmgmt.services.prospects import build_profile

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
PROFILE = Profile(kind=ProspectKind.INDIVIDUAL, name=PersonName("Wang"),
                  phone=Phone("13900000001"))


def test_an_unchecked_record_equals_the_checked_one() -> None:
    history = (HistoryEntry(kind=ChangeKind.REGISTERED, by="u-1", at=AT, before=None,
                            after="A", reason="registered"),)
    fields = {"id": "p-1", "profile": PROFILE, "willingness": Willingness.CLEAR,
              "potential_value": Money("10", "CNY"), "grade": Grade.A, "owner_id": "u-1",
              "registration": Registration(id="r-1", by="u-1", at=AT), "history": history}
    made = unchecked(Prospect)(**fields)
    assert made == Prospect(**fields)  # type: ignore[arg-type]
    assert type(made) is Prospect and made.version == 0 and made.customer_id is None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.id = "p-2"  # type: ignore[misc]


def test_unchecked_runs_the_post_init_checks() -> None:
    with pytest.raises(ValidationError) as raised:
        unchecked(Profile)(kind=ProspectKind.INDIVIDUAL, name=PersonName("Wang"))
    assert raised.value.field == "contacts"


def test_unchecked_refuses_records_with_converted_or_derived_fields() -> None:
    with pytest.raises(TypeError):
        unchecked(Money)  # its amount is converted
    with pytest.raises(TypeError):
        unchecked(Phone)  # its key is derived
    with pytest.raises(TypeError):
        unchecked(attrs.frozen(slots=False)(type("Loose", (), {"__annotations__": {"x": "int"}})))


class _Text(str):
    pass


class _Policy:
    """A plugin policy returning whatever it was given."""

    def __init__(self, grade: object) -> None:
        self.given = grade

    def grade(self, willingness: Willingness, potential_value: Money) -> Grade:
        return self.given  # type: ignore[return-value]


def _checked_register(**kw: object) -> tuple[Prospect, tuple[ProspectRegistered, ...]]:
    """What ``Prospect.register`` did before it checked its inputs once: every record
    built by its validating constructor (a grade that is not a ``Grade`` refused first,
    and the registration's fields named by the arguments they came from)."""
    # the policy asked as the library asks a plugin's (its failure refused by field)
    grade = asked_grade(kw["policy"], kw["willingness"], kw["potential_value"])  # type: ignore[arg-type]
    try:
        registration = Registration(id=kw["registration_id"], by=kw["owner_id"], at=kw["at"])  # type: ignore[arg-type]
    except ValidationError as error:
        named = {"id": "registration_id", "by": "owner_id"}.get(error.field, error.field)
        raise ValidationError(named, error.message) from None
    entry = HistoryEntry(kind=ChangeKind.REGISTERED, by=kw["owner_id"], at=kw["at"],  # type: ignore[arg-type]
                         before=None, after=grade._value_, reason="registered")
    prospect = Prospect(
        id=kw["id"], profile=kw["profile"], willingness=kw["willingness"],  # type: ignore[arg-type]
        potential_value=kw["potential_value"], grade=grade, owner_id=kw["owner_id"],  # type: ignore[arg-type]
        owner_team=kw["owner_team"],  # type: ignore[arg-type]
        registration=registration, history=(entry,))
    event = ProspectRegistered(actor_id=kw["owner_id"], occurred_at=kw["at"], prospect_id=kw["id"],  # type: ignore[arg-type]
                               owner_id=kw["owner_id"], grade=grade)  # type: ignore[arg-type]
    return prospect, (event,)


def _outcome(make: object, **kw: object) -> object:
    try:
        return make(**kw)  # type: ignore[operator]
    except ValidationError as error:
        return ("refused", error.field, error.message)
    except (AttributeError, TypeError, KeyError) as error:
        return ("failed", type(error).__name__)


_IDS = st.one_of(st.just("p-1"), st.text(max_size=4), st.text(min_size=99, max_size=102),
                 st.just("p\t1"), st.just(" "), st.builds(_Text, st.just("p-1")),
                 st.integers(), st.none())
_INSTANTS = st.one_of(
    st.just(AT), st.just(AT.astimezone(timezone(timedelta(hours=8)))),
    st.just(AT.replace(tzinfo=None)), st.just(AT.replace(fold=1)),
    st.just(datetime(1, 1, 1, tzinfo=UTC)), st.just("2026-03-02"))


_VALUES = st.sampled_from([Money("10", "CNY"), Money("-1", "CNY"), Decimal(5),
                           Money("1.00", "USD"), Money("0", "CNY")])
_GOOD = {"id": "p-1", "registration_id": "imp:1", "profile": PROFILE,
         "willingness": Willingness.CLEAR, "potential_value": Money("10", "CNY"),
         "owner_id": "u-1", "owner_team": "t-1", "at": AT, "grade": None}
_ODD = {"id": _IDS, "registration_id": _IDS, "owner_id": _IDS, "at": _INSTANTS,
        "owner_team": st.sampled_from([None, "t-1", 7]),
        "willingness": st.sampled_from([*Willingness, "clear"]), "potential_value": _VALUES,
        "profile": st.sampled_from([PROFILE, "a profile"]),
        "grade": st.sampled_from([None, *Grade, "A"])}


def _same_registration(kw: dict[str, object]) -> None:
    grade = kw.pop("grade")
    kw["policy"] = DefaultGradingPolicy() if grade is None else _Policy(grade)
    assert _outcome(Prospect.register, **kw) == _outcome(_checked_register, **kw)


@given(st.data())
def test_register_refuses_one_odd_input_as_the_validating_constructors_did(
    data: st.DataObject,
) -> None:
    name = data.draw(st.sampled_from(sorted(_ODD)))
    _same_registration({**_GOOD, name: data.draw(_ODD[name])})


@given(st.fixed_dictionaries(_ODD))
def test_register_makes_or_refuses_what_the_validating_constructors_did(
    inputs: dict[str, object],
) -> None:
    _same_registration(inputs)


def test_registrations_alike_share_their_history() -> None:
    def register(n: int, grade: Grade) -> Prospect:
        return Prospect.register(
            id=ProspectId(f"p-{n}"), registration_id=RegistrationId(f"r-{n}"),
            profile=PROFILE, willingness=Willingness.CLEAR,
            potential_value=Money("1", "CNY"), owner_id="u-1", owner_team=None,
            policy=_Policy(grade), at=AT)[0]

    assert register(1, Grade.A).history is register(2, Grade.A).history
    assert register(3, Grade.B).history == (HistoryEntry(
        kind=ChangeKind.REGISTERED, by="u-1", at=AT, before=None, after="B",
        reason="registered"),)
    assert register(4, Grade.B).history is not register(5, Grade.A).history


_TEXTS = st.one_of(st.none(), st.just("  "), st.just("Retail"), st.just("x" * 100),
                   st.just("x" * 101), st.just(" " + "x" * 99 + " "), st.just("a\tb"),
                   st.just("a\x00b"), st.just("y" * 2001), st.integers())


def _checked_profile(**kw: object) -> Profile:
    """What ``build_profile`` built before it checked its values once: the validating
    constructor given the cleaned parts."""
    org = build_optional("organization", OrganizationName, kw["organization"])
    return Profile(
        kind=ProspectKind.ORGANIZATION if org is not None else ProspectKind.INDIVIDUAL,
        name=build("name", PersonName, "Wang"), phone=build_optional("phone", Phone, kw["phone"]),
        organization=org, industry=optional_text("industry", kw["industry"]),
        source_channel=optional_text("source_channel", kw["source_channel"]),
        needs=optional_text("needs", kw["needs"]))


@given(industry=_TEXTS, source_channel=_TEXTS, needs=_TEXTS,
       phone=st.sampled_from([None, "13900000001", "x"]),
       organization=st.sampled_from([None, "ACME Co., Ltd."]))
def test_a_profile_is_built_or_refused_as_its_validators_say(
    industry: object, source_channel: object, needs: object, phone: object,
    organization: object,
) -> None:
    kw = {"industry": industry, "source_channel": source_channel, "needs": needs,
          "phone": phone, "organization": organization}
    try:
        expected = _checked_profile(**kw)
    except ValidationError as error:
        with pytest.raises(ValidationError) as raised:
            build_profile(name="Wang", **kw)  # type: ignore[arg-type]
        assert error.field in {e.path for e in raised.value.errors}  # named, maybe with more
        return
    got = build_profile(name="Wang", **kw)  # type: ignore[arg-type]
    assert got == expected and type(got) is Profile


def test_an_import_keeps_each_amount_exactly_as_written(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    written = ["1.0", "1.00", "1.0", "2", "-1", "1.0"]
    report = app.prospects.import_many(alice, [
        {"name": f"P {n}", "phone": f"1390000{n:04d}", "willingness": "clear",
         "potential_value": value} for n, value in enumerate(written)])
    assert [(r.line, r.field) for r in report.rejected] == [(5, "potential_value")]
    kept = sorted(app.prospects.mine(alice).items, key=lambda p: p.registration.id)
    assert [str(p.potential_value.amount) for p in kept] == ["1.0", "1.00", "1.0", "2", "1.0"]


@given(today=st.dates(max_value=date(9000, 1, 1)), grade=st.sampled_from(list(Grade)))
def test_a_new_plan_is_made_or_refused_as_its_validators_say(today: date, grade: Grade) -> None:
    prospect = attrs.evolve(Prospect.register(
        id=ProspectId("p-1"), registration_id=RegistrationId("r-1"), profile=PROFILE,
        willingness=Willingness.CLEAR, potential_value=Money("1", "CNY"), owner_id="u-1",
        owner_team="east", policy=DefaultGradingPolicy(), at=AT)[0], grade=grade)
    policy = DefaultCadencePolicy()
    due = today + timedelta(days=policy.interval(grade, prospect.stage))
    expected = _outcome(FollowUpPlan, prospect_id=prospect.id, owner_id="u-1",
                        owner_team="east", grade=grade, stage=prospect.stage, active=True,
                        anchor=today, next_due=due)
    got = _outcome(derive_plan, prospect=prospect, previous=None, policy=policy, today=today)
    assert got == expected and type(got) is type(expected)
