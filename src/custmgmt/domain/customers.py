"""Customers (客户): the companies and people the business serves, and the one guard.

A customer comes from a won prospect (or is linked to the customer that already
holds the same identity keys), or is created directly for an existing client.
Its profile is a prospect's ``Profile``: the same identity keys, normalized the
same way, so one company can never be two customers.

``refusal`` is the one place that answers "may this customer be acted on for
<purpose>?" from what the customer itself says (its status). Rules that need
more (consent records, a delisting case) plug in beside it in the service
layer's ``CustomerGuard``; no area copies the check.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.identity import IdentityKey, KeyRing
from custmgmt.domain.prospects import Profile, ProspectKind
from custmgmt.domain.validation import aware, non_negative_int, of_type, optional, text
from custmgmt.errors import ClaimConflict, InvalidTransition, ValidationError

__all__ = [
    "STATUS_PERMITS", "Customer", "CustomerChange", "CustomerCreated", "CustomerHistoryEntry",
    "CustomerKind", "CustomerOwnerChanged", "CustomerProfileChanged", "CustomerReviewed",
    "CustomerStatus", "CustomerStatusChanged", "Purpose", "earliest_customer", "refusal",
]


class CustomerKind(enum.Enum):
    ORGANIZATION = "organization"
    PERSON = "person"


class CustomerStatus(enum.Enum):
    """Where a customer stands. Delisting sets SEALED; more statuses may follow."""

    ACTIVE = "active"
    SEALED = "sealed"


class Purpose(enum.Enum):
    """What a service wants to do with a customer; the guard answers per purpose."""

    SALES = "sales"
    """Registering, following up and winning (销售跟进)."""
    SAMPLE_RECEIPT = "sample_receipt"
    CREDIT = "credit"
    MARKETING = "marketing"
    """Offers and campaigns (营销): only to those who consented, per channel."""
    CARE = "care"
    """Customer care messages: greetings, service follow-up (consent per channel)."""
    PROFILING = "profiling"
    """Building a profile of the person (用户画像) from their data: needs consent."""
    SHARING = "sharing"
    """Sharing the person's data with a third party: needs consent."""


STATUS_PERMITS: Mapping[CustomerStatus, frozenset[Purpose]] = {
    CustomerStatus.ACTIVE: frozenset(Purpose),
    # A sealed (delisted) customer may not be registered, followed up, marketed to or
    # given credit. The delisting area is the one to widen this if it allows a purpose.
    CustomerStatus.SEALED: frozenset(),
}
"""For each status, the purposes a customer in it may be acted on for."""


def refusal(
    status: CustomerStatus,
    purpose: Purpose,
    permits: Mapping[CustomerStatus, frozenset[Purpose]] = STATUS_PERMITS,
) -> str | None:
    """Why a customer in ``status`` may not be acted on for ``purpose`` (None: it may).

    The one status check every area relies on; a status missing from ``permits``
    permits nothing, so a new status is closed until someone decides otherwise.
    """
    if purpose in permits.get(status, frozenset()):
        return None
    return f"the customer is {status.value}: not open for {purpose.value}"


class CustomerChange(enum.Enum):
    CREATED = "created"
    LINKED = "linked"
    OWNER = "owner"
    PROFILE = "profile"
    STATUS = "status"
    REVIEWED = "reviewed"


@frozen(kw_only=True)
class CustomerHistoryEntry:
    """One change in a customer's life: who, when, what from, what to, why."""

    kind: CustomerChange
    by: str
    at: datetime = field(validator=aware)
    before: str | None
    after: str
    reason: str | None = None


@frozen(kw_only=True)
class CustomerCreated(DomainEvent):
    customer_id: str
    owner_id: str
    prospect_id: str | None


@frozen(kw_only=True)
class CustomerLinked(DomainEvent):
    """A won prospect turned out to be a customer already (same identity keys)."""

    customer_id: str
    prospect_id: str


@frozen(kw_only=True)
class CustomerOwnerChanged(DomainEvent):
    customer_id: str
    before: str
    after: str
    reason: str


@frozen(kw_only=True)
class CustomerProfileChanged(DomainEvent):
    customer_id: str
    fields: tuple[str, ...]


@frozen(kw_only=True)
class CustomerStatusChanged(DomainEvent):
    customer_id: str
    before: CustomerStatus
    after: CustomerStatus
    reason: str


@frozen(kw_only=True)
class CustomerReviewed(DomainEvent):
    customer_id: str


def _reason(value: object, name: str = "reason") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, "a reason is required")
    if len(value) > 2000:
        raise ValidationError(name, "must be at most 2000 characters")
    return value.strip()


Changed = tuple["Customer", tuple[DomainEvent, ...]]


