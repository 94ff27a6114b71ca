"""attrs validators and converters that fail with ValidationError naming the field."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from types import MemberDescriptorType
from typing import Any, TypeVar

import attrs

from custmgmt.domain.quantities import MAX_INTEGER_DIGITS
from custmgmt.errors import FieldError, ValidationError

T = TypeVar("T")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)
"""Dates and instants outside these are refused: nothing custmgmt records is older,
and date arithmetic (due dates, windows) near ``date.min``/``date.max`` would overflow."""

MAX_MAGNITUDE = 10**MAX_INTEGER_DIGITS
"""Numbers (amounts, quantities, counts) must be smaller than this in absolute value."""
TOO_BIG = (f"has more than {MAX_INTEGER_DIGITS} digits before the decimal point: it cannot "
           "be kept exactly")
MAX_DECIMAL_PLACES = 12
MAX_ITEMS = 100
"""Collections passed to a service (roles, anomalies, certifications) hold at most this many."""

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None: lone surrogates (not encodable
    as UTF-8), NUL and other control characters (PostgreSQL refuses NUL) are refused."""
    if type(value) is not str:  # a subclass's own isprintable or iteration may lie
        value = str.__str__(value)
    if value.isprintable():  # the usual case, checked in C: nothing to refuse
        return None
    for ch in value:
        if ch in _ALLOWED_CONTROLS or ch.isprintable() or ch == " ":
            continue
        category = unicodedata.category(ch)
        if category == "Cs":
            return "contains a lone surrogate (not valid Unicode text)"
        if category == "Cc":
            return "contains a control character"
    return None


def plain(value: object) -> object:
    """A converter: a ``str`` subclass as the plain text it holds; anything else as
    given, for the field's validator to judge (an object that only claims to be a
    ``str`` too: ``text`` refuses it)."""
    if type(value) is str or not isinstance(value, str):
        return value
    try:
        return str.__str__(value)
    except TypeError:
        return value


def own_text(field: str, value: str) -> str:
    """The characters ``value`` holds, as a plain ``str``. A subclass of ``str`` is read
    through ``str``'s own method: its own ``strip``, ``__eq__`` or ``__hash__`` could say
    something else than what is checked and stored. An object that only claims to be a
    ``str`` (``isinstance`` believes its ``__class__``) is refused naming ``field``."""
    if type(value) is str:
        return value
    try:
        return str.__str__(value)
    except TypeError:
        raise ValidationError(field, f"must be text, not {type(value).__name__}") from None


def clean_text(field: str, value: str) -> str:
    """``value`` if it is storable text, else ValidationError naming ``field``."""
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(field, problem)
    return value


