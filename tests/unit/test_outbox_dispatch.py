"""dispatch_notifications: at-least-once delivery, marked sent, retried on failure."""

from __future__ import annotations

import custmgmt
from custmgmt.adapters.memory.notifier import RecordingNotifier
from custmgmt.ports.notification import DeliveryStatus
from custmgmt.testing import sample_notification
from tests.helpers import dispatcher


def queue(app: custmgmt.CustomerManagement, *numbers: int) -> None:
    with app._storage.unit_of_work() as uow:
        for n in numbers:
            uow.outbox.add(sample_notification(n))
        uow.commit()


def test_pending_notifications_are_delivered_once_and_marked_sent(
    app: custmgmt.CustomerManagement,
) -> None:
    queue(app, 1, 2)
    assert app.dispatch_notifications(dispatcher(app)) == custmgmt.DispatchReport(sent=2, failed=0)
    assert app.dispatch_notifications(dispatcher(app)) == custmgmt.DispatchReport(sent=0, failed=0)
    notifier = app.notifier
    assert isinstance(notifier, RecordingNotifier)
    assert [n.id for n in notifier.sent] == ["n-000001", "n-000002"]
    assert {i.status for i in app.outbox(dispatcher(app))} == {DeliveryStatus.SENT}


def test_a_failed_delivery_is_retried_until_the_limit(clock: custmgmt.FixedClock) -> None:
    settings = custmgmt.Settings(max_delivery_attempts=2)
    with custmgmt.open("memory://", settings=settings, clock=clock) as app:
        queue(app, 1)
        notifier = app.notifier
        assert isinstance(notifier, RecordingNotifier)
        notifier.fail_next = 5
        worker = dispatcher(app)
        assert app.dispatch_notifications(worker).failed == 1
        assert app.dispatch_notifications(worker).failed == 1
        assert app.dispatch_notifications(worker) == custmgmt.DispatchReport(sent=0, failed=0)
        (item,) = app.outbox(worker)
        assert item.status is DeliveryStatus.FAILED and item.attempts == 2
        assert item.last_error == "ConnectionError"


def test_a_failure_then_success_delivers(app: custmgmt.CustomerManagement) -> None:
    queue(app, 1)
    notifier = app.notifier
    assert isinstance(notifier, RecordingNotifier)
    notifier.fail_next = 1
    assert app.dispatch_notifications(dispatcher(app)).failed == 1
    assert app.dispatch_notifications(dispatcher(app)).sent == 1
    assert [n.id for n in notifier.sent] == ["n-000001"]
