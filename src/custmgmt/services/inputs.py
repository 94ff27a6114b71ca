"""Turning loose service arguments into value objects, naming the field on failure."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from custmgmt.domain.common import Money
from custmgmt.errors import ValidationError

T = TypeVar("T")


def build(field: str, make: Callable[[str], T], raw: object) -> T:
    """``make(raw)``, with any ValidationError re-addressed to ``field``."""
    if not isinstance(raw, str):
        raise ValidationError(field, f"must be text, not {type(raw).__name__}")
    try:
        return make(raw)
    except ValidationError as error:
        raise ValidationError(field, error.message) from None


def build_optional(field: str, make: Callable[[str], T], raw: object) -> T | None:
    if raw is None:
        return None
    if isinstance(raw, str) and not raw.strip():
        return None
    return build(field, make, raw)


def money(field: str, raw: object, currency: str = "CNY") -> Money:
    """A Money as given, or a Decimal / int / numeric string in ``currency``."""
    if isinstance(raw, Money):
        return raw
    if isinstance(raw, float):
        raise ValidationError(field, "must be exact (Money, Decimal, int or string), not float")
    if not isinstance(raw, Decimal | int | str) or isinstance(raw, bool):
        raise ValidationError(field, f"must be Money, not {type(raw).__name__}")
    try:
        return Money(raw, currency)
    except ValidationError as error:
        raise ValidationError(field, error.message) from None
