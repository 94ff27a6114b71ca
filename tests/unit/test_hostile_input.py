"""Hostile input at the edge: refused with ValidationError naming every bad field,
before anything is read or written, on every back end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import custmgmt
from custmgmt.adapters.sql.storage import make_engine
from custmgmt.domain.common import FrozenMap, mask_phone
from custmgmt.errors import ValidationError
from tests.helpers import a_customer

BAD_TEXT = ["a\x00b", "\ud800", "x\udfffy", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85"]


def _admin(app: custmgmt.CustomerManagement) -> custmgmt.Principal:
    return app.principal("u-root", roles={"admin"}, supervisor_id="u-boss",
                         certifications={custmgmt.Certification("sample_receiver")})


def _register(app: custmgmt.CustomerManagement, actor: custmgmt.Principal,
              **changes: object) -> object:
    fields: dict[str, object] = {"name": "Wang", "phone": "13800138000",
                                 "willingness": "clear", "potential_value": 1, **changes}
    return app.prospects.register(actor, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", BAD_TEXT, ids=repr)
@pytest.mark.parametrize("field", ["name", "phone", "email", "address", "organization",
                                   "industry", "needs", "credit_code"])
def test_unstorable_text_is_refused_for_every_text_argument(
    app: custmgmt.CustomerManagement, field: str, bad: str
) -> None:
    root = _admin(app)
    with pytest.raises(ValidationError) as caught:
        _register(app, root, **{field: f"x{bad}"})
    assert caught.value.field == field
    assert app.prospects.list(root).items == ()


@pytest.mark.parametrize("bad", BAD_TEXT, ids=repr)
def test_unstorable_text_is_refused_in_every_area(
    app: custmgmt.CustomerManagement, bad: str
) -> None:
    root = _admin(app)
    cid = a_customer(app)
    prospect = app.prospects.register(root, name="A", phone="13800138000",
                                      willingness="clear", potential_value=1)
    sample = app.samples.receive(root, customer_id=cid, sample_name="n", quantity=1, unit="kg",
                                 description="d", requested_work="w")
    calls = [
        lambda: app.prospects.mark_lost(root, prospect.id, reason=bad),
        lambda: app.prospects.get(root, bad),
        lambda: app.prospects.list(root, owner=bad),
        lambda: app.prospects.counts(root, team=bad),
        lambda: app.followups.record(root, prospect.id, channel="visit", summary=bad),
        lambda: app.followups.due(root, owner=bad),
        lambda: app.samples.register(root, sample.id, classification=bad, location="L1"),
        lambda: app.samples.stocktake(root, location=bad),
        lambda: app.samples.receive(root, customer_id=cid, sample_name="n", quantity=1,
                                    unit="kg", description="d", requested_work="w",
                                    anomalies=[bad]),
        lambda: app.reports.visit_points(root, month=bad),
    ]
    for call in calls:
        with pytest.raises(ValidationError):
            call()
    assert app.prospects.get(root, prospect.id) == prospect
    assert len(app.samples.chain(root, sample.id)) == 1


EDGE_DATES: list[object] = [date.min, date.max, date(1, 1, 1), date(9999, 12, 31)]
EDGE_INSTANTS: list[object] = [
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))),
    datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-8))),
    datetime.min.replace(tzinfo=UTC),
]
EDGE_NUMBERS: list[object] = [Decimal("1E+1000000"), "1E+1000000", 10**5000, -(10**5000),
                              Decimal("1E-1000000"), "NaN", Decimal("-Infinity"),
                              Decimal("1." + "1" * 40)]


def test_dates_and_numbers_at_the_edges_are_validation_errors(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    cid = a_customer(app)
    prospect = app.prospects.register(root, name="A", phone="13800138000",
                                      willingness="clear", potential_value=1)
    sample = app.samples.receive(root, customer_id=cid, sample_name="n", quantity=1, unit="kg",
                                 description="d", requested_work="w")
    calls = []
    for day in EDGE_DATES:
        calls += [
            lambda day=day: app.followups.due(root, on=day),
            lambda day=day: app.followups.overdue(root, on=day),
            lambda day=day: app.followups.history(root, date_from=day),
            lambda day=day: app.followups.record(root, prospect.id, channel="visit",
                                                 summary="s", next_due=day),
            lambda day=day: app.reports.funnel(root, start=day, end=date(2026, 3, 1)),
            lambda day=day: app.reports.visit_points(root, month=day),
            lambda day=day: app.pool.release_lapsed(root, on=day),
            lambda day=day: app.samples.apply(root, sample.id, purpose="p", quantity=1,
                                              expected_return=day),
        ]
    for at in EDGE_INSTANTS:
        calls.append(lambda at=at: app.followups.record(root, prospect.id, channel="visit",
                                                        summary="s", at=at))
    for number in EDGE_NUMBERS:
        calls += [
            lambda n=number: app.prospects.register(root, name="B", phone="13900139000",
                                                    willingness="clear", potential_value=n),
            lambda n=number: app.prospects.reassess(root, prospect.id, potential_value=n),
            lambda n=number: app.samples.apply(root, sample.id, purpose="p", quantity=n),
            lambda n=number: app.samples.receive(
                root, customer_id=cid, sample_name="n", quantity=n, unit="kg",
                description="d", requested_work="w"),
        ]
    calls += [lambda: app.prospects.list(root, limit=10**5000),
              lambda: app.pool.available(root, limit=-(10**5000))]
    for call in calls:
        with pytest.raises(ValidationError):
            call()
    assert app.prospects.get(root, prospect.id) == prospect
    assert app.followups.history(root) == ()


def test_arguments_of_the_wrong_kind_are_refused_before_anything_is_written(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    cid = a_customer(app)
    receive = {"customer_id": cid, "sample_name": "n", "quantity": 1, "unit": "kg",
               "description": "d", "requested_work": "w"}
    for anomalies in ("torn", None, b"torn", {"torn": 1}, 5, ["ok", 7]):
        with pytest.raises(ValidationError) as caught:
            app.samples.receive(root, **receive, anomalies=anomalies)  # type: ignore[arg-type]
        assert caught.value.field == "anomalies"
    with pytest.raises(ValidationError) as caught:
        app.samples.receive(root, **receive, anomalies=["a"] * 101)  # type: ignore[arg-type]
    assert "at most 100" in caught.value.message
    rows = [{"name": "A", "phone": "13800138000", "willingness": "clear",
             "potential_value": "1"}]
    with pytest.raises(ValidationError) as caught:
        app.prospects.import_many(root, rows, on_progress="x")  # type: ignore[arg-type]
    assert caught.value.field == "on_progress"
    for hazardous in ("yes", 1, None):
        with pytest.raises(ValidationError):
            app.samples.receive(root, **receive, hazardous=hazardous)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        app.prospects.get(root, "p", "extra")  # type: ignore[call-arg]
    assert app.prospects.list(root).items == ()
    assert app.samples.stocktake(root) == ()
    assert [type(e).__name__ for e in app.events(root)] == ["CustomerCreated"]


def test_a_validation_error_lists_every_bad_field_of_the_call(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    with pytest.raises(ValidationError) as caught:
        app.prospects.register(root, name="  ", phone="12", email="not-an-email",
                               willingness="eager", potential_value="-1")
    assert [e.path for e in caught.value.errors] == [
        "name", "phone", "email", "willingness", "potential_value"]
    with pytest.raises(ValidationError) as caught:
        app.samples.receive(root, customer_id="\ud800", sample_name="n", quantity=10**5000,
                            unit="kg", description="d", requested_work="w", anomalies="x")
    assert {e.path for e in caught.value.errors} == {"customer_id", "quantity", "anomalies"}


def test_settings_are_immutable_hashable_and_refuse_values_that_break_later_calls() -> None:
    settings = custmgmt.Settings(cadence_days={"A": 5, "B": 10, "C": 20, "D": 60})
    assert hash(settings) == hash(custmgmt.Settings(cadence_days={
        "A": 5, "B": 10, "C": 20, "D": 60}))
    assert {settings: "usable as a key"}[settings] == "usable as a key"
    assert isinstance(settings.cadence_days, FrozenMap)
    with pytest.raises(TypeError):
        settings.cadence_days["A"] = 1  # type: ignore[index]
    for changes in ({"cadence_days": {"A": 4_000_000, "B": 14, "C": 30, "D": 90}},
                    {"protection_days": {"A": 30, "B": 45, "C": 60, "D": 10**6}},
                    {"pool_cooldown_days": 4_000_000}, {"lapse_warning_days": 10**9},
                    {"manager_reminder_grace_days": 4_000_000}, {"pool_daily_cap": 10**5000},
                    {"visit_minimum": 0}, {"grading_large": custmgmt.Money("-1")},
                    {"timezone": "Asia/Shanghai\x00"}, {"ownership_lapse": "yes"}):
        with pytest.raises(ValidationError):
            custmgmt.Settings(**changes)  # type: ignore[arg-type]


def test_the_longest_settings_still_work(tmp_path: object) -> None:
    settings = custmgmt.Settings(cadence_days={"A": 3650, "B": 3650, "C": 3650, "D": 3650},
                                 pool_cooldown_days=3650, ownership_lapse=True,
                                 protection_days={"A": 3650, "B": 3650, "C": 3650, "D": 3650})
    with custmgmt.open("memory://", settings=settings) as app:
        root = _admin(app)
        p = app.prospects.register(root, name="A", phone="13800138000", willingness="clear",
                                   potential_value=1)
        plan = app.followups.plan(root, p.id)
        assert plan is not None
        app.followups.due(root, on=date(2999, 12, 31))
        app.pool.release_lapsed(root, on=date(2999, 12, 31))


@given(st.text(alphabet="0123456789", min_size=0, max_size=30))
def test_the_phone_mask_never_shows_more_than_four_digits(digits: str) -> None:
    shown = mask_phone(digits)
    assert sum(ch.isdigit() for ch in shown) <= 4
    assert len(shown) == len(digits)


def test_sql_engines_hide_statement_parameters(tmp_path: object) -> None:
    engine, _ = make_engine("sqlite://")
    assert engine.hide_parameters
    engine.dispose()


class _LyingText(str):
    """Text that says it is printable and hides its NUL from iteration."""

    def isprintable(self) -> bool:
        return True

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter("ab")


def test_a_str_subclass_cannot_hide_a_control_character(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    with pytest.raises(ValidationError) as caught:
        _register(app, root, name=_LyingText("a\x00b"))
    assert caught.value.field == "name"
    assert app.prospects.list(root).items == ()


class _TwoFacedText(str):
    """Text whose own methods tell another story than the characters it holds."""

    def __str__(self) -> str:
        return "someone else"

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def strip(self, chars: str | None = None) -> str:
        return "someone else"


def test_a_text_argument_given_as_a_str_subclass_is_kept_as_the_text_it_holds(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    prospect = _register(app, root, name=_TwoFacedText("Wang Fang"),
                         industry=_TwoFacedText("retail"))
    (stored,) = app.prospects.list(root).items
    for seen in (prospect, stored):
        name = seen.profile.name.value  # type: ignore[attr-defined]
        assert type(name) is str and name == "Wang Fang"
        assert type(seen.profile.industry) is str  # type: ignore[attr-defined]
        assert seen.profile.industry == "retail"  # type: ignore[attr-defined]


class _Posing:
    """Claims to be a str (``isinstance`` believes ``__class__``), and is not one."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return str


