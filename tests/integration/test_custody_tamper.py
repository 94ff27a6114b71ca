"""verify_chain catches an edited, deleted, inserted or reordered custody record, and a
chain cut short, when the stored rows are changed behind custmgmt's back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import attrs
import pytest
from sqlalchemy import text

import custmgmt
from custmgmt import Certification
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.errors import IntegrityError
from tests.helpers import a_customer

App = custmgmt.CustomerManagement
Tamper = Callable[[App, str], None]


def a_used_sample(app: App) -> tuple[custmgmt.Principal, str]:
    rita = app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                         certifications={Certification("sample_receiver", date(2026, 12, 31))})
    reg = app.principal("u-reg", roles={"sample_registry"})
    lab = app.principal("u-lab", roles={"sample_user"})
    qm = app.principal("u-qm", roles={"quality_manager"})
    s = app.samples.receive(rita, customer_id=a_customer(app), sample_name="resin", quantity="10",
                            unit="kg", description="bag", requested_work="test")
    app.samples.register(reg, s.id, classification="c", location="shelf A")
    a = app.samples.apply(lab, s.id, purpose="test", quantity=4)
    app.samples.approve(reg, s.id, a.id)
    app.samples.check_out(reg, s.id, a.id)
    app.samples.record_use(lab, s.id, a.id, used=1, note="run")
    app.samples.take_back(reg, s.id, a.id, quantity=3)
    return qm, s.id


# --- tampering with memory storage -------------------------------------------------

def _memory_events(app: App, sample_id: str) -> list[object]:
    storage = app._storage
    assert isinstance(storage, MemoryStorage)
    return storage.state.custody[sample_id]  # type: ignore[return-value]


def memory_edit(app: App, sample_id: str) -> None:
    events = _memory_events(app, sample_id)
    events[2] = attrs.evolve(events[2], details=(("quantity", "400"),))  # type: ignore[misc]


def memory_delete_middle(app: App, sample_id: str) -> None:
    del _memory_events(app, sample_id)[3]


def memory_delete_newest(app: App, sample_id: str) -> None:
    _memory_events(app, sample_id).pop()


def memory_insert(app: App, sample_id: str) -> None:
    events = _memory_events(app, sample_id)
    forged = attrs.evolve(events[3], sequence=4)  # type: ignore[misc]
    events[4:] = [forged] + [attrs.evolve(e, sequence=e.sequence + 1)  # type: ignore[misc,attr-defined]
                             for e in events[4:]]


def memory_reorder(app: App, sample_id: str) -> None:
    events = _memory_events(app, sample_id)
    e4, e5 = events[4], events[5]
    events[4] = attrs.evolve(e5, sequence=4)  # type: ignore[misc]
    events[5] = attrs.evolve(e4, sequence=5)  # type: ignore[misc]


# --- tampering with SQL rows --------------------------------------------------------

def _sql(app: App, statement: str, **params: object) -> None:
    storage = app._storage
    assert isinstance(storage, SqlStorage)
    with storage.engine.begin() as connection:
        connection.execute(text(statement), params)


TABLE = "custmgmt_custody_events"


def sql_edit(app: App, sample_id: str) -> None:
    _sql(app, f"UPDATE {TABLE} SET details = :d WHERE sample_id = :s AND sequence = 2",
         d=json.dumps([["quantity", "400"]]), s=sample_id)


def sql_delete_middle(app: App, sample_id: str) -> None:
    _sql(app, f"DELETE FROM {TABLE} WHERE sample_id = :s AND sequence = 3", s=sample_id)


def sql_delete_newest(app: App, sample_id: str) -> None:
    _sql(app, f"DELETE FROM {TABLE} WHERE sample_id = :s AND sequence = "
              f"(SELECT MAX(sequence) FROM {TABLE} WHERE sample_id = :s)", s=sample_id)


def sql_insert(app: App, sample_id: str) -> None:
    _sql(app, f"UPDATE {TABLE} SET sequence = sequence + 100 WHERE sample_id = :s "
              "AND sequence >= 4", s=sample_id)
    _sql(app, f"UPDATE {TABLE} SET sequence = sequence - 99 WHERE sample_id = :s "
              "AND sequence >= 100", s=sample_id)
    _sql(app, f"INSERT INTO {TABLE} SELECT sample_id, 4, kind, at, actor_id, custodian, "
              "location, in_storage, checked_out, consumed, disposed, details, previous_hash, "
              f"hash FROM {TABLE} WHERE sample_id = :s AND sequence = 3", s=sample_id)


def sql_reorder(app: App, sample_id: str) -> None:
    for old, new in ((4, -1), (5, 4), (-1, 5)):
        _sql(app, f"UPDATE {TABLE} SET sequence = :new WHERE sample_id = :s "
                  "AND sequence = :old", s=sample_id, old=old, new=new)


TAMPERING: dict[str, tuple[Tamper, Tamper, str]] = {
    "edit": (memory_edit, sql_edit, "event 2 was edited"),
    "delete": (memory_delete_middle, sql_delete_middle, "event 3 is missing"),
    "delete newest": (memory_delete_newest, sql_delete_newest, "the chain ends at event 6"),
    "insert": (memory_insert, sql_insert, "event 4"),
    "reorder": (memory_reorder, sql_reorder, "event 4"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_is_caught_and_named(app: App, storage_url: str, how: str) -> None:
    qm, sample_id = a_used_sample(app)
    assert app.samples.verify_chain(qm, sample_id) == 7
    on_memory, on_sql, named = TAMPERING[how]
    (on_memory if storage_url == "memory://" else on_sql)(app, sample_id)
    with pytest.raises(IntegrityError) as raised:
        app.samples.verify_chain(qm, sample_id)
    assert named in str(raised.value)
