"""Marketing campaign use cases, reached as ``app.marketing``.

A marketer drafts a campaign (its owner and the material's author); a compliance
reviewer who did not write the material reviews it; a marketing manager approves it;
the owner starts it and sends it in waves, closes it, records outcomes and evaluates
it. Each send reaches, for every customer of the target segments, the first channel
with consent in force, if the customer guard allows marketing and the product suits
the customer's valid risk assessment; the others are counted by reason. Messages
leave through the outbox; at send time the dispatcher checks consent again (the
consent area's check) and this area's check: the campaign still running, the product
still suitable, and the separate consent for sensitive data where the campaign used
it. A message sent becomes a touch with the consent record it relied on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from custmgmt.domain.consent import ContactChannel
from custmgmt.domain.customers import Purpose
from custmgmt.domain.marketing import (
    Campaign,
    CampaignChanged,
    CampaignState,
    ConversionLine,
    Evaluation,
    Exclusion,
    Material,
    Outcome,
    OutcomeKind,
    Product,
    RiskAssessment,
    RiskLevel,
    Segment,
    Touch,
    Wave,
    conversion_lines,
    exclusions,
    suitability,
)
from custmgmt.domain.validation import (
    require_aware,
    require_date,
    require_enum,
    require_id,
    require_text,
)
from custmgmt.errors import ConsentRequired, NotFound, ValidationError
from custmgmt.ports.auth import Action, Principal, Resource
from custmgmt.ports.notification import Notification, NotificationPurpose
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.consent import consent_in_force, notification_consent
from custmgmt.services.context import Context, Described
from custmgmt.services.customers import resource_of as customer_resource
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import optional_text

log = logging.getLogger("custmgmt.marketing")

KIND = "campaign"
MESSAGE_KIND = "campaign"
"""The ``kind`` of the notifications a campaign queues."""
ASSESSMENT_VALIDITY = timedelta(days=365)
"""How long a risk assessment stays valid unless ``valid_until`` says otherwise."""


def resource_of(campaign: Campaign) -> Resource:
    """The campaign as the authorizer sees it: its owner and the owner's team."""
    return Resource(kind=KIND, id=campaign.id, owner_id=campaign.owner_id,
                    team=campaign.owner_team)


def _channels(raw: object) -> tuple[ContactChannel, ...]:
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        raise ValidationError("channels", "must be a list of channels")
    channels = tuple(require_enum("channels", ContactChannel, c) for c in raw)
    if not channels or len(set(channels)) != len(channels):
        raise ValidationError("channels", "must name each channel once, at least one")
    return channels


