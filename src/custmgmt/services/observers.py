"""Feeding event observers from the stored event log, each with its own cursor.

Every observer (a plugin's ``custmgmt_on_event``) has a cursor in storage: the
position of the last event it has seen. After a change commits, and on every
round of ``custmgmt notify run``, the feed leases each observer's cursor, hands
it the events past it in order and moves the cursor on. An observer that was
down (its process stopped, or it raised) catches up from its cursor instead of
missing events; one that raises is retried from the failing event after a
back-off. Delivery is at least once and in order; the lease keeps two
processes from feeding one observer at the same time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from custmgmt.domain.common import DomainEvent
from custmgmt.errors import ConcurrencyError
from custmgmt.services.context import Context

log = logging.getLogger("custmgmt.observers")

Observer = Callable[[DomainEvent], None]
BATCH = 200


class ObserverFeed:
    """The observers of one app, by the stable name their cursor is stored under."""

    def __init__(self, ctx: Context, observers: Mapping[str, Observer], *, worker: str) -> None:
        self._ctx = ctx
        self._observers = dict(observers)
        self._worker = worker

    @property
    def names(self) -> tuple[str, ...]:
        """The observers' names, as their cursors are stored."""
        return tuple(self._observers)

    def start(self) -> None:
        """Give each observer seen for the first time a cursor at the end of the log: it
        observes what happens from now on (history before it was installed is not
        replayed)."""
        if not self._observers:
            return
        with self._ctx.storage.unit_of_work() as uow:
            last = uow.events.last_position()
            for name in self._observers:
                uow.observer_cursors.start(name, last)
            uow.commit()

    def feed(self) -> int:
        """Hand every observer the events past its cursor; return how many were handed."""
        return sum(self._feed(name, observer) for name, observer in self._observers.items())

    def _feed(self, name: str, observer: Observer) -> int:
        storage = self._ctx.storage
        now = self._ctx.now()
        lease = now + timedelta(seconds=self._ctx.settings.notify_lease_seconds)
        try:
            with storage.unit_of_work() as uow:
                position = uow.observer_cursors.lease(name, worker=self._worker, now=now,
                                                      until=lease)
                uow.commit()
        except ConcurrencyError:
            return 0  # another thread leased it first; it feeds this observer now
        if position is None:
            return 0
        handed = 0
        hold_until = None
        try:
            while hold_until is None:
                with storage.unit_of_work(read_only=True) as uow:
                    batch = uow.events.after(position, BATCH)
                if not batch:
                    break
                for stored in batch:
                    try:
                        observer(stored.event)
                    except Exception:
                        pause = self._ctx.settings.notify_backoff_seconds
                        log.exception("observer %s failed on event %d (%s); retried from there "
                                      "in %ss", name, stored.position, stored.event.name, pause)
                        hold_until = self._ctx.now() + timedelta(seconds=pause)
                        break
                    position = stored.position
                    handed += 1
        finally:
            with storage.unit_of_work() as uow:
                uow.observer_cursors.settle(name, worker=self._worker, position=position,
                                            until=hold_until)
                uow.commit()
        return handed
