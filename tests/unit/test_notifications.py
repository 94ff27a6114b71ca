"""app.notifications: at-least-once delivery with leases, back-off, keys and dead letters."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import timedelta

import attrs
import pytest

import custmgmt
from custmgmt import DeliveryStatus, DispatchReport
from custmgmt.adapters.memory.notifier import RecordingNotifier
from custmgmt.adapters.notify.logging import LoggingNotifier
from custmgmt.errors import DeliveryFailed, InvalidTransition, NotFound, PermissionDenied
from custmgmt.plugins import hookimpl
from custmgmt.ports.hookspecs import NotifierBackend
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.notifications import backoff
from custmgmt.testing import sample_notification
from tests.helpers import each_in_thread

App = custmgmt.CustomerManagement


def queue(app: App, *numbers: int, **changes: str) -> None:
    with app._storage.unit_of_work() as uow:
        for n in numbers:
            uow.outbox.add(attrs.evolve(sample_notification(n), **changes))
        uow.commit()


def recorder(app: App) -> RecordingNotifier:
    assert isinstance(app.notifier, RecordingNotifier)
    return app.notifier


@pytest.fixture
def ops(app: App) -> custmgmt.Principal:
    return app.principal("u-ops", roles={"admin"})


def status(app: App, nid: str, ops: custmgmt.Principal) -> DeliveryStatus:
    return app.notifications.get(ops, nid).status


def test_due_notifications_are_delivered_once_with_their_keys_and_marked_sent(
    app: App, ops: custmgmt.Principal
) -> None:
    queue(app, 1, 2)
    assert app.notifications.dispatch(ops) == DispatchReport(sent=2)
    assert app.notifications.dispatch(ops) == DispatchReport()
    notifier = recorder(app)
    assert [n.id for n in notifier.sent] == ["n-000001", "n-000002"]
    assert notifier.keys == ["n-000001", "n-000002"] and notifier.repeats == 0
    item = app.notifications.get(ops, "n-000001")
    assert item.status is DeliveryStatus.SENT and item.attempts == 1
    assert item.leased_by is None


def test_the_batch_limit_is_respected(app: App, ops: custmgmt.Principal) -> None:
    queue(app, 1, 2, 3)
    assert app.notifications.dispatch(ops, limit=2).sent == 2
    assert app.notifications.dispatch(ops, limit=2).sent == 1


def test_failures_back_off_exponentially_then_become_dead_letters(
    clock: custmgmt.FixedClock, storage_url: str,
) -> None:
    settings = custmgmt.Settings(notifier="memory", notify_max_attempts=3,
                                 notify_backoff_seconds=30)
    with custmgmt.open(storage_url, settings=settings, clock=clock, migrate=True) as app:
        ops = app.principal("u-ops", roles={"admin"})
        queue(app, 1)
        recorder(app).fail_next = 10
        assert app.notifications.dispatch(ops) == DispatchReport(failed=1)
        item = app.notifications.get(ops, "n-000001")
        assert item.status is DeliveryStatus.FAILED and item.last_error == "ConnectionError"
        assert item.next_attempt_at == clock.now() + timedelta(seconds=30)
        assert app.notifications.dispatch(ops) == DispatchReport()      # backing off
        clock.advance(seconds=29)
        assert app.notifications.dispatch(ops) == DispatchReport()
        clock.advance(seconds=1)
        assert app.notifications.dispatch(ops) == DispatchReport(failed=1)
        assert app.notifications.get(ops, "n-000001").next_attempt_at == (
            clock.now() + timedelta(seconds=60))                      # doubled
        clock.advance(seconds=60)
        assert app.notifications.dispatch(ops) == DispatchReport(dead=1)
        clock.advance(days=1)
        assert app.notifications.dispatch(ops) == DispatchReport()      # dead: left alone
        (dead,) = app.notifications.dead(ops)
        assert dead.notification.id == "n-000001" and dead.attempts == 3
        assert dead.status is DeliveryStatus.DEAD and dead.last_error == "ConnectionError"
        recorder(app).fail_next = 0
        sent = app.notifications.retry(ops, "n-000001")
        assert sent.status is DeliveryStatus.SENT and sent.attempts == 1
        assert [n.id for n in recorder(app).sent] == ["n-000001"]
        assert app.notifications.dead(ops) == ()


def test_the_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff(30, 200, n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 200,
                                                                           200]
    assert backoff(30, 3600, 500).total_seconds() == 3600


def test_a_retried_dead_letter_that_fails_again_backs_off(
    app: App, ops: custmgmt.Principal, clock: custmgmt.FixedClock
) -> None:
    queue(app, 1)
    fail_for_good(app, "n-000001")
    recorder(app).fail_next = 1
    item = app.notifications.retry(ops, "n-000001")
    assert item.status is DeliveryStatus.FAILED and item.attempts == 1
    assert item.next_attempt_at == clock.now() + timedelta(seconds=30)


def fail_for_good(app: App, nid: str) -> None:
    with app._storage.unit_of_work() as uow:
        uow.outbox.mark_failed(nid, "gone", at=app._context.now(), retry_at=None)
        uow.commit()


def test_only_a_dead_letter_is_retried_by_hand(app: App, ops: custmgmt.Principal) -> None:
    queue(app, 1)
    with pytest.raises(InvalidTransition):
        app.notifications.retry(ops, "n-000001")
    with pytest.raises(NotFound):
        app.notifications.retry(ops, "n-999999")


def test_delivery_needs_the_dispatch_right(app: App) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    queue(app, 1)
    for call in (lambda: app.notifications.dispatch(alice),
                 lambda: app.notifications.dead(alice),
                 lambda: app.notifications.retry(alice, "n-000001"),
                 lambda: app.notifications.get(alice, "n-000001")):
        with pytest.raises(PermissionDenied):
            call()
    assert recorder(app).sent == []


def test_the_stored_grants_decide_each_call_not_the_principal_passed_in(app: App) -> None:
    admin = app.principal("u-root", roles={"admin"})
    worker = app.principal("u-worker", roles={"dispatcher"})
    queue(app, 1)
    forged = custmgmt.Principal(id="u-alice", roles=frozenset({"admin"}))
    app.principal("u-alice", roles={"salesperson"})
    with pytest.raises(PermissionDenied):
        app.notifications.dispatch(forged)  # claims admin; stored as a salesperson
    assert app.notifications.dispatch(worker) == DispatchReport(sent=1)
    assert app.notifications.dead(worker) == ()  # notification.read, from the same role
    app.principals.revoke(admin, "u-worker", {"dispatcher"})
    queue(app, 2)
    with pytest.raises(PermissionDenied):
        app.notifications.dispatch(worker)  # revoked: refused at the next call
    assert [n.id for n in recorder(app).sent] == ["n-000001"]


def test_a_send_time_check_that_breaks_delays_the_item_instead_of_breaking_dispatch(
    app: App, ops: custmgmt.Principal
) -> None:
    def broken(uow: UnitOfWork, notification: Notification) -> str | None:
        raise KeyError(notification.recipient_id)  # would quote a recipient

    app.notifications.add_send_check(broken)
    queue(app, 1)
    assert app.notifications.dispatch(ops) == DispatchReport(failed=1)
    item = app.notifications.get(ops, "n-000001")
    assert item.status is DeliveryStatus.FAILED
    assert item.last_error == "send-time check failed: KeyError"
    assert recorder(app).sent == []


class Refuser:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, uow: UnitOfWork, notification: Notification) -> str | None:
        self.asked.append(notification.id)
        assert uow.outbox.get(notification.id).leased_by is not None  # it can look things up
        return "no survey opt-in" if notification.purpose == "survey" else None


def test_a_send_time_check_refuses_before_the_notifier_sees_it(
    app: App, ops: custmgmt.Principal
) -> None:
    check = Refuser()
    app.notifications.add_send_check(check)
    queue(app, 1, purpose="survey", channel="sms")  # any short string is a purpose
    queue(app, 2)
    assert app.notifications.dispatch(ops) == DispatchReport(sent=1, refused=1)
    assert check.asked == ["n-000001", "n-000002"]
    assert [n.id for n in recorder(app).sent] == ["n-000002"]
    refused = app.notifications.get(ops, "n-000001")
    assert refused.status is DeliveryStatus.REFUSED
    assert refused.last_error == "no survey opt-in"
    assert app.notifications.dispatch(ops) == DispatchReport()


class Plug:
    """A plugin offering one notifier object under ``name``."""

    def __init__(self, name: str, notifier: object) -> None:
        self.notifier_name, self.notifier = name, notifier

    @hookimpl
    def custmgmt_notifiers(self) -> Sequence[NotifierBackend]:
        return (NotifierBackend(name=self.notifier_name, create=lambda _s: self.notifier),)


class Permanent:
    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        raise DeliveryFailed("mailbox does not exist", permanent=True)


def test_a_permanent_failure_is_a_dead_letter_at_once_with_its_reason(
    clock: custmgmt.FixedClock, storage_url: str
) -> None:
    settings = custmgmt.Settings(notifier="permanent")
    with custmgmt.open(storage_url, settings=settings, clock=clock, migrate=True,
                       plugins=[Plug("permanent", Permanent())]) as app:
        ops = app.principal("u-ops", roles={"admin"})
        queue(app, 1)
        assert app.notifications.dispatch(ops) == DispatchReport(dead=1)
        (dead,) = app.notifications.dead(ops)
    assert dead.last_error == "DeliveryFailed: mailbox does not exist"


class Killed(BaseException):
    """Stands for the process being killed: nothing after it runs."""


class DiesAfterSending:
    """Records each delivery (the far side got it), then dies before the worker can
    mark it sent, as many times as ``deaths``."""

    def __init__(self, deaths: int) -> None:
        self.deaths = deaths
        self.received: list[tuple[str, str]] = []

    def send(self, notification: Notification, *, idempotency_key: str) -> None:
        self.received.append((notification.id, idempotency_key))
        if self.deaths > 0:
            self.deaths -= 1
            raise Killed


def test_a_worker_killed_between_send_and_mark_sent_leaves_it_to_be_sent_again_with_its_key(
    clock: custmgmt.FixedClock, storage_url: str
) -> None:
    notifier = DiesAfterSending(deaths=1)
    settings = custmgmt.Settings(notifier="dies", notify_lease_seconds=60)
    with custmgmt.open(storage_url, settings=settings, clock=clock, migrate=True,
                       plugins=[Plug("dies", notifier)]) as app:
        ops = app.principal("u-ops", roles={"admin"})
        queue(app, 1)
        with pytest.raises(Killed):
            app.notifications.dispatch(ops)
        item = app.notifications.get(ops, "n-000001")
        assert item.status is DeliveryStatus.PENDING and item.leased_by is not None
        clock.advance(seconds=59)
        assert app.notifications.dispatch(ops) == DispatchReport()     # still leased
        clock.advance(seconds=1)
        assert app.notifications.dispatch(ops) == DispatchReport(sent=1)
    assert notifier.received == [("n-000001", "n-000001")] * 2
    honouring = RecordingNotifier()
    for _nid, key in notifier.received:
        honouring.send(sample_notification(1), idempotency_key=key)
    assert len(honouring.sent) == 1 and honouring.repeats == 1


def test_an_item_its_workers_keep_dying_on_becomes_a_dead_letter(
    clock: custmgmt.FixedClock, storage_url: str
) -> None:
    notifier = DiesAfterSending(deaths=100)
    settings = custmgmt.Settings(notifier="dies", notify_lease_seconds=60,
                                 notify_max_attempts=2)
    with custmgmt.open(storage_url, settings=settings, clock=clock, migrate=True,
                       plugins=[Plug("dies", notifier)]) as app:
        ops = app.principal("u-ops", roles={"admin"})
        queue(app, 1)
        for _ in range(2):
            with pytest.raises(Killed):
                app.notifications.dispatch(ops)
            clock.advance(seconds=60)
        assert app.notifications.dispatch(ops) == DispatchReport(dead=1)
        (dead,) = app.notifications.dead(ops)
    assert len(notifier.received) == 2
    assert dead.last_error is not None and "no outcome after 2 attempts" in dead.last_error


def test_several_workers_at_once_deliver_each_item_exactly_once(
    storage_url: str, clock: custmgmt.FixedClock
) -> None:
    """Threads here; tests/integration/test_notify_workers.py runs processes."""
    notifier = DiesAfterSending(deaths=0)
    lock = threading.Lock()

    class Shared:
        def send(self, notification: Notification, *, idempotency_key: str) -> None:
            with lock:
                notifier.send(notification, idempotency_key=idempotency_key)

    settings = custmgmt.Settings(notifier="shared")
    plugins = [Plug("shared", Shared())]
    first = custmgmt.open(storage_url, settings=settings, clock=clock, migrate=True,
                          plugins=plugins)
    ops = first.principal("u-ops", roles={"admin"})
    queue(first, *range(1, 121))
    # memory:// is one process's store: its workers share the app; others open their own.
    apps = [first] * 3 if storage_url == "memory://" else [
        custmgmt.open(storage_url, settings=settings, clock=clock, plugins=plugins)
        for _ in range(3)]
    errors: list[BaseException] = []

    def work(app: App) -> None:
        try:
            while app.notifications.dispatch(ops, limit=7).claimed:
                pass
        except BaseException as error:
            errors.append(error)

    each_in_thread(work, [(a,) for a in [first, *apps]])
    for app in {id(a): a for a in [first, *apps]}.values():
        app.close()
    assert errors == []
    assert sorted(nid for nid, _ in notifier.received) == [f"n-{n:06d}" for n in range(1, 121)]


def test_the_default_notifier_logs_each_delivery(
    caplog: pytest.LogCaptureFixture, clock: custmgmt.FixedClock
) -> None:
    with custmgmt.open("memory://", clock=clock) as app:
        assert isinstance(app.notifier, LoggingNotifier)
        ops = app.principal("u-ops", roles={"admin"})
        queue(app, 3)
        with caplog.at_level(logging.INFO, logger="custmgmt.notifications"):
            assert app.notifications.dispatch(ops).sent == 1
    (record,) = [r for r in caplog.records if r.name == "custmgmt.notifications"]
    assert record.getMessage() == "notify u-alice [test] Notification 3 (n-000003)"
    assert record.idempotency_key == "n-000003"  # type: ignore[attr-defined]
    assert record.purpose == "operations"  # type: ignore[attr-defined]