@frozen(kw_only=True)
class Customer:
    """A company or person the business serves; versioned like every aggregate."""

    id: str = field(validator=text(100))
    profile: Profile = field(validator=of_type(Profile))
    owner_id: str = field(validator=text(200))
    """The account manager."""
    owner_team: str | None = field(default=None, validator=optional(text(100)))
    status: CustomerStatus = field(default=CustomerStatus.ACTIVE,
                                   validator=of_type(CustomerStatus))
    created_at: datetime = field(validator=aware)
    needs_review: bool = False
    """Created for a reference nobody could match (e.g. by migration 0002): check it."""
    review_note: str | None = field(default=None, validator=optional(text(2000)))
    history: tuple[CustomerHistoryEntry, ...] = ()
    version: int = field(default=0, validator=non_negative_int)

    @property
    def kind(self) -> CustomerKind:
        organization = self.profile.kind is ProspectKind.ORGANIZATION
        return CustomerKind.ORGANIZATION if organization else CustomerKind.PERSON

    def held_keys(self, ring: KeyRing) -> frozenset[IdentityKey]:
        """The sealed keys of the profile (the same keys a prospect of that profile
        holds): a customer holds them for as long as it exists."""
        return ring.keys_of(self.profile)

    def refusal(self, purpose: Purpose) -> str | None:
        return refusal(self.status, purpose)

    def key_conflict(self, key: IdentityKey | None = None) -> ClaimConflict:
        """The error for creating another customer with a key this one holds."""
        return ClaimConflict(self.owner_id, self.id, self.created_at,
                             "" if key is None else key.kind.value)

    @classmethod
    def create(
        cls,
        *,
        id: str,
        profile: Profile,
        owner_id: str,
        owner_team: str | None,
        by: str,
        at: datetime,
        prospect_id: str | None = None,
    ) -> Changed:
        """A new customer: from a won prospect (``prospect_id``) or an existing client."""
        reason = f"won prospect {prospect_id}" if prospect_id else "existing client"
        entry = CustomerHistoryEntry(kind=CustomerChange.CREATED, by=by, at=at, before=None,
                                     after=CustomerStatus.ACTIVE.value, reason=reason)
        customer = cls(id=id, profile=profile, owner_id=owner_id, owner_team=owner_team,
                       created_at=at, history=(entry,))
        event = CustomerCreated(actor_id=by, occurred_at=at, customer_id=id, owner_id=owner_id,
                                prospect_id=prospect_id)
        return customer, (event,)

    def link(self, prospect_id: str, *, by: str, at: datetime) -> Changed:
        """A won prospect is this customer: history says so."""
        entry = CustomerHistoryEntry(kind=CustomerChange.LINKED, by=by, at=at, before=None,
                                     after=prospect_id, reason="won prospect, same identity")
        event = CustomerLinked(actor_id=by, occurred_at=at, customer_id=self.id,
                               prospect_id=prospect_id)
        return attrs.evolve(self, history=(*self.history, entry)), (event,)

    def transfer(
        self, to_owner: str, *, to_team: str | None, reason: object, by: str, at: datetime
    ) -> Changed:
        if to_owner == self.owner_id:
            raise ValidationError("to_owner", "is already the owner")
        why = _reason(reason)
        entry = CustomerHistoryEntry(kind=CustomerChange.OWNER, by=by, at=at,
                                     before=self.owner_id, after=to_owner, reason=why)
        event = CustomerOwnerChanged(actor_id=by, occurred_at=at, customer_id=self.id,
                                     before=self.owner_id, after=to_owner, reason=why)
        changed = attrs.evolve(self, owner_id=to_owner, owner_team=to_team,
                               history=(*self.history, entry))
        return changed, (event,)

    def update_profile(self, profile: Profile, *, by: str, at: datetime) -> Changed:
        if profile == self.profile:
            return self, ()
        names = tuple(a.name for a in attrs.fields(Profile)
                      if getattr(profile, a.name) != getattr(self.profile, a.name))
        entry = CustomerHistoryEntry(kind=CustomerChange.PROFILE, by=by, at=at, before=None,
                                     after=",".join(names))
        event = CustomerProfileChanged(actor_id=by, occurred_at=at, customer_id=self.id,
                                       fields=names)
        return attrs.evolve(self, profile=profile, history=(*self.history, entry)), (event,)

    def set_status(
        self, status: CustomerStatus, *, reason: object, by: str, at: datetime
    ) -> Changed:
        """Move to another status (delisting seals; a reversed case reopens), with why."""
        if not isinstance(status, CustomerStatus):
            raise ValidationError("status", "must be a CustomerStatus")
        if status is self.status:
            raise InvalidTransition(self.status.value, status.value, "already in that status")
        why = _reason(reason)
        entry = CustomerHistoryEntry(kind=CustomerChange.STATUS, by=by, at=at,
                                     before=self.status.value, after=status.value, reason=why)
        event = CustomerStatusChanged(actor_id=by, occurred_at=at, customer_id=self.id,
                                      before=self.status, after=status, reason=why)
        return attrs.evolve(self, status=status, history=(*self.history, entry)), (event,)

    def reviewed(self, *, note: object, by: str, at: datetime) -> Changed:
        """Someone checked a customer flagged for review; the flag goes, the note stays."""
        if not self.needs_review:
            raise InvalidTransition("reviewed", "reviewed", "the customer is not flagged")
        why = _reason(note, "note")
        entry = CustomerHistoryEntry(kind=CustomerChange.REVIEWED, by=by, at=at,
                                     before="needs review", after="reviewed", reason=why)
        event = CustomerReviewed(actor_id=by, occurred_at=at, customer_id=self.id)
        changed = attrs.evolve(self, needs_review=False, history=(*self.history, entry))
        return changed, (event,)


def earliest_customer(
    holders: Mapping[IdentityKey, Customer],
) -> tuple[Customer, IdentityKey] | None:
    """Of the customers holding some keys, the first created (and the key it holds)."""
    if not holders:
        return None
    key, holder = min(holders.items(), key=lambda pair: (
        pair[1].created_at, pair[1].id, pair[0].kind.value, pair[0].value))
    return holder, key
