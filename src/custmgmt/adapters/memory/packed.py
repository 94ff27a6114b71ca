"""Committed records kept as packed tuples that the garbage collector does not walk.

A million prospects held as domain objects are some ten million small objects the
cyclic garbage collector tracks: each of its full collections walks every one of
them, and while a store grows it runs one every time it has grown by a quarter,
which cost about as much as the rest of loading it together. A record packed by
``pack`` is a tuple of plain values (text, numbers, ``Decimal``, dates, times):
CPython stops tracking such a tuple the first time a collection sees it, so a
packed store costs the collector almost nothing, whatever it holds.

``pack`` turns a frozen attrs record into ``(code, field, field, ...)``, each field
packed in turn; an enum member into ``(code, name)`` (one tuple per member,
shared); a tuple or frozenset into ``(TUPLE | FROZENSET, item, ...)``. Anything
else is kept as it is (still correct, only tracked). ``unpack`` builds the record
again, field by field, without running its validators: every check passed when it
was first built, and the values are the very objects it was built with, so what
reads back is equal to what was stored, with the same types (``Decimal("1.00")``
stays ``1.00``, an instant stays in its own time zone).

Records of some classes (``_KEYS``: amounts of money, history entries) repeat in
many rows: each distinct value is packed once and shared, found by an exact key
(values equal but not the same, ``Decimal("1.0")`` and ``Decimal("1.00")``, are
never merged).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import attrs

from custmgmt.domain.audit import text_pairs
from custmgmt.domain.common import Money
from custmgmt.domain.prospects import HistoryEntry

Packed = Any
"""A packed value: a plain value, or a tuple whose first item is its code."""

ATOMIC: frozenset[type] = frozenset({
    str, int, bool, float, type(None), bytes, Decimal, date, datetime, time, timedelta})
"""Types kept as they are: none is tracked by the garbage collector."""

TUPLE, FROZENSET = 0, 1


LIMIT = 4096
"""Distinct shared values remembered before starting afresh (bounded memory; values
already stored stay shared)."""

_lock = threading.Lock()
_packers: dict[type, Callable[[Any], Packed]] = {}
_unpackers: list[Callable[[tuple[Any, ...]], Any]] = []
_fields: dict[type, dict[str, int]] = {}
_codes: dict[type, int] = {}
"""The code each record class's packed tuples begin with."""
_seen: dict[Hashable, Packed] = {}
"""Shared packed values by exact key (see ``_KEYS``)."""
_shared_items: dict[int, tuple[object, Packed]] = {}
"""A tuple of one shared packed value, by the id of that value (which it keeps alive)."""
_shared: dict[int, list[Any]] = {}
"""Every shared packed value by its id: [the value (kept alive), what it reads back as
once read]. The rows that share a value read back one instance too, as the immutable
values they are may be."""
_UNREAD = object()
_identical: dict[int, tuple[object, Packed]] = {}
"""A value whose packed form is shared (a record of ``_KEYS``, a tuple of one such
record, a tuple of text pairs), by its identity: (the value, kept alive; its packed
form). An import hands many rows one instance of such a value: it is packed once,
without its exact key being made again for every row."""


def pack(value: object) -> Packed:
    """``value`` as a packed value (a plain value is its own packed form)."""
    kind = type(value)
    if kind in ATOMIC:
        return value
    packer = _packers.get(kind)
    if packer is None:
        packer = _packer(kind)
    return packer(value)


def unpack(packed: Packed) -> Any:
    """What ``pack`` was given (an equal value, built again)."""
    if type(packed) is not tuple:
        return packed
    return _unpackers[packed[0]](packed)


def position(cls: type, name: str) -> int:
    """Where field ``name`` of a record of ``cls`` sits in its packed tuple."""
    if cls not in _fields:
        _packer(cls)
    return _fields[cls][name]


