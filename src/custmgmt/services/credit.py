"""Credit instrument use cases, reached as ``app.credit``.

Relationship managers draft instruments for the customers they own, submit, issue and
record draws and tender results; credit approvers approve (never what they drafted),
set limits and revoke; risk officers read everything. Every customer is reached through
the one guard (``Context.customer_for`` for ``Purpose.CREDIT``): a sealed customer gets
no new instrument and no drawdown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.common import Money
from custmgmt.domain.credit import (
    Changed,
    Condition,
    Counterparty,
    CreditInstrument,
    CreditLimit,
    CustomerConsent,
    CustomerExposure,
    Drawdown,
    ExposureLine,
    InstrumentKind,
    InstrumentState,
    InterestRate,
    ensure_within_limit,
    positive,
)
from custmgmt.domain.customers import Customer, Purpose
from custmgmt.domain.validation import require_enum, require_id, require_text
from custmgmt.errors import ValidationError
from custmgmt.ports.auth import Action, Principal, Resource
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import CreditQuery, Page, UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.customers import resource_of as customer_resource
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import page_cursor, page_limit

KIND = "credit"
LIMIT_KIND = "credit_limit"
INTENTS = (InstrumentKind.CONDITIONAL_COMMITMENT_LETTER, InstrumentKind.LOAN_INTENT_LETTER,
           InstrumentKind.COOPERATION_AGREEMENT)


def resource_of(instrument: CreditInstrument) -> Resource:
    """The instrument as the authorizer sees it: its maker and the maker's team."""
    return Resource(kind=KIND, id=instrument.id, owner_id=instrument.owner_id,
                    team=instrument.owner_team)


def snapshot(instrument: CreditInstrument) -> dict[str, str]:
    """The audit view of an instrument: business facts only."""
    out = {"kind": instrument.kind.value, "customer": instrument.customer_id,
           "state": instrument.state.value, "amount": str(instrument.amount),
           "drawn": str(instrument.drawn), "version": str(instrument.version)}
    revocation = instrument.revocation
    if revocation is not None:
        out["revoked_for"] = revocation.reason
        if revocation.consent is not None:
            out["consent_ref"] = revocation.consent.document_ref
        if revocation.failed_conditions:
            out["failed_conditions"] = ",".join(revocation.failed_conditions)
    return out


