"""Consent use cases, reached as ``app.consent``, and the consent check other areas call.

Account managers (for the customers they own), their sales managers and customer
relations record consents and withdrawals; the history is append-only and the
current state is a view of it. Other areas ask, inside their own unit of work,
``consent_in_force`` / ``require_consent`` (or, from outside, ``app.consent.allows``);
the notification dispatcher asks ``ConsentSendCheck`` before it sends any marketing or
care message, so a withdrawal stops the very next send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from custmgmt.domain.consent import (
    CONSENT_PURPOSES,
    ConsentChanged,
    ConsentRecord,
    ConsentSource,
    ContactChannel,
    check_order,
    consent_purpose,
    current_state,
    refusal,
)
from custmgmt.domain.customers import Purpose
from custmgmt.domain.followups import Channel
from custmgmt.domain.identity import IdentityKey
from custmgmt.domain.validation import require_aware, require_enum, require_id
from custmgmt.errors import ConsentRequired, NotFound, ValidationError
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.customers import resource_of as customer_resource
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import optional_text

KIND = "consent"


def consent_in_force(
    uow: UnitOfWork, customer_id: str, purpose: Purpose, channel: ContactChannel,
    at: datetime, *, sensitive: bool = False,
) -> ConsentRecord | None:
    """The consent record that allows ``purpose`` on ``channel`` at ``at`` (the one a
    contact relies on), or None: never given, or withdrawn since. For services, inside
    their unit of work; ``sensitive=True`` asks for the separate consent for sensitive
    personal information."""
    latest = uow.consents.latest(customer_id, purpose, channel, sensitive, at)
    return latest if latest is not None and latest.given else None


def require_consent(
    uow: UnitOfWork, customer_id: str, purpose: Purpose, channel: ContactChannel,
    at: datetime, *, sensitive: bool = False,
) -> ConsentRecord:
    """The consent record in force, or ``ConsentRequired`` saying what is missing."""
    latest = uow.consents.latest(customer_id, purpose, channel, sensitive, at)
    refused = refusal(latest, customer_id, purpose, channel, sensitive=sensitive)
    if refused is not None:
        raise refused
    assert latest is not None
    return latest


FOLLOW_UP_CHANNELS: Mapping[Channel, ContactChannel] = {
    Channel.PHONE: ContactChannel.PHONE, Channel.EMAIL: ContactChannel.EMAIL,
    Channel.MAIL: ContactChannel.POST}
"""The follow-up channels that reach a person remotely (marketing channels), and the
consent channel each needs. A visit, or any other channel, needs none."""


def require_follow_up_consent(
    uow: UnitOfWork, ctx: Context, customer_id: str | None, keys: Iterable[IdentityKey],
    channel: Channel, at: datetime,
) -> None:
    """A marketing follow-up on a marketing channel (phone, e-mail, post) is made only
    to a customer the guard allows for marketing, with marketing consent in force on
    that channel: the prospect's customer and every customer holding one of its
    identity keys. ``ConsentRequired`` otherwise (also when no customer is known:
    nobody could have consented)."""
    contact = FOLLOW_UP_CHANNELS.get(channel)
    if contact is None:
        return
    wanted = tuple(keys)
    ctx.guard.check_prospect(uow, wanted, customer_id, Purpose.MARKETING, at)
    holders = {c.id for c in uow.customers.holders_of(wanted).values()}
    if customer_id is not None:
        holders.add(customer_id)
    if not holders:
        raise ConsentRequired("(none)", Purpose.MARKETING.value, contact.value,
                              "the prospect is no customer: nobody consented")
    for holder in sorted(holders):
        require_consent(uow, holder, Purpose.MARKETING, contact, at)


def notification_consent(
    uow: UnitOfWork, ctx: Context, notification: Notification, at: datetime,
    *, sensitive: bool = False,
) -> ConsentRecord | ConsentRequired | None:
    """What a notification relies on: None if its purpose needs no consent, else the
    consent record in force for its recipient, purpose and channel, or the refusal."""
    try:
        purpose = Purpose(notification.purpose)
    except ValueError:
        return None
    if purpose not in CONSENT_PURPOSES:
        return None
    recipient = notification.recipient_id
    try:
        channel = ContactChannel(notification.channel)
    except ValueError:
        return ConsentRequired(recipient, purpose.value, notification.channel,
                               "no consent is given on that channel")
    try:
        customer = uow.customers.get(recipient)
    except NotFound:
        return ConsentRequired(recipient, purpose.value, channel.value,
                               "the recipient is not a customer")
    guard = ctx.guard.refusal(uow, customer, purpose, at)
    if guard is not None:
        return ConsentRequired(recipient, purpose.value, channel.value, guard)
    latest = uow.consents.latest(customer.id, purpose, channel, sensitive, at)
    refused = refusal(latest, customer.id, purpose, channel, sensitive=sensitive)
    if refused is not None:
        return refused
    assert latest is not None
    return latest


class ConsentSendCheck:
    """The dispatcher's send-time check: a marketing, care, profiling or sharing message
    goes out only to a customer the guard allows, with consent in force for its purpose
    on its channel at the moment of sending. Otherwise it is refused, with
    ``ConsentRequired: ...`` as the stored reason."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def __call__(self, uow: UnitOfWork, notification: Notification) -> str | None:
        found = notification_consent(uow, self._ctx, notification, self._ctx.now())
        if isinstance(found, ConsentRequired):
            return f"{type(found).__name__}: {found}"
        return None


