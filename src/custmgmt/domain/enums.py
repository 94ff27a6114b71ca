"""``Choice``: the enumerations every imported row carries, hashed at C speed."""

from __future__ import annotations

import enum


class Choice(enum.Enum):
    """An ``enum.Enum`` whose members hash by identity.

    ``enum.Enum.__hash__`` is written in Python (``hash(self._name_)``), so every dict
    or set look-up of a member runs a Python call: an import looks up a dozen per row
    (grades, stages, key kinds...). A member is a singleton equal only to itself (an
    enum compares by identity), so its identity is as good a hash, and ``object``'s
    costs no Python call. Only the iteration order of a set of members can differ,
    and it already differs from run to run (text hashes are randomized).

    Code a bulk import runs per row reads a member's value as ``member._value_``:
    ``member.value`` is a Python property, nine times slower."""

    __hash__ = object.__hash__
