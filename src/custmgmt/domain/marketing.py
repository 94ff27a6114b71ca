"""Marketing campaigns (个人用户客户营销): the right product to the right customer.

From the bank's retail marketing policy (商业银行个人用户客户营销工作管理办法):
marketing follows the advertising and personal information protection laws
(第一条); it runs from planning and material through reaching customers to
evaluating results (第二条); the right product goes to the right customer, and
execution is tied to measured results (第三条).

A campaign offers one product to the customers of its target segments on its
channels, with material that someone other than its author reviewed for
compliance (advertising-law review) before a manager approves it:
DRAFT -> IN_REVIEW -> APPROVED -> RUNNING -> CLOSED -> EVALUATED. Only a running
campaign sends. Suitability: a customer is reached only when their assessed risk
tolerance is at least the product's risk level and the assessment is still
valid; everyone left out is counted by reason. Each message sent is a touch
(customer, channel, time, the consent it relied on); outcomes link to touches and
the evaluation gives conversion per channel and segment.

Everything here is pure: times come in as arguments.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.consent import ContactChannel
from custmgmt.domain.validation import (
    a_date,
    aware,
    non_negative_int,
    of_type,
    optional,
    text,
    tuple_of,
)
from custmgmt.errors import InvalidTransition, PermissionDenied, ValidationError

__all__ = [
    "Campaign", "CampaignChanged", "CampaignState", "ConversionLine", "Evaluation",
    "Exclusion", "Material", "Outcome", "OutcomeKind", "Product", "RiskAssessment",
    "RiskLevel", "Segment", "Touch", "Wave", "conversion_lines", "suitability",
]


class RiskLevel(enum.IntEnum):
    """Risk levels R1 (lowest) to R5; a customer's tolerance is on the same scale
    (C1..C5): a product of level n suits a customer whose tolerance is n or more."""

    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5


class CampaignState(enum.Enum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RUNNING = "running"
    CLOSED = "closed"
    EVALUATED = "evaluated"


class Exclusion(enum.Enum):
    """Why a customer of the target segments was not sent a message."""

    REFUSED = "refused"
    """The customer guard says no (e.g. a sealed customer), or no such customer."""
    NO_ASSESSMENT = "no_assessment"
    """No risk tolerance assessed."""
    ASSESSMENT_EXPIRED = "assessment_expired"
    TOLERANCE_BELOW = "tolerance_below"
    """Assessed tolerance below the product's risk level."""
    NO_CONSENT = "no_consent"
    """No marketing consent in force on any of the campaign's channels (for a campaign
    using sensitive data: also no separate consent for it)."""


class OutcomeKind(enum.Enum):
    RESPONSE = "response"
    """The customer answered (called back, clicked, replied)."""
    PROSPECT_REGISTERED = "prospect_registered"
    """A salesperson registered the lead as a prospect."""
    PRODUCT_TAKEN = "product_taken"
    """The customer took the product: a conversion."""


@frozen(kw_only=True)
class Product:
    """A product campaigns offer, with its risk level."""

    id: str = field(validator=text(100))
    name: str = field(validator=text(200))
    risk_level: RiskLevel = field(validator=of_type(RiskLevel))
    created_by: str = field(validator=text(200))
    created_at: datetime = field(validator=aware)


@frozen(kw_only=True)
class RiskAssessment:
    """A customer's assessed risk tolerance, on a date, valid up to a date (inclusive)."""

    id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    tolerance: RiskLevel = field(validator=of_type(RiskLevel))
    assessed_on: date = field(validator=a_date)
    valid_until: date = field(validator=a_date)
    assessed_by: str = field(validator=text(200))
    recorded_at: datetime = field(validator=aware)

    def __attrs_post_init__(self) -> None:
        if self.valid_until < self.assessed_on:
            raise ValidationError("valid_until", "must not be before the assessment date")


def suitability(
    assessment: RiskAssessment | None, product: Product, on: date
) -> Exclusion | None:
    """Why the product does not suit the customer on ``on`` (None: it does)."""
    if assessment is None:
        return Exclusion.NO_ASSESSMENT
    if assessment.valid_until < on:
        return Exclusion.ASSESSMENT_EXPIRED
    if assessment.tolerance < product.risk_level:
        return Exclusion.TOLERANCE_BELOW
    return None


