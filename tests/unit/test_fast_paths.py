"""Fast paths of the per-row import pipeline give what the general path gives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.memory.packed import pack, unpack
from custmgmt.adapters.memory.shared import ByKindAndId
from custmgmt.domain import validation
from custmgmt.domain.common import Money
from custmgmt.domain.grading import DefaultGradingPolicy, Grade, Willingness
from custmgmt.domain.integrity import audit_chain
from custmgmt.errors import ValidationError
from custmgmt.services.prospect_import import COLUMNS, clean


def _general_decimal(value: str) -> Decimal:
    """What ``exact_decimal`` did with text before its fast path."""
    if len(value) > 100:
        raise ValidationError("amount", "is not a number")
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        raise ValidationError("amount", "is not a number") from None
    return validation._bounded("amount", number)


_NUMBERS = st.one_of(
    st.from_regex(r"\A[0-9]{1,17}(\.[0-9]{0,14})?\Z"),
    st.from_regex(r"\A[ +-]?[0-9_]{0,20}(\.[0-9]{0,14})?([eE][+-]?[0-9]{1,3})? ?\Z"),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=30),
)


@given(_NUMBERS)
def test_plain_number_text_reads_as_the_general_path_reads_it(text: str) -> None:
    try:
        expected = _general_decimal(text)
    except ValidationError as error:
        with pytest.raises(ValidationError) as raised:
            validation.exact_decimal("amount", text)
        assert raised.value.field == error.field
        return
    got = validation.exact_decimal("amount", text)
    assert got.as_tuple() == expected.as_tuple()  # the same digits and exponent


def test_the_plain_number_pattern_stays_within_the_bounds() -> None:
    biggest = "9" * validation.MAX_INTEGER_DIGITS + "." + "9" * validation.MAX_DECIMAL_PLACES
    assert validation._PLAIN_NUMBER.fullmatch(biggest)
    assert validation.exact_decimal("amount", biggest) == _general_decimal(biggest)
    assert not validation._PLAIN_NUMBER.fullmatch("9" * (validation.MAX_INTEGER_DIGITS + 1))


class _Row(Mapping[str, object]):
    def __init__(self, items: dict[str, object]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> object:
        return self._items[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


_CELLS = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.just("  "))


@given(st.dictionaries(st.sampled_from(sorted(COLUMNS)), _CELLS))
def test_a_plain_dict_row_cleans_as_any_mapping_does(row: dict[str, object]) -> None:
    assert clean(row) == clean(_Row(row))
    assert clean(row) == {k: (None if isinstance(v, str) and not v.strip() else v)
                          for k, v in row.items()}


@given(st.dictionaries(st.one_of(st.sampled_from(sorted(COLUMNS)), st.text(max_size=8),
                                 st.integers()), _CELLS, min_size=1))
def test_unknown_columns_are_refused_from_a_dict_as_from_any_mapping(
    row: dict[object, object],
) -> None:
    def outcome(value: object) -> object:
        try:
            return clean(value)
        except ValidationError as error:
            return (error.field, error.message)

    assert outcome(row) == outcome(_Row(row))  # type: ignore[arg-type]
    if not set(row) <= COLUMNS:
        assert isinstance(outcome(row), tuple)


def _general_grade(policy: DefaultGradingPolicy, will: Willingness, value: Money) -> Grade:
    """What ``DefaultGradingPolicy.grade`` did before comparing the amounts directly."""
    by_will = {Willingness.CLEAR: Grade.A, Willingness.INTERESTED: Grade.B,
               Willingness.WATCHING: Grade.C, Willingness.NONE: Grade.D}[will]
    if by_will is Grade.D:
        return Grade.D
    if value >= policy.large:
        by_value = Grade.A
    elif value >= policy.medium:
        by_value = Grade.B
    else:
        by_value = Grade.C
    return max(by_will, by_value, key=lambda g: g.value)


_AMOUNTS = st.decimals(min_value=0, max_value=10**9, places=2)


@given(will=st.sampled_from(list(Willingness)), amount=_AMOUNTS, medium=_AMOUNTS,
       extra=_AMOUNTS, currency=st.sampled_from(["CNY", "USD"]))
def test_the_default_policy_grades_as_it_did_by_comparing_money(
    will: Willingness, amount: Decimal, medium: Decimal, extra: Decimal, currency: str,
) -> None:
    policy = DefaultGradingPolicy(large=Money(medium + extra, "CNY"), medium=Money(medium, "CNY"))
    value = Money(amount, currency)
    if currency != "CNY":
        with pytest.raises(ValidationError):
            policy.grade(will, value)
        return
    assert policy.grade(will, value) is _general_grade(policy, will, value)


@given(st.sampled_from(list(Grade)), st.sampled_from(list(Grade)))
def test_the_lower_grade_is_the_larger_letter(one: Grade, other: Grade) -> None:
    assert one.lower(other) is max(one, other, key=lambda g: g.value)


class _Str(str):
    pass


def test_only_pairs_of_exact_text_are_shared_when_packed() -> None:
    plain = (("grade", "A"), ("stage", "won"))
    odd = ((_Str("grade"), "A"), ("stage", "won"))
    mixed = (("grade", "A"), ("stage", "won", "extra"))
    assert pack(plain) is pack((("grade", "A"), ("stage", "won")))
    assert type(unpack(pack(odd))[0][0]) is _Str  # never merged with the plain one
    assert unpack(pack(mixed)) == mixed
    assert unpack(pack(())) == ()


def test_writes_through_the_inner_map_of_a_kind_are_in_the_map() -> None:
    trails: ByKindAndId[int] = ByKindAndId()
    trails[("prospect", "p-1")] = 1
    inner = trails.of_kind("prospect")
    assert inner is trails.of_kind("prospect")
    inner["p-2"] = 2
    trails.of_kind("customer")["c-1"] = 3
    assert trails.get(("prospect", "p-2")) == 2 and ("customer", "c-1") in trails
    assert sorted(trails) == [("customer", "c-1"), ("prospect", "p-1"), ("prospect", "p-2")]
    assert len(trails) == 3


def test_an_audit_chain_name_is_one_string_per_kind() -> None:
    assert audit_chain("prospect") == "audit:prospect"
    assert audit_chain("prospect") is audit_chain("".join(["pros", "pect"]))


def _general_a_date(value: object) -> str | None:
    """What ``a_date`` refused (its message) before its fast path; None: accepted."""
    if isinstance(value, datetime) or not isinstance(value, date):
        return f"must be a date, not {type(value).__name__}"
    return validation.date_problem(value)


def _general_non_negative_int(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be an integer, not {type(value).__name__}"
    return "must not be negative" if value < 0 else None


def _outcome(check: Callable[..., None], value: object) -> str | None:
    attribute = attrs.fields(_Dated).day
    try:
        check(None, attribute, value)
    except ValidationError as error:
        assert error.field == "day"
        return error.message
    return None


@attrs.frozen
class _Dated:
    day: object


@given(st.one_of(st.dates(), st.datetimes(), st.integers(), st.none(), st.text(max_size=3)))
def test_a_date_is_checked_as_before(value: object) -> None:
    assert _outcome(validation.a_date, value) == _general_a_date(value)


@given(st.one_of(st.integers(), st.booleans(), st.floats(), st.decimals(), st.none()))
def test_a_non_negative_int_is_checked_as_before(value: object) -> None:
    assert _outcome(validation.non_negative_int, value) == _general_non_negative_int(value)


def test_dates_at_the_bounds_and_beyond() -> None:
    for day in (validation.EARLIEST_DATE, validation.LATEST_DATE, date.min, date.max,
                validation.EARLIEST_DATE - timedelta(days=1)):
        assert _outcome(validation.a_date, day) == _general_a_date(day)
