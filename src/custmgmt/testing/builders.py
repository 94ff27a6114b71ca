"""Small builders for domain objects, with sensible defaults, for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from custmgmt.domain.common import (
    Email,
    Money,
    OrganizationName,
    PersonName,
    Phone,
    ProspectId,
    RegistrationId,
)
from custmgmt.domain.customers import Customer
from custmgmt.domain.identity import IdentityKey, KeyRing
from custmgmt.domain.prospects import (
    DefaultGradingPolicy,
    Profile,
    Prospect,
    ProspectKind,
    Willingness,
)
from custmgmt.domain.registrations import Registered, RegistrationBatch
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import UnitOfWork

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
RING = KeyRing()
"""The key ring the contract suite seals identity keys with (the default pepper)."""


def keys_of(prospect: Prospect) -> frozenset[IdentityKey]:
    """The sealed keys ``prospect`` holds (none once its registration is released)."""
    return prospect.held_keys(RING)


def add_prospect(uow: UnitOfWork, prospect: Prospect) -> Prospect:
    """``uow.prospects.add`` with the prospect's own keys, as the services call it."""
    return uow.prospects.add(prospect, keys_of(prospect))


def batch_of(
    prospects: list[Prospect], keys: list[frozenset[IdentityKey]] | None = None
) -> RegistrationBatch:
    """The registration batch of ``prospects`` (owner, team and instant of the first),
    each holding its own keys or ``keys[i]``: what ``uow.prospects.add_batch`` takes."""
    first = prospects[0]
    held = [keys_of(p) for p in prospects] if keys is None else keys
    return RegistrationBatch.of_rows(
        owner_id=first.owner_id, owner_team=first.owner_team, at=first.registration.at,
        rows=tuple(Registered(p.id, p.registration.id, p.profile, p.willingness,
                              p.potential_value, p.grade, k)
                   for p, k in zip(prospects, held, strict=True)))


def customer_keys(customer: Customer) -> frozenset[IdentityKey]:
    """The sealed keys ``customer`` holds."""
    return customer.held_keys(RING)


def add_customer(uow: UnitOfWork, customer: Customer) -> Customer:
    """``uow.customers.add`` with the customer's own keys, as the services call it."""
    return uow.customers.add(customer, customer_keys(customer))


def make_prospect(
    n: int,
    *,
    owner: str = "u-alice",
    team: str | None = "east",
    willingness: Willingness = Willingness.INTERESTED,
    value: str = "200000",
    organization: str | None = None,
    at: datetime | None = None,
) -> Prospect:
    """Prospect number ``n`` with its own phone and e-mail, registered ``n`` minutes after T0."""
    profile = Profile(
        kind=ProspectKind.ORGANIZATION if organization else ProspectKind.INDIVIDUAL,
        name=PersonName(f"Person {n}"),
        phone=Phone(f"139{n:08d}"),
        email=Email(f"person{n}@example.com"),
        organization=OrganizationName(organization) if organization else None,
    )
    when = T0 + timedelta(minutes=n) if at is None else at
    prospect, _ = Prospect.register(
        id=ProspectId(f"p-{n:06d}"), registration_id=RegistrationId(f"r-{n:06d}"),
        profile=profile, willingness=willingness, potential_value=Money(value, "CNY"),
        owner_id=owner, owner_team=team, policy=DefaultGradingPolicy(), at=when,
    )
    return prospect


def make_customer(
    n: int,
    *,
    owner: str = "u-anna",
    team: str | None = "accounts",
    organization: str | None = None,
    phone: str | None = None,
    at: datetime | None = None,
) -> Customer:
    """Customer number ``n`` (id ``c-00000n``) with its own phone and e-mail, created
    ``n`` minutes after T0; an organization customer when ``organization`` is given."""
    profile = Profile(
        kind=ProspectKind.ORGANIZATION if organization else ProspectKind.INDIVIDUAL,
        name=PersonName(f"Client {n}"),
        phone=Phone(phone or f"137{n:08d}"),
        email=Email(f"client{n}@example.com"),
        organization=OrganizationName(organization) if organization else None,
    )
    customer, _ = Customer.create(
        id=f"c-{n:06d}", profile=profile, owner_id=owner, owner_team=team, by=owner,
        at=T0 + timedelta(minutes=n) if at is None else at)
    return customer


def same_person_as(prospect: Prospect, n: int) -> Prospect:
    """A different prospect record (id ``n``) that shares ``prospect``'s phone."""
    other = make_prospect(n)
    return attrs.evolve(other, profile=attrs.evolve(other.profile, phone=prospect.profile.phone))


def sample_notification(n: int = 1, *, dedupe_key: str | None = None) -> Notification:
    """Notification number ``n`` with no personal data, for notifier and outbox tests."""
    return Notification(
        id=f"n-{n:06d}", recipient_id="u-alice", kind="test", subject=f"Notification {n}",
        body="Nothing personal in here.", created_at=T0 + timedelta(seconds=n),
        dedupe_key=dedupe_key,
    )
