"""The one versioned-update helper of the memory storage.

Every versioned aggregate stages its writes here: ``add`` stores version 1,
``update`` stores version n + 1 of an aggregate read at version n, and
``check`` (under the store's lock, at commit) refuses the whole unit if a
committed version moved since this unit first wrote it.

A stage made with ``packed=`` (the aggregate's class) keeps the committed
aggregates packed (``packed.pack``: tuples the garbage collector does not walk)
and builds them again when read. Such a stage also takes new aggregates already
packed (``add_many_packed``: an import's rows, never built as objects), kept apart
in ``fresh`` until they are committed or written again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar, cast

from custmgmt.adapters.memory.packed import Packed, pack, position, unpack
from custmgmt.adapters.memory.shared import restamped, stamped
from custmgmt.errors import ConcurrencyError, NotFound


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


A = TypeVar("A", bound=Versioned)


class VersionedStage(Generic[A]):
    """Writes of one aggregate kind (``kind`` names it in errors), keyed by ``key_of``."""

    def __init__(self, kind: str, committed: dict[str, Any],
                 shared: Callable[[A], Mapping[str, object]] | None = None,
                 packed: type[A] | None = None) -> None:
        self.kind = kind
        self.committed = committed
        """key -> the committed aggregate (packed when ``packed`` is given)."""
        self.staged: dict[str, tuple[int, A]] = {}
        self.fresh: dict[str, Packed] = {}
        """New aggregates (version 1) staged packed, by key: never in ``staged`` too."""
        self._shared = shared
        """Fields to store as an equal, shared instance (``shared.Shared``): applied
        with the version each write stamps, so it costs no extra copy."""
        self.packed = packed is not None
        self._class = packed
        self._version_at = position(packed, "version") if packed is not None else 0

    def _version(self, key: str) -> int:
        """The committed version of ``key`` (0: none), read without unpacking."""
        stored = self.committed.get(key)
        if stored is None:
            return 0
        return stored[self._version_at] if self.packed else stored.version  # type: ignore[no-any-return]

    def committed_one(self, key: str) -> A | None:
        stored = self.committed.get(key)
        return unpack(stored) if self.packed and stored is not None else stored

    def _stamp(self, aggregate: A, version: int) -> A:
        if self._shared is None:
            return stamped(aggregate, version)
        return restamped(aggregate, version=version, **self._shared(aggregate))

    def current(self, key: str) -> A | None:
        if key in self.staged:
            return self.staged[key][1]
        fresh = self.fresh.get(key)
        if fresh is not None:
            return unpack(fresh)  # type: ignore[no-any-return]
        return self.committed_one(key)

    def fields(self, key: str, names: tuple[str, ...]) -> tuple[Any, ...] | None:
        """The fields ``names`` of ``key`` as this unit sees it (None: no such), read
        from a packed aggregate without building it (its plain fields only)."""
        staged = self.staged.get(key)
        if staged is not None:
            return tuple(getattr(staged[1], name) for name in names)
        stored = self.fresh.get(key)
        if stored is None:
            stored = self.committed.get(key)
            if stored is None:
                return None
            if not self.packed:
                return tuple(getattr(stored, name) for name in names)
        return tuple(stored[position(cast(type, self._class), name)] for name in names)

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored, as this unit sees it."""
        return key in self.staged or key in self.fresh or key in self.committed

    def discard(self, key: str) -> None:
        """Take back what this unit wrote of ``key``."""
        self.staged.pop(key, None)
        self.fresh.pop(key, None)

    def get(self, key: str) -> A:
        found = self.current(key)
        if found is None:
            raise NotFound(self.kind, key)
        return found

    def require(self, key: str) -> None:
        """Raise NotFound unless ``key`` exists (as this unit sees it); nothing unpacked."""
        if not self.exists(key):
            raise NotFound(self.kind, key)

    def _current_version(self, key: str) -> int | None:
        """The version of ``key`` as this unit sees it (None: no such), nothing unpacked."""
        staged = self.staged.get(key)
        if staged is not None:
            return staged[1].version
        if key in self.fresh:
            return 1
        return self._version(key) if key in self.committed else None

    def _put(self, key: str, expected: int, aggregate: A, version: int) -> A:
        stored = self._stamp(aggregate, version)
        self.fresh.pop(key, None)
        self.staged[key] = (expected, stored)
        return stored

    def add(self, key: str, aggregate: A) -> A:
        if self.exists(key):
            raise ConcurrencyError(f"{self.kind} {key!r} already exists")
        return self._put(key, 0, aggregate, 1)

    def add_new(self, key: str, aggregate: A) -> A:
        """``add`` of a key the caller just found neither staged nor committed."""
        return self._put(key, 0, aggregate, 1)

    def update(self, key: str, aggregate: A) -> A:
        version = self._current_version(key)
        if version is None:
            raise NotFound(self.kind, key)
        return self._changed(key, version, aggregate)

    def _changed(self, key: str, version: int, aggregate: A) -> A:
        if version != aggregate.version:
            raise ConcurrencyError(f"{self.kind} {key!r} changed since it was read")
        staged = self.staged.get(key)
        expected = staged[0] if staged is not None else 0 if key in self.fresh else version
        return self._put(key, expected, aggregate, version + 1)

    def save(self, key: str, aggregate: A) -> A:
        """Insert (version 0) or update (version n): the upsert some repositories offer."""
        version = self._current_version(key)
        if version is None:
            if aggregate.version != 0:
                raise ConcurrencyError(f"{self.kind} {key!r} changed since it was read")
            return self._put(key, 0, aggregate, 1)
        return self._changed(key, version, aggregate)

    def merged(self) -> dict[str, A]:
        """The committed aggregates with this unit's writes over them."""
        merged = {key: unpack(a) for key, a in list(self.committed.items())} \
            if self.packed else dict(self.committed)
        merged.update({key: unpack(a) for key, a in self.fresh.items()})
        merged.update({key: aggregate for key, (_, aggregate) in self.staged.items()})
        return merged

    def values(self, hint: Callable[[Any], bool] | None = None) -> list[A]:
        """``merged().values()`` without copying the committed map (a scan of a million
        rows then holds a list of references, not a second dictionary).

        ``hint``, for a packed stage, is a cheap test of a packed aggregate: those it
        refuses are skipped without being unpacked (the caller filters the rest)."""
        staged, fresh = self.staged, self.fresh
        if not self.packed:
            found = [a for key, a in list(self.committed.items()) if key not in staged]
        elif hint is None:
            found = [unpack(a) for key, a in list(self.committed.items())
                     if key not in staged and key not in fresh]
        else:
            found = [unpack(a) for key, a in list(self.committed.items())
                     if key not in staged and key not in fresh and hint(a)]
        found.extend(unpack(a) for a in fresh.values() if hint is None or hint(a))
        found.extend(a for _, a in staged.values())
        return found

    def written(self) -> dict[str, A]:
        """This unit's writes (of a stage that is not packed: it has no ``fresh``)."""
        return {key: aggregate for key, (_, aggregate) in self.staged.items()}

    def add_many_packed(self, items: Iterable[tuple[str, Any]]) -> None:
        """``add_new`` of each (key, packed aggregate at version 1, as ``pack`` packs it):
        keys the caller just found neither staged nor committed (and each given once)."""
        if not self.packed or self._shared is not None:
            raise TypeError(f"{self.kind}: not a packed stage")
        self.fresh.update(items)

    def add_many_new(self, items: list[tuple[str, A]]) -> list[A]:
        """``add_new`` of each (key, aggregate): keys the caller just found neither staged
        nor committed (and each given once). Returns what each is stored as."""
        staged = self.staged
        if self._shared is not None:
            return [self.add_new(key, aggregate) for key, aggregate in items]
        stored = []
        for key, aggregate in items:
            copy = stamped(aggregate, 1)
            staged[key] = (0, copy)
            stored.append(copy)
        return stored

    def check(self) -> None:
        """Under the store's lock: refuse if anything written moved since it was read."""
        committed, at = self.committed, self._version_at
        for key, (expected, _) in self.staged.items():
            stored = committed.get(key)
            if stored is None:
                if expected == 0:  # the usual case: still new
                    continue
                version = 0
            else:
                version = stored[at] if self.packed else stored.version
            if version != expected:
                raise ConcurrencyError(f"{self.kind} {key!r} changed since it was read")
        for key in self.fresh:
            if key in committed:
                raise ConcurrencyError(f"{self.kind} {key!r} changed since it was read")

    def apply(self) -> None:
        if self.packed:
            self.committed.update(self.fresh)
            self.committed.update(
                {key: pack(aggregate) for key, (_, aggregate) in self.staged.items()})
        else:
            self.committed.update(self.written())
