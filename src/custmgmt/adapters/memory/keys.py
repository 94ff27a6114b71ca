"""Identity keys in memory: which holder holds which sealed key, staged per unit of work.

The committed index keeps each key compact: a sealed key (64 hex digits) as one byte
for its kind and its 32 bytes, anything else as ``kind NUL value``; ``held`` keeps
a holder's one key as such, several as a tuple. A unit of work stages the new key
set of each holder it touches, with an inverse index of what it staged, so a
look-up costs the same whatever the store holds and whatever the unit staged
before. At commit only the keys of those holders are checked and changed: the
committed index is never copied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from custmgmt.domain.identity import IdentityKey, KeyKind

Compact = bytes | str
Held = Compact | tuple[Compact, ...]

_KINDS = tuple(KeyKind)
_TAG = {kind: bytes((n,)) for n, kind in enumerate(_KINDS)}
_SEALED = re.compile("[0-9a-f]{64}")


def compact(key: IdentityKey) -> Compact:
    """The key as the committed index keeps it (exactly reversible by ``expand``)."""
    if _SEALED.fullmatch(key.value):
        return _TAG[key.kind] + bytes.fromhex(key.value)
    return f"{key.kind.value}\x00{key.value}"


def expand(kept: Compact) -> IdentityKey:
    if isinstance(kept, bytes):
        return IdentityKey(_KINDS[kept[0]], kept[1:].hex())
    kind, _, value = kept.partition("\x00")
    return IdentityKey(KeyKind(kind), value)


def held_keys(held: Held | None) -> tuple[Compact, ...]:
    if held is None:
        return ()
    return held if isinstance(held, tuple) else (held,)


def ordered(keys: Iterable[IdentityKey]) -> list[IdentityKey]:
    """Keys in one fixed order, so that every unit meets conflicts the same way."""
    return sorted(keys, key=lambda k: (k.kind.value, k.value))


Mark = tuple[dict[str, frozenset[IdentityKey]], dict[IdentityKey, list[str]]]


class KeyStage:
    """The sealed identity keys each holder (prospect or customer) holds, as one unit
    of work stages them over the committed ``index`` (key -> holder id) and ``held``
    (holder id -> its keys). The keys are opaque: they are stored and compared."""

    def __init__(self, index: dict[Compact, str], held: dict[str, Held],
                 kept: dict[IdentityKey, Compact] | None = None) -> None:
        self.index = index
        self.held = held
        self.staged: dict[str, frozenset[IdentityKey]] = {}
        self._staged_by_key: dict[IdentityKey, list[str]] = {}
        """Inverse of ``staged``: the holders this unit staged with each key, in order."""
        self._delta: dict[Compact, str | None] = {}
        self._kept: dict[IdentityKey, Compact] = {} if kept is None else kept
        """The compact form of each key this unit looked up or staged (made once; the
        committed index and ``held`` share it; the unit's stages may share this map)."""

    def keys(self, holder_id: str) -> frozenset[IdentityKey]:
        if holder_id in self.staged:
            return self.staged[holder_id]
        return frozenset(expand(k) for k in held_keys(self.held.get(holder_id)))

    def holder_ids(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, str]:
        """Who holds each key, as this unit sees it: its own writes over the index."""
        found: dict[IdentityKey, str] = {}
        by_key, staged, index, kept = self._staged_by_key, self.staged, self.index, self._kept
        for key in set(keys):
            if by_key:  # (nothing staged yet: the usual case of a batch's first look-up)
                holders = by_key.get(key)
                if holders:
                    found[key] = holders[0]
                    continue
            compacted = kept.get(key)
            if compacted is None:
                compacted = kept[key] = compact(key)
            holder_id = index.get(compacted)
            # A holder this unit staged anew holds only the keys it was staged with.
            if holder_id is not None and (holder_id not in staged
                                          or key in staged[holder_id]):
                found[key] = holder_id
        return found

    def others(self, holder_id: str, keys: Iterable[IdentityKey]) -> dict[IdentityKey, str]:
        return {k: h for k, h in self.holder_ids(keys).items() if h != holder_id}

    def stage(self, holder_id: str, keys: Iterable[IdentityKey]) -> None:
        for key in self.staged.get(holder_id, ()):
            holders = self._staged_by_key[key]
            holders.remove(holder_id)
            if not holders:
                del self._staged_by_key[key]
        self.staged[holder_id] = held = frozenset(keys)
        for key in held:
            self._staged_by_key.setdefault(key, []).append(holder_id)

    def stage_new(self, holders: Iterable[tuple[str, frozenset[IdentityKey]]]) -> None:
        """``stage`` of each (holder id, keys), the usual case written out: a holder this
        unit has not staged yet, with keys nobody holds."""
        staged, by_key = self.staged, self._staged_by_key
        for holder_id, keys in holders:
            if holder_id in staged:
                self.stage(holder_id, keys)
                continue
            held = staged[holder_id] = keys if type(keys) is frozenset else frozenset(keys)
            for key in held:
                found = by_key.get(key)
                if found is None:
                    by_key[key] = [holder_id]
                else:
                    found.append(holder_id)

    def mark(self) -> Mark:
        """What is staged now, to go back to with ``restore`` (an all-or-nothing call)."""
        return dict(self.staged), {k: list(v) for k, v in self._staged_by_key.items()}

    def restore(self, mark: Mark) -> None:
        self.staged, self._staged_by_key = mark

    def check(self) -> dict[IdentityKey, str]:
        """Under the lock: the index after commit, for the staged holders' keys only; a
        key two holders would hold is returned as a clash (key -> the holder that keeps
        it), else nothing."""
        delta: dict[Compact, str | None] = {}
        index, held, compacts = self.index, self.held, self._kept
        for holder_id in self.staged:
            before = held.get(holder_id)
            if before is None:  # a new holder: nothing of its own to free
                continue
            for kept in held_keys(before):
                if index.get(kept) == holder_id:
                    delta[kept] = None
        clashes: dict[IdentityKey, str] = {}
        for holder_id, keys in self.staged.items():
            for key in (keys if len(keys) < 2 else ordered(keys)):
                found = compacts.get(key)
                if found is None:
                    found = compacts[key] = compact(key)
                kept = found
                other = delta[kept] if kept in delta else index.get(kept)
                if other is not None and other != holder_id:
                    clashes.setdefault(key, other)
                    continue
                delta[kept] = holder_id
        self._delta = delta
        return clashes

    def apply(self) -> None:
        for kept, holder_id in self._delta.items():
            if holder_id is None:
                self.index.pop(kept, None)
            else:
                self.index[kept] = holder_id
        held, compacts = self.held, self._kept
        for holder_id, keys in self.staged.items():
            if not keys:
                held.pop(holder_id, None)
            elif len(keys) == 1:
                for key in keys:  # (its one key, read without an iterator object)
                    one = compacts.get(key)
                    held[holder_id] = one if one is not None else self._compact(key)
            else:
                held[holder_id] = tuple(self._compact(k) for k in ordered(keys))

    def _compact(self, key: IdentityKey) -> Compact:
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept[key] = compact(key)
        return kept