@pytest.mark.parametrize("field", ["name", "potential_value"])  # str, and object, typed
def test_an_object_that_only_claims_to_be_text_is_refused_naming_its_argument(
    app: custmgmt.CustomerManagement, field: str
) -> None:
    root = _admin(app)
    with pytest.raises(ValidationError) as caught:
        _register(app, root, **{field: _Posing()})
    assert caught.value.field == field
    assert "must be text" in str(caught.value)
    assert app.prospects.list(root).items == ()


def test_items_of_a_collection_of_text_are_kept_as_the_text_they_hold(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    customer = a_customer(app)
    care = app.care.record_preferences(root, customer,
                                       tags=[_TwoFacedText("quiet"), _TwoFacedText("vegan")])
    assert care.preferences.tags == ("quiet", "vegan")
    assert {type(tag) for tag in care.preferences.tags} == {str}
    with pytest.raises(ValidationError) as caught:
        app.care.record_preferences(root, customer, tags=[_Posing()])
    assert caught.value.field == "tags"


def test_principals_and_audit_calls_pass_the_edge_too(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    granted = app.principals.grant(root, _TwoFacedText("u-x"), {"salesperson"},
                                   team=_TwoFacedText("east"))
    assert (type(granted.id), granted.id, type(granted.team), granted.team) == (
        str, "u-x", str, "east")
    assert "u-x" in [p.id for p in app.principals.list(root)]  # still sortable
    for call in (lambda: app.principals.grant(root, _Posing(), {"salesperson"}),
                 lambda: app.principals.get(root, _Posing()),
                 lambda: app.audit.verify(root, "prospect", _Posing())):
        with pytest.raises(ValidationError):
            call()  # type: ignore[no-untyped-call]


def test_an_imported_cell_given_as_a_str_subclass_is_stored_as_the_text_it_holds(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    row = {"name": _TwoFacedText("Li Lei"), "phone": "13800138010", "willingness": "clear",
           "potential_value": "1"}
    assert app.prospects.import_many(root, [row]).imported == 1
    (stored,) = app.prospects.list(root).items
    name = stored.profile.name.value  # type: ignore[attr-defined]
    assert type(name) is str and name == "Li Lei"
    report = app.prospects.import_many(root, [{**row, _TwoFacedText("nmae"): "x"}])
    assert [r.field for r in report.rejected] == ["nmae"]  # its own name, not its __str__


class _PosingAs(str):
    """Text that hashes and compares as ``other``: a dict or set takes it for ``other``."""

    def __new__(cls, value: str, other: str) -> _PosingAs:
        made = super().__new__(cls, value)
        made.other = other  # type: ignore[attr-defined]
        return made

    def __hash__(self) -> int:
        return hash(self.other)  # type: ignore[attr-defined]

    def __eq__(self, value: object) -> bool:
        return value == self.other  # type: ignore[attr-defined]

    def strip(self, chars: str | None = None) -> str:
        return self.other  # type: ignore[attr-defined,no-any-return]


def test_an_imported_row_is_read_by_the_characters_of_its_names_and_cells(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    row: dict[str, object] = {"name": "Li Lei", "phone": "13800138010",
                              "willingness": "clear", "potential_value": "1"}
    posing_column = {k: v for k, v in row.items() if k != "name"}
    posing_column[_PosingAs("nmae", "name")] = "Zed"  # dict.get("name") would find it
    report = app.prospects.import_many(root, [posing_column])
    assert [(r.field, r.reason) for r in report.rejected] == [("nmae", "is not a known column")]
    cells = {**row, "willingness": _PosingAs("none", "clear"),
             "potential_value": _PosingAs(" 5 ", "5000000"),
             "email": _PosingAs("li@example.com", "")}
    assert app.prospects.import_many(root, [cells]).imported == 1
    (stored,) = app.prospects.list(root).items
    assert stored.willingness.value == "none"  # type: ignore[attr-defined]
    assert stored.potential_value.amount == 5  # type: ignore[attr-defined]
    assert stored.profile.email is not None  # type: ignore[attr-defined]
    with_currency = {**row, "phone": "13800138011", "currency": _PosingAs("USD", "CNY")}
    (refused,) = app.prospects.import_many(root, [with_currency]).rejected
    assert refused.field == "potential_value"  # in USD, not CNY: not graded


def test_a_number_or_choice_given_as_a_str_subclass_is_read_by_its_characters(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    prospect = _register(app, root, potential_value=_PosingAs(" 5 ", "5000000"),
                         willingness=_PosingAs("none", "clear"))
    assert prospect.potential_value.amount == 5  # type: ignore[attr-defined]
    assert prospect.willingness.value == "none"  # type: ignore[attr-defined]


def test_the_bootstrap_principal_keeps_the_text_of_its_id_team_and_roles(
    app: custmgmt.CustomerManagement,
) -> None:
    made = app.principal(_TwoFacedText("u-tf"), roles=[_TwoFacedText("salesperson")],
                         team=_TwoFacedText("east"))
    assert (type(made.id), made.id, made.team, made.roles) == (
        str, "u-tf", "east", frozenset({"salesperson"}))
    assert app.get_principal("u-tf") == made
    assert "u-tf" in [p.id for p in app.principals.list(_admin(app))]
    with pytest.raises(ValidationError) as caught:
        app.principal("u-x", roles=[_Posing()])  # type: ignore[list-item]
    assert caught.value.field == "roles"


def test_an_imported_cell_that_only_claims_to_be_text_rejects_its_row_naming_its_column(
    app: custmgmt.CustomerManagement,
) -> None:
    root = _admin(app)
    rows: list[dict[str, object]] = [
        {"name": "Li Lei", "phone": f"1380013801{n}", "willingness": "clear",
         "potential_value": "1"} for n in range(3)]
    rows[1]["needs"] = _Posing()
    report = app.prospects.import_many(root, rows)
    assert report.imported == 2
    assert [(r.line, r.field) for r in report.rejected] == [(2, "needs")]
