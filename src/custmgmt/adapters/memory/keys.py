"""Identity keys in memory: which holder holds which sealed key, staged per unit of work.

A unit of work stages the new key set of each holder it touches, and an inverse
index of what it staged, so a look-up costs the same whatever the store holds
and whatever the unit staged before. At commit only the keys of those holders
are checked and changed: the committed index is never copied.
"""

from __future__ import annotations

from collections.abc import Iterable

from custmgmt.domain.identity import IdentityKey

Held = IdentityKey | tuple[IdentityKey, ...]
"""The keys one holder holds, as kept: the key itself when it is the only one (most
prospects hold one phone), else a tuple. A frozenset per holder would cost ~200 bytes."""


def ordered(keys: Iterable[IdentityKey]) -> list[IdentityKey]:
    """Keys in one fixed order, so that every unit meets conflicts the same way."""
    return sorted(keys, key=lambda k: (k.kind.value, k.value))


def packed(keys: frozenset[IdentityKey]) -> Held | None:
    """``keys`` as the committed map keeps them (None: holds nothing)."""
    if not keys:
        return None
    if len(keys) == 1:
        return next(iter(keys))
    return tuple(ordered(keys))


def unpacked(held: Held | None) -> frozenset[IdentityKey]:
    if held is None:
        return frozenset()
    if isinstance(held, IdentityKey):
        return frozenset((held,))
    return frozenset(held)


class KeyStage:
    """The sealed identity keys each holder (prospect or customer) holds, as one unit
    of work stages them over the committed ``index`` (key -> holder id) and ``held``
    (holder id -> its keys). The keys are opaque: they are stored and compared."""

    def __init__(self, index: dict[IdentityKey, str], held: dict[str, Held]) -> None:
        self.index = index
        self.held = held
        self.staged: dict[str, frozenset[IdentityKey]] = {}
        self._staged_by_key: dict[IdentityKey, list[str]] = {}
        """Inverse of ``staged``: the holders this unit staged with each key, in order."""
        self._delta: dict[IdentityKey, str | None] = {}

    def keys(self, holder_id: str) -> frozenset[IdentityKey]:
        if holder_id in self.staged:
            return self.staged[holder_id]
        return unpacked(self.held.get(holder_id))

    def holder_ids(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, str]:
        """Who holds each key, as this unit sees it: its own writes over the index."""
        found: dict[IdentityKey, str] = {}
        for key in set(keys):
            staged = self._staged_by_key.get(key)
            holder_id = staged[0] if staged else self.index.get(key)
            if holder_id is not None and key in self.keys(holder_id):
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

    def mark(self) -> tuple[dict[str, frozenset[IdentityKey]], dict[IdentityKey, list[str]]]:
        """What is staged now, to go back to with ``restore`` (an all-or-nothing call)."""
        return dict(self.staged), {k: list(v) for k, v in self._staged_by_key.items()}

    def restore(
        self, mark: tuple[dict[str, frozenset[IdentityKey]], dict[IdentityKey, list[str]]]
    ) -> None:
        self.staged, self._staged_by_key = mark

    def check(self) -> dict[IdentityKey, str]:
        """Under the lock: the index after commit, for the staged holders' keys only; a
        key two holders would hold is returned as a clash (key -> the holder that keeps
        it), else nothing."""
        delta: dict[IdentityKey, str | None] = {}
        for holder_id in self.staged:
            for key in unpacked(self.held.get(holder_id)):
                if self.index.get(key) == holder_id:
                    delta[key] = None
        clashes: dict[IdentityKey, str] = {}
        for holder_id, keys in self.staged.items():
            for key in ordered(keys):
                other = delta[key] if key in delta else self.index.get(key)
                if other is not None and other != holder_id:
                    clashes.setdefault(key, other)
                    continue
                delta[key] = holder_id
        self._delta = delta
        return clashes

    def apply(self) -> None:
        for key, holder_id in self._delta.items():
            if holder_id is None:
                self.index.pop(key, None)
            else:
                self.index[key] = holder_id
        for holder_id, keys in self.staged.items():
            kept = packed(keys)
            if kept is not None:
                self.held[holder_id] = kept
            else:
                self.held.pop(holder_id, None)
