"""Fast paths of the per-row import pipeline give what the general path gives."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain import validation
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
