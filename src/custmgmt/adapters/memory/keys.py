"""Identity keys in memory: which holder holds which sealed key, staged per unit of work."""

from __future__ import annotations

from collections.abc import Iterable

from custmgmt.domain.identity import IdentityKey


def ordered(keys: Iterable[IdentityKey]) -> list[IdentityKey]:
    """Keys in one fixed order, so that every unit meets conflicts the same way."""
    return sorted(keys, key=lambda k: (k.kind.value, k.value))


class KeyStage:
    """The sealed identity keys each holder (prospect or customer) holds, as one unit
    of work stages them over the committed ``index`` (key -> holder id) and ``held``
    (holder id -> its keys). The keys are opaque: they are stored and compared."""

    def __init__(self, index: dict[IdentityKey, str],
                 held: dict[str, frozenset[IdentityKey]]) -> None:
        self.index = index
        self.held = held
        self.staged: dict[str, frozenset[IdentityKey]] = {}
        self._after: dict[IdentityKey, str] | None = None

    def keys(self, holder_id: str) -> frozenset[IdentityKey]:
        if holder_id in self.staged:
            return self.staged[holder_id]
        return self.held.get(holder_id, frozenset())

    def holder_ids(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, str]:
        """Who holds each key, as this unit sees it: its own writes over the index."""
        found: dict[IdentityKey, str] = {}
        for key in set(keys):
            staged = [hid for hid, held in self.staged.items() if key in held]
            holder_id = staged[0] if staged else self.index.get(key)
            if holder_id is not None and key in self.keys(holder_id):
                found[key] = holder_id
        return found

    def others(self, holder_id: str, keys: Iterable[IdentityKey]) -> dict[IdentityKey, str]:
        return {k: h for k, h in self.holder_ids(keys).items() if h != holder_id}

    def stage(self, holder_id: str, keys: Iterable[IdentityKey]) -> None:
        self.staged[holder_id] = frozenset(keys)

    def check(self) -> dict[IdentityKey, str]:
        """Under the lock: the index after commit; a key two holders would hold is
        returned as a clash (key -> the holder that keeps it), else nothing."""
        if not self.staged:
            self._after = None
            return {}
        index = dict(self.index)
        for holder_id in self.staged:
            for key in self.held.get(holder_id, ()):
                if index.get(key) == holder_id:
                    del index[key]
        clashes: dict[IdentityKey, str] = {}
        for holder_id, keys in self.staged.items():
            for key in ordered(keys):
                other = index.get(key)
                if other is not None and other != holder_id:
                    clashes.setdefault(key, other)
                    continue
                index[key] = holder_id
        self._after = index
        return clashes

    def apply(self) -> None:
        if self._after is not None:
            self.index.clear()
            self.index.update(self._after)
        for holder_id, keys in self.staged.items():
            if keys:
                self.held[holder_id] = keys
            else:
                self.held.pop(holder_id, None)
