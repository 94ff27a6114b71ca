"""Personal-information rights (个人信息权利): access, export and erasure requests.

*Who a request is about* (its ``Subject``) is one of: a customer (by id), a
prospect (by id), or a phone number or e-mail address. A phone or e-mail is
kept only as its sealed identity key (the HMAC that ``domain.identity`` makes),
never in clear, so the request log itself holds no personal data. The service
resolves a subject to the *person*: every customer and prospect holding one of
the subject's identity keys, each customer's linked prospects and each
prospect's customer (see docs/privacy.md).

Every request is kept (``PiRequest``) with when it came in, the day it must be
answered by (``Settings.pi_request_days`` later, in the configured zone), its
outcome, and why, when it was refused or deferred.

Erasure pseudonymizes: ``pseudonymized`` replaces the personal fields of a
profile (name, phone, e-mail, address, free-text needs) and keeps what the
business needs (kind, organization, credit code, industry, channel). Audit
entries and custody chains never hold those fields, so they verify unchanged.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

import attrs
from attrs import field, frozen

from custmgmt.domain.common import Address, DomainEvent, PersonName
from custmgmt.domain.consent import ConsentRecord
from custmgmt.domain.credit import CreditInstrument, CreditLimit
from custmgmt.domain.customers import Customer
from custmgmt.domain.delisting import DelistingCase
from custmgmt.domain.followups import FollowUp, FollowUpPlan
from custmgmt.domain.prospects import Profile, Prospect
from custmgmt.domain.samples import Sample
from custmgmt.domain.validation import a_date, aware, non_negative_int, of_type, optional, text
from custmgmt.errors import InvalidTransition, ValidationError

__all__ = [
    "ERASED", "PersonErased", "PersonalData", "PiRequest", "PiRequestAnswered", "PiRequestReceived",
    "RequestKind", "RequestStatus", "Subject", "SubjectKind", "due_on", "pseudonym",
    "pseudonymized",
]

ERASED = "[erased]"
"""What an erased free-text or address field reads afterwards."""


class RequestKind(enum.Enum):
    ACCESS = "access"
    """The person asks what is held about them (answered with ``PersonalData``)."""
    EXPORT = "export"
    """The person asks for a copy to take away (answered with JSON)."""
    ERASURE = "erasure"
    """The person asks to be forgotten (pseudonymization; a legal hold defers it)."""


class RequestStatus(enum.Enum):
    OPEN = "open"
    """Received, not answered yet: overdue once its ``due_on`` has passed."""
    ANSWERED = "answered"
    DEFERRED = "deferred"
    """An erasure answered with a deferral (a legal hold, named in ``reason``); asking
    again once the hold is lifted erases."""
    REFUSED = "refused"
    """Answered with a refusal (``reason`` says why)."""


ANSWERED_STATES = frozenset({RequestStatus.ANSWERED, RequestStatus.DEFERRED,
                             RequestStatus.REFUSED})


class SubjectKind(enum.Enum):
    CUSTOMER = "customer"
    PROSPECT = "prospect"
    PHONE = "phone"
    """``ref`` is the phone's sealed identity key, not the number."""
    EMAIL = "email"
    """``ref`` is the e-mail's sealed identity key, not the address."""


@frozen(kw_only=True)
class Subject:
    """Who a request is about, as stored: an id, or a sealed identity key."""

    kind: SubjectKind = field(validator=of_type(SubjectKind))
    ref: str = field(validator=text(100))

    def __repr__(self) -> str:
        shown = self.ref if self.kind in (SubjectKind.CUSTOMER, SubjectKind.PROSPECT) \
            else f"{self.ref[:8]}..."
        return f"Subject({self.kind.value}, {shown!r})"


def due_on(received_local: date, days: int) -> date:
    """The last local day a request received on ``received_local`` may be answered."""
    return received_local + timedelta(days=days)


@frozen(kw_only=True)
class PiRequestReceived(DomainEvent):
    request_id: str
    kind: RequestKind


@frozen(kw_only=True)
class PiRequestAnswered(DomainEvent):
    request_id: str
    kind: RequestKind
    status: RequestStatus


@frozen(kw_only=True)
class PersonErased(DomainEvent):
    """A person's personal fields were pseudonymized: only ids, never what was erased."""

    request_id: str
    customer_ids: tuple[str, ...]
    prospect_ids: tuple[str, ...]


