"""Personal-information rights (个人信息权利), reached as ``app.privacy``.

A request about one person (access, export or erasure) is logged when it comes
in (``receive``) or when it is answered at once, and is due
``Settings.pi_request_days`` later; ``overdue`` lists the open ones past that
day. Each answer is recorded on the request: what it held (counts, never the
data), or why it was refused or deferred.

*A person* is found from one customer id, one prospect id, or one phone or
e-mail (sealed to its identity key at once): the customers and prospects that
hold one of the person's phone or e-mail keys, each prospect's customer and each
customer's prospects, followed until nothing new turns up. Organization names
and credit codes do not join records here: two contacts of one company are two
people.

Erasure pseudonymizes the personal fields of those customers and prospects and
the free text of the prospects' follow-ups, and keeps every business record. Audit
entries and custody chains never held those fields, so every chain verifies
afterwards. An open credit instrument or an unfinished delisting case of the
person's customers is a legal hold: the erasure is answered DEFERRED, naming
the hold, and nothing changes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime

import attrs

from custmgmt.domain.common import DomainEvent, Email
from custmgmt.domain.credit import TERMINAL, CreditInstrument
from custmgmt.domain.customers import Customer
from custmgmt.domain.identity import IdentityKey, KeyKind
from custmgmt.domain.privacy import (
    ERASED,
    PersonalData,
    PersonErased,
    PiRequest,
    RequestKind,
    RequestStatus,
    Subject,
    SubjectKind,
    is_pseudonymized,
    pseudonym,
    pseudonymized,
)
from custmgmt.domain.prospects import Prospect
from custmgmt.domain.validation import require_date, require_enum, require_id, require_text
from custmgmt.errors import CustmgmtError, InvalidTransition, ValidationError
from custmgmt.ports.auth import Action, Principal, Reach, Scope
from custmgmt.ports.storage import CreditQuery, FollowUpQuery, ProspectQuery, UnitOfWork
from custmgmt.serialization import make_converter
from custmgmt.services import customers as customer_area
from custmgmt.services import prospects as prospect_area
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import page_limit

__all__ = ["KIND", "PrivacyService", "legal_holds"]

log = logging.getLogger("custmgmt.privacy")

KIND = "pi_request"
"""The audit trail kind of a request (``app.audit.verify(actor, "pi_request", id)``)."""

_EVERYONE = Reach(scope=Scope.ANY, principal_id="custmgmt-privacy")
_PERSONAL_KEYS = frozenset({KeyKind.PHONE, KeyKind.EMAIL})
_MOST_ROUNDS = 20
_PAGE = 500


def snapshot(request: PiRequest) -> dict[str, str]:
    """The audit view of a request: kind, status, version; never the subject's data."""
    return {"kind": request.kind.value, "subject": request.subject.kind.value,
            "status": request.status.value, "version": str(request.version)}


def _personal_keys(ring_keys: frozenset[IdentityKey]) -> set[IdentityKey]:
    return {key for key in ring_keys if key.kind in _PERSONAL_KEYS}


@attrs.define
class _Person:
    customers: dict[str, Customer] = attrs.Factory(dict)
    prospects: dict[str, Prospect] = attrs.Factory(dict)
    keys: set[IdentityKey] = attrs.Factory(set)


def legal_holds(uow: UnitOfWork, customers: list[Customer], at: datetime,
                context: Context) -> list[str]:
    """What keeps a person's data from being erased now: open credit instruments and
    unfinished delisting cases of their customers (by id; no personal data)."""
    holds: list[str] = []
    zone = context.settings.zone
    for customer in customers:
        for instrument in _instruments(uow, customer.id):
            state = instrument.as_of(at, zone).state
            if state not in TERMINAL:
                holds.append(f"open credit instrument {instrument.id} ({state.value})")
        for case in uow.delisting.for_customer(customer.id):
            if not case.is_closed:
                holds.append(f"open delisting case {case.id} ({case.state.value})")
    return holds


def _instruments(uow: UnitOfWork, customer_id: str) -> list[CreditInstrument]:
    found: list[CreditInstrument] = []
    after: tuple[datetime, str] | None = None
    while True:
        page = uow.credit.find(CreditQuery(reach=_EVERYONE, customer_id=customer_id,
                                           limit=_PAGE, after=after))
        found.extend(page)
        if len(page) < _PAGE:
            return found
        after = (page[-1].created_at, page[-1].id)


