"""Time and ids come in through ports, so tests can fix them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from custmgmt.domain.validation import type_name
from custmgmt.errors import CustmgmtError, StorageError


class Clock(Protocol):
    """The current instant. Must return a timezone-aware datetime."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Fresh unique ids. ``prefix`` names the kind (``"p"`` for prospects).

    A generator may also have ``new_ids(prefix, count) -> list[str]``: ``count`` fresh
    ids at once, for a batch of an import (:func:`new_ids` calls ``new_id`` ``count``
    times for one that has not). Every id is checked (:class:`CheckedIds`): 1 to
    ``MAX_ID_LENGTH`` printable characters with no space, or the call that asked for
    it fails with StorageError."""

    def new_id(self, prefix: str) -> str: ...


def new_ids(ids: IdGenerator, prefix: str, count: int) -> list[str]:
    """``count`` fresh ids from ``ids``, checked: see :class:`CheckedIds`."""
    checked = ids if isinstance(ids, CheckedIds) else CheckedIds(ids)
    return checked.new_ids(prefix, count)


class CheckedIds:
    """The id generator custmgmt was given, every id it makes checked.

    ``new_ids`` asks the generator's class's ``new_ids``, else its ``new_id`` ``count``
    times; a ``new_ids`` is used only where it is as new as the ``new_id`` beside it: a
    subclass that replaces ``new_id`` alone is asked for each id through it. Unless the
    ids are ``count`` distinct ids of 1 to ``MAX_ID_LENGTH`` printable characters with
    no space (an import's audit entry names its prospects' ids separated by spaces),
    StorageError: the generator's fault, not the caller's, whichever call asked (a
    ``ValidationError`` would name a field the caller never gave); so is an exception
    the generator raises (a custmgmt error passes as it is). The ids come back as plain
    ``str``, whatever ``str`` subclass the generator gave. Ids are not checked against
    the ids made before: an id used twice is refused where it is stored
    (``ConcurrencyError``)."""

    __slots__ = ("_ids", "_many")

    def __init__(self, ids: IdGenerator) -> None:
        self._ids = ids
        self._many = _makes_many(type(ids))

    def new_id(self, prefix: str) -> str:
        return self.new_ids(prefix, 1)[0]

    def new_ids(self, prefix: str, count: int) -> list[str]:
        if count <= 0:
            return []
        try:
            if self._many:
                made: object = self._ids.new_ids(prefix, count)  # type: ignore[attr-defined]
            else:
                made = [self._ids.new_id(prefix) for _ in range(count)]
        except CustmgmtError:
            raise
        except Exception as error:  # a plugin's own failure: not the caller's
            raise StorageError(f"the id generator failed ({type_name(error)})") from None
        texts = _texts(made, count)
        if texts is None:
            raise StorageError(
                f"the id generator did not give {count} distinct id(s) of 1 to "
                f"{MAX_ID_LENGTH} printable characters with no space")
        return texts


def _texts(made: object, count: int) -> list[str] | None:
    """``made`` as ``count`` distinct plain ids, or None."""
    if not isinstance(made, list) or list.__len__(made) != count:
        return None
    try:
        # a copy in plain str: a subclass's own hash, eq or iteration may lie or raise
        texts = [str.__str__(i) for i in list.copy(made)]
    except TypeError:  # not a text
        return None
    if len(set(texts)) != count or not all(map(_plain_id, texts)):
        return None
    return texts


MAX_ID_LENGTH = 100
"""The longest id a storage keeps (the prospects' and the audit's id columns)."""


def _plain_id(text: str) -> bool:
    return 0 < len(text) <= MAX_ID_LENGTH and text.isprintable() and " " not in text


def _makes_many(cls: type) -> bool:
    """Whether ``cls`` has a ``new_ids`` defined where its ``new_id`` is, or below."""
    def owner(name: str) -> type | None:
        return next((c for c in cls.__mro__ if name in vars(c)), None)

    many, one = owner("new_ids"), owner("new_id")
    return many is not None and one is not None and issubclass(many, one)