def builder(cls: type, given: Sequence[str], **fixed: object) -> Callable[..., Packed]:
    """A function of the fields ``given`` of the record class ``cls``, each passed
    already packed and in that order, returning what ``pack`` returns for the record
    of those fields whose others are ``fixed`` or, if not fixed, their defaults (packed
    here once): a record packed without being built, for a storage that writes many
    from plain columns. Not for classes whose records are shared (``_KEYS``)."""
    if cls not in _packers:
        _packer(cls)
    if cls in _KEYS or cls not in _codes:
        raise TypeError(f"{cls.__name__}: its records cannot be built packed (shared, or not "
                        "packed as records)")
    scope: dict[str, Any] = {}
    items = []
    for a in attrs.fields(cls):
        if a.name in given:
            items.append(f"v{given.index(a.name)}")
            continue
        value = fixed.get(a.name, a.default)
        if value is attrs.NOTHING or isinstance(value, attrs.Factory):  # type: ignore[arg-type]
            raise TypeError(f"{cls.__name__}.{a.name}: neither given nor fixed")
        scope[f"c_{a.name}"] = pack(value)
        items.append(f"c_{a.name}")
    unknown = (set(given) | set(fixed)) - {a.name for a in attrs.fields(cls)}
    twice = set(given) & set(fixed) if len(set(given)) == len(given) else set(given)
    if unknown or twice:
        raise TypeError(f"{cls.__name__}: no such fields, or given twice: "
                        f"{sorted(unknown | twice)}")
    params = ", ".join(f"v{n}" for n in range(len(given)))
    exec(f"def build({params}):\n    return ({_codes[cls]}, {', '.join(items)},)\n", scope)
    build: Callable[..., Packed] = scope["build"]
    return build


def _text(value: object) -> bool:
    return value is None or type(value) is str


def _money_key(money: Money) -> Hashable | None:
    if type(money.amount) is not Decimal or type(money.currency) is not str:
        return None
    return (Money, money.currency, str(money.amount))  # str keeps the exponent: exact


def _entry_key(entry: HistoryEntry) -> Hashable | None:
    at = entry.at
    if not (type(entry.by) is str and type(entry.after) is str and _text(entry.before)
            and _text(entry.reason) and type(at) is datetime):
        return None
    return (HistoryEntry, entry.kind, entry.by, at, at.tzinfo, at.fold, entry.before,
            entry.after, entry.reason)


_KEYS: dict[type, Callable[[Any], Hashable | None]] = {
    Money: _money_key, HistoryEntry: _entry_key}
"""Classes whose records repeat in many rows, with the exact key of a record: values
equal but not the same (``Decimal("1.0")``, ``Decimal("1.00")``; one instant in two
time zones) have different keys, so they are never merged."""


def _remember(key: Hashable, packed: Packed) -> Packed:
    if len(_shared) >= 2 * LIMIT:
        _seen.clear()
        _shared_items.clear()
        _shared.clear()
        _identical.clear()
    _seen[key] = packed
    _shared[id(packed)] = [packed, _UNREAD]
    return packed


def _same(value: object, packed: Packed) -> Packed:
    """``packed``, the shared packed form of ``value``, noted by ``value``'s identity."""
    if len(_identical) >= 2 * LIMIT:
        _identical.clear()
    _identical[id(value)] = (value, packed)
    return packed


def _pack_tuple(value: tuple[Any, ...]) -> Packed:
    hit = _identical.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    if len(value) == 1:  # most often a history of one shared entry: share the tuple too
        item = pack(value[0])
        found = _shared_items.get(id(item))
        if found is not None and found[0] is item:
            return _same(value, found[1])
        packed = (TUPLE, item)
        shared = _shared.get(id(item))
        if shared is not None and shared[0] is item:
            _shared_items[id(item)] = (item, packed)
            _shared[id(packed)] = [packed, _UNREAD]
            return _same(value, packed)
        return packed
    if not text_pairs(value):
        return (TUPLE, *map(pack, value))
    key = (TUPLE, value)  # a snapshot: its text compares exactly
    found = _seen.get(key)
    return _same(value, found if found is not None
                 else _remember(key, (TUPLE, *map(pack, value))))


def _read_shared(packed: Packed, build: Callable[[Packed], Any]) -> Any:
    """``build(packed)``, made once for a shared packed value."""
    shared = _shared.get(id(packed))
    if shared is None or shared[0] is not packed:
        return build(packed)
    if shared[1] is _UNREAD:
        shared[1] = build(packed)
    return shared[1]


