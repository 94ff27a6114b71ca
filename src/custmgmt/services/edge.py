"""The edge every service call passes: arguments checked against their annotations.

``@guarded`` on a service class wraps each public method. Before the method runs
(and so before anything is read or written) every argument is checked against its
type annotation, and every piece of text anywhere in it for characters no storage
can keep (lone surrogates, NUL, other control characters). Every bad argument of
the call is listed in one ``ValidationError``, not just the first.

What is checked, by annotation:

- ``str``: text, at most ``MAX_TEXT`` characters, storable (see ``text_problem``);
  a subclass of ``str`` is passed on as the plain text it holds;
- ``int`` / ``bool``: the exact kind (``True`` is not a count), ``int`` below
  ``MAX_MAGNITUDE``;
- ``date`` / ``datetime``: the exact kind, aware for ``datetime``, between
  ``EARLIEST_DATE`` and ``LATEST_DATE``;
- an enum: a member or (with ``| str``) one of its values, checked by the method;
- ``Iterable[X]``: a collection, not a string or mapping (``anomalies="torn"`` is
  refused, not split into letters) of at most ``MAX_ITEMS`` items, each an ``X``;
  an ``Iterable`` of rows (mappings) is streamed and checked row by row instead;
- a callable type: callable; any other class: an instance of it;
- ``object``: any value, but its text and numbers are still checked.
"""

from __future__ import annotations

import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar

from custmgmt.domain.quantities import MAX_INTEGER_DIGITS
from custmgmt.domain.validation import (
    MAX_ITEMS,
    MAX_MAGNITUDE,
    TOO_BIG,
    date_problem,
    text_problem,
)
from custmgmt.errors import FieldError, ValidationError

MAX_TEXT = 100_000
"""No text argument is longer than this (fields have their own, smaller limits)."""

C = TypeVar("C", bound=type)
_NONE = type(None)


