"""SQL repositories for what leaves the process: the event log, observer cursors and
the notification outbox with its leases.

Claims lock the rows they take with ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so concurrent workers take disjoint batches without waiting for each
other; SQLite has one writer at a time (every unit of work begins IMMEDIATE), so
its claims are serial anyway and the clause is left out.

Event positions follow commit order: on PostgreSQL the events of a unit of work
are inserted at commit, under a transaction-scoped advisory lock, so a position
is never assigned to a transaction that then commits after a higher one (a reader
following the log with a cursor would skip it). SQLite commits one writer at a
time, which gives the same order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import cattrs
from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.driver import dialect_name, driver_insert, driver_rows, insert_rows
from custmgmt.adapters.sql.tables import EventRow, ObserverCursorRow, OutboxRow, table_of
from custmgmt.adapters.sql.translate import outbox_values, to_outbox_item
from custmgmt.domain.common import DomainEvent
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.notification import DeliveryStatus, Notification, OutboxItem
from custmgmt.ports.storage import StoredEvent
from custmgmt.serialization import event_from_dict, event_to_dict

INSERT_EVENT = insert(table_of(EventRow))
EVENTS = table_of(EventRow)
ORDER_EVENTS = text("SELECT pg_advisory_xact_lock(:key)")
INSERT_OUTBOX = insert(table_of(OutboxRow))
EVENT_ORDER_LOCK = 0x637573746D676D74
"""The advisory lock key ("custmgmt" in ASCII) that orders event inserts on PostgreSQL."""
_DUE = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)


class SqlEvents:
    """Events are buffered and written by ``flush()``, which the unit of work calls
    just before it commits."""

    def __init__(self, session: Session, converter: cattrs.Converter) -> None:
        self._s = session
        self._c = converter
        self._buffer: list[DomainEvent] = []

    def _values(self, event: DomainEvent) -> dict[str, object]:
        return {"type": event.name, "occurred_at": event.occurred_at,
                "payload": json.dumps(event_to_dict(self._c, event), sort_keys=True)}

    def append(self, event: DomainEvent) -> None:
        self._buffer.append(event)

    def append_many(self, events: Sequence[DomainEvent]) -> None:
        self._buffer.extend(events)

    def flush(self) -> None:
        if not self._buffer:
            return
        if dialect_name(self._s) == "postgresql":
            driver_rows(self._s, ORDER_EVENTS, {"key": EVENT_ORDER_LOCK})
        values = [self._values(e) for e in self._buffer]
        if len(values) == 1:  # a single call's event: one compiled INSERT
            insert_rows(self._s, EVENTS, values)
        else:  # an import batch's: executemany on SQLite, COPY on PostgreSQL
            driver_insert(self._s, EVENTS, values)
        self._buffer.clear()

    def discard(self) -> None:
        self._buffer.clear()

    def _event(self, payload: str) -> DomainEvent:
        return event_from_dict(self._c, json.loads(payload))

    def all(self) -> Sequence[DomainEvent]:
        payloads = self._s.scalars(select(EventRow.payload).order_by(EventRow.position)).all()
        return [*(self._event(p) for p in payloads), *self._buffer]

    def after(self, position: int, limit: int) -> Sequence[StoredEvent]:
        rows = self._s.execute(
            select(EventRow.position, EventRow.payload).where(EventRow.position > position)
            .order_by(EventRow.position).limit(limit)
        ).all()
        return [StoredEvent(p, self._event(payload)) for p, payload in rows]

    def last_position(self) -> int:
        return int(self._s.scalar(select(func.coalesce(func.max(EventRow.position), 0))) or 0)


class SqlObserverCursors:
    def __init__(self, session: Session) -> None:
        self._s = session

    def position(self, observer: str) -> int | None:
        return self._s.scalar(select(ObserverCursorRow.position)
                              .where(ObserverCursorRow.observer == observer))

    def start(self, observer: str, position: int) -> None:
        if self.position(observer) is not None:
            return
        try:
            with self._s.begin_nested():
                self._s.execute(insert(ObserverCursorRow).values(
                    observer=observer, position=position, leased_by=None, leased_until=None))
        except IntegrityError:
            pass  # another process created it meanwhile: theirs stands

    def lease(self, observer: str, *, worker: str, now: datetime, until: datetime) -> int | None:
        row = ObserverCursorRow
        position = self._s.scalar(
            select(row.position)
            .where(row.observer == observer,
                   or_(row.leased_until.is_(None), row.leased_until <= now))
            .with_for_update(skip_locked=True)
        )
        if position is None:
            return None
        self._s.execute(update(row).where(row.observer == observer)
                        .values(leased_by=worker, leased_until=until)
                        .execution_options(synchronize_session=False))
        return position

    def settle(self, observer: str, *, worker: str, position: int,
               until: datetime | None) -> None:
        row = ObserverCursorRow
        self._s.execute(
            update(row).where(row.observer == observer, row.leased_by == worker)
            .values(position=position, leased_by=worker if until else None, leased_until=until)
            .execution_options(synchronize_session=False)
        )


class SqlOutbox:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _seen(self, key: str | None) -> bool:
        return key is not None and bool(self._s.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.dedupe_key == key)))

    def add(self, notification: Notification) -> bool:
        if self._seen(notification.dedupe_key):
            return False
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_OUTBOX, [outbox_values(notification)])
        except IntegrityError:
            if self._seen(notification.dedupe_key):  # queued by someone else meanwhile
                return False
            raise ConcurrencyError(f"notification {notification.id!r} already queued") from None
        return True

    def _rows(self, *conditions: object, limit: int | None = None) -> list[OutboxItem]:
        statement = (select(OutboxRow).where(*conditions)  # type: ignore[arg-type]
                     .order_by(OutboxRow.created_at, OutboxRow.id)
                     .execution_options(populate_existing=True))
        if limit is not None:
            statement = statement.limit(limit)
        return [to_outbox_item(r) for r in self._s.scalars(statement).all()]

    def get(self, notification_id: str) -> OutboxItem:
        found = self._rows(OutboxRow.id == notification_id)
        if not found:
            raise NotFound("notification", notification_id)
        return found[0]

    def all(self) -> Sequence[OutboxItem]:
        return self._rows()

    def dead(self, limit: int) -> Sequence[OutboxItem]:
        return self._rows(OutboxRow.status == DeliveryStatus.DEAD.value, limit=limit)

    def claim(
        self, *, worker: str, now: datetime, until: datetime, limit: int,
        notification_id: str | None = None,
    ) -> Sequence[OutboxItem]:
        due = and_(
            OutboxRow.status.in_(_DUE),
            or_(OutboxRow.next_attempt_at.is_(None), OutboxRow.next_attempt_at <= now),
            or_(OutboxRow.leased_until.is_(None), OutboxRow.leased_until <= now),
        )
        if notification_id is not None:
            due = and_(due, OutboxRow.id == notification_id)
        ids = self._s.scalars(
            select(OutboxRow.id).where(due).order_by(OutboxRow.created_at, OutboxRow.id)
            .limit(limit).with_for_update(skip_locked=True)
        ).all()
        if not ids:
            return []
        self._s.execute(
            update(OutboxRow).where(OutboxRow.id.in_(ids))
            .values(attempts=OutboxRow.attempts + 1, leased_by=worker, leased_until=until)
            .execution_options(synchronize_session=False)
        )
        return self._rows(OutboxRow.id.in_(ids))

    def _settle(self, notification_id: str, **values: object) -> None:
        result = self._s.execute(
            update(OutboxRow).where(OutboxRow.id == notification_id)
            .values(leased_by=None, leased_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound("notification", notification_id)

    def mark_sent(self, notification_id: str, at: datetime) -> None:
        self._settle(notification_id, status=DeliveryStatus.SENT.value, sent_at=at,
                     next_attempt_at=None)

    def mark_failed(
        self, notification_id: str, error: str, *, at: datetime, retry_at: datetime | None
    ) -> None:
        status = DeliveryStatus.DEAD if retry_at is None else DeliveryStatus.FAILED
        self._settle(notification_id, status=status.value, last_error=error[:500],
                     next_attempt_at=retry_at)

    def mark_refused(self, notification_id: str, reason: str, at: datetime) -> None:
        self._settle(notification_id, status=DeliveryStatus.REFUSED.value,
                     last_error=reason[:500], next_attempt_at=None)

    def requeue(self, notification_id: str, at: datetime) -> OutboxItem:
        self._settle(notification_id, status=DeliveryStatus.PENDING.value, attempts=0,
                     next_attempt_at=at)
        return self.get(notification_id)
