"""A batch of import rows parsed a column at a time.

``import_many`` reads thousands of rows a batch. When every row of a batch is a plain
dict of text cells whose values pass the validators' fast paths (checked a column at a
time by ``registrations.profiles_pass``: a few C calls a column), the batch becomes its
columns without an object a row. Anything else (a bad cell, an organization, a phone
that is not a mainland mobile, an amount not seen in this batch that fails) gives
None, and the import parses that batch row by row, which reports each bad row.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

from custmgmt.domain.common import CURRENCY_MINOR_UNITS, Money
from custmgmt.domain.grading import Willingness
from custmgmt.domain.prospects import ProspectKind
from custmgmt.domain.registrations import ClearedProfiles, ProfileColumns
from custmgmt.errors import ValidationError
from custmgmt.services.inputs import non_negative_value
from custmgmt.services.prospect_import import COLUMNS

WILLINGNESS = {member._value_: member for member in Willingness}
"""Each willingness by its value: ``Willingness(text)`` in one look-up."""
VALUES_KEPT = 1024
"""How many amounts (by text and currency) an import remembers (then it starts over)."""

Cells = list[str | None]
Parsed = tuple[ProfileColumns, tuple[Willingness, ...], tuple[Money, ...]]


def parse_batch(rows: Sequence[object], values: dict[tuple[str, str], Money]
                ) -> Parsed | None:
    """Every row's profile, willingness and value as columns, or None if a row is not
    good by the fast checks. ``values``: the amounts read so far by their text and
    currency (shared with the row-by-row parse; cleared when full)."""
    if not all(type(row) is dict and row.keys() <= COLUMNS for row in rows):
        return None
    # every column name a plain str: a subclass's own hash and == could pose as a column
    if not set(map(type, chain.from_iterable(rows))) <= {str}:  # type: ignore[arg-type]
        return None
    cells: list[Cells] = []
    for column in map(_cells, [rows] * len(_PROFILE_CELLS), _PROFILE_CELLS):
        if column is None:
            return None
        cells.append(column)
    name, phone, email, address, organization, credit_code, industry, source, needs = cells
    if None in name or organization.count(None) != len(rows) \
            or credit_code.count(None) != len(rows):
        return None  # a name missing (the row parse says so); organizations row by row
    free_texts = [_stripped(column, most)
                  for column, most in ((industry, 100), (source, 100), (needs, 2000))]
    if None in free_texts:
        return None
    industry, source, needs = free_texts  # type: ignore[assignment]
    try:
        profiles = ClearedProfiles(
            kind=(ProspectKind.INDIVIDUAL,) * len(rows), name=tuple(name),
            phone=tuple(phone), email=tuple(email), address=tuple(address),
            organization=tuple(organization), credit_code=tuple(credit_code),
            industry=tuple(industry), source_channel=tuple(source), needs=tuple(needs))
    except ValidationError:  # a row not good by the fast checks
        return None
    willingness = _willingness(rows)
    amounts = _amounts(rows, values)
    if willingness is None or amounts is None:
        return None
    return profiles, willingness, amounts


_NONE = type(None)
_TEXT_OR_NONE = {str, _NONE}
_PROFILE_CELLS = ("name", "phone", "email", "address", "organization", "credit_code",
                  "industry", "source_channel", "needs")


def _cells(rows: Sequence[object], name: str) -> Cells | None:
    """Column ``name`` of ``rows`` (dicts), a blank cell None as ``clean`` makes it;
    None if a cell is not text."""
    column = [row.get(name) for row in rows]  # type: ignore[attr-defined]
    types = set(map(type, column))  # before any comparison: a cell may be any object
    if not types <= _TEXT_OR_NONE:
        return None
    if str not in types:
        return column
    given = [v for v in column if v is not None] if _NONE in types else column
    if not all(map(str.strip, given)):  # a blank cell means "not given"
        column = [None if v is None or not v.strip() else v for v in column]
    return column


def _stripped(column: Cells, most: int) -> Cells | None:
    """A free text column as ``inputs.optional_text`` keeps it: stripped, its length
    checked before (None if a value is too long: the row parse names it)."""
    given = [v for v in column if v is not None]
    if not given:
        return column
    if max(map(len, given)) > most:
        return None
    return [None if v is None else v.strip() for v in column]


def _willingness(rows: Sequence[object]) -> tuple[Willingness, ...] | None:
    raw = [row.get("willingness") for row in rows]  # type: ignore[attr-defined]
    if set(map(type, raw)) != {str}:
        return None
    found = tuple(map(WILLINGNESS.get, raw))
    return None if None in found else found  # type: ignore[return-value]


def _amounts(rows: Sequence[object], values: dict[tuple[str, str], Money]
             ) -> tuple[Money, ...] | None:
    raw = [row.get("potential_value") for row in rows]  # type: ignore[attr-defined]
    given = [row.get("currency") for row in rows]  # type: ignore[attr-defined]
    if set(map(type, raw)) != {str} or not set(map(type, given)) <= _TEXT_OR_NONE:
        return None
    currencies = [c or "CNY" for c in given]
    if not set(currencies) <= CURRENCY_MINOR_UNITS.keys():
        return None
    pairs = list(zip(raw, currencies, strict=True))
    amounts = list(map(values.get, pairs))
    if None in amounts:
        try:
            amounts = [amount or remembered_amount(*pair, values)
                       for amount, pair in zip(amounts, pairs, strict=True)]
        except ValidationError:
            return None
    return tuple(amounts)  # type: ignore[arg-type]


def remembered_amount(raw: str, currency: str, values: dict[tuple[str, str], Money]
                      ) -> Money:
    """The potential value ``raw`` in ``currency`` (ValidationError if it is none),
    from ``values`` if read before, else read and remembered there (at most
    ``VALUES_KEPT``: cleared when full). The same text in one currency is the same
    amount, which rows share as they may share any immutable value."""
    amount = values.get((raw, currency))
    if amount is None:
        amount = non_negative_value(raw, currency)
        if len(values) >= VALUES_KEPT:
            values.clear()
        values[(raw, currency)] = amount
    return amount
