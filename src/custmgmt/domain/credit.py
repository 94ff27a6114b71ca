"""Credit instruments (承诺类、意向类金融产品): binding letters, tender certificates, intents.

From the bank's policy on commitment-type and intent-type instruments:

- 第二条: commitments (承诺类) are the loan commitment letter and the bank credit
  certificate; intents (意向类) are the conditional loan commitment letter, the loan
  intent letter and the cooperation agreement. Whether an instrument binds is fixed
  by its kind (``InstrumentKind.binding``), never by a caller's flag.
- 第三条: a loan commitment letter states purpose, amount, rate, term and drawdown
  method; the customer may draw at any time up to the amount; it binds, and within its
  validity the bank may not revoke it without the customer's consent; medium- and
  long-term loans only (a term of more than ``Settings.commitment_min_term_months``).
- 第四条: a bank credit certificate is issued at tender pre-qualification to the
  tenderer (beneficiary) for the applicant (bidder); once the bid is won it covers the
  bidder's credit needs for that project, up to its limit; it binds both parties.
- 第五条, 第六条: intents state an intended credit line and the conditions the customer
  must meet; the bank may revoke one when the customer does not meet them.

Plain attrs values, no I/O and no clock: ``now`` and the zone are passed in. Every
change returns ``(changed, events)``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from attrs import field, frozen

from custmgmt.domain.common import CURRENCY_MINOR_UNITS, DomainEvent, Money
from custmgmt.domain.validation import (
    a_date,
    aware,
    exact_decimal,
    non_negative_int,
    of_type,
    optional,
    text,
    tuple_of,
)
from custmgmt.errors import (
    CreditLimitExceeded,
    InvalidTransition,
    PermissionDenied,
    RevocationNotAllowed,
    ValidationError,
)

__all__ = [
    "Benchmark",
    "Condition",
    "Counterparty",
    "CreditEvent",
    "CreditInstrument",
    "CreditLimit",
    "CustomerConsent",
    "CustomerExposure",
    "Drawdown",
    "ExposureLine",
    "Group",
    "InstrumentKind",
    "InstrumentState",
    "InterestRate",
    "Revocation",
    "ensure_within_limit",
    "expires_at",
    "positive",
    "whole_minor_units",
]


class Group(enum.Enum):
    """第二条: commitment-type (承诺类) or intent-type (意向类)."""

    COMMITMENT = "commitment"
    INTENT = "intent"


class InstrumentKind(enum.Enum):
    """The five kinds; the kind alone decides the group and whether it binds."""

    LOAN_COMMITMENT_LETTER = "loan_commitment_letter"
    """贷款承诺函 (第三条)."""
    BANK_CREDIT_CERTIFICATE = "bank_credit_certificate"
    """银行信贷证明 (第四条)."""
    CONDITIONAL_COMMITMENT_LETTER = "conditional_commitment_letter"
    """有条件贷款承诺函 (第五条)."""
    LOAN_INTENT_LETTER = "loan_intent_letter"
    """贷款意向书 (第五条)."""
    COOPERATION_AGREEMENT = "cooperation_agreement"
    """银企/银政合作协议 (第六条)."""

    @property
    def group(self) -> Group:
        if self in (InstrumentKind.LOAN_COMMITMENT_LETTER,
                    InstrumentKind.BANK_CREDIT_CERTIFICATE):
            return Group.COMMITMENT
        return Group.INTENT

    @property
    def binding(self) -> bool:
        """Whether the instrument binds the bank (commitments do, intents do not)."""
        return self.group is Group.COMMITMENT


INTENT_KINDS = frozenset(k for k in InstrumentKind if k.group is Group.INTENT)


class Counterparty(enum.Enum):
    """Who a cooperation agreement is signed with (第六条)."""

    ENTERPRISE = "enterprise"
    """银企: an enterprise or public institution."""
    GOVERNMENT = "government"
    """银政: a government department, management committee or other government body."""


class InstrumentState(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ISSUED = "issued"
    ACTIVE = "active"
    """A credit certificate whose bid was won: it covers the project now."""
    VOID = "void"
    """A credit certificate whose bid was lost."""
    FULFILLED = "fulfilled"
    """Drawn in full."""
    EXPIRED = "expired"
    """Never stored: read from the validity end (``CreditInstrument.as_of``)."""
    REVOKED = "revoked"


TERMINAL = frozenset({InstrumentState.VOID, InstrumentState.FULFILLED,
                      InstrumentState.EXPIRED, InstrumentState.REVOKED})
IN_FORCE = frozenset({InstrumentState.ISSUED, InstrumentState.ACTIVE})
EXPOSED = frozenset({InstrumentState.APPROVED, InstrumentState.ISSUED, InstrumentState.ACTIVE})
"""Binding instruments in these states (and within validity) count against the limit."""


class Benchmark(enum.Enum):
    """Benchmark rates a floating rate is quoted against."""

    LPR_1Y = "lpr_1y"
    """The one-year Loan Prime Rate."""
    LPR_5Y = "lpr_5y"
    """The over-five-year Loan Prime Rate."""


MAX_SPREAD_BP = 10_000


@frozen(kw_only=True)
class InterestRate:
    """A rate of its own type: fixed (``percent`` a year), or a benchmark plus a spread
    in basis points (``InterestRate.floating(Benchmark.LPR_5Y, -20)``)."""

    percent: Decimal | None = field(default=None)
    benchmark: Benchmark | None = field(default=None,
                                        validator=optional(of_type(Benchmark)))
    spread_bp: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.percent is not None:
            if self.benchmark is not None or self.spread_bp is not None:
                raise ValidationError("rate", "is fixed or floating, not both")
            value = exact_decimal("rate.percent", self.percent)
            if not Decimal(0) <= value <= Decimal(100):
                raise ValidationError("rate.percent", "must be from 0 to 100")
            object.__setattr__(self, "percent", value)
            return
        if self.benchmark is None:
            raise ValidationError("rate.benchmark",
                                  "a floating rate needs a benchmark (or give a fixed percent)")
        spread = self.spread_bp
        if isinstance(spread, bool) or not isinstance(spread, int):
            raise ValidationError("rate.spread_bp",
                                  "a floating rate needs a spread in whole basis points")
        if not -MAX_SPREAD_BP <= spread <= MAX_SPREAD_BP:
            raise ValidationError("rate.spread_bp", f"must be within ±{MAX_SPREAD_BP}")

    @classmethod
    def fixed(cls, percent: Decimal | int | str) -> InterestRate:
        return cls(percent=exact_decimal("rate.percent", percent))

    @classmethod
    def floating(cls, benchmark: Benchmark, spread_bp: int) -> InterestRate:
        return cls(benchmark=benchmark, spread_bp=spread_bp)

    def __str__(self) -> str:
        if self.percent is not None:
            return f"{self.percent}%"
        assert self.benchmark is not None and self.spread_bp is not None
        return f"{self.benchmark.value.upper()} {self.spread_bp:+d}bp"


@frozen(kw_only=True)
class Condition:
    """A condition an intent's customer must meet (industry policy, the bank's credit
    rules ...), named by ``code`` so a revocation can cite it."""

    code: str = field(validator=text(100))
    description: str = field(validator=text(2000))


@frozen(kw_only=True)
class CustomerConsent:
    """The customer's recorded consent to revoke a binding instrument: who, when, and the
    reference of the signed document."""

    consented_by: str = field(validator=text(200))
    at: datetime = field(validator=aware)
    document_ref: str = field(validator=text(200))


@frozen(kw_only=True)
class Drawdown:
    """One draw by the customer on a commitment (or an active certificate)."""

    id: str = field(validator=text(100))
    amount: Money = field(validator=of_type(Money))
    at: datetime = field(validator=aware)
    by: str = field(validator=text(200))
    project: str | None = field(default=None, validator=optional(text(300)))


@frozen(kw_only=True)
class Revocation:
    """Why and on what ground an instrument was revoked."""

    by: str = field(validator=text(200))
    at: datetime = field(validator=aware)
    reason: str = field(validator=text(2000))
    consent: CustomerConsent | None = field(default=None,
                                            validator=optional(of_type(CustomerConsent)))
    failed_conditions: tuple[str, ...] = field(default=(), validator=tuple_of(str))


@frozen(kw_only=True)
class CreditEvent(DomainEvent):
    """Something happened to a credit instrument: drafted, submitted, approved, issued,
    awarded (won/lost), drawn, fulfilled, revoked."""

    instrument_id: str
    customer_id: str
    kind: InstrumentKind
    change: str
    state: InstrumentState


@frozen(kw_only=True)
class CreditLimit:
    """A customer's approved credit limit: binding exposure may not exceed it."""

    customer_id: str = field(validator=text(100))
    limit: Money = field(validator=of_type(Money))
    approved_by: str = field(validator=text(200))
    approved_at: datetime = field(validator=aware)
    version: int = field(default=0, validator=non_negative_int)

    def __attrs_post_init__(self) -> None:
        if self.limit.is_negative:
            raise ValidationError("limit", "must not be negative")
        whole_minor_units("limit", self.limit)


