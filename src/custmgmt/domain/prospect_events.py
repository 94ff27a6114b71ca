"""What happens to a prospect, as domain events for observers and the event log."""

from __future__ import annotations

from attrs import frozen

from custmgmt.domain.common import DomainEvent, ProspectId
from custmgmt.domain.grading import Grade
from custmgmt.domain.pipeline import Stage


@frozen(kw_only=True)
class ProspectRegistered(DomainEvent):
    prospect_id: ProspectId
    owner_id: str
    grade: Grade


@frozen(kw_only=True)
class ImportedProspect:
    """One prospect a batch of ``import_many`` registered, and the grade it got."""

    prospect_id: ProspectId
    grade: Grade


@frozen(kw_only=True)
class ProspectsImported(DomainEvent):
    """One batch of ``import_many`` registered ``prospects``, all owned by
    ``owner_id``. An import raises this once a batch instead of a
    ``ProspectRegistered`` for each row."""

    import_id: str
    owner_id: str
    prospects: tuple[ImportedProspect, ...]


@frozen(kw_only=True)
class GradeChanged(DomainEvent):
    prospect_id: ProspectId
    before: Grade
    after: Grade
    reason: str
    manual: bool


@frozen(kw_only=True)
class StageChanged(DomainEvent):
    prospect_id: ProspectId
    before: Stage
    after: Stage
    reason: str | None


@frozen(kw_only=True)
class OwnerChanged(DomainEvent):
    prospect_id: ProspectId
    before: str
    after: str
    reason: str


@frozen(kw_only=True)
class ProfileChanged(DomainEvent):
    prospect_id: ProspectId
    fields: tuple[str, ...]


@frozen(kw_only=True)
class ProspectReleased(DomainEvent):
    """Nobody followed the prospect up in time: it went back to the open pool."""

    prospect_id: ProspectId
    previous_owner: str
    reason: str


@frozen(kw_only=True)
class ProspectClaimed(DomainEvent):
    """A salesperson took the prospect from the open pool."""

    prospect_id: ProspectId
    owner_id: str
    registration_id: str


@frozen(kw_only=True)
class ProspectCustomerNamed(DomainEvent):
    """The prospect belongs to a customer (named by a person, or linked when won)."""

    prospect_id: ProspectId
    customer_id: str
