"""Prospects registered together: one owner, one instant, many rows (a bulk import).

A batch is stored as rows, not as ``Prospect`` objects: an import writes thousands a
batch, and building a prospect, its registration, history entry and event for each
cost about as much as writing the rows. What each row becomes is still the one rule of
``Prospect.register``: ``prospects()`` builds the same prospects, for a storage that
keeps objects, and the tests hold the two to each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from attrs import field, frozen

from custmgmt.domain.common import Money, ProspectId, RegistrationId
from custmgmt.domain.grading import Grade, Willingness
from custmgmt.domain.identity import IdentityKey, KeyKind
from custmgmt.domain.prospect_events import ImportedProspect
from custmgmt.domain.prospects import Profile, Prospect, register_graded, registrable
from custmgmt.domain.validation import aware, optional, text
from custmgmt.errors import ValidationError


class Registered(NamedTuple):
    """One new prospect of a batch, graded by the policy, and the keys it will hold."""

    id: ProspectId
    registration_id: RegistrationId
    profile: Profile
    willingness: Willingness
    potential_value: Money
    grade: Grade
    keys: frozenset[IdentityKey]


def _rows(batch: RegistrationBatch, _attribute: object, value: object) -> None:
    """Each row what ``Prospect.register`` accepts, with keys of its own kinds; a row
    that fails the validators' fast paths (a batch holds thousands) is checked by them in
    full, and the first field they refuse is named (``rows[2].id``)."""
    if type(value) is not tuple:
        raise ValidationError("rows", "must be a tuple of Registered")
    for n, row in enumerate(value):
        if not (type(row) is Registered and registrable(*row[:6]) and _keys(row.keys)):
            _check_row(batch, n, row)


def _keys(keys: object) -> bool:
    """Whether ``keys`` is a frozenset of sealed keys, at most one of each kind."""
    if type(keys) is not frozenset:
        return False
    kinds = set()
    for key in keys:
        if type(key) is not IdentityKey or type(key.kind) is not KeyKind \
                or type(key.value) is not str:
            return False
        kinds.add(key.kind)
    return len(kinds) == len(keys)


def _check_row(batch: RegistrationBatch, n: int, row: object) -> None:
    """Raise what ``Prospect.register`` raises for ``row`` (ValidationError naming
    ``rows[n].<field>``), or for keys that are not sealed keys of distinct kinds."""
    if not isinstance(row, Registered):
        raise ValidationError(f"rows[{n}]", "must be a Registered row")
    try:
        batch.prospect(row)
    except ValidationError as error:
        raise ValidationError(f"rows[{n}].{error.field}", error.message) from None
    if not _keys(row.keys):
        raise ValidationError(f"rows[{n}].keys", "must be sealed identity keys, at most "
                              "one of each kind")


@frozen(kw_only=True)
class RegistrationBatch:
    """New prospects registered by ``owner_id`` (of ``owner_team``) at ``at``: each at
    the first stage, its registration active, its grade the policy's."""

    owner_id: str = field(validator=text(200))
    owner_team: str | None = field(validator=optional(text(100)))
    at: datetime = field(validator=aware)
    rows: tuple[Registered, ...] = field(validator=_rows)

    def prospects(self) -> list[Prospect]:
        """The batch as ``Prospect.register`` makes each of its rows (not yet stored:
        version 0), for a storage that keeps prospects as objects."""
        return [self.prospect(row) for row in self.rows]

    def prospect(self, row: Registered) -> Prospect:
        """What ``Prospect.register`` makes of one row of the batch (version 0)."""
        return register_graded(
            id=row.id, registration_id=row.registration_id, profile=row.profile,
            willingness=row.willingness, potential_value=row.potential_value, grade=row.grade,
            owner_id=self.owner_id, owner_team=self.owner_team, at=self.at)[0]

    def imported(self) -> tuple[ImportedProspect, ...]:
        """Each prospect's id and grade, as ``ProspectsImported`` names them."""
        return tuple(ImportedProspect(prospect_id=r.id, grade=r.grade) for r in self.rows)
