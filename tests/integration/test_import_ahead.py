"""An import on PostgreSQL writes its next batch while the one before it commits.

The batch written ahead commits only after the batch before it committed as planned and
its progress was reported; anything else rolls it back and writes it the usual way.
These tests prove the import still keeps every rule the usual way keeps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import custmgmt
from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.domain.prospects import ProspectsImported
from custmgmt.errors import PermissionDenied
from custmgmt.services import import_ahead
from custmgmt.services.prospect_import import Planned, ProspectImport
from tests.conftest import START
from tests.helpers import admin
from tests.pg_server import Cluster

pytestmark = pytest.mark.postgresql


@pytest.fixture
def app(postgres: Cluster) -> Iterator[custmgmt.CustomerManagement]:
    with custmgmt.open(postgres.new_database(), clock=FixedClock(START), ids=SequentialIds(),
                       migrate=True) as opened:
        yield opened


@pytest.fixture
def ahead(monkeypatch: pytest.MonkeyPatch) -> dict[int, bool]:
    """For each batch written ahead, by its first line: whether it committed as planned."""
    outcomes: dict[int, bool] = {}
    write_ahead = ProspectImport.write_ahead

    def recorded(self: ProspectImport, planned: Planned, *args: Any) -> Any:
        written = write_ahead(self, planned, *args)
        first = int(planned.batch.registration_ids[0].rsplit(":", 1)[1])
        outcomes[first] = written is not None
        return written

    monkeypatch.setattr(ProspectImport, "write_ahead", recorded)
    return outcomes


def _in_order(ahead: dict[int, bool]) -> list[bool]:
    """The outcomes in the order of the input (batches written ahead finish in any)."""
    return [ahead[line] for line in sorted(ahead)]


def _rows(count: int, start: int = 0) -> list[dict[str, str]]:
    return [{"name": f"P{n}", "phone": f"1370013{n:04d}", "willingness": "clear",
             "potential_value": "1"} for n in range(start, start + count)]


def _names(app: custmgmt.CustomerManagement) -> list[str]:
    return sorted(p.profile.name.value
                  for p in app.prospects.list(admin(app), limit=200).items)


def test_only_postgresql_writes_in_parallel(
    app: custmgmt.CustomerManagement, tmp_path: Any
) -> None:
    assert app.followups._ctx.storage.writes_in_parallel is True  # type: ignore[attr-defined]
    with custmgmt.open(f"sqlite:///{tmp_path / 'crm.db'}", migrate=True) as sqlite:
        storage = sqlite.followups._ctx.storage
        assert storage.writes_in_parallel is False  # type: ignore[attr-defined]


def test_batches_written_ahead_keep_the_trail_and_the_events_in_order(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool]
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    progress: list[int] = []
    report = app.prospects.import_many(alice, _rows(47), batch_size=5, import_id="f-1",
                                       on_progress=lambda done, bad: progress.append(done))
    assert (report.imported, report.rejected) == (47, ())
    assert progress == [5, 10, 15, 20, 25, 30, 35, 40, 45, 47]
    assert _in_order(ahead) == [True] * 10  # every batch, the first too
    assert app.audit.verify(admin(app), "prospect_import", "f-1") == 10
    imported = [e for e in app.events(admin(app)) if isinstance(e, ProspectsImported)]
    ids = [p.prospect_id for e in imported for p in e.prospects]
    assert ids == sorted(ids) and len(ids) == 47  # sequential ids: the order of the rows
    mine = app.prospects.mine(alice, limit=100).items
    assert sorted(p.id for p in mine) == ids
    for prospect in mine[::10]:
        assert app.audit.verify(admin(app), "prospect", prospect.id) == 1


def test_a_key_of_the_batch_in_flight_or_of_its_own_batch_is_refused_by_line(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool]
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = _rows(12)
    rows[5]["phone"] = rows[2]["phone"]  # line 6 (3rd batch) repeats line 3 (2nd batch)
    rows[11]["phone"] = rows[10]["phone"]  # lines 11 and 12: the same batch
    report = app.prospects.import_many(alice, rows, batch_size=2)
    assert report.imported == 10
    assert [(r.line, r.reason) for r in report.rejected] == [
        (6, "duplicate of line 3 in this import"), (12, "duplicate of line 11 in this import")]
    assert _names(app) == sorted(f"P{n}" for n in range(12) if n not in (5, 11))


def test_a_customers_key_in_a_batch_written_ahead_costs_only_its_row(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool]
) -> None:
    manager = app.principal("u-am", roles={"account_manager"}, team="accounts")
    customer = app.customers.create(manager, name="Acme", phone="13700130007")
    app.customers.set_status(admin(app), customer.id, "sealed", reason="delisted")
    alice = app.principal("u-alice", roles={"salesperson"})
    report = app.prospects.import_many(alice, _rows(10), batch_size=3)
    assert report.imported == 9
    ((line, reason),) = [(r.line, r.reason) for r in report.rejected]
    assert line == 8 and "sealed" in reason and customer.id in reason
    assert False in ahead.values()  # the batch holding line 8 went the usual way
    assert _names(app) == sorted(f"P{n}" for n in range(10) if n != 7)


def test_progress_that_raises_stops_the_batch_in_flight_and_a_re_run_finishes(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool]
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})

    def stop_at_the_second_batch(done: int, rejected: int) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        app.prospects.import_many(alice, _rows(10), batch_size=2, import_id="f-1",
                                  on_progress=stop_at_the_second_batch)
    assert _names(app) == ["P0", "P1", "P2", "P3"]  # the third batch was in flight
    again = app.prospects.import_many(alice, _rows(10), batch_size=2, import_id="f-1")
    assert (again.imported, again.already_imported, again.rejected) == (6, 4, ())
    assert app.audit.verify(admin(app), "prospect_import", "f-1") == 5


def test_a_revoke_reported_in_progress_stops_the_batch_in_flight(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool]
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    root = admin(app)

    def revoke_at_the_second_batch(done: int, rejected: int) -> None:
        if done == 4:  # the third batch is in flight, its rows written
            app.principals.revoke(root, "u-alice", {"salesperson"})

    with pytest.raises(PermissionDenied):
        app.prospects.import_many(alice, _rows(8), batch_size=2,
                                  on_progress=revoke_at_the_second_batch)
    assert _names(app) == ["P0", "P1", "P2", "P3"]


def test_a_batch_waiting_too_long_for_the_one_before_is_written_the_usual_way(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_ahead, "WAIT_SECONDS", 0.05)
    alice = app.principal("u-alice", roles={"salesperson"})
    report = app.prospects.import_many(alice, _rows(12), batch_size=3, import_id="f-1",
                                       on_progress=lambda done, bad: time.sleep(0.3))
    assert (report.imported, report.rejected) == (12, ())
    # The first batch links to the trail as it was: it need not wait. The second gave up
    # waiting for the first's progress, and the third links to the second; so the fourth
    # links to the third, written the usual way, and need not wait either.
    assert _in_order(ahead) == [True, False, False, True]
    assert app.audit.verify(admin(app), "prospect_import", "f-1") == 4
    assert _names(app) == sorted(f"P{n}" for n in range(12))


def test_a_batch_written_the_usual_way_waits_for_the_batch_after_it_to_roll_back(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else the import's usual write could wait for another user's transaction that waits
    for the import's own batch in flight, which waits for the import: a cycle the server
    cannot see, broken only when the batch gives up waiting."""
    carol = app.principal("u-carol", roles={"salesperson"})
    app.prospects.register(carol, name="C", phone=_rows(4)[3]["phone"], willingness="clear",
                           potential_value=1)
    alice = app.principal("u-alice", roles={"salesperson"})
    engine = app.followups._ctx.storage.engine  # type: ignore[attr-defined]
    open_elsewhere: list[int] = []
    store = ProspectImport.store

    def counted(self: ProspectImport, candidates: Any) -> None:
        with engine.connect() as connection:
            open_elsewhere.append(connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND starts_with(state, 'idle in transaction')"
                " AND pid <> pg_backend_pid()").scalar())
        store(self, candidates)

    monkeypatch.setattr(ProspectImport, "store", counted)
    report = app.prospects.import_many(alice, _rows(12), batch_size=3)
    assert report.imported == 11 and [r.line for r in report.rejected] == [4]
    # batch 2 holds carol's key, batch 3 links to batch 2: both written the usual way
    assert _in_order(ahead) == [True, False, False, True]
    assert open_elsewhere == [0, 0]


