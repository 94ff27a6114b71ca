"""Migration 0027: each follow-up plan moves into its prospect's row, every field of its
own as it was (its grade and stage may differ from its prospect's), its owner and team
the prospect's; a plan of no stored prospect is dropped with the plans table; a
downgrade puts the plans back, with their prospects' owners and teams."""

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
FIELDS = ("grade", "stage", "active", "anchor", "override", "next_due", "version")
"""The plan's own fields; its owner and team are its prospect's."""
LATER = START.date() + timedelta(days=90)
ORPHAN = ("INSERT INTO custmgmt_followup_plans (prospect_id, owner_id, owner_team, grade, "
          "stage, active, anchor, override, next_due, version) VALUES ('p-gone', 'u-alice', "
          "NULL, 'A', 'initial_contact', :yes, :day, NULL, :day, 1)")


def _table_plans(engine: sa.Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(sa.text(
            f"SELECT prospect_id, owner_id, owner_team, {', '.join(FIELDS)} FROM {PLANS}"))}


def _row_plans(engine: sa.Engine) -> dict[str, tuple[Any, ...]]:
    columns = ", ".join(f"plan_{field}" for field in FIELDS)
    with engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(sa.text(
            f"SELECT id, owner_id, owner_team, {columns} FROM custmgmt_prospects"))}


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
            # a plan edited apart from its prospect (its owner too, which the library
            # never does), with an override, no longer active
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
        own = ("u-alice", None)  # the prospects' owner and team
        assert in_rows == {moved: (*own, *before[moved][2:]), plain: before[plain],
                           bare: (*own, *(None,) * len(FIELDS))}  # the orphan: no row

        command.downgrade(migrate.config(engine), "0026")
        assert _table_plans(engine) == {moved: in_rows[moved], plain: before[plain]}
        migrate.upgrade(engine, "head")
        assert _row_plans(engine) == in_rows
    finally:
        engine.dispose()
    with custmgmt.open(url, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        # the plan edited inactive is not due; the prospect without a plan neither
        assert [item.prospect_id for item in app.followups.due(alice, on=LATER)] == [plain]
