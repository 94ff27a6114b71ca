"""Customer use cases, reached as ``app.customers``.

Customers are read and changed under the same rule as prospects: their owner
(the account manager), the owner's manager (team scope), and roles granted
the right. Other areas never read this module: they ask the context's guard
(``Context.customer_for``) whether a customer may be acted on for a purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.customers import (
    Changed,
    Customer,
    CustomerHistoryEntry,
    CustomerStatus,
    Purpose,
    earliest_customer,
)
from custmgmt.domain.prospects import Profile, Prospect
from custmgmt.domain.validation import require_enum, require_id
from custmgmt.errors import ValidationError
from custmgmt.ports.auth import Action, Principal, Resource
from custmgmt.ports.storage import CustomerQuery, Page, UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import page_cursor, page_limit
from custmgmt.services.prospects import Match, WinCustomer, build_profile, lookup_keys
from custmgmt.services.sealed import visible_customer

KIND = "customer"
_PROFILE_FIELDS = tuple(a.name for a in attrs.fields(Profile) if a.name != "kind")


def resource_of(customer: Customer) -> Resource:
    """The customer as the authorizer sees it: kind, id, owner and team."""
    return Resource(kind=KIND, id=customer.id, owner_id=customer.owner_id,
                    team=customer.owner_team)


def snapshot(customer: Customer) -> dict[str, str]:
    """The audit view of a customer: business facts only, no personal data."""
    return {"status": customer.status.value, "owner": customer.owner_id,
            "kind": customer.kind.value, "needs_review": str(customer.needs_review).lower(),
            "version": str(customer.version)}


def _profile_fields(profile: Profile) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _PROFILE_FIELDS:
        value = getattr(profile, name)
        out[name] = value if value is None or isinstance(value, str) else value.value
    return out


def _audit(context: Context, uow: UnitOfWork, actor: Principal, action: str,
           before: Customer | None, after: Customer, at: datetime) -> None:
    context.audit(uow, actor, kind=KIND, resource_id=after.id, action=action, at=at,
                  before=None if before is None else snapshot(before), after=snapshot(after))


def customer_for_won(context: Context) -> WinCustomer:
    """What ``ProspectService`` calls when a prospect is won (see ``WinCustomer``)."""

    def for_won_prospect(
        uow: UnitOfWork, actor: Principal, prospect: Prospect, now: datetime
    ) -> tuple[str, tuple[DomainEvent, ...]]:
        """Inside the unit of work that wins ``prospect``: the customer it names, else the
        customer holding one of its identity keys (linked), else a new customer owned by
        the prospect's owner. A customer that may not be sold to refuses the win."""
        if prospect.customer_id is not None:
            customer: Customer | None = uow.customers.get(prospect.customer_id)
        else:
            keys = context.settings.key_ring.keys_of(prospect.profile)
            held = earliest_customer(uow.customers.holders_of(keys))
            customer = None if held is None else held[0]
        if customer is not None:
            context.guard.check(uow, customer, Purpose.SALES, now)
            linked, events = customer.link(prospect.id, by=actor.id, at=now)
            stored = uow.customers.update(linked)
            _audit(context, uow, actor, "link", customer, stored, now)
            return stored.id, events
        created, events = Customer.create(
            id=context.ids.new_id("c"), profile=prospect.profile, owner_id=prospect.owner_id,
            owner_team=prospect.owner_team, by=actor.id, at=now, prospect_id=prospect.id)
        stored = uow.customers.add(created, created.held_keys(context.settings.key_ring))
        _audit(context, uow, actor, "create", None, stored, now)
        return stored.id, events

    return for_won_prospect


