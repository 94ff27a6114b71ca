"""Memory repositories for what leaves the process: the event log, observer cursors,
and the notification outbox with its leases.

Claims and leases are optimistic: a unit of work remembers the committed item it
leased, and ``commit()`` fails with ConcurrencyError if another unit leased or
changed it meanwhile, so two workers never both hold one item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs
from attrs import frozen

from custmgmt.adapters.memory.packed import pack, unpack
from custmgmt.domain.common import DomainEvent
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.notification import DeliveryStatus, Notification, OutboxItem
from custmgmt.ports.storage import StoredEvent

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork

_DUE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


class MemoryEvents:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: list[DomainEvent] = []

    def append(self, event: DomainEvent) -> None:
        self.staged.append(event)

    def append_many(self, events: Sequence[DomainEvent]) -> None:
        self.staged.extend(events)

    def all(self) -> Sequence[DomainEvent]:
        return [*map(unpack, self._state.events[:]), *self.staged]

    def after(self, position: int, limit: int) -> Sequence[StoredEvent]:
        start = max(position, 0)
        events = self._state.events[start:start + limit]
        return [StoredEvent(start + i + 1, unpack(e)) for i, e in enumerate(events)]

    def last_position(self) -> int:
        return len(self._state.events)

    def check(self) -> None:
        """An append-only log: nothing to check."""

    def apply(self) -> None:
        self._state.events.extend(map(pack, self.staged))


@frozen
class Cursor:
    position: int
    leased_by: str | None = None
    leased_until: datetime | None = None


class MemoryObserverCursors:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: dict[str, Cursor] = {}
        self.seen: dict[str, Cursor | None] = {}

    def _current(self, observer: str) -> Cursor | None:
        if observer in self.staged:
            return self.staged[observer]
        return self._state.cursors.get(observer)

    def _stage(self, observer: str, cursor: Cursor, committed: Cursor | None) -> None:
        self.seen.setdefault(observer, committed)
        self.staged[observer] = cursor

    def start(self, observer: str, position: int) -> None:
        committed = self._state.cursors.get(observer)
        if self.staged.get(observer, committed) is None:
            self._stage(observer, Cursor(position), committed)

    def position(self, observer: str) -> int | None:
        cursor = self._current(observer)
        return None if cursor is None else cursor.position

    def lease(self, observer: str, *, worker: str, now: datetime, until: datetime) -> int | None:
        committed = self._state.cursors.get(observer)  # read once: see claim()
        cursor = self.staged.get(observer, committed)
        if cursor is None or (cursor.leased_until is not None
                              and _utc(cursor.leased_until) > _utc(now)):
            return None
        self._stage(observer, attrs.evolve(cursor, leased_by=worker, leased_until=until),
                    committed)
        return cursor.position

    def settle(self, observer: str, *, worker: str, position: int,
               until: datetime | None) -> None:
        committed = self._state.cursors.get(observer)
        cursor = self.staged.get(observer, committed)
        if cursor is None or cursor.leased_by != worker:
            return
        self._stage(observer, Cursor(position, worker if until else None, until), committed)

    def check(self) -> None:
        for observer, seen in self.seen.items():
            if self._state.cursors.get(observer) is not seen:
                raise ConcurrencyError(f"the cursor of observer {observer!r} moved meanwhile")

    def apply(self) -> None:
        self._state.cursors.update(self.staged)


class MemoryOutbox:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: dict[str, OutboxItem] = {}
        self.claimed: dict[str, OutboxItem | None] = {}
        """The committed item each claim started from: a claim fails if it moved."""
        self._staged_keys: set[str] = set()
        """The dedupe keys of the notifications this unit queued."""

    def add(self, notification: Notification) -> bool:
        key = notification.dedupe_key
        if key is not None and (key in self._state.dedupe_keys or key in self._staged_keys):
            return False
        if notification.id in self._state.outbox or notification.id in self.staged:
            raise ConcurrencyError(f"notification {notification.id!r} already queued")
        self.staged[notification.id] = OutboxItem(notification=notification)
        if key is not None:
            self._staged_keys.add(key)
        return True

    def get(self, notification_id: str) -> OutboxItem:
        item = self.staged.get(notification_id) or self._state.outbox.get(notification_id)
        if item is None:
            raise NotFound("notification", notification_id)
        return item

    def all(self) -> Sequence[OutboxItem]:
        merged = dict(self._state.outbox)
        merged.update(self.staged)
        return sorted(merged.values(), key=lambda i: (_utc(i.notification.created_at),
                                                      i.notification.id))

    def claim(
        self, *, worker: str, now: datetime, until: datetime, limit: int,
        notification_id: str | None = None,
    ) -> Sequence[OutboxItem]:
        moment = _utc(now)

        def due(item: OutboxItem) -> bool:
            return (item.status in _DUE
                    and (item.next_attempt_at is None or _utc(item.next_attempt_at) <= moment)
                    and (item.leased_until is None or _utc(item.leased_until) <= moment))

        candidates = ([self.get(notification_id)] if notification_id is not None
                      else self.all())
        claimed: list[OutboxItem] = []
        for candidate in candidates:
            if len(claimed) >= limit:
                break
            nid = candidate.notification.id
            # Read the committed item once: the claim is checked at commit against
            # exactly the version it was decided on.
            committed = self._state.outbox.get(nid)
            item = self.staged.get(nid, committed)
            if item is None or not due(item):
                continue
            self.claimed.setdefault(nid, committed)
            leased = attrs.evolve(item, attempts=item.attempts + 1, leased_by=worker,
                                  leased_until=until)
            self.staged[nid] = leased
            claimed.append(leased)
        return claimed

    def _settle(self, notification_id: str, **changes: Any) -> OutboxItem:
        item = attrs.evolve(self.get(notification_id), leased_by=None, leased_until=None,
                            **changes)
        self.staged[notification_id] = item
        return item

    def mark_sent(self, notification_id: str, at: datetime) -> None:
        self._settle(notification_id, status=DeliveryStatus.SENT, sent_at=at,
                     next_attempt_at=None)

    def mark_failed(
        self, notification_id: str, error: str, *, at: datetime, retry_at: datetime | None
    ) -> None:
        status = DeliveryStatus.DEAD if retry_at is None else DeliveryStatus.FAILED
        self._settle(notification_id, status=status, last_error=error[:500],
                     next_attempt_at=retry_at)

    def mark_refused(self, notification_id: str, reason: str, at: datetime) -> None:
        self._settle(notification_id, status=DeliveryStatus.REFUSED, last_error=reason[:500],
                     next_attempt_at=None)

    def requeue(self, notification_id: str, at: datetime) -> OutboxItem:
        return self._settle(notification_id, status=DeliveryStatus.PENDING, attempts=0,
                            next_attempt_at=at)

    def dead(self, limit: int) -> Sequence[OutboxItem]:
        return [i for i in self.all() if i.status is DeliveryStatus.DEAD][:limit]

    def check(self) -> None:
        for item in self.staged.values():
            key = item.notification.dedupe_key
            is_new = item.notification.id not in self._state.outbox
            if is_new and key is not None and key in self._state.dedupe_keys:
                raise ConcurrencyError(f"notification {key!r} was queued meanwhile")
        for nid, seen in self.claimed.items():
            if self._state.outbox.get(nid) is not seen:
                raise ConcurrencyError(f"notification {nid!r} was claimed meanwhile")

    def apply(self) -> None:
        for nid, item in self.staged.items():
            self._state.outbox[nid] = item
            if item.notification.dedupe_key is not None:
                self._state.dedupe_keys.add(item.notification.dedupe_key)
