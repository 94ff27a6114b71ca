"""The audit trails, reached as ``app.audit``: verify one resource's trail.

Every change to an audited resource (a prospect's registration, grade, stage,
owner...) appends an entry that carries the hash of the one before; the head
of each trail is recorded, and sealed when a chain key is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from custmgmt.domain.audit import broken_link
from custmgmt.domain.common import ProspectId
from custmgmt.domain.integrity import GENESIS, audit_chain
from custmgmt.domain.validation import require_id
from custmgmt.errors import IntegrityError, NotFound, ValidationError
from custmgmt.ports.auth import Action, Principal, Resource
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.customers import KIND as CUSTOMER
from custmgmt.services.customers import resource_of as customer_resource
from custmgmt.services.prospects import KIND as PROSPECT
from custmgmt.services.prospects import resource_of

Lookup = Callable[[UnitOfWork, str], Resource]


def _prospect(uow: UnitOfWork, resource_id: str) -> Resource:
    return resource_of(uow.prospects.get(ProspectId(resource_id)))


def _customer(uow: UnitOfWork, resource_id: str) -> Resource:
    return customer_resource(uow.customers.get(resource_id))


def _stock_count(uow: UnitOfWork, resource_id: str) -> Resource:
    for count in uow.stock_counts.find():
        if count.id == resource_id:
            return Resource(kind="stock_count", id=count.id, owner_id=count.counted_by)
    raise NotFound("stock_count", resource_id)


AUDITED: Mapping[str, Lookup | None] = {
    PROSPECT: _prospect, CUSTOMER: _customer, "stock_count": _stock_count,
    "report": None}
"""Each kind of resource with an audit trail, and how to find one (NotFound if absent;
None: the trail is the only record). Such a resource gets its first entry when it is
created, so one that exists without a trail lost it."""


class AuditService(Described):
    """``app.audit``: check audit trails and their (sealed) heads for tampering."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def verify(self, actor: Principal, kind: str, resource_id: str) -> int:
        """Recompute the audit trail of one resource and check its head; raise
        IntegrityError naming the first entry edited, deleted, inserted or reordered,
        newest entries cut off, a whole trail deleted, or (with a chain key) a head
        whose seal fails. ``kind``: ``"prospect"``, ``"customer"``, ``"stock_count"``
        or ``"report"`` (a closed month, by its name). Returns the number of entries.
        Needs the ``audit.verify`` right."""
        if not isinstance(kind, str) or kind not in AUDITED:
            raise ValidationError("kind", "must be one of: " + ", ".join(sorted(AUDITED)))
        rid = require_id("resource_id", resource_id)
        what = f"{kind} {rid}"
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            who = self._ctx.authorize(uow, actor, Action.AUDIT_VERIFY)
            lookup = AUDITED[kind]
            try:
                resource = None if lookup is None else lookup(uow, rid)
            except NotFound:
                resource = None
            if resource is not None:
                self._ctx.authorizer.check(who, Action.AUDIT_VERIFY, resource)
            trail = list(uow.audit.trail(kind, rid))
            head = uow.heads.get(audit_chain(kind), rid)
            if not trail and head is None:
                if resource is None:
                    raise NotFound(kind, rid)
                raise IntegrityError(f"{what}: its audit trail is missing")
            bad = broken_link(trail)
            if bad is not None:
                raise IntegrityError(f"{what}: audit entry {bad} was edited, deleted, "
                                     "inserted or reordered")
            self._ctx.check_head(uow, audit_chain(kind), rid, length=len(trail),
                                 head_hash=trail[-1].hash if trail else GENESIS, what=what)
        return len(trail)
