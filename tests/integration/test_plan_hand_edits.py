"""A follow-up plan's columns edited by hand into values no plan has: reading it gives
StorageError, never what reading it raised (a KeyError, a ValueError from a date)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import custmgmt
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import StorageError
from tests.conftest import START
from tests.helpers import register_numbered

LATER = START.date() + timedelta(days=90)
EDITS = {"plan_grade = 'Z'": "a grade no plan has", "plan_grade = NULL": "no grade",
         "plan_stage = 'nowhere'": "a stage no plan has"}


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS.values()))
def test_a_plan_edited_by_hand_reads_as_a_storage_error(
        sql_url: str, edit: str) -> None:
    with custmgmt.open(sql_url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register_numbered(app, alice, 1)
        engine = sa.create_engine(sql_url)
        with engine.begin() as connection:
            connection.execute(sa.text(f"UPDATE custmgmt_prospects SET {edit}"))
        engine.dispose()
        with pytest.raises(StorageError):
            app.followups.plan(alice, p.id)
        if "stage" not in edit:  # a due list reads the grade, not the stage
            with pytest.raises(StorageError):
                app.followups.due(alice, on=LATER)


def test_a_date_edited_by_hand_into_no_date_reads_as_a_storage_error(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.db"  # PostgreSQL's DATE column refuses the edit
    with custmgmt.open(url, migrate=True, clock=FixedClock(START)) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register_numbered(app, alice, 1)
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE custmgmt_prospects SET plan_anchor = 'soon'"))
        engine.dispose()
        with pytest.raises(StorageError):
            app.followups.plan(alice, p.id)
