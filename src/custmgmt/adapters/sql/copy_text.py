"""A bulk insert's rows in PostgreSQL's ``COPY ... FROM STDIN`` text format, built a
column at a time.

psycopg formats a row at a time, each value through its dumper: for an import's rows
of some forty columns, most of them one value throughout the batch (its owner, instant,
flags), that was the largest share of the client's work. Here each column is formatted
once (a value repeated throughout: once in all), in loops that run in C, and the rows
are joined at the end. Only the types a bulk insert sends are formatted; a column of
any other, or text the server would refuse (NUL) or the encoding cannot hold, gives
None, and the caller lets psycopg format the rows (and raise what it raises).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from operator import is_
from typing import Any

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = frozenset("\\\t\n\r")


def _texts(values: list[str]) -> list[str]:
    if _SPECIAL.isdisjoint("".join(values)):  # the usual case: nothing to escape
        return values
    return [value.translate(_ESCAPES) for value in values]


def _decimals(values: list[Decimal]) -> list[str] | None:
    return list(map(str, values)) if all(map(Decimal.is_finite, values)) else None


_FORMATS: dict[type, Callable[[list[Any]], list[str] | None]] = {
    str: _texts,
    bytes: lambda values: ["\\\\x" + value.hex() for value in values],
    bool: lambda values: ["t" if value else "f" for value in values],
    int: lambda values: list(map(str, values)),
    Decimal: _decimals,
    date: lambda values: list(map(date.isoformat, values)),
    datetime: lambda values: list(map(datetime.isoformat, values)),
}


def _column_text(values: Sequence[Any]) -> list[str] | None:
    """Each of ``values`` as a field of COPY's text format; None if one is of a type
    not formatted here, or the column mixes types."""
    if not values:
        return []
    first = values[0]
    if all(map(is_, values, repeat(first))):
        one = _present_text([first]) if first is not None else [NULL]
        return None if one is None else one * len(values)
    present = [value for value in values if value is not None]
    texts = _present_text(present)
    if texts is None or len(present) == len(values):
        return texts
    given = iter(texts)
    return [NULL if value is None else next(given) for value in values]


def _present_text(values: list[Any]) -> list[str] | None:
    """``_column_text`` of values none of which is None."""
    kinds = set(map(type, values))
    if len(kinds) != 1:
        return None if kinds else []
    format_ = _FORMATS.get(kinds.pop())
    return None if format_ is None else format_(values)


def copy_text(columns: Sequence[Sequence[Any]], encoding: str) -> bytes | None:
    """The rows given as ``columns`` (a list of values each, all as long) as the data of
    a ``COPY ... FROM STDIN`` in text format, encoded for the connection; None if a
    column holds what is not formatted here, or the text holds what the server or the
    encoding refuses."""
    fields = []
    for values in columns:
        texts = _column_text(values)
        if texts is None:
            return None
        fields.append(texts)
    text = "\n".join(map("\t".join, zip(*fields, strict=True))) + "\n"
    if "\0" in text:
        return None
    try:
        return text.encode(encoding)
    except UnicodeError:
        return None