@frozen(kw_only=True)
class CustomerExposure:
    """One customer's binding exposure against its approved credit limit."""

    customer_id: str
    limit: CreditLimit | None
    lines: tuple[ExposureLine, ...]
    outstanding: Money
    """Undrawn binding amounts in the limit's currency (CNY without a limit)."""

    @property
    def headroom(self) -> Money | None:
        """What a new binding instrument may still add (None: no approved limit)."""
        return None if self.limit is None else self.limit.limit - self.outstanding


@frozen(kw_only=True)
class ExposureLine:
    """Off-balance-sheet exposure of one customer in one kind: committed, drawn, and the
    undrawn rest that still binds the bank."""

    customer_id: str
    kind: InstrumentKind
    currency: str
    committed: Money
    drawn: Money
    count: int

    @property
    def outstanding(self) -> Money:
        return self.committed - self.drawn


def whole_minor_units(name: str, money: Money) -> Money:
    """``money`` if it is a whole number of the currency's minor unit (fen), else a
    ValidationError naming ``name``."""
    if money.rounded().amount != money.amount:
        digits = CURRENCY_MINOR_UNITS[money.currency]
        raise ValidationError(name, f"must have at most {digits} decimal places")
    return money


def positive(name: str, money: object) -> Money:
    if not isinstance(money, Money):
        raise ValidationError(name, f"must be Money, not {type(money).__name__}")
    if money.amount <= 0:
        raise ValidationError(name, "must be more than zero")
    return whole_minor_units(name, money)


