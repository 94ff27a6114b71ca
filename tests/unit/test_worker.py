"""The scheduled jobs: one round (reminders, pool releases, dispatch), the loop, the command."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import custmgmt
from custmgmt import worker
from custmgmt.adapters.system import FixedClock
from custmgmt.cli import main
from custmgmt.errors import PermissionDenied, ValidationError
from custmgmt.ports.auth import Principal

POOLED = custmgmt.Settings(ownership_lapse=True, notifier="logging",
                           protection_days={"A": 10, "B": 20, "C": 30, "D": 60})


@pytest.fixture
def pooled(storage_url: str, clock: FixedClock) -> custmgmt.CustomerManagement:
    return custmgmt.open(storage_url, clock=clock, settings=POOLED, migrate=True)


def test_a_round_reminds_releases_and_dispatches(
        pooled: custmgmt.CustomerManagement, clock: FixedClock) -> None:
    root = pooled.principal("u-root", roles={"admin"})
    alice = pooled.principal("u-alice", roles={"salesperson"}, team="east")
    a = pooled.prospects.register(alice, name="Wang Wei", phone="13800138000",
                                  willingness="clear", potential_value=2_000_000)
    b = pooled.prospects.register(alice, name="Li Na", phone="13700137000",
                                  willingness="interested", potential_value=300_000)
    clock.advance(days=8)        # A is overdue (due every 7 days), B not yet
    first = worker.run_round(pooled, root)
    assert (first.reminders, first.released, first.error) == (1, 0, None)
    assert first.warned == 1                      # A's 10-day protection ends in 2 days
    assert first.sent >= 2 and first.failed == 0  # the reminder and the warning went out
    assert worker.run_round(pooled, root) == worker.Round()   # nothing new: all delivered
    clock.advance(days=3)
    third = worker.run_round(pooled, root)
    assert third.released == 1 and third.error is None
    assert [p.id for p in pooled.pool.available(alice)] == [a.id]
    assert b.id not in [p.id for p in pooled.pool.available(alice)]
    pooled.close()


def test_without_ownership_lapse_nothing_is_released(
        storage_url: str, clock: FixedClock) -> None:
    with custmgmt.open(storage_url, clock=clock, migrate=True) as app:
        root = app.principal("u-root", roles={"admin"})
        alice = app.principal("u-alice", roles={"salesperson"})
        app.prospects.register(alice, name="Wang Wei", phone="13800138000",
                               willingness="clear", potential_value=2_000_000)
        clock.advance(days=100)
        done = worker.run_round(app, root)
        assert (done.reminders, done.released, done.warned, done.error) == (1, 0, 0, None)


def test_a_round_that_is_refused_reports_the_error_and_the_loop_goes_on() -> None:
    with custmgmt.open("memory://") as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        seen: list[worker.Round] = []
        assert worker.run(app, alice, every=0.001, rounds=3, report=seen.append) == 3
        assert [r.error for r in seen] == [PermissionDenied.__name__] * 3
        assert "stopped by PermissionDenied" in str(seen[0])


def test_the_loop_stops_when_told() -> None:
    with custmgmt.open("memory://") as app:
        root = app.principal("u-root", roles={"admin"})
        stop = threading.Event()
        seen: list[worker.Round] = []

        def report(done: worker.Round) -> None:
            seen.append(done)
            stop.set()                 # e.g. SIGTERM while the round ran

        assert worker.run(app, root, every=3600, stop=stop, report=report) == 1
        with pytest.raises(ValidationError) as refused:
            worker.run(app, root, every=0)
        assert refused.value.field == "every"


@pytest.mark.parametrize("spec", ["nonsense", "no_such_module_xyz:X", "custmgmt:open",
                                  "tests.unit.test_worker:NOTHING"])
def test_settings_must_name_a_settings_object(spec: str) -> None:
    with pytest.raises(ValidationError) as refused:
        worker.load_settings(spec)
    assert refused.value.field == "settings"


def test_the_command_runs_one_round_with_the_applications_settings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with custmgmt.open(url, migrate=True, settings=POOLED,
                       clock=FixedClock(datetime.now(UTC) - timedelta(days=40))) as app:
        app.principal("u-root", roles={"admin"})
        alice = app.principal("u-alice", roles={"salesperson"})
        app.prospects.register(alice, name="Wang Wei", phone="13800138000",
                               willingness="clear", potential_value=2_000_000)
    assert main(["worker", "--once", "--as", "u-root", "--url", url,
                 "--settings", "tests.unit.test_worker:POOLED"]) == 0
    out = capsys.readouterr().out
    assert "reminders 1, warned 0, released 1" in out
    assert main(["worker", "--once", "--as", "u-nobody", "--url", url]) == 1
    assert "PermissionDenied" in capsys.readouterr().err


def test_dispatch_runs_as_the_worker_principal_and_needs_the_dispatch_right(
        storage_url: str, clock: FixedClock) -> None:
    with custmgmt.open(storage_url, clock=clock, migrate=True,
                       settings=custmgmt.Settings(notifier="logging")) as app:
        root = app.principal("u-root", roles={"admin"})
        mia = app.principal("u-mia", roles={"sales_manager"}, team="east")
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        app.prospects.register(alice, name="Wang Wei", phone="13800138000",
                               willingness="clear", potential_value=2_000_000)
        clock.advance(days=8)
        cut = worker.run_round(app, mia)          # reminders yes, dispatch refused
        assert (cut.reminders, cut.sent, cut.error) == (1, 0, PermissionDenied.__name__)
        assert [i.status.value for i in app.outbox(root)] == ["pending"]
        app.principals.grant(root, "u-mia", ["dispatcher"])   # read again next round
        done = worker.run_round(app, mia)
        assert (done.reminders, done.sent, done.failed, done.error) == (0, 1, 0, None)
        assert [i.status.value for i in app.outbox(root)] == ["sent"]


def test_the_command_dispatches_as_the_principal_named_by_as(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with custmgmt.open(url, migrate=True,
                       clock=FixedClock(datetime.now(UTC) - timedelta(days=8))) as app:
        root = app.principal("u-root", roles={"admin"})
        app.principal("u-mia", roles={"sales_manager"}, team="east")
        app.principal("u-sched", roles={"sales_manager", "dispatcher"}, team="east")
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        app.prospects.register(alice, name="Wang Wei", phone="13800138000",
                               willingness="clear", potential_value=2_000_000)
        app.principal("u-gone", roles={"admin"})
        app.principals.deactivate(root, "u-gone")
    assert main(["worker", "--once", "--as", "u-mia", "--url", url]) == 2
    assert "sent 0, failed 0; stopped by PermissionDenied" in capsys.readouterr().out
    assert main(["worker", "--once", "--as", "u-sched", "--url", url]) == 0
    assert "sent 1, failed 0" in capsys.readouterr().out
    assert main(["worker", "--once", "--as", "u-gone", "--url", url]) == 1
    assert "not a known, active principal" in capsys.readouterr().err
    with custmgmt.open(url) as app:
        assert [i.status.value for i in app.outbox(Principal(id="u-root"))] == ["sent"]

