"""Notifications leave through an outbox, written in the same transaction as the change."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from attrs import field, frozen

from custmgmt.domain.validation import aware, optional, text


@frozen(kw_only=True)
class Notification:
    """A message to one principal. Its body never carries personal data in clear.

    ``dedupe_key`` makes the outbox keep only the first notification with that key,
    so a reminder for one due date is never queued twice.
    """

    id: str = field(validator=text(100))
    recipient_id: str = field(validator=text(200))
    kind: str = field(validator=text(100))
    subject: str = field(validator=text(300))
    body: str = ""
    created_at: datetime = field(validator=aware)
    dedupe_key: str | None = field(default=None, validator=optional(text(300)))


class DeliveryStatus(enum.Enum):
    """Where an outbox notification stands: pending, sent, or failed for now."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@frozen(kw_only=True)
class OutboxItem:
    """A queued notification with its delivery status, attempts and last error."""

    notification: Notification
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None


class Outbox(Protocol):
    """The notifications waiting to be delivered, part of the unit of work."""

    def add(self, notification: Notification) -> bool:
        """Queue ``notification``; False (and nothing queued) if its dedupe key was seen."""
        ...

    def pending(self, limit: int, max_attempts: int) -> Sequence[OutboxItem]:
        """Undelivered items, oldest first, that have been tried fewer than max_attempts."""
        ...

    def mark_sent(self, notification_id: str, at: datetime) -> None: ...

    def mark_failed(self, notification_id: str, error: str, at: datetime) -> None: ...

    def all(self) -> Sequence[OutboxItem]:
        """Every item, oldest first (for inspection and tests)."""
        ...


class Notifier(Protocol):
    """Delivers a notification (e-mail, SMS, chat...). May raise; delivery is retried."""

    def send(self, notification: Notification) -> None: ...