def expires_at(valid_until: date, zone: ZoneInfo) -> datetime:
    """The instant validity ends: local midnight at the end of ``valid_until`` (the last
    valid day) in ``zone``."""
    day = valid_until + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def ensure_within_limit(limit: CreditLimit | None, exposure: Money, adding: Money) -> None:
    """CreditLimitExceeded unless ``exposure + adding`` stays within the approved limit."""
    if limit is None:
        raise CreditLimitExceeded("amount", "the customer has no approved credit limit")
    if limit.limit.currency != adding.currency:
        raise ValidationError("amount", f"the credit limit is in {limit.limit.currency}")
    total = exposure + adding
    if total > limit.limit:
        raise CreditLimitExceeded(
            "amount", f"binding exposure would be {total}, above the approved limit "
                      f"{limit.limit} (outstanding now {exposure})")


def _valid_range(instance: Any, _a: attrs.Attribute[Any], valid_until: date) -> None:
    a_date(instance, _a, valid_until)
    if valid_until < instance.valid_from:
        raise ValidationError("valid_until", "must not be before valid_from")


Changed = tuple["CreditInstrument", tuple[DomainEvent, ...]]


@frozen(kw_only=True)
class CreditInstrument:
    """One instrument of any kind. ``amount`` is the committed amount (letter), the limit
    (certificate) or the intended credit line (intents)."""

    id: str = field(validator=text(100))
    kind: InstrumentKind = field(validator=of_type(InstrumentKind))
    customer_id: str = field(validator=text(100))
    owner_id: str = field(validator=text(200))
    """Who drafted it (the maker): never its approver."""
    owner_team: str | None = field(default=None, validator=optional(text(100)))
    amount: Money = field(validator=of_type(Money))
    valid_from: date = field(validator=a_date)
    valid_until: date = field(validator=_valid_range)
    created_at: datetime = field(validator=aware)
    state: InstrumentState = field(default=InstrumentState.DRAFT,
                                   validator=of_type(InstrumentState))
    # loan commitment letter (第三条)
    purpose: str | None = field(default=None, validator=optional(text(500)))
    rate: InterestRate | None = field(default=None, validator=optional(of_type(InterestRate)))
    term_months: int | None = field(default=None, validator=optional(non_negative_int))
    drawdown_method: str | None = field(default=None, validator=optional(text(500)))
    commitment_fee: Money | None = field(default=None, validator=optional(of_type(Money)))
    # bank credit certificate (第四条)
    beneficiary: str | None = field(default=None, validator=optional(text(300)))
    """The tenderer (招标人) the certificate is addressed to."""
    project: str | None = field(default=None, validator=optional(text(300)))
    construction_end: date | None = field(default=None, validator=optional(a_date))
    # intents (第五条, 第六条)
    conditions: tuple[Condition, ...] = field(default=(), validator=tuple_of(Condition))
    counterparty: Counterparty | None = field(default=None,
                                              validator=optional(of_type(Counterparty)))
    # the lifecycle
    submitted_at: datetime | None = field(default=None, validator=optional(aware))
    approved_by: str | None = field(default=None, validator=optional(text(200)))
    approved_at: datetime | None = field(default=None, validator=optional(aware))
    issued_at: datetime | None = field(default=None, validator=optional(aware))
    awarded_at: datetime | None = field(default=None, validator=optional(aware))
    drawdowns: tuple[Drawdown, ...] = field(default=(), validator=tuple_of(Drawdown))
    revocation: Revocation | None = field(default=None, validator=optional(of_type(Revocation)))
    version: int = field(default=0, validator=non_negative_int)

    @property
    def binding(self) -> bool:
        return self.kind.binding

    @property
    def group(self) -> Group:
        return self.kind.group

    @property
    def drawn(self) -> Money:
        total = Money(0, self.amount.currency)
        for draw in self.drawdowns:
            total = total + draw.amount
        return total

    @property
    def undrawn(self) -> Money:
        return self.amount - self.drawn

    def expires_at(self, zone: ZoneInfo) -> datetime:
        return expires_at(self.valid_until, zone)

    def expired(self, now: datetime, zone: ZoneInfo) -> bool:
        """Past its validity end (local midnight after ``valid_until``) and not settled."""
        return self.state not in TERMINAL and now >= self.expires_at(zone)

    def as_of(self, now: datetime, zone: ZoneInfo) -> CreditInstrument:
        """The instrument as it stands at ``now``: EXPIRED once its validity has passed
        (derived when read, never by a job that could be missed)."""
        if self.expired(now, zone):
            return attrs.evolve(self, state=InstrumentState.EXPIRED)
        return self

    # -- drafting -------------------------------------------------------------------

    @classmethod
    def draft(cls, *, min_term_months: int, now: datetime, **fields: Any) -> Changed:
        """A new DRAFT; the kind's own rules are checked here (see ``check_terms``)."""
        instrument = cls(created_at=now, **fields)
        instrument.check_terms(min_term_months)
        return instrument, (instrument._event("drafted", now),)

    def check_terms(self, min_term_months: int) -> None:
        """The rules of the instrument's kind, each failing with the field it concerns."""
        positive("amount", self.amount)
        if self.kind is InstrumentKind.LOAN_COMMITMENT_LETTER:
            self._check_letter(min_term_months)
        if self.kind is InstrumentKind.BANK_CREDIT_CERTIFICATE:
            self._check_certificate()
        if self.kind in INTENT_KINDS:
            self._check_intent()
        if (self.kind is InstrumentKind.COOPERATION_AGREEMENT) != (
                self.counterparty is not None):
            raise ValidationError("counterparty", "a cooperation agreement names its "
                                  "counterparty type; other kinds do not")

    def _check_letter(self, min_term_months: int) -> None:
        for name in ("purpose", "rate", "term_months", "drawdown_method", "commitment_fee"):
            if getattr(self, name) is None:
                raise ValidationError(name, "a loan commitment letter states it")
        assert self.term_months is not None and self.commitment_fee is not None
        if self.term_months <= min_term_months:
            raise ValidationError(
                "term_months", f"must be more than {min_term_months} months: a loan "
                "commitment letter serves medium- and long-term loans only")
        if self.commitment_fee.currency != self.amount.currency:
            raise ValidationError("commitment_fee", "must be in the amount's currency")
        if self.commitment_fee.is_negative:
            raise ValidationError("commitment_fee", "must not be negative")
        whole_minor_units("commitment_fee", self.commitment_fee)

    def _check_certificate(self) -> None:
        for name in ("beneficiary", "project", "construction_end"):
            if getattr(self, name) is None:
                raise ValidationError(name, "a bank credit certificate states it")
        assert self.construction_end is not None
        if self.valid_until > self.construction_end:
            raise ValidationError("valid_until",
                                  "must not be after the end of the construction period")

    def _check_intent(self) -> None:
        if not self.conditions:
            raise ValidationError("conditions", "an intent states the conditions the "
                                  "customer must meet")
        codes = [c.code for c in self.conditions]
        if len(set(codes)) != len(codes):
            raise ValidationError("conditions", "each condition needs its own code")

    # -- the lifecycle ----------------------------------------------------------------

    def _event(self, change: str, at: datetime, by: str | None = None) -> CreditEvent:
        return CreditEvent(actor_id=by or self.owner_id, occurred_at=at,
                           instrument_id=self.id, customer_id=self.customer_id,
                           kind=self.kind, change=change, state=self.state)

    def _move(self, to: InstrumentState, change: str, by: str, at: datetime,
              **changes: Any) -> Changed:
        moved = attrs.evolve(self, state=to, **changes)
        return moved, (moved._event(change, at, by),)

    def _require(self, action: str, now: datetime, zone: ZoneInfo,
                 *states: InstrumentState) -> None:
        current = self.as_of(now, zone).state
        if current not in states:
            allowed = " or ".join(s.value for s in states)
            raise InvalidTransition(current.value, action, f"only from {allowed}")

    def submit(self, *, by: str, at: datetime, zone: ZoneInfo) -> Changed:
        self._require("submitted", at, zone, InstrumentState.DRAFT)
        return self._move(InstrumentState.SUBMITTED, "submitted", by, at, submitted_at=at)

    def approve(self, *, by: str, at: datetime, zone: ZoneInfo) -> Changed:
        """Four eyes: whoever drafted it never approves it."""
        self._require("approved", at, zone, InstrumentState.SUBMITTED)
        if by == self.owner_id:
            raise PermissionDenied(by, "credit.approve",
                                   "four eyes: whoever drafts an instrument never approves it")
        return self._move(InstrumentState.APPROVED, "approved", by, at, approved_by=by,
                          approved_at=at)

    def issue(self, *, by: str, at: datetime, zone: ZoneInfo) -> Changed:
        self._require("issued", at, zone, InstrumentState.APPROVED)
        return self._move(InstrumentState.ISSUED, "issued", by, at, issued_at=at)

    def award(self, *, won: bool, by: str, at: datetime, zone: ZoneInfo) -> Changed:
        """A credit certificate's tender result: won activates it, lost voids it."""
        if self.kind is not InstrumentKind.BANK_CREDIT_CERTIFICATE:
            raise InvalidTransition(self.state.value, "awarded",
                                    "only a bank credit certificate has a tender result")
        self._require("awarded", at, zone, InstrumentState.ISSUED)
        if won:
            return self._move(InstrumentState.ACTIVE, "bid won", by, at, awarded_at=at)
        return self._move(InstrumentState.VOID, "bid lost", by, at, awarded_at=at)

    def draw(self, draw: Drawdown, *, zone: ZoneInfo) -> Changed:
        """A draw within validity, up to the amount; a certificate only once active and
        only for its project. Drawn in full, the instrument is FULFILLED."""
        current = self.as_of(draw.at, zone).state
        if self.kind in INTENT_KINDS:
            raise InvalidTransition(current.value, "drawn", "an intent does not bind the "
                                    "bank: there is nothing to draw on")
        if current is InstrumentState.EXPIRED:
            raise InvalidTransition(current.value, "drawn",
                                    f"validity ended on {self.valid_until}")
        if self.kind is InstrumentKind.BANK_CREDIT_CERTIFICATE:
            if current is InstrumentState.ISSUED:
                raise InvalidTransition(current.value, "drawn",
                                        "the certificate takes effect only once the bid is won")
            self._require("drawn", draw.at, zone, InstrumentState.ACTIVE)
            if draw.project != self.project:
                raise ValidationError("project", "a credit certificate covers only its own "
                                      "project")
        else:
            self._require("drawn", draw.at, zone, InstrumentState.ISSUED)
            if draw.project is not None:
                raise ValidationError("project", "only a credit certificate names a project")
        if draw.at.astimezone(zone).date() < self.valid_from:
            raise InvalidTransition(current.value, "drawn",
                                    f"validity starts on {self.valid_from}")
        positive("amount", draw.amount)
        if draw.amount.currency != self.amount.currency:
            raise ValidationError("amount", f"must be in {self.amount.currency}")
        if draw.amount > self.undrawn:
            raise CreditLimitExceeded(
                "amount", f"draws would total {self.drawn + draw.amount}, above the "
                          f"committed {self.amount} (undrawn {self.undrawn})")
        drawn = attrs.evolve(self, drawdowns=(*self.drawdowns, draw))
        events: tuple[DomainEvent, ...] = (drawn._event("drawn", draw.at, draw.by),)
        if drawn.undrawn.amount == 0:
            drawn = attrs.evolve(drawn, state=InstrumentState.FULFILLED)
            events = (*events, drawn._event("fulfilled", draw.at, draw.by))
        return drawn, events

    def condition_codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.conditions)

    def revoke(
        self, *, reason: str, consent: CustomerConsent | None,
        failed_conditions: Iterable[str], by: str, at: datetime, zone: ZoneInfo,
    ) -> Changed:
        """Binding: within validity only with the customer's recorded consent (第三条,
        第四条). Non-binding: by citing which of its conditions the customer failed (第五条)."""
        self._require("revoked", at, zone, *IN_FORCE)
        cited = tuple(failed_conditions)
        if self.binding:
            if consent is None:
                raise RevocationNotAllowed(
                    f"{self.kind.value} binds the bank: within its validity it is revoked "
                    "only with the customer's recorded consent")
            if cited:
                raise ValidationError("failed_conditions",
                                      "a binding instrument has no conditions to cite")
            if consent.at > at:
                raise ValidationError("consent", "is dated after now: record a consent "
                                      "the customer has given")
        else:
            if not cited:
                raise RevocationNotAllowed(
                    f"{self.kind.value} is revoked by citing the conditions the customer "
                    "failed to meet")
            known = self.condition_codes()
            for code in cited:
                if code not in known:
                    raise ValidationError("failed_conditions",
                                          f"{code!r} is not a condition of this instrument")
            if len(set(cited)) != len(cited):
                raise ValidationError("failed_conditions", "cites a condition twice")
            if consent is not None:
                raise ValidationError("consent", "a non-binding instrument needs no consent")
        revocation = Revocation(by=by, at=at, reason=reason, consent=consent,
                                failed_conditions=cited)
        return self._move(InstrumentState.REVOKED, "revoked", by, at, revocation=revocation)