def date_problem(value: date) -> str | None:
    """Why a date or datetime is out of range, or None (checked before any arithmetic,
    so that ``datetime(1, 1, 1, tzinfo=...)`` never reaches an overflowing conversion)."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        return f"must be between {EARLIEST_DATE} and {LATEST_DATE}"
    return None


def _aware(value: datetime) -> bool:
    try:
        return value.tzinfo is not None and value.utcoffset() is not None
    except (ValueError, TypeError, ArithmeticError):
        return False


MAX_DIGITS = 27
_PLAIN_NUMBER = re.compile(
    rf"[0-9]{{1,{MAX_INTEGER_DIGITS}}}(?:\.[0-9]{{1,{MAX_DECIMAL_PLACES}}})?")
"""Digits, at most ``MAX_INTEGER_DIGITS`` of them before an optional point and at most
``MAX_DECIMAL_PLACES`` after: finite, in range, and (as the sum is at most
``MAX_DIGITS``) never too many digits; ``_bounded`` would pass it unchanged."""
assert MAX_INTEGER_DIGITS + MAX_DECIMAL_PLACES <= MAX_DIGITS


def exact_decimal(field: str, value: object) -> Decimal:
    """A Decimal, int or numeric string as an exact, finite, bounded Decimal.

    Floats are refused (inexact); so are NaN, infinities, ``1E+1000000`` and
    5,000-digit integers (every number custmgmt keeps is below ``MAX_MAGNITUDE``).
    """
    if isinstance(value, bool | float):
        raise ValidationError(field, "must be a Decimal, an int or a numeric string, not "
                              + type(value).__name__)
    if isinstance(value, int):
        if not -MAX_MAGNITUDE < value < MAX_MAGNITUDE:
            raise ValidationError(field, TOO_BIG)
        return Decimal(value)
    if isinstance(value, str):
        value = own_text(field, value)  # its characters, not what a subclass's strip says
        if _PLAIN_NUMBER.fullmatch(value):  # the usual case: within every bound below
            return Decimal(value)
        if len(value) > 100:
            raise ValidationError(field, "is not a number")
        try:
            number = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            raise ValidationError(field, "is not a number") from None
    elif isinstance(value, Decimal):
        number = value
    else:
        raise ValidationError(field, f"must be a Decimal, not {type(value).__name__}")
    return _bounded(field, number)


def _bounded(field: str, number: Decimal) -> Decimal:
    if not number.is_finite():
        raise ValidationError(field, "must be finite")
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValidationError(field, TOO_BIG)
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    significant = list(digits)
    while len(significant) > 1 and significant[-1] == 0 and exponent < 0:
        significant.pop()
        exponent += 1
    if exponent < -MAX_DECIMAL_PLACES:
        raise ValidationError(field, f"must have at most {MAX_DECIMAL_PLACES} decimal places")
    if len(significant) > MAX_DIGITS:
        raise ValidationError(field, "has too many digits")
    return number


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


def plain_text(value: object, max_length: int) -> bool:
    """Whether ``value`` is printable, non-blank ``str`` of at most ``max_length``
    characters: what ``text(max_length)`` accepts in a few C calls (it accepts more,
    checked slowly: text with tabs or line breaks, a ``str`` subclass)."""
    return type(value) is str and len(value) <= max_length and value.isprintable() \
        and bool(value.strip())


def storable_text(value: object, max_length: int) -> bool:
    """Whether ``value`` is non-blank text of at most ``max_length`` characters that a
    storage keeps as it is (no lone surrogate or control character but tab and line
    breaks: :func:`text_problem`); a ``str`` subclass is read through ``str``'s own
    methods (a plugin's may lie)."""
    return isinstance(value, str) and 0 < str.__len__(value) <= max_length \
        and bool(str.strip(value)) and (str.isprintable(value) or text_problem(value) is None)


def text(max_length: int = 2000) -> Validator:
    """A non-blank string of at most ``max_length`` characters."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if plain_text(value, max_length):  # the usual case first, in a few C calls
            return
        if not isinstance(value, str):
            raise ValidationError(attribute.name, f"must be text, not {type(value).__name__}")
        value = own_text(attribute.name, value)  # what is stored, whatever a subclass says
        if not value.strip():
            raise ValidationError(attribute.name, "must not be empty")
        if len(value) > max_length:
            raise ValidationError(attribute.name, f"must be at most {max_length} characters")
        clean_text(attribute.name, value)

    return check


_EARLIEST_UTC = datetime.combine(EARLIEST_DATE, time.min, UTC)
_LATEST_UTC = datetime.combine(LATEST_DATE, time.max, UTC)


def utc_instant(value: object) -> bool:
    """Whether ``value`` is a ``datetime`` in UTC within range: what ``aware`` accepts
    without a Python call (it accepts more: any time zone, a subclass)."""
    return type(value) is datetime and value.tzinfo is UTC \
        and _EARLIEST_UTC <= value <= _LATEST_UTC


def aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A timezone-aware datetime (instants are compared across zones)."""
    if utc_instant(value):
        return  # the usual case: an instant of the clock, in UTC and in range
    if not isinstance(value, datetime):
        raise ValidationError(attribute.name, f"must be a datetime, not {type(value).__name__}")
    if not _aware(value):
        raise ValidationError(attribute.name, "must be timezone-aware")
    problem = date_problem(value)
    if problem is not None:
        raise ValidationError(attribute.name, problem)


def a_date(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is date and EARLIEST_DATE <= value <= LATEST_DATE:
        return  # the usual case: a plain date in range
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(attribute.name, f"must be a date, not {type(value).__name__}")
    problem = date_problem(value)
    if problem is not None:
        raise ValidationError(attribute.name, problem)


def non_negative_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is int and value >= 0:
        return  # the usual case (not a bool: its type is bool)
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


_TYPE_NAME = type.__dict__["__name__"]


def type_name(value: object) -> str:
    """The name of ``value``'s type as the interpreter keeps it, as plain text: a
    plugin's metaclass may claim another name, or raise when asked."""
    return str.__str__(_TYPE_NAME.__get__(type(value)))


def asked(field: str, plugin: str, source: object, method: str, *arguments: object
          ) -> object:
    """``source.<method>(*arguments)``: a plugin's answer to what custmgmt asks it
    (``plugin`` names it in a refusal). A plugin may fail in any way, finding the method
    included. A ``ValidationError`` it raises is passed on, made again from its fields
    and messages if they are text: a policy may refuse its input (a value in another
    currency). Any other exception, custmgmt's own too (a plugin must not steer its
    caller's retries), is ``ValidationError`` naming ``field`` and the exception's type
    alone: its message may quote the input, and it is not chained to the refusal."""
    try:
        return getattr(source, method)(*arguments)
    except ValidationError as error:
        refused = _plain_refusal(error)
        if refused is None:
            raise ValidationError(field, f"the {plugin} failed (ValidationError)") from None
        raise refused from None
    except Exception as error:
        raise ValidationError(field, f"the {plugin} failed ({type_name(error)})") from None


def _plain_refusal(error: ValidationError) -> ValidationError | None:
    """``error`` made again from its problems, if each is a ``FieldError`` of text (a
    plugin's subclass may hide them behind anything)."""
    try:
        problems = vars(error).get("errors")
    except Exception:
        return None
    if type(problems) is not tuple or not problems or not all(
            type(e) is FieldError and type(e.path) is str and type(e.message) is str
            for e in problems):
        return None
    return ValidationError.of([FieldError(e.path, e.message) for e in problems])


def require_text(field: str, value: object, max_length: int = 2000) -> str:
    """Check a service argument the way ``text`` checks an attribute; the text it holds,
    stripped, as a plain ``str``."""
    if isinstance(value, str):
        value = own_text(field, value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters")
    return clean_text(field, value.strip())


def require_aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or not _aware(value):
        raise ValidationError(field, "must be a timezone-aware datetime")
    problem = date_problem(value)
    if problem is not None:
        raise ValidationError(field, problem)
    return value


def require_date(field: str, value: object) -> date:
    """A calendar date (not a datetime) between ``EARLIEST_DATE`` and ``LATEST_DATE``."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, "must be a date")
    problem = date_problem(value)
    if problem is not None:
        raise ValidationError(field, problem)
    return value


def require_enum(field: str, enum_type: type[T], value: object) -> T:
    """Accept a member or its value; name the allowed values otherwise."""
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str):  # looked up by its characters, not a subclass's hash
        value = own_text(field, value)
    try:
        return enum_type(value)  # type: ignore[call-arg]
    except (ValueError, TypeError):
        allowed = ", ".join(str(m.value) for m in enum_type)  # type: ignore[attr-defined]
        raise ValidationError(field, f"must be one of: {allowed}") from None


def require_id(field: str, value: object) -> str:
    """An id as services take it: a non-empty string of at most 200 characters (a
    plain ``str``)."""
    if isinstance(value, str):
        value = own_text(field, value)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValidationError(field, "must be an id (a non-empty string)")
    return clean_text(field, value)


_UNCHECKED: dict[type, Callable[..., Any]] = {}


def unchecked(cls: type[T]) -> Callable[..., T]:
    """A constructor of the frozen, slotted attrs class ``cls`` that runs none of its
    validators (its ``__attrs_post_init__`` still runs): the same keyword arguments and
    defaults, each value stored as given.

    Only for values the caller has just proven to pass those validators (a bulk import
    checks each input once, then builds several records from it; its checks are the
    validators' own fast paths, and anything else goes to the validating constructor,
    which raises what it always raised). Public constructors keep validating."""
    found = _UNCHECKED.get(cls)
    if found is None:
        found = _UNCHECKED[cls] = _unchecked(cls)
    return found


def _unchecked(cls: type) -> Callable[..., Any]:
    fields = attrs.fields(cls)
    scope: dict[str, Any] = {"cls": cls, "new": object.__new__}
    params, body = [], []
    for n, a in enumerate(fields):
        if not a.init or isinstance(a.default, attrs.Factory) or a.converter is not None:  # type: ignore[arg-type]
            raise TypeError(f"{cls.__name__}.{a.name}: not a plain field")
        if a.default is attrs.NOTHING:
            params.append(a.name)
        else:
            scope[f"default_{n}"] = a.default
            params.append(f"{a.name}=default_{n}")
        # the slot's own descriptor: what ``object.__setattr__`` finds, without the search
        scope[f"set_{n}"] = slot_setter(cls, a.name)
        body.append(f"    set_{n}(self, {a.name})\n")
    if hasattr(cls, "__attrs_post_init__"):
        body.append("    self.__attrs_post_init__()\n")
    exec(f"def make(*, {', '.join(params)}):\n    self = new(cls)\n{''.join(body)}"
         "    return self\n", scope)
    return scope["make"]  # type: ignore[no-any-return]


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of slot ``name`` of ``cls``: what ``object.__setattr__`` finds, without
    the search (for building instances of frozen classes that ``unchecked`` cannot: a
    field set by a default of its own, as ``Phone.key``)."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if isinstance(found, MemberDescriptorType):
            return found.__set__
    raise TypeError(f"{cls.__name__}.{name}: not a slot")
