"""Migration 0027: each follow-up plan moves into its prospect's row, every field as it
was (a plan may differ from its prospect in owner, grade and stage); a plan of no
stored prospect is dropped with the plans table; a downgrade puts the plans back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from alembic import command

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.system import FixedClock
from tests.conftest import START
from tests.helpers import register_numbered

PLANS = "custmgmt_followup_plans"
FIELDS = ("owner_id", "owner_team", "grade", "stage", "active", "anchor", "override",
          "next_due", "version")
LATER = START.date() + timedelta(days=90)
ORPHAN = ("INSERT INTO custmgmt_followup_plans (prospect_id, owner_id, owner_team, grade, "
          "stage, active, anchor, override, next_due, version) VALUES ('p-gone', 'u-alice', "
          "NULL, 'A', 'initial_contact', :yes, :day, NULL, :day, 1)")


def _table_plans(engine: sa.Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(sa.text(
            f"SELECT prospect_id, {', '.join(FIELDS)} FROM {PLANS}"))}


def _row_plans(engine: sa.Engine) -> dict[str, tuple[Any, ...]]:
    columns = ", ".join(f"plan_{field}" for field in FIELDS)
    with engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(sa.text(
            f"SELECT id, {columns} FROM custmgmt_prospects"))}


def test_plans_move_into_their_prospects_rows_and_back(
        new_empty_url: Callable[[], str]) -> None:
    url = new_empty_url()
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        moved, plain, bare = (register_numbered(app, alice, n).id for n in (1, 2, 3))
    engine = sa.create_engine(url)
    try:
        command.downgrade(migrate.config(engine), "0026")
        assert set(_table_plans(engine)) == {moved, plain, bare}
        with engine.begin() as connection:
            # a plan moved apart from its prospect, with an override, no longer active
            connection.execute(sa.text(
                f"UPDATE {PLANS} SET owner_id = 'u-bob', owner_team = 'west', grade = 'D', "
                "stage = 'negotiation', active = :no, override = :day, version = 7 "
                "WHERE prospect_id = :id"), {"no": False, "day": LATER, "id": moved})
            connection.execute(sa.text(f"DELETE FROM {PLANS} WHERE prospect_id = :id"),
                               {"id": bare})
            connection.execute(sa.text(ORPHAN), {"yes": True, "day": START.date()})
        before = _table_plans(engine)

        migrate.upgrade(engine, "head")
        assert not sa.inspect(engine).has_table(PLANS)
        in_rows = _row_plans(engine)
        assert in_rows == {moved: before[moved], plain: before[plain],
                           bare: (None,) * len(FIELDS)}  # the orphan has no row to go to

        command.downgrade(migrate.config(engine), "0026")
        assert _table_plans(engine) == {moved: before[moved], plain: before[plain]}
        migrate.upgrade(engine, "head")
        assert _row_plans(engine) == in_rows
    finally:
        engine.dispose()
    with custmgmt.open(url, clock=FixedClock(START)) as app:
        bob = app.principal("u-bob", roles={"salesperson"}, team="west")
        alice = app.principal("u-alice", roles={"salesperson"})
        assert [item.prospect_id for item in app.followups.due(alice, on=LATER)] == [plain]
        assert app.followups.due(bob, on=LATER) == ()  # its plan is inactive
