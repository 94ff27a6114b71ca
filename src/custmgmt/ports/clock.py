"""Time and ids come in through ports, so tests can fix them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from custmgmt.errors import StorageError


class Clock(Protocol):
    """The current instant. Must return a timezone-aware datetime."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Fresh unique ids. ``prefix`` names the kind (``"p"`` for prospects).

    A generator may also have ``new_ids(prefix, count) -> list[str]``: ``count`` fresh
    ids at once, for a batch of an import (:func:`new_ids` calls ``new_id`` ``count``
    times for one that has not)."""

    def new_id(self, prefix: str) -> str: ...


def new_ids(ids: IdGenerator, prefix: str, count: int) -> list[str]:
    """``count`` fresh ids from ``ids``: its ``new_ids`` if it has one (checked to give
    ``count`` distinct texts), else ``new_id`` ``count`` times."""
    many = getattr(ids, "new_ids", None)
    if many is None:
        return [ids.new_id(prefix) for _ in range(count)]
    made = many(prefix, count)
    if not isinstance(made, list) or len(made) != count or \
            not all(type(i) is str for i in made) or len(set(made)) != count:
        raise StorageError(f"the id generator's new_ids gave no {count} distinct ids")
    return made
