"""SQL repository for samples and their chain of custody."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs
import cattrs
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.tables import (
    CustodyEventRow,
    SampleCounterRow,
    SampleRow,
    table_of,
)
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.samples import CustodyEvent, CustodyKind, Sample, SampleState
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.serialization import structure

INSERT_SAMPLE = insert(table_of(SampleRow))
INSERT_EVENT = insert(table_of(CustodyEventRow))
INSERT_COUNTER = insert(table_of(SampleCounterRow))


def _event_values(e: CustodyEvent) -> dict[str, Any]:
    return {
        "sample_id": e.sample_id, "sequence": e.sequence, "kind": e.kind.value, "at": e.at,
        "actor_id": e.actor_id, "custodian": e.custodian, "location": e.location,
        "in_storage": e.in_storage, "checked_out": e.checked_out, "consumed": e.consumed,
        "disposed": e.disposed, "details": json.dumps([list(pair) for pair in e.details]),
        "record": e.record, "previous_hash": e.previous_hash, "hash": e.hash,
    }


def _to_event(row: CustodyEventRow) -> CustodyEvent:
    return CustodyEvent(
        sample_id=row.sample_id, sequence=row.sequence, kind=CustodyKind(row.kind),
        at=row.at, actor_id=row.actor_id, custodian=row.custodian, location=row.location,
        in_storage=row.in_storage, checked_out=row.checked_out, consumed=row.consumed,
        disposed=row.disposed,
        details=tuple((str(k), str(v)) for k, v in json.loads(row.details)),
        record=row.record, previous_hash=row.previous_hash, hash=row.hash,
    )


class SqlSamples:
    def __init__(self, session: Session, converter: cattrs.Converter) -> None:
        self._s = session
        self._c = converter

    def _values(self, sample: Sample) -> dict[str, Any]:
        return {
            "id": sample.id, "customer_id": sample.info.customer_id, "number": sample.number,
            "state": sample.state.value,
            "custodian": sample.custodian, "location": sample.location,
            "head_hash": sample.head_hash, "chain_length": sample.chain_length,
            "version": sample.version,
            "document": json.dumps(self._c.unstructure(sample), sort_keys=True),
        }

    def _to_sample(self, row: SampleRow) -> Sample:
        sample = structure(self._c, json.loads(row.document), Sample)
        # The columns are authoritative where they exist: queries select by them, and
        # verify_chain compares them (and the document) with the chain.
        return attrs.evolve(sample, number=row.number, state=SampleState(row.state),
                            custodian=row.custodian, location=row.location,
                            head_hash=row.head_hash, chain_length=row.chain_length,
                            version=row.version)

    def _append(self, events: Sequence[CustodyEvent]) -> None:
        if events:
            try:
                with self._s.begin_nested():
                    self._s.execute(INSERT_EVENT, [_event_values(e) for e in events])
            except IntegrityError:
                raise ConcurrencyError("a custody event with that sequence exists") from None

    def add(self, sample: Sample, events: Sequence[CustodyEvent]) -> Sample:
        stored = attrs.evolve(sample, version=1)
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_SAMPLE, [self._values(stored)])
        except IntegrityError:
            raise ConcurrencyError(f"sample {sample.id!r} or its number exists") from None
        self._append(events)
        return stored

    def update(self, sample: Sample, events: Sequence[CustodyEvent]) -> Sample:
        stored = attrs.evolve(sample, version=sample.version + 1)
        try:
            with self._s.begin_nested():
                versioned_update(self._s, SampleRow, {"id": sample.id}, sample.version,
                                 self._values(stored), "sample")
        except IntegrityError:
            raise ConcurrencyError(f"sample number {sample.number!r} is taken") from None
        self._append(events)
        return stored

    def get(self, sample_id: str) -> Sample:
        row = self._s.scalars(select(SampleRow).where(SampleRow.id == sample_id)
                              .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound("sample", sample_id)
        return self._to_sample(row)

    def chain(self, sample_id: str) -> Sequence[CustodyEvent]:
        rows = self._s.scalars(
            select(CustodyEventRow).where(CustodyEventRow.sample_id == sample_id)
            .order_by(CustodyEventRow.sequence).execution_options(populate_existing=True)
        ).all()
        return [_to_event(r) for r in rows]

    def next_number(self, year: int) -> int:
        bump = (update(SampleCounterRow).where(SampleCounterRow.year == year)
                .values(last=SampleCounterRow.last + 1).returning(SampleCounterRow.last)
                .execution_options(synchronize_session=False))
        taken = self._s.execute(bump).scalar_one_or_none()
        if taken is not None:
            return int(taken)
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_COUNTER, [{"year": year, "last": 1}])
        except IntegrityError:  # someone created the year's counter meanwhile
            return int(self._s.execute(bump).scalar_one())
        return 1

    def find(
        self, *, location: str | None = None, state: SampleState | None = None
    ) -> Sequence[Sample]:
        # Unnumbered samples first on every back end (PostgreSQL puts NULL last unless told).
        statement = select(SampleRow).order_by(SampleRow.number.asc().nulls_first(),
                                               SampleRow.id)
        if location is not None:
            statement = statement.where(SampleRow.location == location)
        if state is not None:
            statement = statement.where(SampleRow.state == state.value)
        rows = self._s.scalars(statement.execution_options(populate_existing=True)).all()
        return [self._to_sample(r) for r in rows]
