"""A new prospect's history is its registration, which its row keeps: no history row is
written until the prospect first changes, and then the whole history is, as loaded."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import create_engine, text

import custmgmt
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.prospects import ChangeKind, Grade, HistoryEntry
from tests.conftest import START
from tests.helpers import register_numbered


def _history_rows(url: str, prospect_id: str) -> list[tuple[int, str, str | None, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(  # type: ignore[misc]
                'SELECT position, kind, "before", "after" FROM custmgmt_prospect_history '
                "WHERE prospect_id = :pid ORDER BY position"), {"pid": prospect_id})]
    finally:
        engine.dispose()


def _registered(by: str, grade: Grade) -> HistoryEntry:
    return HistoryEntry(kind=ChangeKind.REGISTERED, by=by, at=START, before=None,
                        after=grade.value, reason="registered")


def test_a_new_prospect_stores_no_history_row_and_reads_its_registration(
        new_empty_url: Callable[[], str]) -> None:
    url = new_empty_url()
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        one = register_numbered(app, alice, 1)
        report = app.prospects.import_many(alice, [
            {"name": "P2", "phone": "13800000002", "willingness": "none",
             "potential_value": "0"}], import_id="first")
        assert report.imported == 1
        two = app.prospects.list(alice).items[-1]
        assert app.prospects.history(alice, one.id) == (_registered("u-alice", Grade.A),)
        assert app.prospects.history(alice, two.id) == (_registered("u-alice", Grade.D),)
        assert app.prospects.get(alice, one.id) == one
    assert _history_rows(url, one.id) == []
    assert _history_rows(url, two.id) == []


def test_the_first_change_stores_the_registration_as_it_was_then_the_change(
        new_empty_url: Callable[[], str]) -> None:
    url = new_empty_url()
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        mia = app.principal("u-mia", roles={"sales_manager"}, team="east")
        app.principal("u-bob", roles={"salesperson"}, team="east")
        one = register_numbered(app, alice, 1)
        changed = app.prospects.override_grade(mia, one.id, "C", reason="slow to answer")
        assert _history_rows(url, one.id) == [(0, "registered", None, "A"),
                                              (1, "grade", "A", "C")]
        moved = app.prospects.transfer(mia, one.id, to_owner="u-bob", reason="bob knows them")
        history = app.prospects.history(mia, one.id)
    assert history[0] == _registered("u-alice", Grade.A)  # who registered it, at what grade
    assert history == moved.history and history[:2] == changed.history
    assert [row[:2] for row in _history_rows(url, one.id)] == [
        (0, "registered"), (1, "grade"), (2, "owner")]
