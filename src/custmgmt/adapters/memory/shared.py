"""Values many records repeat, kept once: what lets the memory store hold a million
prospects in a small fraction of the memory a copy per record would take.

Most rows of an import share the amount of money, the registration history entry
(same kind, person, time and grade), the audit snapshot (grade, stage, owner,
version) and the next due date. ``Shared`` hands back one stored instance for
each distinct value, looked up by an exact key: values that are equal but not
the same (``Decimal("1.0")`` and ``Decimal("1.00")``, one instant in two time
zones) are never merged, so what reads back is what was stored.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, MutableMapping
from datetime import date, datetime
from types import MemberDescriptorType
from typing import Any, TypeVar

import attrs

from custmgmt.domain.common import Money
from custmgmt.domain.prospects import HistoryEntry

T = TypeVar("T")

LIMIT = 4096
"""Distinct values remembered before starting afresh (the table never grows unbounded;
values already stored stay shared)."""


def _moment(at: datetime) -> tuple[object, ...]:
    return (at, at.tzinfo, at.fold)


def _pairs(pairs: tuple[tuple[str, str], ...]) -> Hashable | None:
    for pair in pairs:
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str \
                or type(pair[1]) is not str:
            return None
    return pairs


def _text(value: str | None) -> bool:
    return value is None or type(value) is str


def _entry(entry: HistoryEntry) -> Hashable | None:
    if type(entry) is not HistoryEntry or not (
            type(entry.by) is str and type(entry.after) is str and _text(entry.before)
            and _text(entry.reason) and type(entry.at) is datetime):
        return None
    return (entry.kind, entry.by, *_moment(entry.at), entry.before, entry.after, entry.reason)


class Shared:
    """One instance per distinct value of each kind it is asked about."""

    def __init__(self) -> None:
        self._seen: dict[Hashable, object] = {}
        self._days: dict[date, date] = {}
        """Plain dates by themselves (a date of exact type ``date`` is equal only to the
        same day: no key to make)."""

    def __getstate__(self) -> dict[str, object]:
        return {}  # a cache, not stored data: it pickles (and compares) as empty

    def __setstate__(self, _state: dict[str, object]) -> None:
        self._seen = {}
        self._days = {}

    def _one(self, key: Hashable | None, value: T) -> T:
        if key is None:
            return value
        seen = self._seen.get(key)
        if seen is not None:
            return seen  # type: ignore[return-value]
        if len(self._seen) >= LIMIT:
            self._seen.clear()
        self._seen[key] = value
        return value

    def money(self, value: Money) -> Money:
        if type(value) is not Money or type(value.currency) is not str:
            return value
        return self._one(("money", value.currency, value.amount.as_tuple()), value)

    def day(self, value: date) -> date:
        if type(value) is not date:
            return value
        days = self._days
        seen = days.get(value)
        if seen is not None:
            return seen
        if len(days) >= LIMIT:
            days.clear()
        days[value] = value
        return value

    def pairs(self, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        if type(value) is not tuple:
            return value
        key = _pairs(value)
        return value if key is None else self._one(("pairs", key), value)

    def history(self, value: tuple[HistoryEntry, ...]) -> tuple[HistoryEntry, ...]:
        if type(value) is not tuple or len(value) > 2:
            return value
        keys = [_entry(entry) for entry in value]
        if any(key is None for key in keys):
            return value
        return self._one(("history", *keys), value)


V = TypeVar("V")


class ByKindAndId(MutableMapping[tuple[str, str], V]):
    """A map keyed by ``(kind, id)`` pairs (audit trails, chain heads), kept as one
    inner map per kind: a million records of one kind cost no million key tuples."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[str, V]] = {}

    def __getitem__(self, key: tuple[str, str]) -> V:
        return self._kinds[key[0]][key[1]]

    def of_kind(self, kind: str) -> dict[str, V]:
        """The inner map of ``kind`` (made empty if none), to write many of one kind
        without a method call each; what is put in it is in this map."""
        inner = self._kinds.get(kind)
        if inner is None:
            inner = self._kinds[kind] = {}
        return inner

    def inner(self, kind: str) -> dict[str, V] | None:
        """The inner map of ``kind`` to read (None: nothing of that kind yet)."""
        return self._kinds.get(kind)

    def get(self, key: tuple[str, str], default: None = None) -> V | None:  # type: ignore[override]
        inner = self._kinds.get(key[0])
        return None if inner is None else inner.get(key[1])

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        inner = self._kinds.get(key[0])
        return inner is not None and key[1] in inner

    def __setitem__(self, key: tuple[str, str], value: V) -> None:
        inner = self._kinds.get(key[0])
        if inner is None:
            inner = self._kinds[key[0]] = {}
        inner[key[1]] = value

    def __delitem__(self, key: tuple[str, str]) -> None:
        inner = self._kinds[key[0]]
        del inner[key[1]]
        if not inner:
            del self._kinds[key[0]]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((kind, rid) for kind, inner in list(self._kinds.items()) for rid in list(inner))

    def __len__(self) -> int:
        return sum(len(inner) for inner in list(self._kinds.values()))