@frozen(kw_only=True)
class Segment:
    """A named target segment: the customers it holds, in order."""

    name: str = field(validator=text(100))
    customer_ids: tuple[str, ...] = field(validator=tuple_of(str))

    def __attrs_post_init__(self) -> None:
        if not self.customer_ids:
            raise ValidationError("segments", f"segment {self.name!r} holds no customer")


@frozen(kw_only=True)
class Material:
    """What the campaign says, and who wrote it (reviewed by someone else)."""

    subject: str = field(validator=text(300))
    body: str = field(validator=text(5000))
    author_id: str = field(validator=text(200))


def _in_order(value: Any) -> Any:
    """Exclusion counts in the order of ``Exclusion``, zeros left out (anything else is
    left for the type checks)."""
    if isinstance(value, tuple | list):
        try:
            return exclusions(dict(value))
        except (TypeError, ValueError):
            return value
    return value


@frozen(kw_only=True)
class Wave:
    """One send of a running campaign: how many messages were queued and how many
    customers were left out, by reason."""

    number: int = field(validator=non_negative_int)
    at: datetime = field(validator=aware)
    by: str = field(validator=text(200))
    queued: int = field(validator=non_negative_int)
    excluded: tuple[tuple[Exclusion, int], ...] = field(default=(), converter=_in_order)
    """Counts by reason, in the order of ``Exclusion``, zeros left out."""

    def excluded_for(self, reason: Exclusion) -> int:
        return dict(self.excluded).get(reason, 0)


