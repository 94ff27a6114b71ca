"""What every service needs, wired once by the bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from attrs import field, frozen

from custmgmt.domain.audit import chain_entry
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.customers import Customer, Purpose
from custmgmt.errors import ValidationError
from custmgmt.ports.auth import Action, Authorizer, Principal, Reach, Resource
from custmgmt.ports.clock import Clock, IdGenerator
from custmgmt.ports.settings import Settings
from custmgmt.ports.storage import Storage, UnitOfWork
from custmgmt.services.guard import CustomerGuard


def require_principal(actor: object) -> Principal:
    if not isinstance(actor, Principal):
        raise ValidationError("actor", "must be a Principal (see app.principal())")
    return actor


class Described:
    """Base of the services: ``repr()`` names the storage and notifier in use, no secrets."""

    _ctx: Context

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._ctx.description}>"


class CheckedAuthorizer:
    """Wraps the configured authorizer so a wrong ``actor`` is a ValidationError,
    not an AttributeError from deep inside someone's plugin."""

    def __init__(self, inner: Authorizer) -> None:
        self._inner = inner

    def check(self, principal: Principal, action: Action, resource: Resource | None) -> None:
        self._inner.check(require_principal(principal), action, resource)

    def reach(self, principal: Principal, action: Action) -> Reach:
        return self._inner.reach(require_principal(principal), action)


@frozen(kw_only=True)
class Context:
    storage: Storage
    authorizer: Authorizer
    clock: Clock
    ids: IdGenerator
    settings: Settings
    publish: Callable[[DomainEvent], None]
    guard: CustomerGuard = field(factory=CustomerGuard)
    description: str = ""
    """What repr() shows: the storage URL without secrets and the notifier in use."""

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """The local date in the configured zone."""
        return self.clock.now().astimezone(self.settings.zone).date()

    def audit(
        self,
        uow: UnitOfWork,
        actor: Principal,
        *,
        kind: str,
        resource_id: str,
        action: str,
        at: datetime,
        before: dict[str, str] | None,
        after: dict[str, str] | None,
    ) -> None:
        trail = uow.audit.trail(kind, resource_id)
        uow.audit.append(chain_entry(
            trail[-1] if trail else None, resource_kind=kind, resource_id=resource_id,
            actor_id=actor.id, action=action, at=at, before=before, after=after,
        ))

    def finish(self, uow: UnitOfWork, events: Iterable[DomainEvent]) -> None:
        """Record the events with the change, commit, then tell the observers."""
        recorded = tuple(events)
        uow.events.append_many(recorded)
        uow.commit()
        for event in recorded:
            self.publish(event)

    def customer_for(self, uow: UnitOfWork, customer_id: str, purpose: Purpose) -> Customer:
        """The customer, if it exists (NotFound) and may be acted on for ``purpose``
        (CustomerRefused naming its status): the one question every area asks."""
        return self.guard.require(uow, customer_id, purpose, self.now())

    def reach(self, actor: Principal, action: Action) -> Reach:
        """How far ``actor``'s right to ``action`` reaches; PermissionDenied if nowhere."""
        self.authorizer.check(actor, action, None)
        return self.authorizer.reach(actor, action)
