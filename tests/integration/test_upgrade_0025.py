"""Migration 0025: the registration of a prospect never changed is kept in its row; a
release before it refuses the database, and a downgrade writes the registration rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import StorageError
from tests.conftest import START
from tests.helpers import register_numbered


def _rows(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            'SELECT prospect_id, position, kind, "by", "before", "after", reason '
            "FROM custmgmt_prospect_history ORDER BY prospect_id, position"))]


def test_a_downgrade_writes_the_registration_rows_and_an_upgrade_reads_them_alike(
        new_empty_url: Callable[[], str]) -> None:
    url = new_empty_url()
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        mia = app.principal("u-mia", roles={"admin"})
        kept = register_numbered(app, alice, 1)
        changed = register_numbered(app, alice, 2)
        app.prospects.override_grade(mia, changed.id, "C", reason="slow to answer")
        before = {p: app.prospects.history(mia, p) for p in (kept.id, changed.id)}
    engine = sa.create_engine(url)
    try:
        assert [row[0] for row in _rows(engine)] == [changed.id, changed.id]
        command.downgrade(migrate.config(engine), "0024")
        assert migrate.current(engine) == "0024"
        assert _rows(engine) == [
            (kept.id, 0, "registered", "u-alice", None, "A", "registered"),
            (changed.id, 0, "registered", "u-alice", None, "A", "registered"),
            (changed.id, 1, "grade", "u-mia", "A", "C", "slow to answer")]
        migrate.upgrade(engine, "head")
    finally:
        engine.dispose()
    with custmgmt.open(url) as app:
        mia = app.principal("u-mia", roles={"admin"})
        assert {p: app.prospects.history(mia, p) for p in before} == before


def test_a_release_before_it_refuses_a_database_at_it(
        new_empty_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = new_empty_url()
    engine = sa.create_engine(url)
    try:
        migrate.upgrade(engine, "0025")
    finally:
        engine.dispose()
    monkeypatch.setattr(migrate, "head", lambda: "0024")  # what that release ships
    with pytest.raises(StorageError, match="at revision 0025, not 0024"):
        custmgmt.open(url)
