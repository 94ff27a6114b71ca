"""attrs validators and converters that fail with ValidationError naming the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import attrs

from custmgmt.errors import ValidationError

T = TypeVar("T")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def of_type(*types: type) -> Validator:
    """Like ``attrs.validators.instance_of`` but raises ValidationError."""
    names = " or ".join(t.__name__ for t in types)

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        # bool is an int subclass; nobody means True when they write a quantity.
        if isinstance(value, bool) and bool not in types:
            raise ValidationError(attribute.name, f"must be {names}, not bool")
        if not isinstance(value, types):
            raise ValidationError(attribute.name, f"must be {names}, not {type(value).__name__}")

    return check


def optional(validator: Validator) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            validator(inst, attribute, value)

    return check


def text(max_length: int = 2000) -> Validator:
    """A non-blank string of at most ``max_length`` characters."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            raise ValidationError(attribute.name, f"must be text, not {type(value).__name__}")
        if not value.strip():
            raise ValidationError(attribute.name, "must not be empty")
        if len(value) > max_length:
            raise ValidationError(attribute.name, f"must be at most {max_length} characters")

    return check


def aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A timezone-aware datetime (instants are compared across zones)."""
    if not isinstance(value, datetime):
        raise ValidationError(attribute.name, f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(attribute.name, "must be timezone-aware")


def a_date(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(attribute.name, f"must be a date, not {type(value).__name__}")


def non_negative_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(attribute.name, f"must be an integer, not {type(value).__name__}")
    if value < 0:
        raise ValidationError(attribute.name, "must not be negative")


def tuple_of(*types: type) -> Validator:
    names = " or ".join(t.__name__ for t in types)

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple):
            raise ValidationError(attribute.name, "must be a tuple")
        for i, item in enumerate(value):
            if not isinstance(item, types):
                raise ValidationError(f"{attribute.name}[{i}]", f"must be {names}")

    return check


def require_text(field: str, value: object, max_length: int = 2000) -> str:
    """Check a service argument the way ``text`` checks an attribute."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters")
    return value.strip()


def require_aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "must be a timezone-aware datetime")
    return value


def require_date(field: str, value: object) -> date:
    """A calendar date (not a datetime)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, "must be a date")
    return value


def require_enum(field: str, enum_type: type[T], value: object) -> T:
    """Accept a member or its value; name the allowed values otherwise."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except (ValueError, TypeError):
        allowed = ", ".join(str(m.value) for m in enum_type)  # type: ignore[attr-defined]
        raise ValidationError(field, f"must be one of: {allowed}") from None


def require_id(field: str, value: object) -> str:
    """An id as services take it: a non-empty string of at most 200 characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValidationError(field, "must be an id (a non-empty string)")
    return value
