"""A sample's update stays cheap on SQL: only the child rows that changed are written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import event

import custmgmt
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.domain import sample_moves as moves
from custmgmt.domain.samples import Feedback, Sample, UseApplication
from custmgmt.testing.builders import T0
from custmgmt.testing.sample_contract import CHAIN, received, registered


@contextmanager
def writes(storage: SqlStorage) -> Iterator[list[str]]:
    """The INSERT / UPDATE / DELETE statements run meanwhile (first two words + table)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        if words[0] in ("INSERT", "UPDATE", "DELETE"):
            table = words[2] if words[0] in ("INSERT", "DELETE") else words[1]
            seen.append(f"{words[0]} {table}")

    event.listen(storage.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(storage.engine, "before_cursor_execute", record)


def a_sample_with_entries(storage: SqlStorage) -> Sample:
    """A registered sample with two pending applications and two feedback entries (set
    directly: the repository stores what it is given)."""
    sample, events = received(1)
    moved, registration = registered(sample, "S2026-000001")
    moved = attrs.evolve(moved, applications=tuple(
        UseApplication(id=f"a-{n}", applicant="u-lab", purpose="test", quantity=Decimal(n),
                       expected_return=date(2026, 2, n)) for n in (1, 2)
    ), feedback=tuple(
        Feedback(id=f"fb-{n}", user="u-lab", filed_by="u-reg", effect=f"run {n}",
                 problems="none", suggestions="none", submitted_at=T0) for n in (1, 2)))
    with storage.unit_of_work() as uow, writes(storage) as seen:
        stored = uow.samples.add(moved, [*events, registration])
        uow.commit()
    assert sorted(seen) == ["INSERT custmgmt_custody_events",
                            "INSERT custmgmt_sample_applications",
                            "INSERT custmgmt_sample_feedback", "INSERT custmgmt_samples"]
    return stored


def test_an_update_writes_only_the_entry_that_changed(tmp_path: Path) -> None:
    with custmgmt.open(f"sqlite:///{tmp_path / 'crm.db'}", migrate=True) as app:
        storage = app._storage
        assert isinstance(storage, SqlStorage)
        a_sample_with_entries(storage)
        with storage.unit_of_work() as uow:
            sample = uow.samples.get("s-000001")
            moved, event_ = moves.approve(CHAIN, sample, "a-2", approver="u-reg", at=T0)
            with writes(storage) as seen:
                stored = uow.samples.update(moved, [event_])
            uow.commit()
        assert sorted(seen) == ["INSERT custmgmt_custody_events",
                                "UPDATE custmgmt_sample_applications", "UPDATE custmgmt_samples"]
        with storage.unit_of_work() as uow:
            assert uow.samples.get("s-000001") == stored


def test_a_sample_not_read_first_has_its_entries_replaced_in_one_go(tmp_path: Path) -> None:
    with custmgmt.open(f"sqlite:///{tmp_path / 'crm.db'}", migrate=True) as app:
        storage = app._storage
        assert isinstance(storage, SqlStorage)
        sample = a_sample_with_entries(storage)
        moved, event_ = moves.approve(CHAIN, sample, "a-2", approver="u-reg", at=T0)
        with storage.unit_of_work() as uow, writes(storage) as seen:
            stored = uow.samples.update(moved, [event_])
            uow.commit()
        assert sorted(seen) == [
            "DELETE custmgmt_sample_applications", "DELETE custmgmt_sample_feedback",
            "INSERT custmgmt_custody_events", "INSERT custmgmt_sample_applications",
            "INSERT custmgmt_sample_feedback", "UPDATE custmgmt_samples"]
        with storage.unit_of_work() as uow:
            assert uow.samples.get("s-000001") == stored


def test_what_was_read_before_a_rollback_is_not_diffed_against(tmp_path: Path) -> None:
    with custmgmt.open(f"sqlite:///{tmp_path / 'crm.db'}", migrate=True) as app:
        storage = app._storage
        assert isinstance(storage, SqlStorage)
        a_sample_with_entries(storage)
        with storage.unit_of_work() as uow:
            sample = uow.samples.get("s-000001")
            uow.rollback()
            moved, event_ = moves.approve(CHAIN, sample, "a-1", approver="u-reg", at=T0)
            with writes(storage) as seen:
                stored = uow.samples.update(moved, [event_])
            uow.commit()
        assert "DELETE custmgmt_sample_applications" in seen
        with storage.unit_of_work() as uow:
            assert uow.samples.get("s-000001") == stored
