"""Turning loose service arguments into value objects, naming the field on failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from custmgmt.domain.common import Money
from custmgmt.domain.validation import own_text, require_text
from custmgmt.errors import FieldError, ValidationError

T = TypeVar("T")


class Problems:
    """Collects the ValidationErrors of several fields so that one error names them all."""

    def __init__(self) -> None:
        self.found: list[FieldError] = []

    def take(self, make: Callable[[], T]) -> T:
        """``make()``; on ValidationError note its fields and return None (typed as T:
        ``check()`` raises before any such None is used)."""
        try:
            return make()
        except ValidationError as error:
            self.found.extend(error.errors)
            return None  # type: ignore[return-value]

    def check(self, *more: ValidationError) -> None:
        """Raise one ValidationError naming every field noted so far (and in ``more``)."""
        found = [*self.found, *(e for error in more for e in error.errors)]
        if found:
            raise ValidationError.of(found)


def build(field: str, make: Callable[[str], T], raw: object) -> T:
    """``make(raw)``, with any ValidationError re-addressed to ``field``."""
    if not isinstance(raw, str):
        raise ValidationError(field, f"must be text, not {type(raw).__name__}")
    raw = own_text(field, raw)
    try:
        return make(raw)
    except ValidationError as error:
        raise ValidationError(field, error.message) from None


def build_optional(field: str, make: Callable[[str], T], raw: object) -> T | None:
    if raw is None:
        return None
    if isinstance(raw, str) and not own_text(field, raw).strip():
        return None
    return build(field, make, raw)


def money(field: str, raw: object, currency: str = "CNY") -> Money:
    """A Money as given, or a Decimal / int / numeric string in ``currency``
    (Money itself refuses floats and anything inexact)."""
    if isinstance(raw, Money):
        return raw
    try:
        return Money(raw, currency)
    except ValidationError as error:
        raise ValidationError(field, error.message) from None


def page_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValidationError("limit", "must be an integer from 1 to 1000")
    return limit


def page_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        at, _, pid = cursor.partition("|")
        parsed = datetime.fromisoformat(at)
    except (ValueError, TypeError, AttributeError):
        raise ValidationError("cursor", "is not a cursor this service returned") from None
    if not pid or parsed.tzinfo is None:
        raise ValidationError("cursor", "is not a cursor this service returned")
    return parsed, pid


def non_negative_value(raw: object, currency: str = "CNY") -> Money:
    """A prospect's potential value: required, exact, not negative."""
    if raw is None:
        raise ValidationError("potential_value", "is required")
    value = money("potential_value", raw, currency)
    if value.is_negative:
        raise ValidationError("potential_value", "must not be negative")
    return value


def optional_text(field: str, value: object, max_length: int = 2000) -> str | None:
    """Free text that may be left out: None and blank both mean "not given"."""
    if value is None or (isinstance(value, str) and not own_text(field, value).strip()):
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, not {type(value).__name__}")
    return require_text(field, value, max_length)
