"""An import batch parsed a column at a time is the batch parsed row by row."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import custmgmt
from custmgmt.domain.common import Money
from custmgmt.domain.grading import Grade, Willingness
from custmgmt.domain.identity import KeyRing
from custmgmt.domain.registrations import (
    KeyColumns,
    ProfileColumns,
    RegistrationBatch,
    individual_keys,
)
from custmgmt.errors import ValidationError
from custmgmt.plugins import hookimpl
from custmgmt.services import prospects as prospect_service
from custmgmt.services.batch_parse import parse_batch
from custmgmt.services.prospect_import import clean
from custmgmt.testing.builders import T0

MOBILES = ["13800138000", "13900139001", "17012345678", "19912345678"]
OTHER_PHONES = ["010-6552 9988", "+86 139 0013 9000", "12345", "１３９００１３９００２", "\ud800"]
EMAILS = ["li@example.com", "Li.Na@Example.COM", "a@b.co"]
OTHER_EMAILS = [" li@example.com", "li@", "l i@example.com", "李@例子.中国", "a@b\x00.co"]
TEXTS = ["Wang Wei", "王伟", "O'Neil", "a" * 200, " Retail ", "web  ", "\u3000x", "n" * 99 + " "]
OTHER_TEXTS = ["a" * 201, "tab\there", "line\nbreak", "\ud800", "nul\x00", "\u200b", "\x85"]


GOOD_ROWS = st.fixed_dictionaries(
    {"name": st.sampled_from(TEXTS),
     "willingness": st.sampled_from(["clear", "interested", "watching", "none"]),
     "potential_value": st.sampled_from(["0", "150000", "2000000", "123.45"]),
     "phone": st.sampled_from(MOBILES)},
    optional={"email": st.sampled_from(EMAILS),
              "address": st.sampled_from([*TEXTS, "", "  "]),
              "industry": st.sampled_from([*TEXTS, ""]),
              "source_channel": st.sampled_from(TEXTS), "needs": st.sampled_from(TEXTS),
              "organization": st.sampled_from(["", None]),
              "credit_code": st.sampled_from(["", None]),
              "currency": st.sampled_from(["CNY", "USD", "", None])})
"""Rows the column checks clear."""

ODD_CELLS = st.one_of(
    st.sampled_from([*OTHER_PHONES, *OTHER_EMAILS, *OTHER_TEXTS, "", "   ", None, 7, 1.5,
                     b"13800138000", "Acme Co. Ltd", "CLEAR", "maybe", "-5", "abc", "XXX"]),
    st.text(max_size=12))
COLUMN_NAMES = st.sampled_from(["name", "phone", "email", "address", "industry",
                                "source_channel", "needs", "organization", "credit_code",
                                "willingness", "potential_value", "currency", "colour"])


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A batch of good rows, and in about half of them one cell of one row odd (bad,
    blank, of another type, a land line, an organization, an unknown column)."""
    rows = draw(st.lists(GOOD_ROWS, min_size=1, max_size=6))
    if draw(st.booleans()):
        n = draw(st.integers(0, len(rows) - 1))
        rows[n] = {**rows[n], draw(COLUMN_NAMES): draw(ODD_CELLS)}
    return rows


def by_row(row: dict[str, Any]) -> Any:
    """What ``import_many`` makes of one row on its row-by-row path, or None if refused."""
    values: dict[Any, Any] = {}
    try:
        cleaned = clean(row)
        try:
            return prospect_service._parse_good(cleaned, values)
        except ValidationError:
            return prospect_service._parse_naming_all(cleaned)
    except ValidationError:
        return None


