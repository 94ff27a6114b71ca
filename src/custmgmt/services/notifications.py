"""Delivering the outbox: leases, retries with back-off, idempotency keys, dead letters.

Services never call a notifier: they queue notifications in the outbox with the
change. ``dispatch`` claims a batch of due items with a lease (several workers,
in several processes, take disjoint batches), checks each at send time, hands
it to the notifier with its idempotency key and records the outcome. Delivery
is at least once: a worker that dies between sending and recording leaves its
lease to expire, and the next worker sends the item again with the same key.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from attrs import frozen

from custmgmt.domain.validation import require_id, type_name
from custmgmt.errors import (
    ConcurrencyError,
    CustmgmtError,
    DeliveryFailed,
    InvalidTransition,
    ValidationError,
)
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.notification import DeliveryStatus, Notification, Notifier, OutboxItem
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import page_limit

log = logging.getLogger("custmgmt.dispatch")

CLAIM_TRIES = 3


@frozen
class DispatchReport:
    """What one ``dispatch()`` run did with the items it claimed."""

    sent: int = 0
    failed: int = 0
    """Failed this time; tried again after a back-off."""
    dead: int = 0
    """Failed for the last time (or permanently): now dead letters."""
    refused: int = 0
    """Refused by a send-time check; never sent."""

    @property
    def claimed(self) -> int:
        """How many items this run claimed (0: nothing was due)."""
        return self.sent + self.failed + self.dead + self.refused


@runtime_checkable
class SendCheck(Protocol):
    """A rule asked right before a notification is sent (consent, opt-outs...).

    Return a reason to refuse it (stored, so no personal data), or None to let it
    go. It runs in a read-only unit of work, so it may look records up.
    """

    def __call__(self, uow: UnitOfWork, notification: Notification) -> str | None: ...


@runtime_checkable
class SentHook(Protocol):
    """Told that a notification was sent, in the unit of work that marks it sent (the
    marketing area records its touches here). A hook that raises is logged and
    skipped: the notification stays sent."""

    def __call__(self, uow: UnitOfWork, notification: Notification, at: datetime) -> None: ...


def backoff(settings_base: int, settings_cap: int, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base... capped."""
    exponent = min(max(attempts - 1, 0), 32)
    return timedelta(seconds=min(settings_base * 2 ** exponent, settings_cap))


