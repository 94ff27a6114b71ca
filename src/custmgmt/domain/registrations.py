"""Prospects registered together: one owner, one instant, many rows (a bulk import).

A batch is stored as rows, not as ``Prospect`` objects: an import writes thousands a
batch, and building a prospect, its registration, history entry and event for each
cost about as much as writing the rows. What each row becomes is still the one rule of
``Prospect.register``: ``prospects()`` builds the same prospects, for a storage that
keeps objects, and the tests hold the two to each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from attrs import field, frozen

from custmgmt.domain.common import Money, ProspectId, RegistrationId
from custmgmt.domain.grading import Grade, Willingness
from custmgmt.domain.identity import IdentityKey
from custmgmt.domain.prospect_events import ImportedProspect
from custmgmt.domain.prospects import GradingPolicy, Profile, Prospect, registered
from custmgmt.domain.validation import aware, optional, plain_text, text
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


def _rows(_inst: object, _attribute: object, value: object) -> None:
    """Each row what ``Prospect.register`` would accept, checked by the validators' own
    fast paths (a batch holds thousands); the first row that is not, named."""
    if type(value) is not tuple:
        raise ValidationError("rows", "must be a tuple of Registered")
    for n, row in enumerate(value):
        if not (type(row) is Registered and plain_text(row.id, 100)
                and plain_text(row.registration_id, 100) and type(row.profile) is Profile
                and type(row.willingness) is Willingness
                and type(row.potential_value) is Money and not row.potential_value.is_negative
                and type(row.grade) is Grade and type(row.keys) is frozenset):
            raise ValidationError(f"rows[{n}]", "is not a Registered row of valid values")


@frozen(kw_only=True)
class RegistrationBatch:
    """New prospects registered by ``owner_id`` (of ``owner_team``) at ``at``: each at
    the first stage, its registration active, its grade the policy's."""

    owner_id: str = field(validator=text(200))
    owner_team: str | None = field(validator=optional(text(100)))
    at: datetime = field(validator=aware)
    rows: tuple[Registered, ...] = field(validator=_rows)

    @classmethod
    def graded(
        cls, *, owner_id: str, owner_team: str | None, at: datetime, policy: GradingPolicy,
        rows: Sequence[tuple[ProspectId, RegistrationId, Profile, Willingness, Money,
                             frozenset[IdentityKey]]],
    ) -> RegistrationBatch:
        """A batch of ``rows`` (id, registration id, profile, willingness, value, keys),
        each graded by ``policy``."""
        return cls(owner_id=owner_id, owner_team=owner_team, at=at, rows=tuple(
            Registered(pid, rid, profile, will, value, policy.grade(will, value), keys)
            for pid, rid, profile, will, value, keys in rows))

    def prospects(self) -> list[Prospect]:
        """The batch as ``Prospect.register`` makes each of its rows (not yet stored:
        version 0), for a storage that keeps prospects as objects."""
        return [registered(
            id=row.id, registration_id=row.registration_id, profile=row.profile,
            willingness=row.willingness, potential_value=row.potential_value, grade=row.grade,
            owner_id=self.owner_id, owner_team=self.owner_team, at=self.at)[0]
            for row in self.rows]

    def imported(self) -> tuple[ImportedProspect, ...]:
        """Each prospect's id and grade, as ``ProspectsImported`` names them."""
        return tuple(ImportedProspect(prospect_id=r.id, grade=r.grade) for r in self.rows)
