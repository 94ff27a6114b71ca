"""verify_chain catches an edited, deleted, inserted or reordered custody record, a
chain cut short, and a sample record that is not what its chain says, when the
stored rows are changed behind custmgmt's back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import attrs
import pytest
from sqlalchemy import text

import custmgmt
from custmgmt import Certification
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.domain.samples import (
    NOT_IN_RECORD,
    Hazard,
    Light,
    Sample,
    SampleInfo,
    SampleState,
    StorageCondition,
    UseApplication,
    record_digest,
)
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
    if storage.engine.dialect.name == "sqlite":  # quantities are text there
        params = {k: str(v) if isinstance(v, Decimal) else v for k, v in params.items()}
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
    columns = ("kind, at, actor_id, custodian, location, in_storage, checked_out, consumed, "
               "disposed, details, record, previous_hash, hash")
    _sql(app, f"INSERT INTO {TABLE} (sample_id, sequence, {columns}) SELECT sample_id, 4, "
              f"{columns} FROM {TABLE} WHERE sample_id = :s AND sequence = 3", s=sample_id)


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


# --- tampering with the sample record itself ---------------------------------------

def _memory_sample_edit(**changes: object) -> Tamper:
    def edit(app: App, sample_id: str) -> None:
        storage = app._storage
        assert isinstance(storage, MemoryStorage)
        sample = storage.state.samples[sample_id]
        storage.state.samples[sample_id] = attrs.evolve(sample, **changes)  # type: ignore[arg-type]

    return edit


def _sql_sample_column(column: str, value: object, table: str = "custmgmt_samples",
                       key: str = "id") -> Tamper:
    def edit(app: App, sample_id: str) -> None:
        _sql(app, f"UPDATE {table} SET {column} = :v WHERE {key} = :s", v=value, s=sample_id)

    return edit


def _sql_applications_deleted(app: App, sample_id: str) -> None:
    _sql(app, "DELETE FROM custmgmt_sample_applications WHERE sample_id = :s", s=sample_id)


RECORD_TAMPERING: dict[str, tuple[Tamper, Tamper, str]] = {
    "custodian": (_memory_sample_edit(custodian="u-mallory"),
                  _sql_sample_column("custodian", "u-mallory"), "the stored custodian differ"),
    "location": (_memory_sample_edit(location="car boot"),
                 _sql_sample_column("location", "car boot"), "the stored location differ"),
    "state": (_memory_sample_edit(state=SampleState.DISPOSED),
              _sql_sample_column("state", "disposed"), "the stored state differ"),
    "number": (_memory_sample_edit(number="S2026-000999"),
               _sql_sample_column("number", "S2026-000999"), "the stored number differ"),
    "quantities": (_memory_sample_edit(in_storage=Decimal("5"), consumed=Decimal("5")),
                   _sql_sample_column("in_storage", Decimal("5")), "the stored in_storage"),
    "received": (_memory_sample_edit(received=Decimal("100"), in_storage=Decimal("99")),
                 _sql_sample_column("received", Decimal("100")), "the stored received"),
    "hazard and other fields": (
        _memory_sample_edit(classification="harmless"),
        _sql_sample_column("classification", "harmless"),
        "the stored record differs from the one event 6 was written for"),
    "sample information": (
        _memory_sample_edit(single_use=True),
        _sql_sample_column("description", "something else"),
        "the stored record differs"),
    "an application": (
        _memory_sample_edit(applications=()),
        _sql_sample_column("used", Decimal("0.5"), "custmgmt_sample_applications",
                           "sample_id"),
        "the stored record differs"),
    "applications removed": (
        _memory_sample_edit(applications=()), _sql_applications_deleted,
        "the stored record differs"),
}


@pytest.mark.parametrize("how", list(RECORD_TAMPERING))
def test_an_edited_sample_record_is_caught(app: App, storage_url: str, how: str) -> None:
    qm, sample_id = a_used_sample(app)
    on_memory, on_sql, named = RECORD_TAMPERING[how]
    (on_memory if storage_url == "memory://" else on_sql)(app, sample_id)
    with pytest.raises(IntegrityError) as raised:
        app.samples.verify_chain(qm, sample_id)
    assert named in str(raised.value)
    assert "u-mallory" not in str(raised.value)


def test_every_field_of_the_sample_is_covered_by_the_record_digest() -> None:
    covered = {a.name for a in attrs.fields(Sample)} - set(NOT_IN_RECORD)
    sample = a_sample_record()
    for name in covered:
        value = getattr(sample, name)
        changed = attrs.evolve(sample, **{name: _other(value)})
        assert record_digest(changed) != record_digest(sample), name


def a_sample_record() -> Sample:
    info = SampleInfo.checked(customer_id="p-1", sample_name="resin", quantity="10",
                              unit="kg", description="bag", requested_work="test")
    return Sample(id="s-1", number="S2026-000001", info=info, custodian="u-reg",
                  received=Decimal(10), in_storage=Decimal(10), location="shelf A",
                  classification="c", hazard=Hazard(hazard_class="3", handling_procedure="H"),
                  storage=StorageCondition(light=Light.DARK))


def _other(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, Decimal):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, SampleState):
        return SampleState.DISPOSED
    if isinstance(value, tuple):
        return (*value, UseApplication(id="a-1", applicant="u", purpose="p",
                                       quantity=Decimal(1), expected_return=None))
    if value is None:
        return "something"
    if isinstance(value, SampleInfo):
        return attrs.evolve(value, unit="g")
    if isinstance(value, Hazard):
        return attrs.evolve(value, hazard_class="8")
    if isinstance(value, StorageCondition):
        return attrs.evolve(value, light=Light.ANY)
    raise AssertionError(f"no other value for {value!r}")


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_is_caught_and_named(app: App, storage_url: str, how: str) -> None:
    qm, sample_id = a_used_sample(app)
    assert app.samples.verify_chain(qm, sample_id) == 7
    on_memory, on_sql, named = TAMPERING[how]
    (on_memory if storage_url == "memory://" else on_sql)(app, sample_id)
    with pytest.raises(IntegrityError) as raised:
        app.samples.verify_chain(qm, sample_id)
    assert named in str(raised.value)