@guarded
class NotificationService(Described):
    """``app.notifications``: deliver the outbox, list dead letters, send one again."""

    def __init__(self, ctx: Context, notifier: Notifier, *, worker: str,
                 checks: Sequence[SendCheck] = (), sent_hooks: Sequence[SentHook] = ()) -> None:
        self._ctx = ctx
        self._notifier = notifier
        self._worker = worker
        self._checks: list[SendCheck] = list(checks)
        self._sent_hooks: tuple[SentHook, ...] = tuple(sent_hooks)

    @property
    def worker(self) -> str:
        """This process's name on the leases it takes (host, process id, a random part)."""
        return self._worker

    def add_send_check(self, check: SendCheck) -> None:
        """Ask ``check`` before every send from now on (the consent area plugs in here)."""
        if not callable(check):
            raise ValidationError("check", "must be callable as check(uow, notification) "
                                  "-> reason or None")
        self._checks.append(check)

    def dispatch(self, actor: Principal, *, limit: int = 100) -> DispatchReport:
        """Claim up to ``limit`` due notifications and deliver each at least once.

        An item is due when it is pending, or failed and its back-off has passed,
        and no other worker holds an unexpired lease on it. A failed send is
        retried after ``notify_backoff_seconds`` x 2^(attempts-1) (at most
        ``notify_backoff_max_seconds``); after ``notify_max_attempts`` it is a
        dead letter. Needs the ``notification.dispatch`` right, decided from the
        actor's stored grants.
        """
        batch = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.NOTIFICATION_DISPATCH)
        return self._deliver_all(self._claim(batch))

    def dead(self, actor: Principal, *, limit: int = 100) -> tuple[OutboxItem, ...]:
        """Dead letters, oldest first: notifications that will not be tried again by
        themselves (``last_error`` says why). Needs ``notification.read``."""
        batch = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.NOTIFICATION_READ)
            return tuple(uow.outbox.dead(batch))

    def retry(self, actor: Principal, notification_id: str) -> OutboxItem:
        """Send a dead letter again now, with its attempts counted from zero, and return
        it as it ended up (SENT, or FAILED and due again after a back-off). Needs
        ``notification.dispatch``."""
        nid = require_id("notification_id", notification_id)
        with self._ctx.storage.unit_of_work() as uow:
            self._ctx.authorize(uow, actor, Action.NOTIFICATION_DISPATCH)
            item = uow.outbox.get(nid)
            if item.status is not DeliveryStatus.DEAD:
                raise InvalidTransition(item.status.value, DeliveryStatus.PENDING.value,
                                        "only a dead letter is sent again by hand")
            uow.outbox.requeue(nid, self._ctx.now())
            uow.commit()
        self._deliver_all(self._claim(1, nid))
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            return uow.outbox.get(nid)

    def get(self, actor: Principal, notification_id: str) -> OutboxItem:
        """One queued notification and its delivery state (needs ``notification.read``)."""
        nid = require_id("notification_id", notification_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.NOTIFICATION_READ)
            return uow.outbox.get(nid)

    # -- the delivery loop ------------------------------------------------------------

    def _claim(self, limit: int, notification_id: str | None = None) -> Sequence[OutboxItem]:
        lease = timedelta(seconds=self._ctx.settings.notify_lease_seconds)
        for _ in range(CLAIM_TRIES):
            now = self._ctx.now()
            try:
                with self._ctx.storage.unit_of_work() as uow:
                    items = uow.outbox.claim(worker=self._worker, now=now, until=now + lease,
                                             limit=limit, notification_id=notification_id)
                    uow.commit()
                return items
            except ConcurrencyError:
                continue  # another worker claimed some of these first: look again
        return ()

    def _deliver_all(self, items: Sequence[OutboxItem]) -> DispatchReport:
        counts = dict.fromkeys(DeliveryStatus, 0)
        for item in items:
            counts[self._deliver(item)] += 1
        return DispatchReport(sent=counts[DeliveryStatus.SENT],
                              failed=counts[DeliveryStatus.FAILED],
                              dead=counts[DeliveryStatus.DEAD],
                              refused=counts[DeliveryStatus.REFUSED])

    def _refusal(self, notification: Notification) -> str | None:
        if not self._checks:
            return None
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            for check in self._checks:
                reason = check(uow, notification)
                if reason:
                    return reason if isinstance(reason, str) else type(reason).__name__
        return None

    def _deliver(self, item: OutboxItem) -> DeliveryStatus:
        settings = self._ctx.settings
        note = item.notification
        if item.attempts > settings.notify_max_attempts:
            # Claimed again and again without an outcome: its worker keeps dying on it.
            return self._failed(item, f"no outcome after {item.attempts - 1} attempts "
                                "(the worker stopped mid-send?)", permanent=True)
        try:
            reason = self._refusal(note)
        except CustmgmtError:
            raise
        except Exception as error:  # a broken check: not sent now, tried again later
            log.warning("send-time check on %s failed: %s", note.id, type_name(error))
            return self._failed(item, f"send-time check failed: {type_name(error)}",
                                permanent=False)
        if reason is not None:
            with self._ctx.storage.unit_of_work() as uow:
                uow.outbox.mark_refused(note.id, reason, self._ctx.now())
                uow.commit()
            return DeliveryStatus.REFUSED
        try:
            self._notifier.send(note, idempotency_key=item.idempotency_key)
        except DeliveryFailed as error:
            return self._failed(item, f"DeliveryFailed: {error.reason}",
                                permanent=error.permanent)
        except Exception as error:  # any notifier failure: record it, try later
            # The type only: a message may quote an address or a server's reply.
            log.warning("delivery of %s failed: %s", note.id, type_name(error))
            return self._failed(item, type_name(error), permanent=False)
        with self._ctx.storage.unit_of_work() as uow:
            at = self._ctx.now()
            uow.outbox.mark_sent(note.id, at)
            for hook in self._sent_hooks:
                try:
                    hook(uow, note, at)
                except Exception as error:  # the message went out: keep it marked sent
                    log.warning("after-send hook on %s failed: %s", note.id,
                                type_name(error))
            uow.commit()
        return DeliveryStatus.SENT

    def _failed(self, item: OutboxItem, error: str, *, permanent: bool) -> DeliveryStatus:
        settings = self._ctx.settings
        now = self._ctx.now()
        retry_at: datetime | None = None
        if not permanent and item.attempts < settings.notify_max_attempts:
            retry_at = now + backoff(settings.notify_backoff_seconds,
                                     settings.notify_backoff_max_seconds, item.attempts)
        with self._ctx.storage.unit_of_work() as uow:
            uow.outbox.mark_failed(item.notification.id, error, at=now, retry_at=retry_at)
            uow.commit()
        return DeliveryStatus.FAILED if retry_at is not None else DeliveryStatus.DEAD