_RIGHT = {RequestKind.ACCESS: Action.PI_ACCESS, RequestKind.EXPORT: Action.PI_EXPORT,
          RequestKind.ERASURE: Action.PI_ERASE}


@contextmanager
def _logged(what: str, actor: object) -> Iterator[None]:
    """Log a request refused before it could be answered (no right, unknown record, a
    malformed handle...): who, what, and why (error texts hold no personal data). The
    storage is left as it was, so the refusal is in the log, not the request table."""
    try:
        yield
    except CustmgmtError as error:
        who = actor.id if isinstance(actor, Principal) else "?"
        log.warning("personal-information %s refused for %s: %s: %s", what, who,
                    type(error).__name__, error)
        raise


@guarded
class PrivacyService(Described):
    """Access, export and erasure requests about one person; the request log."""

    def __init__(self, context: Context) -> None:
        self._ctx = context
        self._converter = make_converter()

    # -- the subject -------------------------------------------------------------------

    def _subject(self, customer_id: object, prospect_id: object, phone: object,
                 email: object) -> Subject:
        given = [(name, value) for name, value in (
            ("customer_id", customer_id), ("prospect_id", prospect_id), ("phone", phone),
            ("email", email)) if value is not None]
        if len(given) != 1:
            raise ValidationError("subject", "give exactly one of customer_id, prospect_id, "
                                  "phone, email")
        name, value = given[0]
        ring = self._ctx.settings.key_ring
        if name == "customer_id":
            return Subject(kind=SubjectKind.CUSTOMER, ref=require_id(name, value))
        if name == "prospect_id":
            return Subject(kind=SubjectKind.PROSPECT, ref=require_id(name, value))
        if not isinstance(value, str):
            raise ValidationError(name, "must be text")
        if name == "phone":
            return Subject(kind=SubjectKind.PHONE, ref=ring.phone(value).value)
        key = ring.seal(KeyKind.EMAIL, Email(value).key)
        return Subject(kind=SubjectKind.EMAIL, ref=key.value)

    def _person(self, uow: UnitOfWork, subject: Subject) -> _Person:
        """The customers and prospects of the person ``subject`` names (NotFound for an
        unknown customer or prospect id; nobody for a phone or e-mail nobody holds)."""
        ring = self._ctx.settings.key_ring
        person = _Person()
        new_customers: list[Customer] = []
        new_prospects: list[Prospect] = []
        new_keys: set[IdentityKey] = set()
        if subject.kind is SubjectKind.CUSTOMER:
            new_customers.append(uow.customers.get(subject.ref))
        elif subject.kind is SubjectKind.PROSPECT:
            new_prospects.append(uow.prospects.get(subject.ref))  # type: ignore[arg-type]
        else:
            kind = KeyKind.PHONE if subject.kind is SubjectKind.PHONE else KeyKind.EMAIL
            new_keys.add(IdentityKey(kind, subject.ref))
        for _ in range(_MOST_ROUNDS):
            for customer in new_customers:
                if customer.id in person.customers:
                    continue
                person.customers[customer.id] = customer
                new_keys |= _personal_keys(ring.keys_of(customer.profile))
                new_prospects.extend(uow.prospects.find(ProspectQuery(
                    reach=_EVERYONE, customer_id=customer.id, limit=_PAGE)))
            new_customers = []
            for prospect in new_prospects:
                if prospect.id in person.prospects:
                    continue
                person.prospects[prospect.id] = prospect
                new_keys |= _personal_keys(ring.keys_of(prospect.profile))
                if prospect.customer_id is not None and \
                        prospect.customer_id not in person.customers:
                    new_customers.append(uow.customers.get(prospect.customer_id))
            new_prospects = []
            fresh = new_keys - person.keys
            person.keys |= fresh
            new_keys = set()
            if fresh:
                new_customers += [c for c in uow.customers.holders_of(fresh).values()
                                  if c.id not in person.customers]
                new_prospects += [p for p in uow.prospects.holders_of(fresh).values()
                                  if p.id not in person.prospects]
            if not (new_customers or new_prospects):
                break
        return person

    def _data(self, uow: UnitOfWork, subject: Subject, person: _Person) -> PersonalData:
        customers = sorted(person.customers.values(), key=lambda c: (c.created_at, c.id))
        prospects = sorted(person.prospects.values(),
                           key=lambda p: (p.registration.at, p.id))
        follow_ups = tuple(f for p in prospects for f in uow.follow_ups.find(
            FollowUpQuery(reach=_EVERYONE, prospect_id=p.id)))
        plans = tuple(plan for p in prospects if (plan := uow.plans.get(p.id)) is not None)
        samples = tuple(s for c in customers for s in uow.samples.find(customer_id=c.id))
        instruments = tuple(i.as_of(self._ctx.now(), self._ctx.settings.zone)
                            for c in customers for i in _instruments(uow, c.id))
        limits = tuple(limit for c in customers
                       if (limit := uow.credit_limits.get(c.id)) is not None)
        cases = tuple(case for c in customers for case in uow.delisting.for_customer(c.id))
        consents = tuple(record for c in customers for record in uow.consents.history(c.id))
        refs = {subject.ref, *person.customers, *person.prospects,
                *(key.value for key in person.keys)}
        requests = {r.id: r for ref in sorted(refs)
                    for r in uow.pi_requests.find(subject_ref=ref)}
        return PersonalData(
            subject=subject, customers=tuple(customers), prospects=tuple(prospects),
            follow_ups=follow_ups, plans=plans, samples=samples,
            credit_instruments=instruments, credit_limits=limits, delisting_cases=cases,
            consents=consents,
            requests=tuple(sorted(requests.values(), key=lambda r: (r.received_at, r.id))))

    # -- the request log ---------------------------------------------------------------

    def _audit(self, uow: UnitOfWork, who: Principal, action: str,
               before: PiRequest | None, after: PiRequest, at: datetime) -> None:
        self._ctx.audit(uow, who, kind=KIND, resource_id=after.id, action=action, at=at,
                        before=None if before is None else snapshot(before),
                        after=snapshot(after))

    def receive(
        self,
        actor: Principal,
        kind: RequestKind | str,
        *,
        customer_id: str | None = None,
        prospect_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> PiRequest:
        """Log a request about one person (give exactly one of ``customer_id``,
        ``prospect_id``, ``phone``, ``email``): it is OPEN and due
        ``Settings.pi_request_days`` after today. A phone or e-mail is kept only as
        its sealed identity key. Answer it with ``access``/``export``/``erase``
        (``request_id=``). Needs ``pi.receive``."""
        with _logged("request (receive)", actor):
            return self._receive(actor, kind, customer_id, prospect_id, phone, email)

    def _receive(self, actor: Principal, kind: object, customer_id: object,
                 prospect_id: object, phone: object, email: object) -> PiRequest:
        what = require_enum("kind", RequestKind, kind)
        subject = self._subject(customer_id, prospect_id, phone, email)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.PI_RECEIVE)
            stored, events = self._new_request(uow, who, what, subject, now)
            self._ctx.finish(uow, events)
            return stored

    def _new_request(self, uow: UnitOfWork, who: Principal, kind: RequestKind,
                     subject: Subject, now: datetime) -> tuple[PiRequest, tuple[DomainEvent, ...]]:
        request, events = PiRequest.receive(
            id=self._ctx.ids.new_id("pi"), kind=kind, subject=subject, by=who.id, at=now,
            local_day=now.astimezone(self._ctx.settings.zone).date(),
            days=self._ctx.settings.pi_request_days)
        stored = uow.pi_requests.add(request)
        self._audit(uow, who, "receive", None, stored, now)
        return stored, events

    def get(self, actor: Principal, request_id: str) -> PiRequest:
        """One request as it stands (``pi.read``)."""
        rid = require_id("request_id", request_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.PI_READ)
            return uow.pi_requests.get(rid)

    def requests(
        self, actor: Principal, *, status: RequestStatus | str | None = None, limit: int = 100
    ) -> tuple[PiRequest, ...]:
        """Requests oldest first, optionally only those in ``status`` (``pi.read``)."""
        wanted = None if status is None else require_enum("status", RequestStatus, status)
        most = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.PI_READ)
            return tuple(uow.pi_requests.find(status=wanted, limit=most))

    def overdue(self, actor: Principal, *, on: date | None = None,
                limit: int = 100) -> tuple[PiRequest, ...]:
        """Open requests whose last day (``due_on``) is before ``on`` (default: today in
        the configured zone), oldest first (``pi.read``)."""
        day = self._ctx.today() if on is None else require_date("on", on)
        most = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.PI_READ)
            return tuple(uow.pi_requests.find(status=RequestStatus.OPEN, due_before=day,
                                              limit=most))

    # -- answering ---------------------------------------------------------------------

    def _answering(
        self, actor: Principal, kind: RequestKind, action: Action, request_id: object,
        subject_args: tuple[object, object, object, object],
        answer: Callable[[UnitOfWork, Principal, PiRequest, PersonalData, _Person, datetime],
                         tuple[RequestStatus, str, str | None, tuple[DomainEvent, ...]]],
    ) -> tuple[PiRequest, PersonalData]:
        """Load or log the request, authorize, find the person, answer, record it."""
        with _logged(f"{kind.value} request", actor):
            return self._answer(actor, kind, action, request_id, subject_args, answer)

    def _answer(
        self, actor: Principal, kind: RequestKind, action: Action, request_id: object,
        subject_args: tuple[object, object, object, object],
        answer: Callable[[UnitOfWork, Principal, PiRequest, PersonalData, _Person, datetime],
                         tuple[RequestStatus, str, str | None, tuple[DomainEvent, ...]]],
    ) -> tuple[PiRequest, PersonalData]:
        rid = None if request_id is None else require_id("request_id", request_id)
        if rid is not None and any(v is not None for v in subject_args):
            raise ValidationError("request_id", "give the request or the person, not both")
        subject = None if rid is not None else self._subject(*subject_args)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, action)
            events: list[DomainEvent] = []
            if rid is not None:
                request = uow.pi_requests.get(rid)
                if request.kind is not kind:
                    raise ValidationError("request_id", f"is a {request.kind.value} request, "
                                          f"not {kind.value}")
                if request.is_answered and request.status is not RequestStatus.DEFERRED:
                    raise InvalidTransition(request.status.value, "answered",
                                            "the request was answered already")
            else:
                assert subject is not None
                request, received = self._new_request(uow, who, kind, subject, now)
                events += received
            person = self._person(uow, request.subject)
            data = self._data(uow, request.subject, person)
            status, outcome, reason, more = answer(uow, who, request, data, person, now)
            answered, done = request.answer(status, by=who.id, at=now, outcome=outcome,
                                            reason=reason)
            stored = uow.pi_requests.update(answered)
            self._audit(uow, who, kind.value, request, stored, now)
            self._ctx.finish(uow, [*events, *more, *done])
        return stored, attrs.evolve(data, requests=(
            *(r for r in data.requests if r.id != stored.id), stored))

    def refuse(self, actor: Principal, request_id: str, *, reason: str) -> PiRequest:
        """Answer a received request with a refusal and why (the person's identity could
        not be verified, the request is manifestly unfounded...): 个人信息保护法 第五十条
        asks for the reason. Needs the right of the request's kind (``pi.access``,
        ``pi.export`` or ``pi.erase``)."""
        rid = require_id("request_id", request_id)
        why = require_text("reason", reason)
        now = self._ctx.now()
        with _logged("request (refuse)", actor), self._ctx.storage.unit_of_work() as uow:
            grants = self._ctx.acting(uow, actor, Action.PI_ERASE)
            if not any(self._ctx.may(grants, right) for right in _RIGHT.values()):
                # no right to answer any request: not even whether this one exists
                self._ctx.authorize(uow, actor, Action.PI_ACCESS)
            request = uow.pi_requests.get(rid)
            who = self._ctx.authorize(uow, actor, _RIGHT[request.kind])
            answered, events = request.answer(RequestStatus.REFUSED, by=who.id, at=now,
                                              outcome="refused", reason=why)
            stored = uow.pi_requests.update(answered)
            self._audit(uow, who, "refuse", request, stored, now)
            self._ctx.finish(uow, events)
            return stored

    @staticmethod
    def _outcome(data: PersonalData, verb: str) -> str:
        held = ", ".join(f"{count} {name}" for name, count in data.counts().items()
                         if count and name != "requests")
        return f"{verb}: {held}" if held else f"{verb}: nothing held about the person"

    def access(
        self,
        actor: Principal,
        request_id: str | None = None,
        *,
        customer_id: str | None = None,
        prospect_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> PersonalData:
        """Answer an access request: everything held about the person. Give the
        ``request_id`` of a received ACCESS request, or the person (exactly one of
        ``customer_id``, ``prospect_id``, ``phone``, ``email``: a request is logged and
        answered at once). Needs ``pi.access``."""
        def answer(*args: object) -> tuple[RequestStatus, str, str | None, tuple[DomainEvent, ...]]:
            return RequestStatus.ANSWERED, self._outcome(args[3], "shown"), None, ()  # type: ignore[arg-type]

        return self._answering(actor, RequestKind.ACCESS, Action.PI_ACCESS, request_id,
                               (customer_id, prospect_id, phone, email), answer)[1]

    def export(
        self,
        actor: Principal,
        request_id: str | None = None,
        *,
        customer_id: str | None = None,
        prospect_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> str:
        """Answer an export request: everything held about the person as one JSON
        document (``PersonalData`` through ``custmgmt.serialization``'s converter;
        ``structure(make_converter(), json.loads(text), PersonalData)`` reads it back).
        Arguments as for ``access``. Needs ``pi.export``."""
        def answer(*args: object) -> tuple[RequestStatus, str, str | None, tuple[DomainEvent, ...]]:
            return RequestStatus.ANSWERED, self._outcome(args[3], "exported"), None, ()  # type: ignore[arg-type]

        data = self._answering(actor, RequestKind.EXPORT, Action.PI_EXPORT, request_id,
                               (customer_id, prospect_id, phone, email), answer)[1]
        return json.dumps(self._converter.unstructure(data), ensure_ascii=False,
                          sort_keys=True, indent=1)

    def erase(
        self,
        actor: Principal,
        request_id: str | None = None,
        *,
        customer_id: str | None = None,
        prospect_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> PiRequest:
        """Answer an erasure request: pseudonymize the person's customers and prospects
        (name, phone, e-mail, address, needs) and the free text of their prospects'
        follow-ups (summary, needs, problems, outcome, next step);
        business records, audit trails and custody chains stay and verify. An open
        credit instrument or an unfinished delisting case is a legal hold: the request
        is answered DEFERRED with the hold as its ``reason`` and nothing changes (erase
        again once it is lifted). Arguments as for ``access``. Needs ``pi.erase``."""
        return self._answering(actor, RequestKind.ERASURE, Action.PI_ERASE, request_id,
                               (customer_id, prospect_id, phone, email), self._erase)[0]

    def _erase(
        self, uow: UnitOfWork, who: Principal, request: PiRequest, data: PersonalData,
        person: _Person, now: datetime,
    ) -> tuple[RequestStatus, str, str | None, tuple[DomainEvent, ...]]:
        holds = legal_holds(uow, list(data.customers), now, self._ctx)
        if holds:
            reason = "legal hold: " + "; ".join(holds)
            return RequestStatus.DEFERRED, "erasure deferred", reason[:2000], ()
        ring = self._ctx.settings.key_ring
        name = pseudonym(request.id)
        events: list[DomainEvent] = []
        for customer in data.customers:
            if is_pseudonymized(customer.profile):
                continue
            changed, done = customer.update_profile(pseudonymized(customer.profile, name),
                                                    by=who.id, at=now)
            if not done:
                continue
            stored = uow.customers.update(changed, changed.held_keys(ring))
            self._ctx.audit(uow, who, kind=customer_area.KIND, resource_id=stored.id,
                            action="erase", at=now, before=customer_area.snapshot(customer),
                            after=customer_area.snapshot(stored))
            events += done
        for prospect in data.prospects:
            uow.follow_ups.redact(prospect.id, ERASED)
            if is_pseudonymized(prospect.profile):
                continue
            changed_p, done = prospect.update_profile(pseudonymized(prospect.profile, name),
                                                      by=who.id, at=now)
            if not done:
                continue
            stored_p = uow.prospects.update(changed_p, changed_p.held_keys(ring))
            self._ctx.audit(uow, who, kind=prospect_area.KIND, resource_id=stored_p.id,
                            action="erase", at=now, before=prospect_area.snapshot(prospect),
                            after=prospect_area.snapshot(stored_p))
            events += done
        events.append(PersonErased(
            actor_id=who.id, occurred_at=now, request_id=request.id,
            customer_ids=tuple(c.id for c in data.customers),
            prospect_ids=tuple(p.id for p in data.prospects)))
        return (RequestStatus.ANSWERED, self._outcome(data, "pseudonymized"), None,
                tuple(events))