@settings(max_examples=400, deadline=None)
@given(batches())
def test_a_batch_parsed_by_columns_is_the_batch_parsed_row_by_row(
    rows: list[dict[str, Any]]
) -> None:
    parsed = parse_batch(rows, {})
    one_by_one = [by_row(row) for row in rows]
    if parsed is None:
        return  # parsed row by row by the import: nothing more to hold
    assert None not in one_by_one, "the column checks passed a row the row checks refuse"
    profiles, willingness, values = parsed
    assert profiles == ProfileColumns.of([profile for profile, _, _ in one_by_one])
    assert willingness == tuple(will for _, will, _ in one_by_one)
    assert values == tuple(value for _, _, value in one_by_one)
    for ring in (KeyRing(), KeyRing(region="US"), KeyRing(pepper=b"another pepper, 16+")):
        assert individual_keys(ring, profiles) == KeyColumns.of(
            [ring.keys_of(profile) for profile, _, _ in one_by_one])
    # and the batch gives back, to a storage keeping objects, the profiles of the rows
    size = len(rows)
    batch = RegistrationBatch(
        owner_id="u-alice", owner_team=None, at=T0, ids=tuple(f"p-{n}" for n in range(size)),
        registration_ids=tuple(f"r-{n}" for n in range(size)), profiles=profiles,
        willingness=willingness, potential_values=values,
        grades=(Grade.B,) * size, keys=individual_keys(KeyRing(), profiles))
    assert [row.profile for row in batch.rows] == [p for p, _, _ in one_by_one]
    assert [row.profile for row in batch.rows] == [
        batch.profiles.profile(n) for n in range(size)]


def plain_rows(count: int) -> list[dict[str, Any]]:
    return [{"name": f"Person {n}", "phone": f"139{n:08d}", "email": f"p{n}@example.com",
             "address": "", "organization": "", "willingness": "clear",
             "potential_value": str(n * 1000)} for n in range(count)]


def test_plain_rows_and_blank_cells_take_the_column_path() -> None:
    parsed = parse_batch(plain_rows(50), {})
    assert parsed is not None
    assert parsed[0].address == (None,) * 50


@pytest.mark.parametrize("row", [
    {"name": "Org", "phone": "13800138000", "organization": "Acme", "willingness": "clear",
     "potential_value": "1"},
    {"name": "Land line", "phone": "010-6552 9988", "willingness": "clear",
     "potential_value": "1"},
    {"name": "No value", "phone": "13800138000", "willingness": "clear"},
    {"name": "Unknown", "phone": "13800138000", "willingness": "clear",
     "potential_value": "1", "colour": "red"},
])
def test_a_row_the_column_checks_do_not_clear_sends_its_batch_row_by_row(
    row: dict[str, Any]
) -> None:
    assert parse_batch([*plain_rows(3), row], {}) is None


