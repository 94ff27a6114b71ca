"""JSON-safe (un)structuring of every public domain type, in the cattrs preconf style.

    from custmgmt.serialization import make_converter
    c = make_converter()
    data = c.unstructure(prospect)          # dicts, lists, str, int, bool, None
    same = c.structure(data, Prospect)      # unknown keys are refused

Decimals travel as strings, aware datetimes and dates as ISO 8601, enums by
value, value objects (phones, e-mails, names...) as their text. The global
cattrs converter is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, Union

import cattrs
from cattrs.cols import (
    is_namedtuple,
    namedtuple_dict_structure_factory,
    namedtuple_dict_unstructure_factory,
)
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.strategies import configure_tagged_union

from custmgmt.domain.common import (
    Address,
    CreditCode,
    DomainEvent,
    Email,
    Money,
    OrganizationName,
    PersonName,
    Phone,
)
from custmgmt.errors import CustmgmtError, ValidationError
from custmgmt.ports.roster import event_types

__all__ = ["configure_converter", "event_from_dict", "event_to_dict", "make_converter",
           "structure"]

T = TypeVar("T")

_TEXT_VALUES: tuple[type, ...] = (Phone, Email, PersonName, Address, OrganizationName, CreditCode)


def _aware_datetime(value: Any, _type: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("datetime must carry a UTC offset")
    return parsed


def _money(value: Any, _type: Any) -> Money:
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        raise ValueError("money must be {'amount': str, 'currency': str}")
    if not isinstance(value["amount"], str):
        raise ValueError("money amount must be a string")
    return Money(Decimal(value["amount"]), value["currency"])


def _text_value(make: Callable[[str], T]) -> Callable[[Any, Any], T]:
    def structure_it(value: Any, _type: Any) -> T:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return make(value)

    return structure_it


def configure_converter(converter: cattrs.Converter) -> None:
    """Teach ``converter`` custmgmt's types (call it on a converter you own)."""
    converter.register_unstructure_hook(Decimal, str)
    converter.register_structure_hook(Decimal, _text_value(Decimal))
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _aware_datetime)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_structure_hook(date, _text_value(date.fromisoformat))
    converter.register_unstructure_hook(
        Money, lambda m: {"amount": str(m.amount), "currency": m.currency}
    )
    converter.register_structure_hook(Money, _money)
    for cls in _TEXT_VALUES:
        converter.register_unstructure_hook(cls, lambda v: v.value)
        converter.register_structure_hook(cls, _text_value(cls))
    # Named tuples (DueItem) as objects by field name, like the attrs classes.
    converter.register_unstructure_hook_factory(is_namedtuple,
                                                namedtuple_dict_unstructure_factory)
    forbid = bool(getattr(converter, "forbid_extra_keys", False))
    converter.register_structure_hook_factory(
        is_namedtuple, lambda cls: namedtuple_dict_structure_factory(
            cls, converter, "from_converter", forbid))
    converter.register_unstructure_hook_func(
        _is_set, lambda items: _sorted([converter.unstructure(x) for x in items])
    )
    _configure_events(converter)


def _is_set(cls: Any) -> bool:
    return cls in (set, frozenset) or getattr(cls, "__origin__", None) in (set, frozenset)


def _sorted(items: list[Any]) -> list[Any]:
    """Sets as lists in a stable order, so equal sets give equal (and hashable) JSON."""
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def make_converter() -> cattrs.Converter:
    """A new converter configured for custmgmt that refuses unknown keys."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    configure_converter(converter)
    return converter


def structure(converter: cattrs.Converter, data: Any, cls: type[T]) -> T:
    """``converter.structure`` that fails with ValidationError naming the field."""
    try:
        return converter.structure(data, cls)
    except CustmgmtError:
        raise
    except ForbiddenExtraKeysError as error:
        raise ValidationError(sorted(error.extra_fields)[0], "is not a known field") from None
    except ClassValidationError as error:
        messages = cattrs.transform_error(error)
        field, _, message = messages[0].partition(" @ ")
        raise ValidationError(message.removeprefix("$.") or "$", field) from None
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as error:
        name = getattr(cls, "__name__", "a domain event")
        raise ValidationError("$", f"cannot be read as {name}: {error}") from None


def _tag(cls: type) -> str:
    return cls.__name__


EVENTS: Any = Union[event_types()]  # noqa: UP007 -- a Union built from the roster's tuple
"""Every domain event the roster names, as one tagged union: ``{"type": <class name>, ...}``."""


def _configure_events(converter: cattrs.Converter) -> None:
    """Domain events as a tagged union over the roster's event types (never looked up by
    walking subclasses): the tag is the class name, under ``"type"``."""
    configure_tagged_union(EVENTS, converter, tag_name="type", tag_generator=_tag)


_EVENT_TYPES = frozenset(event_types())
_EVENT_NAMES = frozenset(_tag(cls) for cls in _EVENT_TYPES)


def event_to_dict(converter: cattrs.Converter, event: DomainEvent) -> dict[str, Any]:
    """An event as JSON-safe data, with its type name under ``"type"``."""
    cls = type(event)
    if cls not in _EVENT_TYPES:
        raise ValidationError("type", f"{cls.__name__} is not an event the roster names")
    # What the tagged union's hook does (its member's hook, then the tag), without
    # dispatching on the union for every event of an import.
    data: dict[str, Any] = converter.unstructure(event, unstructure_as=cls)
    data["type"] = _tag(cls)
    return data


def event_from_dict(converter: cattrs.Converter, data: dict[str, Any]) -> DomainEvent:
    """The event ``event_to_dict`` wrote (ValidationError for an unknown type or field)."""
    name = data.get("type") if isinstance(data, dict) else None
    if name not in _EVENT_NAMES:
        raise ValidationError("type", "is not a known event type")
    event: DomainEvent = structure(converter, data, EVENTS)
    return event