_COPIERS: dict[type, tuple[Callable[[Any], Any], frozenset[str]]] = {}


def _copier(cls: type) -> tuple[Callable[[Any], Any], frozenset[str]]:
    found = _COPIERS.get(cls)
    if found is None:
        names = [a.name for a in attrs.fields(cls)]
        body = "".join(f"    setattr(new, {name!r}, record.{name})\n" for name in names)
        scope: dict[str, Any] = {"cls": cls, "make": object.__new__,
                                 "setattr": object.__setattr__}
        exec(f"def copy(record):\n    new = make(cls)\n{body}    return new\n", scope)
        found = _COPIERS[cls] = (scope["copy"], frozenset(names))
    return found


def restamped(record: T, **changes: object) -> T:
    """A copy of the frozen attrs ``record`` with ``changes``, made without running its
    validators again. The memory storage changes only what it owns (the version it
    stamps) or swaps a value for an equal, shared one: every check that passed when
    ``record`` was built still holds, and re-running them all (``attrs.evolve``) costs
    several times the copy."""
    copy, names = _copier(type(record))
    new = copy(record)
    for name, value in changes.items():
        if name not in names:
            raise TypeError(f"{type(record).__name__} has no field {name!r}")
        object.__setattr__(new, name, value)
    return new  # type: ignore[no-any-return]


_STAMPERS: dict[type, Callable[[Any, int], Any]] = {}


def stamped(record: T, version: int) -> T:
    """``restamped(record, version=version)``, in one generated copy."""
    stamp = _STAMPERS.get(type(record))
    if stamp is None:
        cls: Any = type(record)
        names = [a.name for a in attrs.fields(cls)]
        if "version" not in names:
            raise TypeError(f"{cls.__name__} has no field 'version'")
        # each slot set through its own descriptor (what ``object.__setattr__`` finds)
        scope: dict[str, Any] = {"cls": cls, "make": object.__new__,
                                 **{f"set_{n}": _slot(cls, name) for n, name in enumerate(names)}}
        body = "".join(f"    set_{n}(new, record.{name})\n"
                       for n, name in enumerate(names) if name != "version")
        exec(f"def stamp(record, version):\n    new = make(cls)\n{body}"
             f"    set_{names.index('version')}(new, version)\n    return new\n", scope)
        stamp = _STAMPERS[cls] = scope["stamp"]
    return stamp(record, version)  # type: ignore[no-any-return]


def _slot(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of the slot ``name`` of ``cls`` (``object.__setattr__`` for a class
    without one)."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if isinstance(found, MemberDescriptorType):
            return found.__set__
    return lambda record, value: object.__setattr__(record, name, value)