@guarded
class ConsentService(Described):
    """Record consents and withdrawals, read the history and its current state, ask
    whether a contact is allowed."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def _record(
        self, actor: Principal, customer_id: str, *, given: bool, purpose: Purpose | str,
        channel: ContactChannel | str, source: ConsentSource | str, reference: str | None,
        notice_version: str | None, at: datetime | None, sensitive: bool,
    ) -> ConsentRecord:
        cid = require_id("customer_id", customer_id)
        wanted = consent_purpose(purpose)
        how = require_enum("channel", ContactChannel, channel)
        origin = require_enum("source", ConsentSource, source)
        ref = optional_text("reference", reference, 200)
        notice = optional_text("notice_version", notice_version, 50)
        if not isinstance(sensitive, bool):
            raise ValidationError("sensitive", "must be True or False")
        now = self._ctx.now()
        when = now if at is None else require_aware("at", at)
        if when > now:
            raise ValidationError("at", "must not be in the future")
        with self._ctx.storage.unit_of_work() as uow:
            who, customer = self._ctx.load(uow, actor, Action.CONSENT_RECORD, "customer", cid,
                                           uow.customers.get, customer_resource)
            record = ConsentRecord(
                id=self._ctx.ids.new_id("cs"), customer_id=customer.id, purpose=wanted,
                channel=how, sensitive=sensitive, given=given, at=when, source=origin,
                reference=ref, notice_version=notice, recorded_by=who.id, recorded_at=now)
            check_order(uow.consents.latest(customer.id, wanted, how, sensitive, now), record)
            uow.consents.add(record)
            self._ctx.audit(uow, who, kind=KIND, resource_id=customer.id,
                            action="give" if given else "withdraw", at=now, before=None,
                            after={"purpose": wanted.value, "channel": how.value,
                                   "sensitive": str(sensitive), "source": origin.value,
                                   "record": record.id,
                                   "notice_version": notice or ""})
            self._ctx.finish(uow, [ConsentChanged(
                actor_id=who.id, occurred_at=now, customer_id=customer.id, purpose=wanted,
                channel=how, sensitive=sensitive, given=given, record_id=record.id)])
        return record

    def give(
        self, actor: Principal, customer_id: str, *, purpose: Purpose | str,
        channel: ContactChannel | str, source: ConsentSource | str, notice_version: str,
        reference: str | None = None, at: datetime | None = None, sensitive: bool = False,
    ) -> ConsentRecord:
        """Record that the person consented to ``purpose`` on ``channel`` (at ``at``,
        default now; never in the future nor before the record in force), from
        ``source`` (its ``reference``: form number, call recording ...), having seen
        the privacy notice ``notice_version``. ``sensitive=True`` records the separate
        consent for sensitive personal information (financial accounts). Needs
        ``consent.record`` on the customer."""
        return self._record(actor, customer_id, given=True, purpose=purpose, channel=channel,
                            source=source, reference=reference,
                            notice_version=require_notice(notice_version), at=at,
                            sensitive=sensitive)

    def withdraw(
        self, actor: Principal, customer_id: str, *, purpose: Purpose | str,
        channel: ContactChannel | str, source: ConsentSource | str,
        reference: str | None = None, at: datetime | None = None, sensitive: bool = False,
    ) -> ConsentRecord:
        """Record that the person withdrew consent to ``purpose`` on ``channel``. It takes
        effect at once: nothing for that purpose is sent on that channel from now on,
        including messages already queued. Allowed for every customer, sealed ones too.
        Needs ``consent.record`` on the customer."""
        return self._record(actor, customer_id, given=False, purpose=purpose, channel=channel,
                            source=source, reference=reference, notice_version=None, at=at,
                            sensitive=sensitive)

    def history(self, actor: Principal, customer_id: str) -> tuple[ConsentRecord, ...]:
        """Every consent and withdrawal of the person, oldest first (needs
        ``consent.read`` on the customer)."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.load(uow, actor, Action.CONSENT_READ, "customer", cid,
                           uow.customers.get, customer_resource)
            return tuple(uow.consents.history(cid))

    def current(
        self, actor: Principal, customer_id: str, *, at: datetime | None = None
    ) -> tuple[ConsentRecord, ...]:
        """The current state, a view of the history: the record in force for each
        purpose, channel and sensitivity (given or withdrawn), at ``at`` (default now)."""
        cid = require_id("customer_id", customer_id)
        when = self._ctx.now() if at is None else require_aware("at", at)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.load(uow, actor, Action.CONSENT_READ, "customer", cid,
                           uow.customers.get, customer_resource)
            return current_state(uow.consents.history(cid), when)

    def allows(
        self, actor: Principal, customer_id: str, purpose: Purpose | str,
        channel: ContactChannel | str, *, at: datetime | None = None, sensitive: bool = False,
    ) -> bool:
        """Whether the person may be contacted for ``purpose`` on ``channel`` at ``at``
        (default now): the customer guard allows it (a sealed customer is never
        contacted) and consent is in force. Needs ``consent.read`` on the customer."""
        cid = require_id("customer_id", customer_id)
        wanted = consent_purpose(purpose)
        how = require_enum("channel", ContactChannel, channel)
        if not isinstance(sensitive, bool):
            raise ValidationError("sensitive", "must be True or False")
        when = self._ctx.now() if at is None else require_aware("at", at)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            _, customer = self._ctx.load(uow, actor, Action.CONSENT_READ, "customer", cid,
                                         uow.customers.get, customer_resource)
            if self._ctx.guard.refusal(uow, customer, wanted, when) is not None:
                return False
            return consent_in_force(uow, cid, wanted, how, when, sensitive=sensitive) is not None


def require_notice(value: object) -> str:
    """The notice version a consent is given on: required, at most 50 characters."""
    notice = optional_text("notice_version", value, 50)
    if notice is None:
        raise ValidationError("notice_version", "consent is given on a notice: name its version")
    return notice
