"""Notifications leave through an outbox, written in the same transaction as the change.

A dispatcher (``app.notifications``) claims due items with a lease, hands each
to the configured ``Notifier`` with an idempotency key, and marks it sent,
failed (retried later, with exponential back-off), dead (after
``Settings.notify_max_attempts``) or refused (a send-time check said no).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from attrs import field, frozen

from custmgmt.domain.validation import aware, optional, text


class NotificationPurpose:
    """Why a notification is sent. Consent is given per purpose and channel, and a
    send-time check may refuse a notification for its purpose. ``MARKETING`` and
    ``CARE`` are the values of ``custmgmt.domain.customers.Purpose`` of the same
    name, so a check can ask the customer guard about them; any other short string
    is a purpose too."""

    OPERATIONS = "operations"
    """Work messages to staff: reminders, escalations, warnings (the default)."""
    MARKETING = "marketing"
    """Offers and campaigns to customers: only to those who consented."""
    CARE = "care"
    """Customer care: greetings, service follow-up."""


class NotifyChannel:
    """How a notification should reach its recipient. Notifiers may deliver only
    the channels they serve; ``INTERNAL`` means whichever notifier is configured."""

    INTERNAL = "internal"
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


@frozen(kw_only=True)
class Notification:
    """A message to one recipient. Its body never carries personal data in clear.

    ``dedupe_key`` makes the outbox keep only the first notification with that key,
    so a reminder for one due date is never queued twice. ``purpose`` and
    ``channel`` say why and how it is sent (see ``NotificationPurpose``, ``NotifyChannel``).
    """

    id: str = field(validator=text(100))
    recipient_id: str = field(validator=text(200))
    kind: str = field(validator=text(100))
    subject: str = field(validator=text(300))
    body: str = ""
    created_at: datetime = field(validator=aware)
    dedupe_key: str | None = field(default=None, validator=optional(text(300)))
    purpose: str = field(default=NotificationPurpose.OPERATIONS, validator=text(50))
    channel: str = field(default=NotifyChannel.INTERNAL, validator=text(50))

    @property
    def idempotency_key(self) -> str:
        """The key a notifier passes on so the far side can drop a repeat: the same for
        every attempt of this notification, in every worker (it is the id)."""
        return self.id


class DeliveryStatus(enum.Enum):
    """Where an outbox notification stands: pending, sent, failed (tried again after a
    back-off), dead (given up on) or refused at send time."""

    PENDING = "pending"
    """Waiting for its first attempt."""
    SENT = "sent"
    """The notifier accepted it."""
    FAILED = "failed"
    """The last attempt failed; tried again at ``next_attempt_at``."""
    DEAD = "dead"
    """Failed ``notify_max_attempts`` times (or permanently): left for a person to look at
    (``app.notifications.dead``) and send again (``retry``)."""
    REFUSED = "refused"
    """A send-time check (consent, for instance) refused it; never sent."""


@frozen(kw_only=True)
class OutboxItem:
    """A queued notification and its delivery state.

    ``attempts`` counts claims: a worker that dies mid-send leaves an attempt
    counted. ``leased_by`` / ``leased_until``: the worker that holds it now, and
    until when (an expired lease is reclaimed by any worker).
    """

    notification: Notification
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    leased_by: str | None = None
    leased_until: datetime | None = None

    @property
    def idempotency_key(self) -> str:
        return self.notification.idempotency_key


class Outbox(Protocol):
    """The notifications waiting to be delivered, part of the unit of work."""

    def add(self, notification: Notification) -> bool:
        """Queue ``notification``; False (and nothing queued) if its dedupe key was seen."""
        ...

    def get(self, notification_id: str) -> OutboxItem:
        """The item, or NotFound."""
        ...

    def claim(
        self, *, worker: str, now: datetime, until: datetime, limit: int,
        notification_id: str | None = None,
    ) -> Sequence[OutboxItem]:
        """Lease up to ``limit`` due items to ``worker`` until ``until``, oldest first.

        Due: PENDING or FAILED, ``next_attempt_at`` empty or <= ``now``, and not
        leased or the lease expired (``leased_until`` <= ``now``). Each claimed
        item's ``attempts`` goes up by one. Items another unit of work is claiming
        are skipped, never waited for (``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
        the lease holds once this unit of work commits. With ``notification_id``
        only that item is considered.
        """
        ...

    def mark_sent(self, notification_id: str, at: datetime) -> None:
        """SENT at ``at``; the lease is released."""
        ...

    def mark_failed(
        self, notification_id: str, error: str, *, at: datetime, retry_at: datetime | None
    ) -> None:
        """FAILED, tried again at ``retry_at``; DEAD when ``retry_at`` is None."""
        ...

    def mark_refused(self, notification_id: str, reason: str, at: datetime) -> None:
        """REFUSED (never to be sent), with the reason in ``last_error``."""
        ...

    def requeue(self, notification_id: str, at: datetime) -> OutboxItem:
        """PENDING again with no attempts counted, due at ``at`` (send a dead one again)."""
        ...

    def dead(self, limit: int) -> Sequence[OutboxItem]:
        """Up to ``limit`` DEAD items, oldest first."""
        ...

    def all(self) -> Sequence[OutboxItem]:
        """Every item, oldest first (for inspection and tests)."""
        ...


class Notifier(Protocol):
    """Delivers a notification (e-mail, SMS, chat...).

    ``idempotency_key`` is the same on every attempt of one notification: pass it
    on (a header, a message id) so the far side can drop a repeat. Delivery is
    at least once: after a crash between sending and marking sent, the same
    notification comes again with the same key. Raise to report a failure (it
    is retried with back-off); raise ``custmgmt.errors.DeliveryFailed`` to give
    a reason that is safe to store, with ``permanent=True`` to stop retrying.
    """

    def send(self, notification: Notification, *, idempotency_key: str) -> None: ...