@frozen(kw_only=True)
class PiRequest:
    """One access, export or erasure request and how it was answered."""

    id: str = field(validator=text(100))
    kind: RequestKind = field(validator=of_type(RequestKind))
    subject: Subject = field(validator=of_type(Subject))
    received_by: str = field(validator=text(200))
    received_at: datetime = field(validator=aware)
    due_on: date = field(validator=a_date)
    status: RequestStatus = field(default=RequestStatus.OPEN, validator=of_type(RequestStatus))
    answered_by: str | None = field(default=None, validator=optional(text(200)))
    answered_at: datetime | None = field(default=None, validator=optional(aware))
    outcome: str | None = field(default=None, validator=optional(text(2000)))
    """What the answer held (counts of records, never their content)."""
    reason: str | None = field(default=None, validator=optional(text(2000)))
    """Why it was refused or deferred."""
    version: int = field(default=0, validator=non_negative_int)

    @property
    def is_answered(self) -> bool:
        return self.status in ANSWERED_STATES

    def overdue_on(self, today: date) -> bool:
        """Still open after its last day."""
        return self.status is RequestStatus.OPEN and today > self.due_on

    @classmethod
    def receive(cls, *, id: str, kind: RequestKind, subject: Subject, by: str, at: datetime,
                local_day: date, days: int) -> tuple[PiRequest, tuple[DomainEvent, ...]]:
        request = cls(id=id, kind=kind, subject=subject, received_by=by, received_at=at,
                      due_on=due_on(local_day, days))
        event = PiRequestReceived(actor_id=by, occurred_at=at, request_id=id, kind=kind)
        return request, (event,)

    def answer(self, status: RequestStatus, *, by: str, at: datetime, outcome: str,
               reason: str | None = None) -> tuple[PiRequest, tuple[DomainEvent, ...]]:
        """Record the answer. An answered request stays answered, except a deferred
        erasure, which may be answered again once its hold is lifted."""
        if status is RequestStatus.OPEN:
            raise ValidationError("status", "an answer is not OPEN")
        if self.is_answered and self.status is not RequestStatus.DEFERRED:
            raise InvalidTransition(self.status.value, status.value,
                                    "the request was answered already")
        if status in (RequestStatus.DEFERRED, RequestStatus.REFUSED) and not reason:
            raise ValidationError("reason", "a refusal or deferral says why")
        changed = attrs.evolve(self, status=status, answered_by=by, answered_at=at,
                               outcome=outcome, reason=reason)
        event = PiRequestAnswered(actor_id=by, occurred_at=at, request_id=self.id,
                                  kind=self.kind, status=status)
        return changed, (event,)


def pseudonym(request_id: str) -> str:
    """The name an erased person goes by afterwards: tied to the erasure request, not
    to anything about the person."""
    return f"erased-{request_id}"[:200]


def pseudonymized(profile: Profile, name: str) -> Profile:
    """``profile`` with its personal fields replaced: the name by ``name``, phone and
    e-mail removed, the address and needs replaced by ``ERASED``. Organization, credit
    code, industry and source channel (business facts) stay."""
    return attrs.evolve(profile, name=PersonName(name), phone=None, email=None,
                        address=Address(ERASED),
                        needs=None if profile.needs is None else ERASED)


def is_pseudonymized(profile: Profile) -> bool:
    """True once ``pseudonymized`` ran on it (nothing personal left to erase)."""
    return (profile.phone is None and profile.email is None
            and profile.address == Address(ERASED)
            and profile.name.value.startswith("erased-"))


@frozen(kw_only=True)
class PersonalData:
    """Everything held about one person: the answer to an access request, and what an
    export turns into JSON. ``repr()`` shows counts only."""

    subject: Subject
    customers: tuple[Customer, ...] = ()
    """The person's customer records."""
    prospects: tuple[Prospect, ...] = ()
    """The person's prospect records (with registration, grade and stage history)."""
    follow_ups: tuple[FollowUp, ...] = ()
    """Every follow-up recorded with one of those prospects."""
    plans: tuple[FollowUpPlan, ...] = ()
    samples: tuple[Sample, ...] = ()
    """Samples received from one of the customers."""
    credit_instruments: tuple[CreditInstrument, ...] = ()
    credit_limits: tuple[CreditLimit, ...] = ()
    delisting_cases: tuple[DelistingCase, ...] = ()
    consents: tuple[ConsentRecord, ...] = ()
    """The whole consent history of the person's customer records, oldest first (kept on
    erasure: it is the evidence of what the person agreed to and withdrew)."""
    requests: tuple[PiRequest, ...] = ()
    """Earlier personal-information requests about the person."""

    def counts(self) -> dict[str, int]:
        """How many records of each kind (what a request's outcome says)."""
        return {a.name: len(getattr(self, a.name)) for a in attrs.fields(PersonalData)
                if a.name != "subject"}

    def __repr__(self) -> str:
        held = ", ".join(f"{name}={count}" for name, count in self.counts().items() if count)
        return f"PersonalData({self.subject!r}, {held or 'nothing held'})"
