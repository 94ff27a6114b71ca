"""Exact quantities: what a quantity may be, and the arithmetic context that never rounds.

A quantity has at most ``MAX_INTEGER_DIGITS`` digits before the decimal point and
``MAX_DECIMAL_PLACES`` after it (trailing zeros do not count: ``Decimal("2.500")``
has one place). Anything else cannot be stored and added up exactly on every
backend and is refused with ValidationError. Arithmetic on quantities runs in
``EXACT``, a context of ``EXACT.prec`` digits that traps every rounding: the
caller's own decimal context (``decimal.getcontext().prec = 6``, say) never
changes a result.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from custmgmt.errors import ValidationError

MAX_INTEGER_DIGITS = 15
MAX_DECIMAL_PLACES = 9

EXACT = decimal.Context(
    prec=40, rounding=decimal.ROUND_HALF_EVEN, Emax=99, Emin=-99,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow,
           decimal.Underflow, decimal.Subnormal, decimal.Inexact, decimal.Rounded,
           decimal.Clamped],
)
"""40 digits: a sum or difference of quantities (24 digits at most) is always exact.
Any operation that would round raises instead of rounding silently."""


def decimal_places(number: Decimal) -> int:
    """Digits after the point that matter (trailing zeros do not)."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0:
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing)


def integer_digits(number: Decimal) -> int:
    return 0 if number.is_zero() else max(0, number.adjusted() + 1)


def quantity(value: object, field_name: str = "quantity") -> Decimal:
    """A positive exact quantity, or ValidationError naming ``field_name``."""
    return _exact(value, field_name, zero=False)


def counted(value: object, field_name: str = "count") -> Decimal:
    """A counted quantity: exact, zero (nothing found) or more."""
    return _exact(value, field_name, zero=True)


def _exact(value: object, field_name: str, *, zero: bool) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise ValidationError(field_name, "must be an exact number (Decimal, int or string)")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (ArithmeticError, ValueError):
        raise ValidationError(field_name, "is not a number") from None
    if not number.is_finite() or number < 0 or (number == 0 and not zero):
        raise ValidationError(field_name, "must be zero or more" if zero
                              else "must be greater than zero")
    if integer_digits(number) > MAX_INTEGER_DIGITS:
        raise ValidationError(field_name, f"has more than {MAX_INTEGER_DIGITS} digits before "
                              "the decimal point: it cannot be kept exactly")
    if decimal_places(number) > MAX_DECIMAL_PLACES:
        raise ValidationError(field_name, f"has more than {MAX_DECIMAL_PLACES} decimal places: "
                              "it cannot be kept exactly")
    return number


@contextmanager
def exact() -> Iterator[None]:
    """Run quantity arithmetic in ``EXACT``; a rounding is a ValidationError, never silent."""
    with decimal.localcontext(EXACT):
        try:
            yield
        except decimal.DecimalException:
            raise ValidationError("quantity", "cannot be computed exactly") from None