@guarded
class CreditService(Described):
    """Commitment letters, credit certificates and intents: draft, four-eyes approval,
    issue, award, draws, revocation, limits and exposure."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    # -- helpers --------------------------------------------------------------------

    def _audit(self, uow: UnitOfWork, actor: Principal, action: str,
               before: CreditInstrument | None, after: CreditInstrument, at: datetime) -> None:
        self._ctx.audit(uow, actor, kind=KIND, resource_id=after.id, action=action, at=at,
                        before=None if before is None else snapshot(before),
                        after=snapshot(after))

    def _load(self, uow: UnitOfWork, actor: Principal, action: Action,
              instrument_id: str) -> tuple[Principal, CreditInstrument]:
        return self._ctx.load(uow, actor, action, KIND, instrument_id, uow.credit.get,
                              resource_of)

    def _outstanding(self, uow: UnitOfWork, customer_id: str, currency: str) -> Money:
        total = Money(0, currency)
        for line in uow.credit.exposure(self._ctx.today(), customer_id):
            if line.currency == currency:
                total = total + line.outstanding
        return total

    def _within_limit(self, uow: UnitOfWork, instrument: CreditInstrument) -> CreditLimit:
        limit = uow.credit_limits.get(instrument.customer_id)
        outstanding = self._outstanding(uow, instrument.customer_id, instrument.amount.currency)
        ensure_within_limit(limit, outstanding, instrument.amount)
        assert limit is not None
        return limit

    def _draft(self, actor: Principal, customer_id: str, **fields: object) -> CreditInstrument:
        cid = require_id("customer_id", customer_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, _ = self._ctx.load(uow, actor, Action.CREDIT_DRAFT, "customer", cid,
                                    uow.customers.get, customer_resource)
            customer: Customer = self._ctx.customer_for(uow, cid, Purpose.CREDIT)
            instrument, events = CreditInstrument.draft(
                min_term_months=self._ctx.settings.commitment_min_term_months, now=now,
                id=self._ctx.ids.new_id("cr"), customer_id=customer.id, owner_id=who.id,
                owner_team=who.team, **fields)
            if instrument.binding:
                self._within_limit(uow, instrument)
            stored = uow.credit.add(instrument)
            self._audit(uow, who, "draft", None, stored, now)
            self._ctx.finish(uow, events)
        return stored

    def _change(
        self, actor: Principal, instrument_id: str, action: Action, audit_action: str,
        change: Callable[[UnitOfWork, Principal, CreditInstrument, datetime], Changed],
        guard: bool = True,
    ) -> CreditInstrument:
        iid = require_id("instrument_id", instrument_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, current = self._load(uow, actor, action, iid)
            if guard:
                self._ctx.customer_for(uow, current.customer_id, Purpose.CREDIT)
            changed, events = change(uow, who, current, now)
            stored = uow.credit.update(changed)
            self._audit(uow, who, audit_action, current, stored, now)
            if stored.state is InstrumentState.REVOKED:
                uow.outbox.add(self._revoked_note(stored, now))
            self._ctx.finish(uow, events)
        return stored.as_of(now, self._ctx.settings.zone)

    def _revoked_note(self, instrument: CreditInstrument, now: datetime) -> Notification:
        assert instrument.revocation is not None
        kind = instrument.kind.value.replace("_", " ")
        return Notification(
            id=self._ctx.ids.new_id("n"), recipient_id=instrument.customer_id,
            kind="credit.revoked", subject=f"Your {kind} {instrument.id} is revoked",
            body=f"Reason: {instrument.revocation.reason}", created_at=now,
            dedupe_key=f"credit.revoked:{instrument.id}")

    # -- drafting -------------------------------------------------------------------

    def draft_commitment_letter(
        self,
        actor: Principal,
        customer_id: str,
        *,
        amount: Money,
        purpose: str,
        rate: InterestRate,
        term_months: int,
        drawdown_method: str,
        commitment_fee: Money,
        valid_from: date,
        valid_until: date,
    ) -> CreditInstrument:
        """A loan commitment letter (贷款承诺函, binding) in DRAFT: purpose, amount, rate,
        term (more than ``Settings.commitment_min_term_months``), drawdown method, fee and
        validity. Raises CreditLimitExceeded if the customer's binding exposure would pass
        its approved credit limit."""
        return self._draft(
            actor, customer_id, kind=InstrumentKind.LOAN_COMMITMENT_LETTER, amount=amount,
            purpose=purpose, rate=rate, term_months=term_months,
            drawdown_method=drawdown_method, commitment_fee=commitment_fee,
            valid_from=valid_from, valid_until=valid_until)

    def draft_certificate(
        self,
        actor: Principal,
        customer_id: str,
        *,
        beneficiary: str,
        project: str,
        limit: Money,
        construction_end: date,
        valid_from: date,
        valid_until: date,
    ) -> CreditInstrument:
        """A bank credit certificate (银行信贷证明, binding) for the customer as bidder, to the
        tenderer ``beneficiary``, for ``project`` up to ``limit``; valid no longer than the
        construction period. It takes effect only once ``award(won=True)``."""
        return self._draft(
            actor, customer_id, kind=InstrumentKind.BANK_CREDIT_CERTIFICATE, amount=limit,
            beneficiary=beneficiary, project=project, construction_end=construction_end,
            valid_from=valid_from, valid_until=valid_until)

    def draft_intent(
        self,
        actor: Principal,
        customer_id: str,
        *,
        kind: InstrumentKind | str,
        credit_line: Money,
        conditions: Iterable[Condition],
        valid_from: date,
        valid_until: date,
        counterparty: Counterparty | str | None = None,
    ) -> CreditInstrument:
        """A non-binding intent: a conditional commitment letter, a loan intent letter or a
        cooperation agreement (which names its ``counterparty``), with an intended
        ``credit_line`` and the named conditions the customer must meet."""
        chosen = require_enum("kind", InstrumentKind, kind)
        if chosen not in INTENTS:
            raise ValidationError("kind", "must be an intent kind: "
                                  + ", ".join(k.value for k in INTENTS))
        party = None if counterparty is None else require_enum(
            "counterparty", Counterparty, counterparty)
        return self._draft(
            actor, customer_id, kind=chosen, amount=credit_line,
            conditions=tuple(conditions), counterparty=party, valid_from=valid_from,
            valid_until=valid_until)

    # -- the lifecycle ----------------------------------------------------------------

    def submit(self, actor: Principal, instrument_id: str) -> CreditInstrument:
        """The maker submits a draft for approval."""
        zone = self._ctx.settings.zone
        return self._change(actor, instrument_id, Action.CREDIT_DRAFT, "submit",
                            lambda _, who, i, now: i.submit(by=who.id, at=now, zone=zone))

    def approve(self, actor: Principal, instrument_id: str) -> CreditInstrument:
        """Approve a submitted instrument: never by whoever drafted it (PermissionDenied).
        A binding one is checked against the customer's approved credit limit again
        (CreditLimitExceeded); concurrent approvals for one customer cannot both pass."""
        zone = self._ctx.settings.zone

        def change(uow: UnitOfWork, who: Principal, i: CreditInstrument,
                   now: datetime) -> Changed:
            changed = i.approve(by=who.id, at=now, zone=zone)
            if i.binding:
                limit = self._within_limit(uow, i)
                uow.credit_limits.save(limit)  # a new version: concurrent approvals conflict
            return changed

        return self._change(actor, instrument_id, Action.CREDIT_APPROVE, "approve", change)

    def issue(self, actor: Principal, instrument_id: str) -> CreditInstrument:
        """Hand an approved instrument to the customer (or, for a certificate, to the
        tenderer): it is in force from now until its validity ends."""
        zone = self._ctx.settings.zone
        return self._change(actor, instrument_id, Action.CREDIT_ISSUE, "issue",
                            lambda _, who, i, now: i.issue(by=who.id, at=now, zone=zone))

    def award(self, actor: Principal, instrument_id: str, *, won: bool) -> CreditInstrument:
        """A credit certificate's tender result: ``won=True`` activates it (draws for its
        project may start), ``won=False`` makes it void."""
        zone = self._ctx.settings.zone
        return self._change(actor, instrument_id, Action.CREDIT_AWARD, "award",
                            lambda _, who, i, now: i.award(won=won, by=who.id, at=now,
                                                           zone=zone))

    def draw(
        self, actor: Principal, instrument_id: str, amount: Money, *,
        project: str | None = None,
    ) -> CreditInstrument:
        """Record a draw by the customer: within validity, never above what is undrawn
        (CreditLimitExceeded); on a certificate only once active and only for its
        ``project``. Drawn in full, the instrument is FULFILLED."""
        zone = self._ctx.settings.zone
        money = positive("amount", amount)

        def change(_: UnitOfWork, who: Principal, i: CreditInstrument,
                   now: datetime) -> Changed:
            draw = Drawdown(id=self._ctx.ids.new_id("dr"), amount=money, at=now, by=who.id,
                            project=project)
            return i.draw(draw, zone=zone)

        return self._change(actor, instrument_id, Action.CREDIT_DRAW, "draw", change)

    def revoke(
        self,
        actor: Principal,
        instrument_id: str,
        *,
        reason: str,
        consent: CustomerConsent | None = None,
        failed_conditions: Iterable[str] = (),
    ) -> CreditInstrument:
        """Revoke an instrument in force. A binding one only with the customer's recorded
        ``consent`` (else RevocationNotAllowed); a non-binding one by citing which of its
        conditions the customer failed (an unknown code is a ValidationError). Audited;
        the customer is notified through the outbox."""
        why = require_text("reason", reason)
        cited = tuple(require_text("failed_conditions", c, 100) for c in failed_conditions)
        zone = self._ctx.settings.zone
        return self._change(
            actor, instrument_id, Action.CREDIT_REVOKE, "revoke",
            lambda _, who, i, now: i.revoke(reason=why, consent=consent,
                                            failed_conditions=cited, by=who.id, at=now,
                                            zone=zone),
            guard=False)

    # -- reading --------------------------------------------------------------------

    def get(self, actor: Principal, instrument_id: str) -> CreditInstrument:
        """The instrument as it stands now (EXPIRED once its validity has passed)."""
        iid = require_id("instrument_id", instrument_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            found = self._load(uow, actor, Action.CREDIT_READ, iid)[1]
        return found.as_of(self._ctx.now(), self._ctx.settings.zone)

    def audit_trail(self, actor: Principal, instrument_id: str) -> tuple[AuditEntry, ...]:
        """The instrument's hash-chained audit entries: every change, who, when."""
        iid = require_id("instrument_id", instrument_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            found = self._load(uow, actor, Action.CREDIT_READ, iid)[1]
            return tuple(uow.audit.trail(KIND, found.id))

    def list(
        self,
        actor: Principal,
        *,
        customer_id: str | None = None,
        kind: InstrumentKind | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[CreditInstrument]:
        """Instruments the actor may read, oldest first, a page at a time."""
        if customer_id is not None:
            require_id("customer_id", customer_id)
        wanted = None if kind is None else require_enum("kind", InstrumentKind, kind)
        size, after = page_limit(limit) + 1, page_cursor(cursor)
        now, zone = self._ctx.now(), self._ctx.settings.zone
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            query = CreditQuery(reach=self._ctx.reach(uow, actor, Action.CREDIT_READ)[1],
                                customer_id=customer_id, kind=wanted, limit=size,
                                after=after)
            rows = list(uow.credit.find(query))
        page, more = rows[:limit], len(rows) > limit
        last = page[-1] if page else None
        next_cursor = f"{last.created_at.isoformat()}|{last.id}" if more and last else None
        return Page(items=tuple(i.as_of(now, zone) for i in page), next_cursor=next_cursor)

    # -- limits and exposure ----------------------------------------------------------

    def set_limit(self, actor: Principal, customer_id: str, limit: Money) -> CreditLimit:
        """Record the customer's approved credit limit (credit approvers)."""
        cid = require_id("customer_id", customer_id)
        if not isinstance(limit, Money):
            raise ValidationError("limit", "must be Money")
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.CREDIT_LIMIT)
            uow.customers.get(cid)
            current = uow.credit_limits.get(cid)
            stored = uow.credit_limits.save(CreditLimit(
                customer_id=cid, limit=limit, approved_by=who.id, approved_at=now,
                version=0 if current is None else current.version))
            self._ctx.audit(uow, who, kind=LIMIT_KIND, resource_id=cid, action="set",
                            at=now, before=None if current is None
                            else {"limit": str(current.limit)},
                            after={"limit": str(stored.limit)})
            self._ctx.finish(uow, ())
        return stored

    def exposure(self, actor: Principal, customer_id: str) -> CustomerExposure:
        """The customer's outstanding binding amounts (undrawn, off the balance sheet) by
        kind, against its approved credit limit."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CREDIT_REPORT)
            uow.customers.get(cid)
            limit = uow.credit_limits.get(cid)
            lines = tuple(uow.credit.exposure(self._ctx.today(), cid))
        currency = "CNY" if limit is None else limit.limit.currency
        outstanding = Money(0, currency)
        for line in lines:
            if line.currency == currency:
                outstanding = outstanding + line.outstanding
        return CustomerExposure(customer_id=cid, limit=limit, lines=lines,
                                outstanding=outstanding)

    def exposure_report(self, actor: Principal) -> tuple[ExposureLine, ...]:
        """Off-balance-sheet exposure of every customer by kind (and currency): committed,
        drawn and outstanding, summed by the storage."""
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CREDIT_REPORT)
            return tuple(uow.credit.exposure(self._ctx.today()))