@guarded
class CustomerService(Described):
    """Create existing clients, read, find, transfer, change status, review customers."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def _audit(self, uow: UnitOfWork, actor: Principal, action: str, before: Customer | None,
               after: Customer, at: datetime) -> None:
        _audit(self._ctx, uow, actor, action, before, after, at)

    def create(
        self,
        actor: Principal,
        *,
        name: str,
        phone: str | None = None,
        email: str | None = None,
        address: str | None = None,
        organization: str | None = None,
        credit_code: str | None = None,
        industry: str | None = None,
        source_channel: str | None = None,
        needs: str | None = None,
    ) -> Customer:
        """An existing client, created directly by an account manager (its owner).

        ``organization`` makes it an organization customer, else a person. Raises
        ClaimConflict naming the customer that already holds one of its identity
        keys (phone, e-mail, organization name, credit code): one company is never
        two customers.
        """
        profile = build_profile(
            name=name, phone=phone, email=email, address=address, organization=organization,
            credit_code=credit_code, industry=industry, source_channel=source_channel,
            needs=needs)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.CUSTOMER_CREATE)
            keys = self._ctx.settings.key_ring.keys_of(profile)
            held = earliest_customer(uow.customers.holders_of(keys))
            if held is not None:
                raise held[0].key_conflict(held[1])
            customer, events = Customer.create(
                id=self._ctx.ids.new_id("c"), profile=profile, owner_id=who.id,
                owner_team=who.team, by=who.id, at=now)
            stored = uow.customers.add(customer, keys)
            self._audit(uow, who, "create", None, stored, now)
            self._ctx.finish(uow, events)
        return stored

    def get(self, actor: Principal, customer_id: str) -> Customer:
        """The customer, if the actor may read it (PermissionDenied otherwise). A sealed
        customer's contacts read as sealed (``app.delisting.read_sealed`` shows them)."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            return visible_customer(self._load(uow, actor, Action.CUSTOMER_READ, cid)[1])

    def _load(
        self, uow: UnitOfWork, actor: Principal, action: Action, customer_id: str
    ) -> tuple[Principal, Customer]:
        return self._ctx.load(uow, actor, action, KIND, customer_id, uow.customers.get,
                              resource_of)

    def history(self, actor: Principal, customer_id: str) -> tuple[CustomerHistoryEntry, ...]:
        """Every creation, link, owner, profile, status and review change: who, when, why."""
        return self.get(actor, customer_id).history

    def audit_trail(self, actor: Principal, customer_id: str) -> tuple[AuditEntry, ...]:
        """The customer's hash-chained audit entries (business facts only, no PII)."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            customer = self._load(uow, actor, Action.CUSTOMER_READ, cid)[1]
            return tuple(uow.audit.trail(KIND, customer.id))

    def list(
        self,
        actor: Principal,
        *,
        owner: str | None = None,
        team: str | None = None,
        status: CustomerStatus | str | None = None,
        needs_review: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Customer]:
        """Customers the actor may read, oldest first, a page at a time
        (``needs_review=True``: the ones flagged for someone to check)."""
        if needs_review is not None and not isinstance(needs_review, bool):
            raise ValidationError("needs_review", "must be True, False or None")
        for name, value in (("owner", owner), ("team", team)):
            if value is not None:
                require_id(name, value)
        wanted = None if status is None else require_enum("status", CustomerStatus, status)
        size, after = page_limit(limit) + 1, page_cursor(cursor)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            query = CustomerQuery(
                reach=self._ctx.reach(uow, actor, Action.CUSTOMER_READ)[1], owner=owner,
                team=team, status=wanted, needs_review=needs_review, limit=size, after=after)
            rows = [visible_customer(c) for c in uow.customers.find(query)]
        page, more = rows[:limit], len(rows) > limit
        last = page[-1] if page else None
        next_cursor = f"{last.created_at.isoformat()}|{last.id}" if more and last else None
        return Page(items=tuple(page), next_cursor=next_cursor)

    def find(
        self,
        actor: Principal,
        *,
        phone: str | None = None,
        email: str | None = None,
        organization: str | None = None,
        credit_code: str | None = None,
    ) -> tuple[Match[Customer], ...]:
        """Who holds these identity keys? One match per key a customer holds, normalized
        as everywhere. The customer itself only if the actor may read it; otherwise
        just its owner."""
        keys = lookup_keys(self._ctx.settings.key_ring, phone=phone, email=email,
                           organization=organization, credit_code=credit_code)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            reach = self._ctx.reach(uow, actor, Action.CUSTOMER_READ)[1]
            held = uow.customers.holders_of(keys)
        matches = []
        for key, customer in sorted(held.items(), key=lambda pair: pair[0].kind.value):
            readable = reach.covers(resource_of(customer))
            matches.append(Match(key=key.kind, holder_id=customer.id if readable else None,
                                 owner_id=customer.owner_id,
                                 record=visible_customer(customer) if readable else None))
        return tuple(matches)

    def _change(
        self, actor: Principal, customer_id: str, action: Action, audit_action: str,
        change: Callable[[UnitOfWork, Principal, Customer, datetime], Changed],
    ) -> Customer:
        cid = require_id("customer_id", customer_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, current = self._load(uow, actor, action, cid)
            changed, events = change(uow, who, current, now)
            if changed == current:
                return current
            keys = (None if changed.profile == current.profile
                    else changed.held_keys(self._ctx.settings.key_ring))
            stored = uow.customers.update(changed, keys)
            self._audit(uow, who, audit_action, current, stored, now)
            self._ctx.finish(uow, events)
            return stored

    def update_profile(self, actor: Principal, customer_id: str, **fields: str | None) -> Customer:
        """Replace profile fields (same names as ``create``); identity keys stay unique."""
        unknown = set(fields) - set(_PROFILE_FIELDS)
        if unknown:
            raise ValidationError(sorted(unknown)[0], "is not a profile field")

        def change(_: UnitOfWork, who: Principal, c: Customer, now: datetime) -> Changed:
            merged = {**_profile_fields(c.profile), **fields}
            return c.update_profile(build_profile(**merged), by=who.id, at=now)  # type: ignore[arg-type]

        return self._change(actor, customer_id, Action.CUSTOMER_UPDATE, "update_profile", change)

    def transfer(
        self, actor: Principal, customer_id: str, *, to_owner: str, reason: str
    ) -> Customer:
        """Hand a customer to another account manager (managers), with a reason. The
        right is checked before ``to_owner`` is looked up; a new owner is a known,
        active principal."""
        owner_id = require_id("to_owner", to_owner)

        def change(uow: UnitOfWork, who: Principal, c: Customer, now: datetime) -> Changed:
            new_owner = self._ctx.known(uow, owner_id)
            if new_owner is None:
                raise ValidationError("to_owner", "is not a known, active principal")
            return c.transfer(new_owner.id, to_team=new_owner.team, reason=reason, by=who.id,
                              at=now)

        return self._change(actor, customer_id, Action.CUSTOMER_TRANSFER, "transfer", change)

    def set_status(
        self, actor: Principal, customer_id: str, status: CustomerStatus | str, *, reason: str
    ) -> Customer:
        """Move a customer to another status with a reason (the delisting area seals;
        an upheld objection reopens). Every other area only ever asks the guard."""
        to = require_enum("status", CustomerStatus, status)
        return self._change(actor, customer_id, Action.CUSTOMER_STATUS, "set_status",
                            lambda _, who, c, now: c.set_status(to, reason=reason, by=who.id,
                                                                at=now))

    def review(self, actor: Principal, customer_id: str, *, note: str) -> Customer:
        """Clear the review flag of a customer created for an unmatched reference."""
        return self._change(actor, customer_id, Action.CUSTOMER_REVIEW, "review",
                            lambda _, who, c, now: c.reviewed(note=note, by=who.id, at=now))
