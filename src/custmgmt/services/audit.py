"""The audit trails, reached as ``app.audit``: verify one resource's trail.

Every change to an audited resource (a prospect's registration, grade, stage,
owner...) appends an entry that carries the hash of the one before; the head
of each trail is recorded, and sealed when a chain key is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from attrs import frozen

from custmgmt.domain.audit import IMPORT_KIND, broken_link
from custmgmt.domain.common import ProspectId
from custmgmt.domain.integrity import CUSTODY_CHAIN, GENESIS, audit_chain
from custmgmt.domain.quantities import exact
from custmgmt.domain.samples import Chain
from custmgmt.domain.validation import require_id
from custmgmt.errors import IntegrityError, NotFound, ValidationError
from custmgmt.ports.auth import Action, Principal, Resource
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.credit import KIND as CREDIT
from custmgmt.services.credit import LIMIT_KIND as CREDIT_LIMIT
from custmgmt.services.credit import resource_of as credit_resource
from custmgmt.services.customers import KIND as CUSTOMER
from custmgmt.services.customers import resource_of as customer_resource
from custmgmt.services.edge import guarded
from custmgmt.services.marketing import KIND as CAMPAIGN
from custmgmt.services.marketing import resource_of as campaign_resource
from custmgmt.services.privacy import KIND as PI_REQUEST
from custmgmt.services.prospects import KIND as PROSPECT
from custmgmt.services.prospects import resource_of
from custmgmt.services.trails import ImportEntries

Lookup = Callable[[UnitOfWork, str], Resource]


def _prospect(uow: UnitOfWork, resource_id: str) -> Resource:
    return resource_of(uow.prospects.get(ProspectId(resource_id)))


def _customer(uow: UnitOfWork, resource_id: str) -> Resource:
    return customer_resource(uow.customers.get(resource_id))


def _credit(uow: UnitOfWork, resource_id: str) -> Resource:
    return credit_resource(uow.credit.get(resource_id))


def _campaign(uow: UnitOfWork, resource_id: str) -> Resource:
    return campaign_resource(uow.campaigns.get(resource_id))


def _credit_limit(uow: UnitOfWork, resource_id: str) -> Resource:
    if uow.credit_limits.get(resource_id) is None:
        raise NotFound(CREDIT_LIMIT, resource_id)
    return Resource(kind=CREDIT_LIMIT, id=resource_id)


def _pi_request(uow: UnitOfWork, resource_id: str) -> Resource:
    return Resource(kind=PI_REQUEST, id=uow.pi_requests.get(resource_id).id)


def _complaint(uow: UnitOfWork, resource_id: str) -> Resource:
    return Resource(kind="complaint", id=uow.complaints.get(resource_id).id)


def _care_file(uow: UnitOfWork, resource_id: str) -> Resource:
    if uow.care_files.get(resource_id) is None:
        raise NotFound("care_file", resource_id)
    return Resource(kind="care_file", id=resource_id)


def _stock_count(uow: UnitOfWork, resource_id: str) -> Resource:
    for count in uow.stock_counts.find():
        if count.id == resource_id:
            return Resource(kind="stock_count", id=count.id, owner_id=count.counted_by)
    raise NotFound("stock_count", resource_id)


AUDITED: Mapping[str, Lookup | None] = {
    PROSPECT: _prospect, IMPORT_KIND: None, CUSTOMER: _customer, "stock_count": _stock_count,
    CREDIT: _credit, CREDIT_LIMIT: _credit_limit, "report": None, PI_REQUEST: _pi_request,
    "consent": _customer, CAMPAIGN: _campaign,
    "complaint": _complaint, "care_file": _care_file}
"""Each kind of resource with an audit trail, and how to find one (NotFound if absent;
None: the trail is the only record). Such a resource gets its first entry when it is
created, so one that exists without a trail lost it."""


@guarded
class AuditService(Described):
    """``app.audit``: check audit trails and their (sealed) heads for tampering."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def seal_heads(self, actor: Principal) -> SealReport:
        """Adopt a chain key on a store written without one: verify every custody chain
        and audit trail, and seal the head of each that holds and has no seal yet.

        Chains that do not verify, and heads sealed under another key, are left as
        they are and named in ``SealReport.refused``. Needs the ``audit.seal`` right
        (admin) and a configured ``Settings.chain_key`` or sealer plugin
        (ValidationError otherwise). Safe to run again: sealed heads are counted as
        ``already_sealed``."""
        return _seal_heads(self._ctx, actor)

    def verify(self, actor: Principal, kind: str, resource_id: str) -> int:
        """Recompute the audit trail of one resource and check its head; raise
        IntegrityError naming the first entry edited, deleted, inserted or reordered,
        newest entries cut off, a whole trail deleted, or (with a chain key) a head
        whose seal fails. ``kind``: ``"prospect"``, ``"customer"``, ``"stock_count"``,
        ``"credit"`` (an instrument), ``"credit_limit"`` (by customer id), ``"consent"``
        (a person's consent records, by customer id), ``"campaign"``, ``"report"`` (a
        closed month, by its name), ``"pi_request"`` (a personal-information
        request), ``"complaint"``, ``"care_file"`` (by customer id) or
        ``"prospect_import"`` (an import's batch entries, by import id). Returns the
        number of entries; an imported prospect's count includes its batch's entry,
        which its trail starts from, checked to be intact and to name it.
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
            origin = ImportEntries().origin(uow, rid, trail, head, what)
            bad = broken_link(trail, origin)
            if bad is not None:
                raise IntegrityError(f"{what}: audit entry {bad} was edited, deleted, "
                                     "inserted or reordered")
            self._ctx.check_head(uow, audit_chain(kind), rid, length=len(trail),
                                 head_hash=trail[-1].hash if trail else origin, what=what)
        return len(trail) + (origin != GENESIS)


@frozen(kw_only=True)
class SealReport:
    """What ``app.audit.seal_heads`` did: heads it sealed, heads already sealed under
    the key, and the chains it refused to seal (named, with why), which it left as
    they were."""

    sealed: int
    already_sealed: int
    refused: tuple[str, ...]


def _seal_heads(ctx: Context, actor: Principal) -> SealReport:
    if ctx.sealer is None:
        raise ValidationError("chain_key", "no chain key or sealer is configured: there is "
                              "nothing to seal heads with")
    with ctx.storage.unit_of_work(read_only=True) as uow:
        ctx.authorize(uow, actor, Action.AUDIT_SEAL)
        chains = [(CUSTODY_CHAIN, s.id) for s in uow.samples.find()]
        trails = [(audit_chain(kind), rid) for kind, rid in uow.audit.trails()]
        # an imported prospect has a head, and no entry until it changes
        imported = set(uow.heads.ids(audit_chain(PROSPECT))).difference(
            rid for chain, rid in trails if chain == audit_chain(PROSPECT))
        chains += trails + [(audit_chain(PROSPECT), rid) for rid in sorted(imported)]
    sealed = already = 0
    refused: list[str] = []
    imports = ImportEntries()  # each batch entry checked once, not once a prospect
    for batch in _batches(chains, 200):
        with ctx.storage.unit_of_work() as uow:
            ctx.authorize(uow, actor, Action.AUDIT_SEAL)
            for chain, chain_id in batch:
                outcome = _seal_one(ctx, uow, chain, chain_id, imports)
                sealed += outcome == "sealed"
                already += outcome == "already"
                if outcome not in ("sealed", "already"):
                    refused.append(outcome)
            uow.commit()
    return SealReport(sealed=sealed, already_sealed=already, refused=tuple(refused))


def _batches(items: list[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _seal_one(
    ctx: Context, uow: UnitOfWork, chain: str, chain_id: str, imports: ImportEntries
) -> str:
    """"sealed", "already", or why the chain was not sealed."""
    what = f"{chain} {chain_id}"
    head = uow.heads.get(chain, chain_id)
    if head is not None and head.seal is not None:
        try:
            ctx.check_head(uow, chain, chain_id, length=head.length,
                           head_hash=head.head_hash, what=what)
        except IntegrityError as error:
            return f"{error} (sealed under another key?)"
        return "already"
    try:
        length, newest = _verified(uow, chain, chain_id, imports)
    except IntegrityError as error:
        return str(error)
    if head is not None and (head.length, head.head_hash) != (length, newest):
        return f"{what}: its head records {head.length} entries, {length} are stored"
    try:
        ctx.seal_head(uow, chain, chain_id, length, newest)
    except NotFound:  # a prospect's trail whose prospect is gone: nowhere to keep a head
        return f"{what}: the {chain.removeprefix('audit:')} itself is not stored"
    return "sealed"


def _verified(
    uow: UnitOfWork, chain: str, chain_id: str, imports: ImportEntries
) -> tuple[int, str]:
    """The length and newest hash of a chain that verifies; IntegrityError if not."""
    if chain == CUSTODY_CHAIN:
        sample = uow.samples.get(chain_id)
        events = list(uow.samples.chain(chain_id))
        with exact():
            Chain().verify(sample, events)
        return len(events), events[-1].hash
    kind = chain.removeprefix("audit:")
    what = f"{kind} {chain_id}"
    trail = list(uow.audit.trail(kind, chain_id))
    origin = imports.origin(uow, chain_id, trail, uow.heads.get(chain, chain_id), what)
    bad = broken_link(trail, origin)
    if bad is not None:
        raise IntegrityError(f"{what}: audit entry {bad} was edited, deleted, "
                             "inserted or reordered")
    return len(trail), trail[-1].hash if trail else origin