def test_progress_and_rejections_come_in_the_order_of_the_input(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool]
) -> None:
    """A batch is parsed while the one before it is written; its bad rows are reported
    after that one's, as batch after batch would report them."""
    manager = app.principal("u-am", roles={"account_manager"}, team="accounts")
    customer = app.customers.create(manager, name="Acme", phone="13700130005")
    app.customers.set_status(admin(app), customer.id, "sealed", reason="delisted")
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = _rows(9)
    rows[6]["willingness"] = "bogus"  # line 7, the third batch; line 6 is the customer's
    progress: list[tuple[int, int]] = []
    report = app.prospects.import_many(alice, rows, batch_size=3,
                                       on_progress=lambda *done: progress.append(done))
    assert [(r.line, r.field) for r in report.rejected] == [(6, None), (7, "willingness")]
    assert progress == [(3, 0), (5, 1), (7, 2)]


def test_input_that_fails_midway_keeps_the_batch_in_flight_reported(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool]
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})

    def rows() -> Iterator[dict[str, str]]:
        yield from _rows(7)
        raise OSError("the file went away")

    progress: list[int] = []
    with pytest.raises(OSError, match="went away"):
        app.prospects.import_many(alice, rows(), batch_size=3,
                                  on_progress=lambda done, bad: progress.append(done))
    assert progress == [3, 6]  # as batch after batch: the second reported before the error
    assert _names(app) == [f"P{n}" for n in range(6)]


def test_an_interrupt_while_a_batch_is_parsed_reports_the_batch_in_flight_first(
    app: custmgmt.CustomerManagement, ahead: dict[int, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's thread parses the next batch while the one before commits: a Ctrl-C
    there most likely lands in the parse."""
    parsed = ProspectImport.parsed

    def interrupted_at_line_7(self: ProspectImport, batch: list[tuple[int, object]]) -> Any:
        if batch[0][0] == 7:
            raise KeyboardInterrupt
        return parsed(self, batch)

    monkeypatch.setattr(ProspectImport, "parsed", interrupted_at_line_7)
    alice = app.principal("u-alice", roles={"salesperson"})
    progress: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        app.prospects.import_many(alice, _rows(12), batch_size=3,
                                  on_progress=lambda done, bad: progress.append(done))
    assert progress == [3, 6]  # every batch stored was reported
    assert _names(app) == [f"P{n}" for n in range(6)]
