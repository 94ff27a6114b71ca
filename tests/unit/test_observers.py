"""Event observers are fed from the stored event log with a cursor per observer."""

from __future__ import annotations

import logging

import pytest

import custmgmt
from custmgmt.domain.common import DomainEvent
from custmgmt.plugins import hookimpl

App = custmgmt.CustomerManagement


class Watcher:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.down = False

    @hookimpl
    def custmgmt_on_event(self, event: DomainEvent) -> None:
        if self.down:
            raise ConnectionError("down")
        self.seen.append(f"{event.name}:{getattr(event, 'prospect_id', '')}")


def register(app: App, n: int) -> str:
    alice = app.principal("u-alice", roles={"salesperson"})
    return app.prospects.register(alice, name=f"P{n}", phone=f"1380013{n:04d}",
                                  willingness="clear", potential_value=10).id


def open_with(url: str, clock: custmgmt.FixedClock, *plugins: object) -> App:
    return custmgmt.open(url, clock=clock, migrate=True, plugins=list(plugins))


def test_an_observer_sees_each_committed_event_once_in_order(
    storage_url: str, clock: custmgmt.FixedClock
) -> None:
    watcher = Watcher()
    with open_with(storage_url, clock, watcher) as app:
        first, second = register(app, 1), register(app, 2)
        assert app.feed_observers() == 0  # nothing new
    assert watcher.seen == [f"ProspectRegistered:{first}", f"ProspectRegistered:{second}"]


def test_an_observer_that_was_down_catches_up_in_order_after_its_backoff(
    storage_url: str, clock: custmgmt.FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = Watcher()
    with open_with(storage_url, clock, watcher) as app:
        watcher.down = True
        with caplog.at_level(logging.ERROR, logger="custmgmt.observers"):
            first = register(app, 1)
        assert "failed on event 1" in caplog.text
        watcher.down = False
        second = register(app, 2)          # still backing off: not fed yet
        assert watcher.seen == []
        clock.advance(seconds=29)
        assert app.feed_observers() == 0
        clock.advance(seconds=1)
        assert app.feed_observers() == 2
    assert watcher.seen == [f"ProspectRegistered:{first}", f"ProspectRegistered:{second}"]


def test_a_new_observer_starts_at_the_end_of_the_log(
    sql_url: str, clock: custmgmt.FixedClock
) -> None:
    with open_with(sql_url, clock) as app:
        register(app, 1)
    watcher = Watcher()
    with open_with(sql_url, clock, watcher) as app:
        assert app.feed_observers() == 0
        new = register(app, 2)
    assert watcher.seen == [f"ProspectRegistered:{new}"]


def test_events_another_process_committed_reach_the_observer_from_the_log(
    sql_url: str, clock: custmgmt.FixedClock
) -> None:
    watcher = Watcher()
    with open_with(sql_url, clock, watcher) as observed, \
            open_with(sql_url, clock) as other:
        elsewhere = register(other, 1)     # an app without the observer installed
        assert watcher.seen == []
        assert observed.feed_observers() == 1
    assert watcher.seen == [f"ProspectRegistered:{elsewhere}"]


def test_one_observer_in_two_processes_shares_one_cursor(
    sql_url: str, clock: custmgmt.FixedClock
) -> None:
    one, two = Watcher(), Watcher()    # the same plugin installed in two processes
    with open_with(sql_url, clock, one) as a, open_with(sql_url, clock, two) as b:
        registered = [register(a, 1), register(b, 2), register(a, 3)]
        a.feed_observers()
        b.feed_observers()
    assert sorted(one.seen + two.seen) == sorted(f"ProspectRegistered:{p}"
                                                 for p in registered)


def test_two_plugins_of_one_name_are_refused(clock: custmgmt.FixedClock) -> None:
    with pytest.raises(custmgmt.errors.ValidationError) as raised:
        custmgmt.open("memory://", plugins=[Watcher(), Watcher()])
    assert raised.value.field == "plugins"
