"""Delisting use cases (客户摘牌), reached as ``app.delisting``.

Customer relations opens and runs a case; the leadership panel, snapshotted when
the vote opens, decides by more than half of the whole panel; the customer gets a
written notice through the outbox; sealing sets the customer's status to SEALED,
after which the one customer guard refuses it everywhere and ordinary reads show
its contacts sealed. Nothing here copies the guard's check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.common import DomainEvent, ProspectId
from custmgmt.domain.credit import EXPOSED
from custmgmt.domain.customers import Customer, CustomerStatus
from custmgmt.domain.delisting import (
    Changed,
    DelistingCase,
    Evidence,
    EvidenceKind,
    Ground,
    Language,
    Notice,
    ObjectionOutcome,
    OpenItem,
    Review,
    ReviewDue,
    Trigger,
    VoteChoice,
    VoteTally,
    months_before,
    render_notice,
)
from custmgmt.domain.prospects import Prospect, ProspectKind
from custmgmt.domain.samples import SampleState
from custmgmt.domain.validation import require_aware, require_enum, require_id, require_text
from custmgmt.errors import InvalidTransition, ValidationError
from custmgmt.ports.auth import Action, Principal, Reach, Role, Scope
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import CreditQuery, ProspectQuery, UnitOfWork
from custmgmt.services import customers as customer_area
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import page_limit

KIND = "delisting_case"

OpenItemsCheck = Callable[[UnitOfWork, Customer, datetime, ZoneInfo], Sequence[OpenItem]]
"""One kind of thing still open for a customer before sealing (samples, plans, credit
instruments ...), as of an instant in the configured zone: the service asks every check
it was given."""

_EVERYONE = Reach(scope=Scope.ANY, principal_id="custmgmt-delisting")


def samples_in_custody(uow: UnitOfWork, customer: Customer, _at: datetime, _zone: ZoneInfo
                       ) -> list[OpenItem]:
    """Samples of the customer the company still holds (not disposed of)."""
    return [OpenItem(kind="sample", id=s.id, description=f"sample {s.number or s.id} is "
                     f"{s.state.value}, custodian {s.custodian}")
            for s in uow.samples.find(customer_id=customer.id)
            if s.state is not SampleState.DISPOSED]


def open_followup_plans(uow: UnitOfWork, customer: Customer, _at: datetime, _zone: ZoneInfo
                        ) -> list[OpenItem]:
    """Active follow-up plans of the prospects linked to the customer."""
    items = []
    prospects = uow.prospects.find(ProspectQuery(reach=_EVERYONE, customer_id=customer.id,
                                                 limit=10_000))
    for prospect in prospects:
        plan = uow.plans.get(prospect.id)
        if plan is not None and plan.active:
            items.append(OpenItem(kind="followup_plan", id=prospect.id,
                                  description=f"follow-up plan of prospect {prospect.id}, "
                                  f"next due {plan.next_due.isoformat()}"))
    return items


def binding_credit_instruments(uow: UnitOfWork, customer: Customer, at: datetime,
                               zone: ZoneInfo) -> list[OpenItem]:
    """Binding credit instruments (commitment letters, credit certificates) of the
    customer that are approved, issued or active and not yet expired at ``at``."""
    items = []
    after: tuple[datetime, str] | None = None
    while True:
        page = uow.credit.find(CreditQuery(reach=_EVERYONE, customer_id=customer.id,
                                           limit=500, after=after))
        for instrument in page:
            now = instrument.as_of(at, zone)
            if now.kind.binding and now.state in EXPOSED:
                items.append(OpenItem(kind="credit_instrument", id=now.id,
                                      description=f"binding {now.kind.value} is "
                                      f"{now.state.value}"))
        if len(page) < 500:
            return items
        after = (page[-1].created_at, page[-1].id)


DEFAULT_CHECKS: tuple[OpenItemsCheck, ...] = (samples_in_custody, open_followup_plans,
                                              binding_credit_instruments)
"""The open-items checks of the built-in areas."""


def snapshot(case: DelistingCase) -> dict[str, str]:
    """The audit view of a case: business facts only."""
    tally = case.tally()
    return {"state": case.state.value, "customer": case.customer_id,
            "grounds": ",".join(g.value for g in case.grounds),
            "evidence": str(len(case.evidence)), "panel": str(tally.panel_size),
            "for": str(tally.votes_for), "sealed": str(case.sealed).lower(),
            "version": str(case.version)}


def _customer_label(customer: Customer) -> str:
    """How the notice addresses the customer: an organization by its name; a person by
    customer number (a notification body never carries personal data in clear)."""
    profile = customer.profile
    if profile.kind is ProspectKind.ORGANIZATION and profile.organization is not None:
        return profile.organization.value
    return f"客户 / customer {customer.id}"


@guarded
class DelistingService(Described):
    """Cases: open, investigate, vote, notify, seal, objection; sealed reads; reviews."""

    def __init__(self, context: Context, checks: Iterable[OpenItemsCheck] = DEFAULT_CHECKS
                 ) -> None:
        self._ctx = context
        self._checks = tuple(checks)

    # -- helpers ---------------------------------------------------------------------

    def _audit(self, uow: UnitOfWork, who: Principal, action: str,
               before: DelistingCase | None, after: DelistingCase, at: datetime) -> None:
        self._ctx.audit(uow, who, kind=KIND, resource_id=after.id, action=action, at=at,
                        before=None if before is None else snapshot(before),
                        after=snapshot(after))

    def _change(
        self, actor: Principal, case_id: str, action: Action, audit_action: str,
        change: Callable[[UnitOfWork, Principal, DelistingCase, datetime], Changed],
    ) -> DelistingCase:
        cid = require_id("case_id", case_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, action)
            current = uow.delisting.get(cid)
            changed, events = change(uow, who, current, now)
            stored = uow.delisting.update(changed)
            self._audit(uow, who, audit_action, current, stored, now)
            self._ctx.finish(uow, events)
            return stored

    def _set_customer_status(
        self, uow: UnitOfWork, who: Principal, customer_id: str, status: CustomerStatus,
        reason: str, at: datetime,
    ) -> tuple[Customer, tuple[DomainEvent, ...]]:
        """The customer area's own status change (history, event, audit), in this unit."""
        customer = uow.customers.get(customer_id)
        changed, events = customer.set_status(status, reason=reason, by=who.id, at=at)
        stored = uow.customers.update(changed)
        self._ctx.audit(uow, who, kind=customer_area.KIND, resource_id=stored.id,
                        action="set_status", at=at, before=customer_area.snapshot(customer),
                        after=customer_area.snapshot(stored))
        return stored, events

    # -- the case ----------------------------------------------------------------------

    def open_case(
        self,
        actor: Principal,
        customer_id: str,
        *,
        grounds: Iterable[Ground | str],
        trigger: Trigger | str,
        trigger_note: str | None = None,
        other_ground: str | None = None,
    ) -> DelistingCase:
        """Open a case (customer relations) on one or more grounds; ``Ground.OTHER`` needs
        ``other_ground``. ``trigger``: the complaint, feedback or periodic review that
        started it. One unfinished case per customer at a time."""
        cid = require_id("customer_id", customer_id)
        why = require_enum("trigger", Trigger, trigger)
        if isinstance(grounds, str):
            raise ValidationError("grounds", "must be a list of grounds")
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.DELISTING_OPEN)
            customer = uow.customers.get(cid)
            if any(not c.is_closed for c in uow.delisting.for_customer(customer.id)):
                raise InvalidTransition("open case", "opened",
                                        "the customer already has an unfinished case")
            case, events = DelistingCase.open(
                id=self._ctx.ids.new_id("dl"), customer_id=customer.id, grounds=grounds,
                other_ground=other_ground, trigger=why, trigger_note=trigger_note,
                by=who.id, at=now)
            stored = uow.delisting.add(case)
            uow.delisting.record_review(Review(
                customer_id=customer.id, reviewed_by=who.id, reviewed_at=now,
                note=f"delisting case {stored.id} opened"))
            self._audit(uow, who, "open", None, stored, now)
            self._ctx.finish(uow, events)
        return stored

    def get(self, actor: Principal, case_id: str) -> DelistingCase:
        """The case with its evidence, panel, votes, notice and history."""
        cid = require_id("case_id", case_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.DELISTING_READ)
            return uow.delisting.get(cid)

    def cases_of(self, actor: Principal, customer_id: str) -> tuple[DelistingCase, ...]:
        """Every case of a customer, oldest first."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.DELISTING_READ)
            return tuple(uow.delisting.for_customer(cid))

    def audit_trail(self, actor: Principal, case_id: str) -> tuple[AuditEntry, ...]:
        """The case's hash-chained audit entries."""
        cid = require_id("case_id", case_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.DELISTING_READ)
            case = uow.delisting.get(cid)
            return tuple(uow.audit.trail(KIND, case.id))

    def add_evidence(
        self,
        actor: Principal,
        case_id: str,
        *,
        kind: EvidenceKind | str,
        description: str,
        source: str,
        received_at: datetime | None = None,
    ) -> DelistingCase:
        """Attach an evidence item (document, record, interview ...): what, from where,
        when received (default: now), received by the actor."""
        what = require_enum("kind", EvidenceKind, kind)
        when = None if received_at is None else require_aware("received_at", received_at)

        def change(_: UnitOfWork, who: Principal, case: DelistingCase, now: datetime
                   ) -> Changed:
            item = Evidence(kind=what, description=require_text("description", description),
                            source=require_text("source", source, 300),
                            received_at=now if when is None else when, received_by=who.id)
            return case.add_evidence(item, by=who.id, at=now)

        return self._change(actor, case_id, Action.DELISTING_MANAGE, "evidence", change)

    def summarize(self, actor: Principal, case_id: str, *, summary: str) -> DelistingCase:
        """The written investigation summary for the leadership (三、1(3))."""
        return self._change(actor, case_id, Action.DELISTING_MANAGE, "summary",
                            lambda _, who, case, now: case.summarize(summary, by=who.id,
                                                                     at=now))

    def _panel(self, uow: UnitOfWork) -> list[str]:
        members = []
        for stored in uow.principals.find(role=Role.LEADERSHIP):
            grants = self._ctx.known(uow, stored.id)
            if grants is not None and grants.has_role(Role.LEADERSHIP):
                members.append(grants.id)
        return members

    def open_vote(self, actor: Principal, case_id: str) -> DelistingCase:
        """Convene the leadership: whoever holds the ``leadership`` role now is the whole
        panel of this vote. Needs at least one evidence item and the summary."""
        return self._change(actor, case_id, Action.DELISTING_MANAGE, "open_vote",
                            lambda uow, who, case, now: case.open_vote(
                                self._panel(uow), by=who.id, at=now))

    def vote(self, actor: Principal, case_id: str, choice: VoteChoice | str) -> DelistingCase:
        """A panel member votes for, against or abstains; voting again changes the vote
        until the vote closes. Only members of the snapshotted panel vote."""
        chosen = require_enum("choice", VoteChoice, choice)
        return self._change(actor, case_id, Action.DELISTING_VOTE, "vote",
                            lambda _, who, case, now: case.vote(who.id, chosen, at=now))

    def tally(self, actor: Principal, case_id: str) -> VoteTally:
        """The votes so far against the whole panel."""
        return self.get(actor, case_id).tally()

    def close_vote(self, actor: Principal, case_id: str) -> DelistingCase:
        """Close the vote: DECIDED (delist) if more than half of the whole panel voted
        for, else REJECTED."""
        return self._change(actor, case_id, Action.DELISTING_MANAGE, "close_vote",
                            lambda _, who, case, now: case.close_vote(by=who.id, at=now))

    def notify(
        self,
        actor: Principal,
        case_id: str,
        *,
        reasons: str,
        basis: str,
        language: Language | str = Language.ZH,
    ) -> DelistingCase:
        """The written notice (Chinese, or ``language="en"``) naming the grounds, the
        reasons and the basis, queued in the outbox to the customer; its exact text is
        kept with the case. No notice without reasons and basis."""
        lang = require_enum("language", Language, language)

        def change(uow: UnitOfWork, who: Principal, case: DelistingCase, now: datetime
                   ) -> Changed:
            customer = uow.customers.get(case.customer_id)
            body, why, law = render_notice(
                case, customer=_customer_label(customer), reasons=reasons, basis=basis,
                language=lang, on=now.astimezone(self._ctx.settings.zone).date().isoformat())
            note = Notification(
                id=self._ctx.ids.new_id("n"), recipient_id=customer.id,
                kind="delisting.notice",
                subject="客户摘牌通知书" if lang is Language.ZH else "Notice of delisting",
                body=body, created_at=now, dedupe_key=f"delisting-notice:{case.id}")
            changed, events = case.notified(Notice(
                language=lang, text=body, reasons=why, basis=law, issued_by=who.id,
                issued_at=now, notification_id=note.id))
            uow.outbox.add(note)
            return changed, events

        return self._change(actor, case_id, Action.DELISTING_MANAGE, "notify", change)

    def _open_items(self, uow: UnitOfWork, customer: Customer) -> tuple[OpenItem, ...]:
        at, zone = self._ctx.now(), self._ctx.settings.zone
        return tuple(item for check in self._checks for item in check(uow, customer, at, zone))

    def open_items(self, actor: Principal, case_id: str) -> tuple[OpenItem, ...]:
        """What is still open for the case's customer (samples in custody, open follow-up
        plans, binding credit instruments ...): sealing waits for these."""
        cid = require_id("case_id", case_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.DELISTING_READ)
            case = uow.delisting.get(cid)
            return self._open_items(uow, uow.customers.get(case.customer_id))

    def seal(self, actor: Principal, case_id: str, *, override: str | None = None
             ) -> DelistingCase:
        """Seal the customer (status SEALED): from then on every area's guard refuses it
        and ordinary reads show its contacts sealed. Refused while anything is open for
        the customer, unless a leader (``delisting.override``) gives ``override``, a
        reason, which the case records. Nothing is erased."""
        action = Action.DELISTING_MANAGE if override is None else Action.DELISTING_OVERRIDE

        def change(uow: UnitOfWork, who: Principal, case: DelistingCase, now: datetime
                   ) -> Changed:
            customer = uow.customers.get(case.customer_id)
            items = self._open_items(uow, customer)
            sealed, events = case.seal(open_items=items, override=override, by=who.id,
                                       at=now)
            more = self._set_customer_status(uow, who, customer.id, CustomerStatus.SEALED,
                                             f"delisting case {case.id}", now)[1]
            return sealed, (*events, *more)

        return self._change(actor, case_id, action, "seal", change)

    def objection(self, actor: Principal, case_id: str, *, statement: str) -> DelistingCase:
        """Record the customer's objection: the case reopens for discussion."""
        return self._change(actor, case_id, Action.DELISTING_MANAGE, "objection",
                            lambda _, who, case, now: case.objection(statement, by=who.id,
                                                                  at=now))

    def resolve_objection(
        self, actor: Principal, case_id: str, outcome: ObjectionOutcome | str, *, note: str
    ) -> DelistingCase:
        """The outcome of the discussion: upheld (stays sealed), reversed (the customer is
        unsealed, ACTIVE again, recorded) or referred to the legal route."""
        result = require_enum("outcome", ObjectionOutcome, outcome)

        def change(uow: UnitOfWork, who: Principal, case: DelistingCase, now: datetime
                   ) -> Changed:
            resolved, events = case.resolve(result, note, by=who.id, at=now)
            if case.sealed and not resolved.sealed:
                more = self._set_customer_status(
                    uow, who, case.customer_id, CustomerStatus.ACTIVE,
                    f"delisting case {case.id} reversed on objection", now)[1]
                events = (*events, *more)
            return resolved, events

        return self._change(actor, case_id, Action.DELISTING_MANAGE, "resolve", change)

    # -- sealed data ---------------------------------------------------------------------

    def _sealed_read(self, uow: UnitOfWork, actor: Principal, reason: str, customer_id: str,
                     what: str) -> tuple[Principal, Customer, str]:
        why = require_text("reason", reason)
        who = self._ctx.authorize(uow, actor, Action.SEALED_READ)
        customer = uow.customers.get(customer_id)
        if customer.status is not CustomerStatus.SEALED:
            raise ValidationError("customer_id", "the customer is not sealed: read it "
                                  "through app.customers")
        self._ctx.audit(uow, who, kind=customer_area.KIND, resource_id=customer.id,
                        action="sealed_read", at=self._ctx.now(), before=None,
                        after={"read": what, "reason": why})
        return who, customer, why

    def read_sealed(self, actor: Principal, customer_id: str, *, reason: str) -> Customer:
        """A sealed customer as stored, contacts included: needs the ``sealed.read``
        right and a reason; the customer's audit trail records who read it and why."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work() as uow:
            customer = self._sealed_read(uow, actor, reason, cid, f"customer {cid}")[1]
            uow.commit()
        return customer

    def read_sealed_prospect(self, actor: Principal, prospect_id: str, *, reason: str
                             ) -> Prospect:
        """A prospect linked to a sealed customer, as stored (same right, reason, audit)."""
        pid = require_id("prospect_id", prospect_id)
        with self._ctx.storage.unit_of_work() as uow:
            prospect = uow.prospects.get(ProspectId(pid))
            if prospect.customer_id is None:
                raise ValidationError("prospect_id", "is not linked to a sealed customer")
            self._sealed_read(uow, actor, reason, prospect.customer_id, f"prospect {pid}")
            uow.commit()
        return prospect

    # -- periodic review -----------------------------------------------------------------

    def record_review(self, actor: Principal, customer_id: str, *, note: str) -> Review:
        """Record a periodic review of a customer (客户关系部门定期检查和评估)."""
        cid = require_id("customer_id", customer_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.DELISTING_MANAGE)
            customer = uow.customers.get(cid)
            review = Review(customer_id=customer.id, reviewed_by=who.id, reviewed_at=now,
                            note=require_text("note", note))
            uow.delisting.record_review(review)
            self._ctx.audit(uow, who, kind=customer_area.KIND, resource_id=customer.id,
                            action="periodic_review", at=now, before=None,
                            after={"reviewed_by": who.id})
            uow.commit()
        return review

    def review_due(self, actor: Principal, *, limit: int = 50) -> tuple[ReviewDue, ...]:
        """Active customers whose last review (or, never reviewed, their creation) is older
        than ``Settings.delisting_review_months``, longest waiting first."""
        size = page_limit(limit)
        now = self._ctx.now()
        cutoff = months_before(now, self._ctx.settings.delisting_review_months)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.DELISTING_READ)
            return tuple(uow.delisting.reviews_due(cutoff, size))
