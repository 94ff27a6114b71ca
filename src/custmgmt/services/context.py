"""What every service needs, wired once by the bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import TypeVar

from attrs import field, frozen

from custmgmt.domain.audit import AuditEntry, chain_entry, claimed_origin
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.customers import Customer, Purpose
from custmgmt.domain.integrity import (
    GENESIS,
    SEAL_LENGTH,
    ChainHead,
    audit_chain,
    check_head,
    head_message,
    is_seal,
)
from custmgmt.domain.registrations import PROSPECT_TRAILS, TrailStart
from custmgmt.domain.validation import type_name
from custmgmt.errors import CustmgmtError, NotFound, PermissionDenied, StorageError, ValidationError
from custmgmt.ports.auth import Action, Authorizer, Principal, Reach, Resource, Scope
from custmgmt.ports.clock import CheckedIds, Clock
from custmgmt.ports.sealing import Sealer
from custmgmt.ports.settings import Settings
from custmgmt.ports.storage import Storage, UnitOfWork
from custmgmt.services.guard import CustomerGuard


def require_principal(actor: object) -> Principal:
    if not isinstance(actor, Principal):
        raise ValidationError("actor", "must be a Principal (see app.principal())")
    return actor


T = TypeVar("T")


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

    def resolve(self, principal_id: str, stored: Principal | None) -> Principal | None:
        resolved = self._inner.resolve(principal_id, stored)
        if resolved is not None and not isinstance(resolved, Principal):
            raise ValidationError("authorizer", "resolve() must return a Principal or None")
        return resolved

    def known_roles(self) -> frozenset[str]:
        return frozenset(self._inner.known_roles())

    def check(self, principal: Principal, action: Action, resource: Resource | None) -> None:
        self._inner.check(require_principal(principal), action, resource)

    def reach(self, principal: Principal, action: Action) -> Reach:
        return self._inner.reach(require_principal(principal), action)


@frozen(kw_only=True)
class Context:
    storage: Storage
    authorizer: Authorizer
    clock: Clock
    ids: CheckedIds
    """The id generator given, each id it makes checked (StorageError, its fault)."""
    settings: Settings
    observe: Callable[[], object]
    """Feed the event observers from the stored log (after a commit that recorded events)."""
    guard: CustomerGuard = field(factory=CustomerGuard)
    sealer: Sealer | None = None
    """Seals chain heads; None when no ``chain_key`` (and no plugin) offers one."""
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
        """Append an entry to the resource's audit trail and record its head (a resource
        created in this unit of work starts its trail with ``new_trail`` instead)."""
        trail = uow.audit.trail(kind, resource_id)
        entry = chain_entry(
            trail[-1] if trail else None, resource_kind=kind, resource_id=resource_id,
            actor_id=actor.id, action=action, at=at, before=before, after=after,
            origin=GENESIS if trail else claimed_origin(
                (), uow.heads.get(audit_chain(kind), resource_id)),
        )
        uow.audit.append(entry)
        self.seal_audit(uow, entry)

    def new_trail(
        self,
        actor: Principal,
        *,
        kind: str,
        resource_id: str,
        action: str,
        at: datetime,
        before: dict[str, str] | None,
        after: dict[str, str] | None,
    ) -> tuple[AuditEntry, ChainHead]:
        """The first entry of a new resource's audit trail, and the trail's (sealed) head
        after it: for the caller to append and to store, the head perhaps with the
        resource (a registration writes its prospect and the head in one row)."""
        entry = chain_entry(None, resource_kind=kind, resource_id=resource_id,
                            actor_id=actor.id, action=action, at=at, before=before,
                            after=after, origin=GENESIS)
        return entry, self._sealed(ChainHead(chain=audit_chain(kind), chain_id=resource_id,
                                             length=entry.sequence + 1, head_hash=entry.hash))

    def seal_audit(self, uow: UnitOfWork, newest: AuditEntry) -> None:
        """Record (and seal) the head of the trail that ``newest`` now ends."""
        self.seal_head(uow, audit_chain(newest.resource_kind), newest.resource_id,
                       newest.sequence + 1, newest.hash)

    def seal_head(
        self, uow: UnitOfWork, chain: str, chain_id: str, length: int, head_hash: str
    ) -> None:
        """Record the head of a chain that just grew, sealed if a sealer is configured."""
        uow.heads.save(self._sealed(
            ChainHead(chain=chain, chain_id=chain_id, length=length, head_hash=head_hash)))

    def _sealed(self, head: ChainHead) -> ChainHead:
        if self.sealer is not None:
            seal = _seal(self.sealer, head.message())
            head = ChainHead(chain=head.chain, chain_id=head.chain_id, length=head.length,
                             head_hash=head.head_hash, seal=seal)  # (evolve: twice the time)
        return head

    def trail_start(self, prospect_ids: Sequence[str], origin: AuditEntry) -> TrailStart:
        """Where the trails of new prospects start (``origin``, an import batch's entry
        that names them: each trail's head, of length 0, holds its hash), each head
        sealed if a sealer is configured: for a batch to carry and storage to write
        with its rows (no head object a row). Sealed before the rows are written: a
        batch refused for a held key has its heads sealed again on its next attempt."""
        sealer = self.sealer
        if sealer is None:
            return TrailStart(origin=origin.hash, seals=(None,) * len(prospect_ids))
        return TrailStart(origin=origin.hash, seals=tuple(
            _seal(sealer, head_message(PROSPECT_TRAILS, pid, 0, origin.hash))
            for pid in prospect_ids))

    def check_head(
        self, uow: UnitOfWork, chain: str, chain_id: str, *, length: int, head_hash: str,
        what: str,
    ) -> None:
        """IntegrityError unless the stored chain is the one its (sealed) head records."""
        verify = None if self.sealer is None else self._verify
        check_head(uow.heads.get(chain, chain_id), length=length, head_hash=head_hash,
                   verify=verify, what=what)

    def _verify(self, message: bytes, seal: str) -> bool:
        assert self.sealer is not None
        try:
            return bool(self.sealer.verify(message, seal))
        except CustmgmtError:
            raise
        except Exception as error:
            raise StorageError(f"the chain sealer failed ({type_name(error)})") from None

    def finish(self, uow: UnitOfWork, events: Iterable[DomainEvent]) -> None:
        """Record the events with the change, commit, then feed the observers."""
        recorded = tuple(events)
        uow.events.append_many(recorded)
        uow.commit()
        if recorded:
            self.observe()

    def customer_for(self, uow: UnitOfWork, customer_id: str, purpose: Purpose) -> Customer:
        """The customer, if it exists (NotFound) and may be acted on for ``purpose``
        (CustomerRefused naming its status): the one question every area asks."""
        return self.guard.require(uow, customer_id, purpose, self.now())

    # -- who is acting ---------------------------------------------------------------
    # The Principal a caller hands in identifies the actor and nothing more: its
    # grants are read here, inside the unit of work of the call, every time.

    def known(self, uow: UnitOfWork, principal_id: str) -> Principal | None:
        """The grants of ``principal_id`` as stored (or as the auth adapter resolves
        them), or None if the id is unknown or deactivated."""
        return self.grants_of(principal_id, uow.principals.get(principal_id))

    def grants_of(self, principal_id: str, stored: Principal | None) -> Principal | None:
        """Like :meth:`known`, from ``stored``: the principal as storage has it now."""
        if stored is not None and not stored.active:
            return None
        grants = self.authorizer.resolve(principal_id, stored)
        if grants is None or grants.id != principal_id or not grants.active:
            return None
        return grants

    def acting(self, uow: UnitOfWork, actor: object, action: Action) -> Principal:
        """The actor's grants as of now; PermissionDenied if the id is unknown."""
        claimed = require_principal(actor)
        grants = self.known(uow, claimed.id)
        if grants is None:
            raise PermissionDenied(claimed.id, action.value, "not a known, active principal")
        return grants

    def authorize(
        self, uow: UnitOfWork, actor: object, action: Action, resource: Resource | None = None
    ) -> Principal:
        """Check ``action`` against the stored grants; returns them for the rest of the call."""
        grants = self.acting(uow, actor, action)
        self.authorizer.check(grants, action, resource)
        return grants

    def reach_from(self, claimed: Principal, stored: Principal | None, action: Action) -> Reach:
        """Like :meth:`reach`, from the principal as storage has it now (``stored``,
        read by the caller in its unit of work)."""
        grants = self.grants_of(claimed.id, stored)
        if grants is None:
            raise PermissionDenied(claimed.id, action.value, "not a known, active principal")
        self.authorizer.check(grants, action, None)
        return self.authorizer.reach(grants, action)

    def reach(self, uow: UnitOfWork, actor: object, action: Action) -> tuple[Principal, Reach]:
        """The actor's grants and how far their right to ``action`` reaches, for
        filtering lists; PermissionDenied if it reaches nowhere."""
        grants = self.authorize(uow, actor, action)
        return grants, self.authorizer.reach(grants, action)

    def may(self, grants: Principal, action: Action) -> bool:
        """Whether ``grants`` (already resolved) give any right to ``action``."""
        return self.authorizer.reach(grants, action).scope is not Scope.NONE

    def load(
        self,
        uow: UnitOfWork,
        actor: object,
        action: Action,
        kind: str,
        item_id: str,
        get: Callable[[str], T],
        resource: Callable[[T], Resource],
    ) -> tuple[Principal, T]:
        """Load one record for ``action`` and check the actor may do it.

        No existence oracle: unless the actor's right reaches every record of the
        kind, a record that does not exist and one they may not touch get the same
        PermissionDenied, with the same message.
        """
        grants = self.acting(uow, actor, action)
        scope = self.authorizer.reach(grants, action).scope
        denied = PermissionDenied(grants.id, action.value, f"no access to {kind} {item_id!r}")
        if scope is Scope.NONE:
            raise denied
        try:
            item = get(item_id)
        except NotFound:
            if scope is Scope.ANY:
                raise
            raise denied from None
        try:
            self.authorizer.check(grants, action, resource(item))
        except PermissionDenied:
            raise denied from None
        return grants, item


def _seal(sealer: Sealer, message: bytes) -> str:
    """``sealer``'s seal over ``message``; a plugin's failure or a seal that is no text of
    1 to ``SEAL_LENGTH`` printable characters (storage keeps no other) is StorageError
    (nothing is saved), not a fault of the caller's input."""
    try:
        seal = sealer.seal(message)
    except CustmgmtError:
        raise
    except Exception as error:  # a KMS or notary plugin failed
        raise StorageError(f"the chain sealer failed ({type_name(error)})") from None
    if not is_seal(seal):  # (a str subclass is carried as given)
        raise StorageError(f"the chain sealer returned no seal of 1 to {SEAL_LENGTH} "
                           "printable characters")
    return seal