def test_import_many_takes_the_column_path_for_plain_rows(
    app: custmgmt.CustomerManagement, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No profile is built a row when every row of a batch is plain (the row-by-row
    parse would build one), and the prospects stored are those of the rows."""
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")

    def not_row_by_row(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("parsed row by row")
    monkeypatch.setattr(prospect_service, "build_profile", not_row_by_row)
    report = app.prospects.import_many(alice, plain_rows(30), batch_size=10)
    assert (report.imported, report.rejected) == (30, ())
    stored = app.prospects.mine(alice, limit=100).items
    assert sorted(p.profile.name.value for p in stored) == sorted(
        f"Person {n}" for n in range(30))
    assert {p.profile.address for p in stored} == {None}
    monkeypatch.undo()  # the keys are those a registration seals: found by them
    assert len(app.prospects.find(alice, phone="+86 139 0000 0007")) == 1
    assert len(app.prospects.find(alice, email="P7@example.com")) == 1


def test_a_batch_with_one_bad_row_keeps_its_good_rows_and_names_the_bad_one(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    rows: list[dict[str, Any]] = plain_rows(10)
    rows[4] = {**rows[4], "name": "Bad\x00name"}
    rows[7] = {**rows[7], "phone": rows[2]["phone"]}
    report = app.prospects.import_many(alice, rows, batch_size=10)
    assert report.imported == 8
    assert [(r.line, r.field) for r in report.rejected] == [(5, "name"), (8, None)]
    assert "duplicate of line 3" in report.rejected[1].reason
    assert "Bad" not in str(report.rejected)


class Text(str):
    """A str subclass (numpy.str_ is one): text to the row parse, so to the import."""


def test_a_cell_of_a_str_subclass_is_imported_as_the_row_parse_takes_it(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    rows = plain_rows(4)
    rows[1] = {**rows[1], "name": Text("Wang Wei"), "email": Text("w@example.com")}
    rows[2] = {**rows[2], "address": Text("Road 1")}
    report = app.prospects.import_many(alice, rows, batch_size=4)
    assert (report.imported, report.rejected) == (4, ())
    names = {p.profile.name.value for p in app.prospects.mine(alice, limit=10).items}
    assert "Wang Wei" in names


def test_free_texts_are_stored_stripped_on_either_path(
    app: custmgmt.CustomerManagement,
) -> None:
    """industry, source_channel and needs are stripped by the row parse: the column
    parse stores the same, whichever path a row's batch takes."""
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    padded = {"industry": " Retail ", "source_channel": "web ", "needs": "  a quote"}
    rows = [{**row, **padded} for row in plain_rows(4)]
    rows[3] = {**rows[3], "name": "bad\x00"}  # this batch goes row by row
    report = app.prospects.import_many(alice, rows, batch_size=2)
    assert report.imported == 3
    stored = app.prospects.mine(alice, limit=10).items
    assert {(p.profile.industry, p.profile.source_channel, p.profile.needs)
            for p in stored} == {("Retail", "web", "a quote")}


def test_a_free_texts_limit_holds_after_stripping_as_in_the_row_parse(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    rows = plain_rows(3)
    rows[1] = {**rows[1], "industry": "i" * 99 + "  "}  # 101 before stripping, 99 after
    rows[2] = {**rows[2], "industry": "i" * 101}
    report = app.prospects.import_many(alice, rows)
    assert [(r.line, r.field) for r in report.rejected] == [(3, "industry")]
    assert {p.profile.industry for p in app.prospects.mine(alice, limit=10).items} == {
        None, "i" * 99}


class CountingPolicy:
    """A grading plugin that counts what it is asked, and refuses values not in CNY."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def custmgmt_grading_policy(self, settings: object) -> object:
        return self

    def grade(self, willingness: Willingness, potential_value: Money) -> Grade:
        self.asked.append(str(potential_value.amount))
        if potential_value.currency != "CNY":
            raise ValidationError("potential_value", "must be in CNY")
        return Grade.B


def test_the_grading_policy_is_asked_once_a_row() -> None:
    """A row the policy refuses is reported; the others are graded once each, not
    again row by row."""
    policy = CountingPolicy()
    with custmgmt.open("memory://", plugins=[policy]) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        rows = plain_rows(5)
        rows[3] = {**rows[3], "currency": "USD"}
        report = app.prospects.import_many(alice, rows)
    assert sorted(policy.asked) == sorted(str(n * 1000) for n in range(5))
    assert [(r.line, r.field) for r in report.rejected] == [(4, "potential_value")]
    assert report.imported == 4


class Hostile:
    """A cell whose every method raises."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        raise RuntimeError("hash")

    def __bool__(self) -> bool:
        raise RuntimeError("bool")

    def __str__(self) -> str:
        raise RuntimeError("str")

    __repr__ = __str__


class HostileText(str):
    def strip(self, *_: object) -> str:  # type: ignore[override]
        raise RuntimeError("strip")


@pytest.mark.parametrize(("column", "cell"), [
    ("willingness", Hostile()), ("currency", Hostile()), ("email", Hostile()),
])
def test_a_hostile_cell_rejects_its_row_only(
    app: custmgmt.CustomerManagement, column: str, cell: object
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    rows = plain_rows(3)
    rows[1] = {**rows[1], column: cell}
    report = app.prospects.import_many(alice, rows)
    assert report.imported == 2
    assert [r.line for r in report.rejected] == [2]


@pytest.mark.parametrize("column", ["name", "needs"])
def test_a_str_subclass_cell_whose_methods_raise_is_read_by_its_characters(
    app: custmgmt.CustomerManagement, column: str
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    rows = plain_rows(3)
    rows[1] = {**rows[1], column: HostileText("Li Lei")}
    report = app.prospects.import_many(alice, rows)
    assert (report.imported, report.rejected) == (3, ())
    stored = {p.profile.needs if column == "needs" else p.profile.name.value  # type: ignore[attr-defined]
              for p in app.prospects.list(alice).items}
    assert "Li Lei" in stored