class _Bad(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _text(value: str) -> None:
    if len(value) > MAX_TEXT:
        raise _Bad(f"must be at most {MAX_TEXT} characters")
    problem = None if value.isprintable() else text_problem(value)
    if problem is not None:
        raise _Bad(problem)


def _number(value: int | Decimal) -> None:
    if isinstance(value, int) and not -MAX_MAGNITUDE < value < MAX_MAGNITUDE:
        raise _Bad(TOO_BIG)
    if (isinstance(value, Decimal) and value.is_finite() and value
            and value.adjusted() >= MAX_INTEGER_DIGITS):
        raise _Bad(TOO_BIG)


def _day(value: date) -> None:
    problem = date_problem(value)
    if problem is not None:
        raise _Bad(problem)


def _deep(value: object, depth: int = 0) -> None:
    """Text, numbers and dates anywhere inside ``value`` (an ``object`` argument)."""
    if isinstance(value, str):
        _a_text(value)  # its own characters (a subclass or impostor may say otherwise)
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        _number(value)
    elif isinstance(value, date):
        _day(value)
    elif depth >= 3:
        return
    elif isinstance(value, Mapping):
        for key, item in islice(value.items(), MAX_ITEMS + 1):
            _deep(key, depth + 1)
            _deep(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        if len(value) > MAX_ITEMS:
            raise _Bad(f"must hold at most {MAX_ITEMS} items")
        for item in value:
            _deep(item, depth + 1)


def _name(hint: object) -> str:
    if hint is _NONE:
        return "None"
    return getattr(hint, "__name__", None) or str(hint)


def _union(options: tuple[Any, ...], value: object) -> object:
    if value is None and _NONE in options:
        return None
    problems: list[str] = []
    for option in options:
        if option is _NONE:
            continue
        try:
            return _check(option, value)
        except _Bad as bad:
            problems.append(bad.message)
    if len(problems) == 1:
        raise _Bad(problems[0])
    allowed = " or ".join(_name(o) for o in options)
    raise _Bad(f"must be {allowed}, not {type(value).__name__}")


def _kind(accept: Callable[[object], bool], what: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not accept(value):
            raise _Bad(f"must be {what}, not {type(value).__name__}")
        _deep(value)
        return value

    return check


def _a_text(value: object) -> object:
    """``_kind`` for ``str``, in one call (text is the commonest argument). A subclass
    of ``str`` is passed on as the plain text it holds: its own methods (``__eq__``,
    ``__hash__``, ``isprintable``...) could say something else than what is stored."""
    if type(value) is not str:
        try:
            value = str.__str__(value)
        except TypeError:  # not text, or an object that only claims to be a str
            raise _Bad(f"must be text, not {type(value).__name__}") from None
    _text(value)
    return value


def _a_date(value: object) -> object:
    """``_kind`` for ``date``, in one call."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise _Bad(f"must be a date, not {type(value).__name__}")
    _day(value)
    return value


_SIMPLE: dict[object, Callable[[object], object]] = {
    str: _a_text,
    bool: _kind(lambda v: isinstance(v, bool), "True or False"),
    int: _kind(lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    date: _a_date,
    datetime: _kind(lambda v: isinstance(v, datetime), "a datetime"),
}


def _check(hint: Any, value: object) -> object:
    """``value`` if it fits ``hint`` (maybe collected into a tuple), else raise _Bad."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _union(typing.get_args(hint), value)
    if origin is not None and origin in (Iterable, typing.Iterable):
        return _iterable(typing.get_args(hint), value)
    if origin is not None and origin in (Callable, typing.Callable):
        if not callable(value):
            raise _Bad(f"must be callable, not {type(value).__name__}")
        return value
    simple = _SIMPLE.get(hint)
    if simple is not None:
        return simple(value)
    if isinstance(hint, type) and hint is not object:
        if not isinstance(value, hint):
            expected = "one of its values" if issubclass(hint, enum.Enum) else hint.__name__
            raise _Bad(f"must be {expected}, not {type(value).__name__}")
        return value
    _deep(value)
    return value


def _iterable(args: tuple[Any, ...], value: object) -> object:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise _Bad(f"must be a collection (a list, tuple or set), not {type(value).__name__}")
    item_hint = args[0] if args else Any
    if typing.get_origin(item_hint) in (Mapping, typing.Mapping):
        return value  # rows stream through and are checked one by one
    items = tuple(islice(iter(value), MAX_ITEMS + 1))
    if len(items) > MAX_ITEMS:
        raise _Bad(f"must hold at most {MAX_ITEMS} items")
    checked = []
    for i, item in enumerate(items):
        try:
            checked.append(_check(item_hint, item))  # as checked: a str subclass as its text
        except _Bad as bad:
            raise _Bad(f"item {i} {bad.message}") from None
    return tuple(checked)


def _checker(hint: Any) -> Callable[[object], object]:
    """What ``_check(hint, value)`` does, with the dispatch on ``hint`` done once (the
    edge runs on every call: looking the hint apart per call cost as much as a query)."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(hint)
        nullable = _NONE in options
        checks = tuple(_checker(o) for o in options if o is not _NONE)
        allowed = " or ".join(_name(o) for o in options)

        def union(value: object) -> object:
            if value is None and nullable:
                return None
            problems: list[str] = []
            for check in checks:
                try:
                    return check(value)
                except _Bad as bad:
                    problems.append(bad.message)
            if len(problems) == 1:
                raise _Bad(problems[0])
            raise _Bad(f"must be {allowed}, not {type(value).__name__}")

        return union
    simple = _SIMPLE.get(hint)
    if origin is None and simple is not None:
        return simple
    if origin is None and isinstance(hint, type) and hint is not object:
        expected = "one of its values" if issubclass(hint, enum.Enum) else hint.__name__

        def instance(value: object) -> object:
            if not isinstance(value, hint):
                raise _Bad(f"must be {expected}, not {type(value).__name__}")
            return value

        return instance
    return functools.partial(_check, hint)


_PLAIN = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _bound_by_inspect(function: Callable[..., Any], signature: inspect.Signature,
                      hints: dict[str, Any], args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any:
    """The general path: any signature, and bind()'s message for arguments that do not fit."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise ValidationError("arguments", str(error)) from None
    errors: list[FieldError] = []
    for name, value in list(bound.arguments.items()):
        if name == "self":
            continue
        kind = signature.parameters[name].kind
        hint = hints.get(name, Any)
        if kind is inspect.Parameter.VAR_KEYWORD:
            for key, item in value.items():
                try:
                    value[key] = _check(hint, item)
                except _Bad as bad:
                    errors.append(FieldError(key, bad.message))
            continue
        try:
            bound.arguments[name] = _check(hint, value)
        except _Bad as bad:
            errors.append(FieldError(name, bad.message))
    if errors:
        raise ValidationError.of(errors)
    return function(*bound.args, **bound.kwargs)


def _binding(parameters: Mapping[str, inspect.Parameter]
             ) -> tuple[Callable[..., tuple[Any, ...]], Callable[..., Any]]:
    """For a plain signature: a function with the same parameters (names, kinds and
    default objects) that returns its arguments in order, and one that calls a
    function with such values as the signature takes them. Python binds the
    arguments itself (a TypeError if they do not fit), sooner than a dictionary
    built and looked through per call."""
    names = list(parameters)
    namespace: dict[str, Any] = {}
    accepted: list[str] = []
    passed: list[str] = []
    starred = False
    for i, (name, parameter) in enumerate(parameters.items()):
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not starred:
            accepted.append("*")
            starred = True
        if parameter.default is inspect.Parameter.empty:
            accepted.append(name)
        else:
            namespace[f"_edge_default_{i}"] = parameter.default
            accepted.append(f"{name}=_edge_default_{i}")
        passed.append(f"{name}={name}" if starred else name)
    source = (f"def bind({', '.join(accepted)}):\n    return ({', '.join(names)},)\n"
              f"def call(_edge_target, {', '.join(names)}):\n"
              f"    return _edge_target({', '.join(passed)})\n")
    exec(source, namespace)  # parameter names only: identifiers
    return namespace["bind"], namespace["call"]


def _hints_of(function: Callable[..., Any]) -> dict[str, Any]:
    """``function``'s type hints, resolved when it is first called (its module is
    loaded by then); none if a hint only a type checker can resolve."""
    try:
        return typing.get_type_hints(function)
    except (NameError, TypeError):
        return {}


def _wrap(function: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(function)
    parameters = signature.parameters
    # no *args, **kwargs or positional-only parameters: bound by Python itself
    plain = all(p.kind in _PLAIN for p in parameters.values())
    if not plain:
        return _wrap_any(function, signature)
    bind, call = _binding(parameters)
    hints: dict[str, Any] | None = None
    # (position, name, check, default): a default left as it is, as given, unchecked
    checks: tuple[tuple[int, str, Callable[[object], object], object], ...] = ()
    missing = object()

    def resolve() -> dict[str, Any]:
        nonlocal hints, checks
        if hints is None:
            hints = _hints_of(function)
            checks = tuple(
                (i, name, _checker(hints.get(name, Any)),
                 missing if p.default is inspect.Parameter.empty else p.default)
                for i, (name, p) in enumerate(parameters.items()) if name != "self")
        return hints

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        found = hints if hints is not None else resolve()
        try:
            values = list(bind(*args, **kwargs))
        except TypeError:  # bind() says what is wrong
            return _bound_by_inspect(function, signature, found, args, kwargs)
        errors: list[FieldError] | None = None
        for i, name, check, default in checks:  # in the signature's order, as bind() lists them
            value = values[i]
            if value is default:
                continue
            try:
                values[i] = check(value)
            except _Bad as bad:
                if errors is None:
                    errors = []
                errors.append(FieldError(name, bad.message))
        if errors:
            raise ValidationError.of(errors)
        return call(function, *values)

    return checked


def _wrap_any(function: Callable[..., Any], signature: inspect.Signature
              ) -> Callable[..., Any]:
    """``_wrap`` for any other signature: bound by ``inspect`` at every call."""
    hints: dict[str, Any] | None = None

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        nonlocal hints
        if hints is None:
            hints = _hints_of(function)
        return _bound_by_inspect(function, signature, hints, args, kwargs)

    return checked


def guarded(cls: C) -> C:
    """Check the arguments of every public method of a service class (see the module)."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _wrap(member))
    return cls