def _channels(_inst: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if (not isinstance(value, tuple) or not value
            or not all(isinstance(c, ContactChannel) for c in value)):
        raise ValidationError("channels", "must name at least one channel")
    if len(set(value)) != len(value):
        raise ValidationError("channels", "names a channel twice")


def _segments(_inst: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if (not isinstance(value, tuple) or not value
            or not all(isinstance(s, Segment) for s in value)):
        raise ValidationError("segments", "must name at least one segment")
    if len({s.name for s in value}) != len(value):
        raise ValidationError("segments", "names a segment twice")


@frozen(kw_only=True)
class CampaignChanged(DomainEvent):
    """A campaign moved on (drafted, submitted, reviewed, approved, started, closed,
    evaluated)."""

    campaign_id: str
    change: str
    state: CampaignState


@frozen(kw_only=True)
class Campaign:
    """A marketing campaign; versioned like every aggregate."""

    id: str = field(validator=text(100))
    name: str = field(validator=text(200))
    product_id: str = field(validator=text(100))
    segments: tuple[Segment, ...] = field(validator=_segments)
    channels: tuple[ContactChannel, ...] = field(validator=_channels)
    """In order of preference: each customer gets one message per send, on the first
    channel they consented to."""
    material: Material = field(validator=of_type(Material))
    owner_id: str = field(validator=text(200))
    owner_team: str | None = field(default=None, validator=optional(text(100)))
    uses_sensitive_data: bool = field(default=False, validator=of_type(bool))
    """The audience was chosen from sensitive data (financial accounts): each message also
    needs the person's separate consent for sensitive personal information."""
    state: CampaignState = field(default=CampaignState.DRAFT,
                                 validator=of_type(CampaignState))
    created_at: datetime = field(validator=aware)
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_passed: bool | None = None
    review_note: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None
    evaluated_at: datetime | None = None
    waves: tuple[Wave, ...] = ()
    version: int = field(default=0, validator=non_negative_int)

    def segment_of(self, customer_id: str) -> str | None:
        """The first segment holding the customer."""
        for segment in self.segments:
            if customer_id in segment.customer_ids:
                return segment.name
        return None

    def audience(self) -> tuple[tuple[str, str], ...]:
        """Every (segment, customer id) of the target, each customer once (first segment)."""
        seen: set[str] = set()
        out = []
        for segment in self.segments:
            for cid in segment.customer_ids:
                if cid not in seen:
                    seen.add(cid)
                    out.append((segment.name, cid))
        return tuple(out)

    def _expect(self, action: str, *states: CampaignState) -> None:
        if self.state not in states:
            allowed = " or ".join(s.value for s in states)
            raise InvalidTransition(self.state.value, action, f"only from {allowed}")

    def _event(self, by: str, at: datetime, change: str, state: CampaignState
               ) -> CampaignChanged:
        return CampaignChanged(actor_id=by, occurred_at=at, campaign_id=self.id,
                               change=change, state=state)

    def revise(self, *, by: str, at: datetime, material: Material | None = None,
               channels: tuple[ContactChannel, ...] | None = None,
               segments: tuple[Segment, ...] | None = None,
               ) -> tuple[Campaign, CampaignChanged]:
        """A draft changed (material, channels, segments): any review is void."""
        self._expect("revised", CampaignState.DRAFT)
        changed = attrs.evolve(
            self, material=material or self.material, channels=channels or self.channels,
            segments=segments or self.segments, reviewed_by=None, reviewed_at=None,
            review_passed=None, review_note=None)
        return changed, self._event(by, at, "revised", CampaignState.DRAFT)

    def submit(self, *, by: str, at: datetime) -> tuple[Campaign, CampaignChanged]:
        self._expect(CampaignState.IN_REVIEW.value, CampaignState.DRAFT)
        return (attrs.evolve(self, state=CampaignState.IN_REVIEW, reviewed_by=None,
                             reviewed_at=None, review_passed=None, review_note=None),
                self._event(by, at, "submitted", CampaignState.IN_REVIEW))

    def review(self, *, by: str, at: datetime, passed: bool, note: str
               ) -> tuple[Campaign, CampaignChanged]:
        """The compliance review of the material: never by its author. Failing it sends
        the campaign back to DRAFT."""
        self._expect("reviewed", CampaignState.IN_REVIEW)
        if by == self.material.author_id:
            raise PermissionDenied(by, "marketing.review",
                                   "the material's author may not review it")
        state = CampaignState.IN_REVIEW if passed else CampaignState.DRAFT
        return (attrs.evolve(self, state=state, reviewed_by=by, reviewed_at=at,
                             review_passed=passed, review_note=note),
                self._event(by, at, "review passed" if passed else "review failed", state))

    def approve(self, *, by: str, at: datetime) -> tuple[Campaign, CampaignChanged]:
        """Approval needs a passed compliance review; the approver is neither the
        campaign's owner nor the material's author."""
        self._expect(CampaignState.APPROVED.value, CampaignState.IN_REVIEW)
        if not self.review_passed:
            raise InvalidTransition(self.state.value, CampaignState.APPROVED.value,
                                    "the material has not passed its compliance review")
        if by in (self.owner_id, self.material.author_id):
            raise PermissionDenied(by, "marketing.approve",
                                   "the owner or the material's author may not approve")
        return (attrs.evolve(self, state=CampaignState.APPROVED, approved_by=by,
                             approved_at=at),
                self._event(by, at, "approved", CampaignState.APPROVED))

    def start(self, *, by: str, at: datetime) -> tuple[Campaign, CampaignChanged]:
        self._expect(CampaignState.RUNNING.value, CampaignState.APPROVED)
        return (attrs.evolve(self, state=CampaignState.RUNNING, started_at=at),
                self._event(by, at, "started", CampaignState.RUNNING))

    def record_wave(self, wave: Wave) -> Campaign:
        """Only a running campaign sends."""
        self._expect("sent", CampaignState.RUNNING)
        return attrs.evolve(self, waves=(*self.waves, wave))

    def close(self, *, by: str, at: datetime) -> tuple[Campaign, CampaignChanged]:
        """Stops sending: messages still queued are refused at send time."""
        self._expect(CampaignState.CLOSED.value, CampaignState.RUNNING)
        return (attrs.evolve(self, state=CampaignState.CLOSED, closed_at=at),
                self._event(by, at, "closed", CampaignState.CLOSED))

    def evaluate(self, *, by: str, at: datetime) -> tuple[Campaign, CampaignChanged]:
        self._expect(CampaignState.EVALUATED.value, CampaignState.CLOSED)
        return (attrs.evolve(self, state=CampaignState.EVALUATED, evaluated_at=at),
                self._event(by, at, "evaluated", CampaignState.EVALUATED))

    def excluded(self) -> dict[Exclusion, int]:
        """Customers left out, by reason, summed over every send."""
        total: dict[Exclusion, int] = {}
        for wave in self.waves:
            for reason, count in wave.excluded:
                total[reason] = total.get(reason, 0) + count
        return total


@frozen(kw_only=True)
class Touch:
    """One message a campaign queued for a customer; a touch once sent (``sent_at``),
    with the consent record it relied on."""

    id: str = field(validator=text(100))
    campaign_id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    segment: str = field(validator=text(100))
    channel: ContactChannel = field(validator=of_type(ContactChannel))
    wave: int = field(validator=non_negative_int)
    notification_id: str = field(validator=text(100))
    queued_at: datetime = field(validator=aware)
    sent_at: datetime | None = None
    consent_id: str | None = None
    """The consent record in force when it was sent."""


@frozen(kw_only=True)
class Outcome:
    """What came of a touch: a response, a prospect registered, the product taken."""

    id: str = field(validator=text(100))
    campaign_id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    touch_id: str = field(validator=text(100))
    kind: OutcomeKind = field(validator=of_type(OutcomeKind))
    at: datetime = field(validator=aware)
    recorded_by: str = field(validator=text(200))
    reference: str | None = field(default=None, validator=optional(text(200)))


@frozen(kw_only=True)
class ConversionLine:
    """One channel's or one segment's results: customers touched, and of them how many
    responded, were registered as prospects, took the product; ``conversion`` is the
    share that took the product."""

    name: str
    touched: int
    responded: int
    registered: int
    converted: int

    @property
    def conversion(self) -> Decimal:
        if not self.touched:
            return Decimal("0")
        return (Decimal(self.converted) / Decimal(self.touched)).quantize(Decimal("0.0001"))


@frozen(kw_only=True)
class Evaluation:
    """The evaluation report: touches linked to outcomes, conversion per channel and per
    segment, and the customers left out by reason."""

    campaign_id: str
    state: CampaignState
    touches: int
    """Messages sent."""
    customers: int
    """Customers reached (at least one message sent)."""
    not_sent: int
    """Messages queued but not sent: refused at send time (consent withdrawn, campaign
    closed ...) or still waiting in the outbox."""
    by_channel: tuple[ConversionLine, ...]
    by_segment: tuple[ConversionLine, ...]
    excluded: tuple[tuple[Exclusion, int], ...]
    total: ConversionLine


def conversion_lines(
    touches: Iterable[Touch], outcomes: Iterable[Outcome], key: str
) -> tuple[ConversionLine, ...]:
    """Per ``key`` (``"channel"`` or ``"segment"`` of the touch; any other value: one
    line of that name for everything), the customers touched
    and those with each outcome, an outcome counted on the touch it links to."""
    sent = {t.id: t for t in touches if t.sent_at is not None}
    names: dict[str, set[str]] = {}
    for touch in sent.values():
        names.setdefault(_key(touch, key), set()).add(touch.customer_id)
    got: dict[tuple[str, OutcomeKind], set[str]] = {}
    for outcome in outcomes:
        linked = sent.get(outcome.touch_id)
        if linked is not None:
            got.setdefault((_key(linked, key), outcome.kind), set()).add(outcome.customer_id)
    return tuple(ConversionLine(
        name=name, touched=len(customers),
        responded=len(got.get((name, OutcomeKind.RESPONSE), ())),
        registered=len(got.get((name, OutcomeKind.PROSPECT_REGISTERED), ())),
        converted=len(got.get((name, OutcomeKind.PRODUCT_TAKEN), ())))
        for name, customers in sorted(names.items()))


def _key(touch: Touch, key: str) -> str:
    if key == "channel":
        return touch.channel.value
    return touch.segment if key == "segment" else key


def exclusions(counts: Mapping[Exclusion, int]) -> tuple[tuple[Exclusion, int], ...]:
    """Counts by reason in the order of ``Exclusion``, zeros left out."""
    return tuple((reason, counts[reason]) for reason in Exclusion if counts.get(reason))
