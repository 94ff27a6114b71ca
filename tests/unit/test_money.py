from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt import Money
from custmgmt.errors import ValidationError


def test_money_accepts_decimal_int_and_numeric_strings() -> None:
    assert Money("12.50", "CNY").amount == Decimal("12.50")
    assert Money(12, "USD").amount == Decimal(12)
    assert Money(Decimal("0.1")).currency == "CNY"


@pytest.mark.parametrize("bad", [0.1, 1.0, True, None, "abc", Decimal("NaN"), Decimal("Infinity")])
def test_money_refuses_floats_and_non_numbers(bad: object) -> None:
    with pytest.raises(ValidationError) as raised:
        Money(bad, "CNY")  # type: ignore[arg-type]
    assert raised.value.field == "amount"


@pytest.mark.parametrize("bad", ["cny", "XXX", "", 156, None])
def test_money_refuses_unknown_currencies(bad: object) -> None:
    with pytest.raises(ValidationError) as raised:
        Money("1", bad)  # type: ignore[arg-type]
    assert raised.value.field == "currency"


def test_arithmetic_and_comparison_stay_within_one_currency() -> None:
    assert Money("1.10") + Money("2.20") == Money("3.30")
    assert Money("5") - Money("7") == Money("-2")
    assert Money("1") < Money("2") <= Money("2")
    with pytest.raises(ValidationError, match="CNY with USD"):
        Money("1", "CNY") + Money("1", "USD")
    with pytest.raises(ValidationError):
        _ = Money("1", "CNY") < Money("1", "USD")


def test_rounding_is_half_up_to_the_minor_unit() -> None:
    assert Money("2.345", "CNY").rounded() == Money("2.35", "CNY")
    assert Money("2.344", "CNY").rounded() == Money("2.34", "CNY")
    assert Money("1234.5", "JPY").rounded() == Money("1235", "JPY")
    assert Money("1.0005", "KWD").rounded() == Money("1.001", "KWD")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2,
                   min_value=-10**9, max_value=10**9),
       st.decimals(allow_nan=False, allow_infinity=False, places=2,
                   min_value=-10**9, max_value=10**9))
def test_addition_is_exact(a: Decimal, b: Decimal) -> None:
    assert (Money(a) + Money(b)).amount == a + b
    assert (Money(a) + Money(b)) - Money(b) == Money(a)