def _key_of(value: object) -> Hashable | None:
    key = _KEYS.get(type(value))
    return None if key is None else key(value)


def _unpack_items(packed: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(map(unpack, packed[1:]))


def _unpack_tuple(packed: tuple[Any, ...]) -> tuple[Any, ...]:
    return _read_shared(packed, _unpack_items)  # type: ignore[no-any-return]


def _pack_frozenset(value: frozenset[Any]) -> Packed:
    return (FROZENSET, *map(pack, value))


def _unpack_frozenset(packed: tuple[Any, ...]) -> frozenset[Any]:
    return frozenset(map(unpack, packed[1:]))


def _kept(value: object) -> object:
    return value


def _register(unpacker: Callable[[tuple[Any, ...]], Any]) -> int:
    _unpackers.append(unpacker)
    return len(_unpackers) - 1


def _enum(cls: type[Enum]) -> Callable[[Any], Packed]:
    code = len(_unpackers)
    members = {member: (code, member.name) for member in cls}
    _register({packed: member for member, packed in members.items()}.__getitem__)
    return members.__getitem__


def _record(cls: type) -> Callable[[Any], Packed]:
    """Packer and unpacker of the attrs class ``cls``, generated for its fields."""
    names = [a.name for a in attrs.fields(cls)]
    scope: dict[str, Any] = {"cls": cls, "make": object.__new__, "setattr": object.__setattr__,
                             "ATOMIC": ATOMIC, "packers": _packers, "pack": pack,
                             "unpackers": _unpackers, "key_of": _KEYS.get(cls),
                             "seen": _seen, "remember": _remember, "same": _same,
                             "identical": _identical, "read_shared": _read_shared}
    rebuild = "".join(
        f"    v = packed[{n + 1}]\n"
        f"    setattr(new, {name!r}, v if type(v) is not tuple else unpackers[v[0]](v))\n"
        for n, name in enumerate(names))
    exec(f"def build(packed):\n    new = make(cls)\n{rebuild}    return new\n", scope)
    if cls in _KEYS:
        exec("def unpacker(packed):\n    return read_shared(packed, build)\n", scope)
    else:
        scope["unpacker"] = scope["build"]
    code = _register(scope["unpacker"])
    items = "".join(
        f"(v if (t := type(v := record.{name})) in ATOMIC else packers.get(t, pack)(v)), "
        for name in names)
    if cls in _KEYS:
        body = (f"    hit = identical.get(id(record))\n"
                f"    if hit is not None and hit[0] is record:\n        return hit[1]\n"
                f"    key = key_of(record)\n"
                f"    if key is None:\n        return ({code}, {items})\n"
                f"    found = seen.get(key)\n"
                f"    if found is None:\n        found = remember(key, ({code}, {items}))\n"
                f"    return same(record, found)\n")
    else:
        body = f"    return ({code}, {items})\n"
    exec(f"def packer(record):\n{body}", scope)
    _fields[cls] = {name: n + 1 for n, name in enumerate(names)}
    _codes[cls] = code
    packer: Callable[[Any], Packed] = scope["packer"]
    return packer


def _plain(cls: type) -> bool:
    """Whether a record of ``cls`` is its fields and nothing else (no cached hash)."""
    names = {a.name for a in attrs.fields(cls)} | {"__weakref__"}
    return all(set(getattr(k, "__slots__", ())) <= names for k in cls.__mro__[:-1])


def _packer(kind: type) -> Callable[[Any], Packed]:
    with _lock:
        found = _packers.get(kind)
        if found is not None:
            return found
        if kind is tuple:
            found = _pack_tuple
        elif kind is frozenset:
            found = _pack_frozenset
        elif issubclass(kind, Enum):
            found = _enum(kind)
        elif attrs.has(kind) and _plain(kind):
            found = _record(kind)
        else:
            found = _kept
        _packers[kind] = found
        return found


_register(_unpack_tuple)
_register(_unpack_frozenset)
assert _unpackers[TUPLE] is _unpack_tuple and _unpackers[FROZENSET] is _unpack_frozenset