def _segments(raw: object) -> tuple[Segment, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise ValidationError("segments", "must map segment names to customer ids")
    out = []
    for name, members in raw.items():
        label = require_text("segments", name, 100)
        if isinstance(members, str | bytes) or not isinstance(members, Iterable):
            raise ValidationError("segments", f"segment {label!r} must list customer ids")
        ids = tuple(require_id("segments", m) for m in members)
        if len(set(ids)) != len(ids):
            raise ValidationError("segments", f"segment {label!r} names a customer twice")
        out.append(Segment(name=label, customer_ids=ids))
    return tuple(out)


def _material(subject: object, body: object, author: str) -> Material:
    return Material(subject=require_text("subject", subject, 300),
                    body=require_text("body", body, 5000), author_id=author)


def _snapshot(c: Campaign) -> dict[str, str]:
    return {"state": c.state.value, "product": c.product_id, "owner": c.owner_id,
            "author": c.material.author_id, "waves": str(len(c.waves)),
            "version": str(c.version)}


class CampaignSendCheck:
    """The dispatcher's check for campaign messages: the campaign still running, the
    product still suitable for the customer's valid assessment, and (for a campaign
    that used sensitive data) the separate consent in force on the message's channel."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def __call__(self, uow: UnitOfWork, notification: Notification) -> str | None:
        if notification.kind != MESSAGE_KIND:
            return None
        touch = uow.marketing.touch_for(notification.id)
        if touch is None:
            return None
        campaign = uow.campaigns.get(touch.campaign_id)
        if campaign.state is not CampaignState.RUNNING:
            return (f"InvalidTransition: campaign {campaign.id!r} is "
                    f"{campaign.state.value}: only a running campaign sends")
        product = uow.marketing.product(campaign.product_id)
        unsuitable = suitability(uow.marketing.assessment(touch.customer_id), product,
                                 self._ctx.today())
        if unsuitable is not None:
            return f"Unsuitable: {unsuitable.value}"
        if campaign.uses_sensitive_data:
            found = notification_consent(uow, self._ctx, notification, self._ctx.now(),
                                         sensitive=True)
            if isinstance(found, ConsentRequired):
                return f"{type(found).__name__}: {found}"
        return None


class TouchRecorder:
    """After a campaign message is sent: its touch gets the send time and the consent
    record it relied on (in the same unit of work that marks it sent)."""

    def __call__(self, uow: UnitOfWork, notification: Notification, at: datetime) -> None:
        if notification.kind != MESSAGE_KIND:
            return
        touch = uow.marketing.touch_for(notification.id)
        if touch is None:
            return
        consent = consent_in_force(uow, touch.customer_id, Purpose.MARKETING, touch.channel,
                                   at)
        uow.marketing.mark_sent(notification.id, at, None if consent is None else consent.id)


@guarded
class MarketingService(Described):
    """Products and risk assessments; campaigns from draft to evaluation; touches and
    outcomes; the evaluation report."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    # -- helpers --------------------------------------------------------------------

    def _load(self, uow: UnitOfWork, actor: Principal, action: Action, campaign_id: str
              ) -> tuple[Principal, Campaign]:
        cid = require_id("campaign_id", campaign_id)
        return self._ctx.load(uow, actor, action, KIND, cid, uow.campaigns.get, resource_of)

    def _save(self, uow: UnitOfWork, who: Principal, action: str, before: Campaign | None,
              after: Campaign, event: CampaignChanged | None) -> Campaign:
        now = self._ctx.now()
        stored = uow.campaigns.add(after) if before is None else uow.campaigns.update(after)
        self._ctx.audit(uow, who, kind=KIND, resource_id=stored.id, action=action, at=now,
                        before=None if before is None else _snapshot(before),
                        after=_snapshot(stored))
        self._ctx.finish(uow, [] if event is None else [event])
        return stored

    def _step(self, actor: Principal, campaign_id: str, action: Action, name: str,
              move: str) -> Campaign:
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, campaign = self._load(uow, actor, action, campaign_id)
            changed, event = getattr(campaign, move)(by=who.id, at=now)
            return self._save(uow, who, name, campaign, changed, event)

    # -- products and suitability ---------------------------------------------------

    def add_product(self, actor: Principal, *, name: str, risk_level: RiskLevel | int
                    ) -> Product:
        """A product campaigns may offer, with its risk level (R1..R5, or 1..5). Needs
        ``marketing.product``."""
        label = require_text("name", name, 200)
        level = require_enum("risk_level", RiskLevel, risk_level)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.MARKETING_PRODUCT)
            product = Product(id=self._ctx.ids.new_id("pd"), name=label, risk_level=level,
                              created_by=who.id, created_at=now)
            uow.marketing.add_product(product)
            uow.commit()
        return product

    def get_product(self, actor: Principal, product_id: str) -> Product:
        """One product (needs ``marketing.read``)."""
        pid = require_id("product_id", product_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.MARKETING_READ)
            return uow.marketing.product(pid)

    def assess_risk(
        self, actor: Principal, customer_id: str, *, tolerance: RiskLevel | int,
        assessed_on: date | None = None, valid_until: date | None = None,
    ) -> RiskAssessment:
        """Record the customer's assessed risk tolerance (C1..C5 on the R scale), assessed
        on ``assessed_on`` (default today, never later) and valid to ``valid_until``
        inclusive (default one year on). The latest assessment counts. Needs
        ``customer.risk_assess`` on the customer."""
        cid = require_id("customer_id", customer_id)
        level = require_enum("tolerance", RiskLevel, tolerance)
        today = self._ctx.today()
        on = today if assessed_on is None else require_date("assessed_on", assessed_on)
        if on > today:
            raise ValidationError("assessed_on", "must not be in the future")
        until = (on + ASSESSMENT_VALIDITY if valid_until is None
                 else require_date("valid_until", valid_until))
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, customer = self._ctx.load(uow, actor, Action.RISK_ASSESS, "customer", cid,
                                           uow.customers.get, customer_resource)
            assessment = RiskAssessment(
                id=self._ctx.ids.new_id("ra"), customer_id=customer.id, tolerance=level,
                assessed_on=on, valid_until=until, assessed_by=who.id, recorded_at=now)
            uow.marketing.add_assessment(assessment)
            uow.commit()
        return assessment

    # -- the campaign's life ----------------------------------------------------------

    def draft(
        self, actor: Principal, *, name: str, product_id: str,
        segments: Mapping[str, Iterable[str]], channels: Iterable[ContactChannel | str],
        subject: str, body: str, uses_sensitive_data: bool = False,
    ) -> Campaign:
        """A new campaign in DRAFT, owned by the actor, who is also the material's
        author. ``segments``: target segment name -> customer ids (each an existing
        customer); ``channels`` in order of preference. ``uses_sensitive_data``: the
        audience was chosen from financial account data, so each message also needs
        the separate consent for sensitive personal information. Needs
        ``marketing.draft``."""
        label = require_text("name", name, 200)
        pid = require_id("product_id", product_id)
        targets = _segments(segments)
        ways = _channels(channels)
        if not isinstance(uses_sensitive_data, bool):
            raise ValidationError("uses_sensitive_data", "must be True or False")
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.MARKETING_DRAFT)
            campaign = Campaign(
                id=self._ctx.ids.new_id("cp"), name=label, product_id=pid, segments=targets,
                channels=ways, material=_material(subject, body, who.id), owner_id=who.id,
                owner_team=who.team, uses_sensitive_data=uses_sensitive_data,
                created_at=now)
            self._ctx.authorizer.check(who, Action.MARKETING_DRAFT, resource_of(campaign))
            try:
                uow.marketing.product(pid)
            except NotFound:
                raise ValidationError("product_id", "no such product") from None
            self._known(uow, targets)
            return self._save(uow, who, "draft", None, campaign, CampaignChanged(
                actor_id=who.id, occurred_at=now, campaign_id=campaign.id, change="drafted",
                state=CampaignState.DRAFT))

    @staticmethod
    def _known(uow: UnitOfWork, segments: Iterable[Segment]) -> None:
        for segment in segments:
            for cid in segment.customer_ids:
                try:
                    uow.customers.get(cid)
                except NotFound:
                    raise ValidationError("segments", f"segment {segment.name!r} names "
                                          f"an unknown customer {cid!r}") from None

    def revise(
        self, actor: Principal, campaign_id: str, *, subject: str | None = None,
        body: str | None = None, channels: Iterable[ContactChannel | str] | None = None,
        segments: Mapping[str, Iterable[str]] | None = None,
    ) -> Campaign:
        """Change a DRAFT: new material makes the actor its author; any review is void.
        Needs ``marketing.draft`` on the campaign."""
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, campaign = self._load(uow, actor, Action.MARKETING_DRAFT, campaign_id)
            material = None
            if subject is not None or body is not None:
                material = _material(campaign.material.subject if subject is None else subject,
                                     campaign.material.body if body is None else body, who.id)
            targets = None if segments is None else _segments(segments)
            if targets is not None:
                self._known(uow, targets)
            changed, event = campaign.revise(
                by=who.id, at=now, material=material,
                channels=None if channels is None else _channels(channels), segments=targets)
            return self._save(uow, who, "revise", campaign, changed, event)

    def submit(self, actor: Principal, campaign_id: str) -> Campaign:
        """DRAFT -> IN_REVIEW: the material goes to compliance review."""
        return self._step(actor, campaign_id, Action.MARKETING_DRAFT, "submit", "submit")

    def review(self, actor: Principal, campaign_id: str, *, passed: bool, note: str
               ) -> Campaign:
        """The compliance (advertising-law) review of the material, by someone other than
        its author; failing sends the campaign back to DRAFT. Needs ``marketing.review``."""
        if not isinstance(passed, bool):
            raise ValidationError("passed", "must be True or False")
        text = require_text("note", note)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, campaign = self._load(uow, actor, Action.MARKETING_REVIEW, campaign_id)
            changed, event = campaign.review(by=who.id, at=now, passed=passed, note=text)
            return self._save(uow, who, "review", campaign, changed, event)

    def approve(self, actor: Principal, campaign_id: str) -> Campaign:
        """IN_REVIEW -> APPROVED, once the material passed review; never by the owner or
        the material's author. Needs ``marketing.approve``."""
        return self._step(actor, campaign_id, Action.MARKETING_APPROVE, "approve", "approve")

    def start(self, actor: Principal, campaign_id: str) -> Campaign:
        """APPROVED -> RUNNING: from now on it may send. Needs ``marketing.run``."""
        return self._step(actor, campaign_id, Action.MARKETING_RUN, "start", "start")

    def close(self, actor: Principal, campaign_id: str) -> Campaign:
        """RUNNING -> CLOSED: nothing more is sent, queued messages included."""
        return self._step(actor, campaign_id, Action.MARKETING_RUN, "close", "close")

    def send(self, actor: Principal, campaign_id: str) -> Wave:
        """Send a running campaign once more (a wave): queue one message per customer of
        the target segments, on the first of the campaign's channels with marketing
        consent in force, for each customer the guard allows and the product suits.
        Returns the wave: messages queued and customers left out, by reason. Needs
        ``marketing.run`` on the campaign."""
        now = self._ctx.now()
        today = self._ctx.today()
        with self._ctx.storage.unit_of_work() as uow:
            who, campaign = self._load(uow, actor, Action.MARKETING_RUN, campaign_id)
            number = len(campaign.waves) + 1
            campaign.record_wave(Wave(number=number, at=now, by=who.id, queued=0))
            product = uow.marketing.product(campaign.product_id)
            counts: dict[Exclusion, int] = {}
            touches: list[Touch] = []
            for segment, cid in campaign.audience():
                reason, channel = self._reach(uow, campaign, product, cid, now, today)
                if reason is not None or channel is None:
                    key = reason or Exclusion.NO_CONSENT
                    counts[key] = counts.get(key, 0) + 1
                    continue
                note = Notification(
                    id=self._ctx.ids.new_id("n"), recipient_id=cid, kind=MESSAGE_KIND,
                    subject=campaign.material.subject, body=campaign.material.body,
                    created_at=now, dedupe_key=f"campaign:{campaign.id}:{number}:{cid}",
                    purpose=NotificationPurpose.MARKETING, channel=channel.value)
                if uow.outbox.add(note):
                    touches.append(Touch(
                        id=self._ctx.ids.new_id("tc"), campaign_id=campaign.id,
                        customer_id=cid, segment=segment, channel=channel, wave=number,
                        notification_id=note.id, queued_at=now))
            wave = Wave(number=number, at=now, by=who.id, queued=len(touches),
                        excluded=exclusions(counts))
            uow.marketing.add_touches(touches)
            self._save(uow, who, "send", campaign, campaign.record_wave(wave), None)
        return wave

    def _reach(
        self, uow: UnitOfWork, campaign: Campaign, product: Product, customer_id: str,
        now: datetime, today: date,
    ) -> tuple[Exclusion | None, ContactChannel | None]:
        try:
            customer = uow.customers.get(customer_id)
        except NotFound:
            return Exclusion.REFUSED, None
        if self._ctx.guard.refusal(uow, customer, Purpose.MARKETING, now) is not None:
            return Exclusion.REFUSED, None
        unsuitable = suitability(uow.marketing.assessment(customer_id), product, today)
        if unsuitable is not None:
            return unsuitable, None
        for channel in campaign.channels:
            if consent_in_force(uow, customer_id, Purpose.MARKETING, channel, now) is None:
                continue
            if campaign.uses_sensitive_data and consent_in_force(
                    uow, customer_id, Purpose.MARKETING, channel, now, sensitive=True) is None:
                continue
            return None, channel
        return Exclusion.NO_CONSENT, None

    # -- results ------------------------------------------------------------------------

    def record_outcome(
        self, actor: Principal, campaign_id: str, customer_id: str,
        kind: OutcomeKind | str, *, at: datetime | None = None, reference: str | None = None,
    ) -> Outcome:
        """What came of the campaign for a customer it reached: a response, a prospect
        registered, the product taken. Linked to the customer's latest touch sent at or
        before ``at`` (default now); ValidationError if there is none. Needs
        ``marketing.evaluate`` on the campaign (running, closed, not yet evaluated)."""
        cust = require_id("customer_id", customer_id)
        what = require_enum("kind", OutcomeKind, kind)
        ref = optional_text("reference", reference, 200)
        now = self._ctx.now()
        when = now if at is None else require_aware("at", at)
        if when > now:
            raise ValidationError("at", "must not be in the future")
        with self._ctx.storage.unit_of_work() as uow:
            who, campaign = self._load(uow, actor, Action.MARKETING_EVALUATE, campaign_id)
            if campaign.state not in (CampaignState.RUNNING, CampaignState.CLOSED):
                raise ValidationError("campaign_id", "outcomes are recorded while the "
                                      "campaign runs or once it is closed")
            sent = [t for t in uow.marketing.touches(campaign.id)
                    if t.customer_id == cust and t.sent_at is not None and t.sent_at <= when]
            if not sent:
                raise ValidationError("customer_id", "the campaign sent this customer "
                                      "nothing before then")
            outcome = Outcome(id=self._ctx.ids.new_id("oc"), campaign_id=campaign.id,
                              customer_id=cust, touch_id=sent[-1].id, kind=what, at=when,
                              recorded_by=who.id, reference=ref)
            uow.marketing.add_outcome(outcome)
            uow.commit()
        return outcome

    def evaluate(self, actor: Principal, campaign_id: str) -> Evaluation:
        """CLOSED -> EVALUATED, returning the evaluation report. Needs
        ``marketing.evaluate`` on the campaign."""
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, campaign = self._load(uow, actor, Action.MARKETING_EVALUATE, campaign_id)
            changed, event = campaign.evaluate(by=who.id, at=now)
            report = self._report(uow, changed)
            self._save(uow, who, "evaluate", campaign, changed, event)
        return report

    def report(self, actor: Principal, campaign_id: str) -> Evaluation:
        """The evaluation report as of now, in any state (needs ``marketing.read``)."""
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            _, campaign = self._load(uow, actor, Action.MARKETING_READ, campaign_id)
            return self._report(uow, campaign)

    @staticmethod
    def _report(uow: UnitOfWork, campaign: Campaign) -> Evaluation:
        touches = list(uow.marketing.touches(campaign.id))
        outcomes = list(uow.marketing.outcomes(campaign.id))
        sent = [t for t in touches if t.sent_at is not None]
        (total,) = conversion_lines(sent, outcomes, "all") or (
            ConversionLine(name="all", touched=0, responded=0, registered=0, converted=0),)
        return Evaluation(
            campaign_id=campaign.id, state=campaign.state, touches=len(sent),
            customers=len({t.customer_id for t in sent}),
            not_sent=len(touches) - len(sent),
            by_channel=conversion_lines(touches, outcomes, "channel"),
            by_segment=conversion_lines(touches, outcomes, "segment"),
            excluded=exclusions(campaign.excluded()), total=total)

    def get(self, actor: Principal, campaign_id: str) -> Campaign:
        """One campaign (needs ``marketing.read``)."""
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            return self._load(uow, actor, Action.MARKETING_READ, campaign_id)[1]

    def touches(self, actor: Principal, campaign_id: str) -> tuple[Touch, ...]:
        """Every message the campaign queued, in order; those sent carry their send time
        and the consent record relied on (needs ``marketing.read``)."""
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            _, campaign = self._load(uow, actor, Action.MARKETING_READ, campaign_id)
            return tuple(uow.marketing.touches(campaign.id))
