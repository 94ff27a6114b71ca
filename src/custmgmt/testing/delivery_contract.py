"""The storage contract for delivery: the outbox with leases, the event log's positions,
and observer cursors. Part of ``StorageContract``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.common import ProspectId
from custmgmt.domain.prospects import Grade, GradeChanged
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.notification import DeliveryStatus, OutboxItem
from custmgmt.ports.storage import Storage
from custmgmt.testing.builders import T0, sample_notification

LEASE = timedelta(minutes=5)


def _ids(items: Sequence[OutboxItem]) -> list[str]:
    return [i.notification.id for i in items]


def _event(n: int) -> GradeChanged:
    return GradeChanged(actor_id="u-a", occurred_at=T0 + timedelta(seconds=n),
                        prospect_id=ProspectId(f"p-{n}"), before=Grade.C, after=Grade.B,
                        reason="r", manual=False)


class DeliveryStorageContract:
    """Outbox leases, dead letters, event positions and observer cursors."""

    covers: ClassVar[tuple[str, ...]] = ("observer_cursors",)

    def _queue(self, storage: Storage, *numbers: int) -> None:
        with storage.unit_of_work() as uow:
            for n in numbers:
                uow.outbox.add(sample_notification(n))
            uow.commit()

    def _claim(self, storage: Storage, worker: str, *, at: timedelta = timedelta(0),
               limit: int = 10, notification_id: str | None = None) -> list[OutboxItem]:
        now = T0 + at
        with storage.unit_of_work() as uow:
            items = list(uow.outbox.claim(worker=worker, now=now, until=now + LEASE,
                                          limit=limit, notification_id=notification_id))
            uow.commit()
        return items

    def test_outbox_dedupes_and_tracks_delivery(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.outbox.add(sample_notification(1, dedupe_key="due:p-1:2026-01-05"))
            assert not uow.outbox.add(sample_notification(2, dedupe_key="due:p-1:2026-01-05"))
            assert uow.outbox.add(sample_notification(3))
            with pytest.raises(ConcurrencyError):
                uow.outbox.add(sample_notification(3))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert not uow.outbox.add(sample_notification(4, dedupe_key="due:p-1:2026-01-05"))
        claimed = self._claim(storage, "w-1")
        assert _ids(claimed) == ["n-000001", "n-000003"]
        assert all(i.attempts == 1 and i.leased_by == "w-1" and i.leased_until == T0 + LEASE
                   for i in claimed)
        with storage.unit_of_work() as uow:
            uow.outbox.mark_sent("n-000001", T0)
            uow.outbox.mark_failed("n-000003", "ConnectionError", at=T0,
                                   retry_at=T0 + timedelta(seconds=60))
            uow.commit()
        with storage.unit_of_work() as uow:
            items = {i.notification.id: i for i in uow.outbox.all()}
        sent, failed = items["n-000001"], items["n-000003"]
        assert sent.status is DeliveryStatus.SENT and sent.sent_at == T0
        assert sent.leased_by is None and sent.leased_until is None
        assert failed.status is DeliveryStatus.FAILED and failed.attempts == 1
        assert failed.last_error == "ConnectionError"
        assert failed.next_attempt_at == T0 + timedelta(seconds=60)
        assert sent.notification == sample_notification(1, dedupe_key="due:p-1:2026-01-05")
        assert self._claim(storage, "w-1", at=timedelta(seconds=59)) == []
        again = self._claim(storage, "w-1", at=timedelta(seconds=60))
        assert _ids(again) == ["n-000003"] and again[0].attempts == 2

    def test_purpose_and_channel_are_kept(self, storage: Storage) -> None:
        note = attrs.evolve(sample_notification(1), purpose="marketing", channel="sms")
        with storage.unit_of_work() as uow:
            uow.outbox.add(note)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.outbox.get("n-000001").notification == note
            with pytest.raises(NotFound):
                uow.outbox.get("n-404")

    def test_claims_take_the_oldest_due_items_up_to_the_limit(self, storage: Storage) -> None:
        self._queue(storage, 3, 1, 2, 4)
        assert _ids(self._claim(storage, "w-1", limit=3)) == ["n-000001", "n-000002",
                                                              "n-000003"]
        assert _ids(self._claim(storage, "w-2", limit=3)) == ["n-000004"]
        assert self._claim(storage, "w-3") == []

    def test_a_leased_item_is_reclaimed_only_after_its_lease_expires(
        self, storage: Storage
    ) -> None:
        self._queue(storage, 1)
        assert _ids(self._claim(storage, "w-1")) == ["n-000001"]
        assert self._claim(storage, "w-2", at=LEASE - timedelta(seconds=1)) == []
        (taken,) = self._claim(storage, "w-2", at=LEASE)
        assert taken.leased_by == "w-2" and taken.attempts == 2
        assert taken.leased_until == T0 + LEASE + LEASE

    def test_an_uncommitted_claim_holds_nothing(self, storage: Storage) -> None:
        self._queue(storage, 1)
        with storage.unit_of_work() as uow:
            uow.outbox.claim(worker="w-1", now=T0, until=T0 + LEASE, limit=10)
        (item,) = self._claim(storage, "w-2")
        assert item.leased_by == "w-2" and item.attempts == 1

    def test_a_claim_may_name_one_item(self, storage: Storage) -> None:
        self._queue(storage, 1, 2)
        assert _ids(self._claim(storage, "w-1", notification_id="n-000002")) == ["n-000002"]
        assert self._claim(storage, "w-1", notification_id="n-000002") == []

    def test_dead_letters_are_listed_and_can_be_requeued(self, storage: Storage) -> None:
        self._queue(storage, 1, 2, 3)
        self._claim(storage, "w-1")
        with storage.unit_of_work() as uow:
            uow.outbox.mark_failed("n-000002", "Timeout", at=T0, retry_at=None)
            uow.outbox.mark_refused("n-000003", "no consent", T0)
            uow.commit()
        with storage.unit_of_work() as uow:
            (dead,) = uow.outbox.dead(10)
            assert dead.notification.id == "n-000002" and dead.status is DeliveryStatus.DEAD
            assert dead.last_error == "Timeout" and dead.next_attempt_at is None
            refused = uow.outbox.get("n-000003")
            assert refused.status is DeliveryStatus.REFUSED
            assert refused.last_error == "no consent"
        # n-1 is still leased to w-1, n-2 is dead, n-3 refused: nothing is due.
        assert self._claim(storage, "w-2", at=LEASE - timedelta(seconds=1)) == []
        with storage.unit_of_work() as uow:
            requeued = uow.outbox.requeue("n-000002", T0 + LEASE)
            uow.commit()
        assert requeued.status is DeliveryStatus.PENDING and requeued.attempts == 0
        with storage.unit_of_work() as uow:
            assert list(uow.outbox.dead(10)) == []
        assert _ids(self._claim(storage, "w-2", at=LEASE)) == ["n-000001", "n-000002"]

    def test_concurrent_workers_claim_disjoint_batches(self, storage: Storage) -> None:
        self._queue(storage, *range(1, 41))
        taken: dict[str, list[str]] = {}
        errors: list[BaseException] = []

        def work(worker: str) -> None:
            mine: list[str] = []
            try:
                for _ in range(500):
                    try:
                        batch = self._claim(storage, worker, limit=3)
                    except ConcurrencyError:
                        continue  # another worker's claim won the race: look again
                    if not batch:
                        break
                    mine += _ids(batch)
            except BaseException as error:
                errors.append(error)
            taken[worker] = mine

        threads = [threading.Thread(target=work, args=(f"w-{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        everything = [nid for ids in taken.values() for nid in ids]
        assert sorted(everything) == [f"n-{n:06d}" for n in range(1, 41)]  # none twice

    # -- the event log and observer cursors -------------------------------------------

    def test_event_positions_follow_commit_order(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.events.last_position() == 0
            uow.events.append_many([_event(1), _event(2), _event(3)])
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.events.append(_event(4))
            with storage.unit_of_work() as other:
                assert other.events.last_position() == 3  # uncommitted: not there yet
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.events.last_position() == 4
            stored = uow.events.after(1, 2)
            assert [(s.position, s.event) for s in stored] == [(2, _event(2)), (3, _event(3))]
            assert [s.position for s in uow.events.after(3, 100)] == [4]
            assert list(uow.events.after(4, 100)) == []

    def test_an_observer_cursor_is_leased_to_one_worker_at_a_time(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            assert uow.observer_cursors.position("obs") is None
            assert uow.observer_cursors.lease("obs", worker="w-1", now=T0,
                                              until=T0 + LEASE) is None
            uow.observer_cursors.start("obs", 7)
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.observer_cursors.start("obs", 99)  # already there: stays at 7
            assert uow.observer_cursors.lease("obs", worker="w-1", now=T0,
                                              until=T0 + LEASE) == 7
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.observer_cursors.lease("obs", worker="w-2", now=T0,
                                              until=T0 + LEASE) is None
            uow.observer_cursors.settle("obs", worker="w-2", position=50, until=None)
            uow.observer_cursors.settle("obs", worker="w-1", position=9,
                                        until=T0 + timedelta(minutes=10))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.observer_cursors.position("obs") == 9
            assert uow.observer_cursors.lease("obs", worker="w-2", now=T0 + LEASE,
                                              until=T0 + LEASE * 2) is None  # backing off
            assert uow.observer_cursors.lease("obs", worker="w-2",
                                              now=T0 + timedelta(minutes=10),
                                              until=T0 + LEASE * 3) == 9
            uow.observer_cursors.settle("obs", worker="w-2", position=12, until=None)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.observer_cursors.position("obs") == 12
            assert uow.observer_cursors.lease("obs", worker="w-3", now=T0,
                                              until=T0 + LEASE) == 12
