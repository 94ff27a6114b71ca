"""Migration 0026: the follow-up plans name their prospect without a foreign key; the
plans stay as they were, and a downgrade puts the key back. (Since 0027 the plans are
in the prospects' rows: the test goes down to 0026's plans table and back.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from alembic import command

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.system import FixedClock
from tests.conftest import START
from tests.helpers import register_numbered

PLANS = "custmgmt_followup_plans"
LATER = START.date() + timedelta(days=90)  # both prospects are due by then
ORPHAN = ("INSERT INTO custmgmt_followup_plans (prospect_id, owner_id, owner_team, grade, "
          "stage, active, anchor, override, next_due, version) VALUES ('p-gone', 'u-alice', "
          "NULL, 'A', 'initial_contact', :yes, :day, NULL, :day, 1)")


def _keys(engine: sa.Engine) -> list[tuple[str | None, str]]:
    return [(key["name"], key["referred_table"])
            for key in sa.inspect(engine).get_foreign_keys(PLANS)]


def _plans(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(sa.text(
            f"SELECT prospect_id FROM {PLANS} ORDER BY prospect_id")))


def test_plans_lose_their_key_keep_their_rows_and_get_it_back_on_downgrade(
        new_empty_url: Callable[[], str]) -> None:
    url = new_empty_url()
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        ids = sorted(register_numbered(app, alice, n).id for n in (1, 2))
        due = app.followups.due(alice, on=LATER)
    engine = sa.create_engine(url)
    try:
        command.downgrade(migrate.config(engine), "0026")
        assert _keys(engine) == []
        assert _plans(engine) == ids
        with engine.begin() as connection:  # nothing refuses a plan of no stored prospect
            connection.execute(sa.text(ORPHAN), {"yes": True, "day": START.date()})
        assert _plans(engine) == sorted([*ids, "p-gone"])

        command.downgrade(migrate.config(engine), "0025")
        assert _keys(engine) == [
            ("fk_custmgmt_followup_plans_prospect_id_custmgmt_prospects", "custmgmt_prospects")]
        assert _plans(engine) == ids  # the plan the key would refuse is gone

        migrate.upgrade(engine, "0026")
        assert _keys(engine) == []
        migrate.upgrade(engine, "head")
    finally:
        engine.dispose()
    with custmgmt.open(url, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        assert app.followups.due(alice, on=LATER) == due
        assert sorted(item.prospect_id for item in due) == ids
