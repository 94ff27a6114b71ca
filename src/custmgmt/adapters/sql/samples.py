"""SQL repository for samples and their chain of custody."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
from sqlalchemy import ColumnElement, Select, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session

from custmgmt.adapters.sql.tables import (
    CustodyEventRow,
    SampleApplicationRow,
    SampleCounterRow,
    SampleFeedbackRow,
    SampleRow,
    table_of,
)
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.samples import (
    ApplicationStatus,
    CustodyEvent,
    CustodyKind,
    Feedback,
    FeedbackStatus,
    Hazard,
    Light,
    Sample,
    SampleInfo,
    SampleState,
    StorageCondition,
    UseApplication,
)
from custmgmt.errors import ConcurrencyError, NotFound, StorageError

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


def sample_values(sample: Sample) -> dict[str, Any]:
    """The sample's own row; its applications and feedback are child rows."""
    info, hazard, storage = sample.info, sample.hazard, sample.storage
    to, approver = sample.distribution_approval or (None, None)
    return {
        "id": sample.id, "customer_id": info.customer_id, "number": sample.number,
        "state": sample.state.value, "custodian": sample.custodian,
        "location": sample.location, "head_hash": sample.head_hash,
        "chain_length": sample.chain_length, "version": sample.version,
        "sample_name": info.sample_name, "quantity": info.quantity, "unit": info.unit,
        "description": info.description, "requested_work": info.requested_work,
        "hazard_class": None if hazard is None else hazard.hazard_class,
        "handling_procedure": None if hazard is None else hazard.handling_procedure,
        "classification": sample.classification,
        "storage_light": None if storage is None else storage.light.value,
        "storage_min_celsius": None if storage is None else storage.min_celsius,
        "storage_max_celsius": None if storage is None else storage.max_celsius,
        "storage_max_humidity_percent": None if storage is None
        else storage.max_humidity_percent,
        "storage_segregation": None if storage is None else storage.segregation,
        "single_use": sample.single_use, "received": sample.received,
        "in_storage": sample.in_storage, "checked_out": sample.checked_out,
        "consumed": sample.consumed, "disposed": sample.disposed,
        "distribution_to": to, "distribution_approved_by": approver,
    }


def application_values(sample_id: str, position: int, a: UseApplication) -> dict[str, Any]:
    return {
        "sample_id": sample_id, "id": a.id, "position": position, "applicant": a.applicant,
        "purpose": a.purpose, "quantity": a.quantity, "expected_return": a.expected_return,
        "status": a.status.value, "approved_by": a.approved_by,
        "hazard_approved_by": a.hazard_approved_by, "taken": a.taken, "used": a.used,
        "issued_by": a.issued_by,
    }


def feedback_values(sample_id: str, position: int, f: Feedback) -> dict[str, Any]:
    return {
        "sample_id": sample_id, "id": f.id, "position": position, "user_id": f.user,
        "filed_by": f.filed_by, "effect": f.effect, "problems": f.problems,
        "suggestions": f.suggestions, "submitted_at": f.submitted_at,
        "status": f.status.value, "archived_by": f.archived_by,
        "archived_at": f.archived_at, "review_note": f.review_note,
    }


def _to_application(row: SampleApplicationRow) -> UseApplication:
    return UseApplication(
        id=row.id, applicant=row.applicant, purpose=row.purpose, quantity=row.quantity,
        expected_return=row.expected_return, status=ApplicationStatus(row.status),
        approved_by=row.approved_by, hazard_approved_by=row.hazard_approved_by,
        taken=row.taken, used=row.used, issued_by=row.issued_by,
    )


def _to_feedback(row: SampleFeedbackRow) -> Feedback:
    return Feedback(
        id=row.id, user=row.user_id, filed_by=row.filed_by, effect=row.effect,
        problems=row.problems, suggestions=row.suggestions, submitted_at=row.submitted_at,
        status=FeedbackStatus(row.status), archived_by=row.archived_by,
        archived_at=row.archived_at, review_note=row.review_note,
    )


def _customer(row: SampleRow) -> str:
    if row.customer_id is None:  # every migration and write sets it
        raise StorageError(f"sample {row.id}: its row names no customer")
    return row.customer_id


def to_sample(
    row: SampleRow, applications: Sequence[SampleApplicationRow],
    feedback: Sequence[SampleFeedbackRow],
) -> Sample:
    """The sample from its row and its child rows (each in position order)."""
    hazard = None if row.hazard_class is None or row.handling_procedure is None else Hazard(
        hazard_class=row.hazard_class, handling_procedure=row.handling_procedure)
    storage = None if row.storage_light is None else StorageCondition(
        min_celsius=row.storage_min_celsius, max_celsius=row.storage_max_celsius,
        light=Light(row.storage_light),
        max_humidity_percent=row.storage_max_humidity_percent,
        segregation=row.storage_segregation)
    approval = (None if row.distribution_to is None or row.distribution_approved_by is None
                else (row.distribution_to, row.distribution_approved_by))
    return Sample(
        id=row.id, number=row.number,
        info=SampleInfo(customer_id=_customer(row), sample_name=row.sample_name,
                        quantity=row.quantity, unit=row.unit, description=row.description,
                        requested_work=row.requested_work),
        hazard=hazard, state=SampleState(row.state), custodian=row.custodian,
        location=row.location, classification=row.classification, storage=storage,
        single_use=row.single_use, received=row.received, in_storage=row.in_storage,
        checked_out=row.checked_out, consumed=row.consumed, disposed=row.disposed,
        applications=tuple(_to_application(a) for a in applications),
        feedback=tuple(_to_feedback(f) for f in feedback),
        distribution_approval=approval, head_hash=row.head_hash,
        chain_length=row.chain_length, version=row.version,
    )


Child = TypeVar("Child", UseApplication, Feedback)


class SqlSamples:
    """Samples as explicit columns plus two child tables (applications, feedback).

    An update rewrites only the child rows that changed since the sample was read in
    this unit of work (the versioned update of the sample's row proves nobody wrote
    it meanwhile); a sample not read here gets its child rows replaced, one DELETE
    and one INSERT per table."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._read: dict[str, Sample] = {}
        self._read_in: object = None

    def _memory(self) -> dict[str, Sample]:
        """Each sample as last read or written in the current transaction (after a
        rollback or commit what was read may not be what is stored: forgotten)."""
        transaction = self._s.get_transaction()
        if transaction is not self._read_in:
            self._read, self._read_in = {}, transaction
        return self._read

    def _load(self, statement: Select[SampleRow]) -> list[Sample]:
        """The samples ``statement`` (unordered) selects, in number order (unnumbered
        first on every back end: PostgreSQL puts NULL last unless told), each with its
        child rows: one statement per table, the children chosen by the same filter."""
        rows = self._s.scalars(statement.order_by(SampleRow.number.asc().nulls_first(),
                                                  SampleRow.id)
                               .execution_options(populate_existing=True)).all()
        if not rows:
            return []
        ids = statement.with_only_columns(SampleRow.id)

        def theirs(column: Mapped[str]) -> ColumnElement[bool]:
            return column == rows[0].id if len(rows) == 1 else column.in_(ids)

        apps: dict[str, list[SampleApplicationRow]] = {row.id: [] for row in rows}
        for a in self._s.scalars(
            select(SampleApplicationRow).where(theirs(SampleApplicationRow.sample_id))
            .order_by(SampleApplicationRow.sample_id, SampleApplicationRow.position)
            .execution_options(populate_existing=True)
        ):
            apps[a.sample_id].append(a)
        notes: dict[str, list[SampleFeedbackRow]] = {row.id: [] for row in rows}
        for f in self._s.scalars(
            select(SampleFeedbackRow).where(theirs(SampleFeedbackRow.sample_id))
            .order_by(SampleFeedbackRow.sample_id, SampleFeedbackRow.position)
            .execution_options(populate_existing=True)
        ):
            notes[f.sample_id].append(f)
        samples = [to_sample(row, apps[row.id], notes[row.id]) for row in rows]
        self._memory().update((sample.id, sample) for sample in samples)
        return samples

    def _sync(
        self, row: type[SampleApplicationRow | SampleFeedbackRow], sample_id: str,
        before: Sequence[Child] | None, after: Sequence[Child],
        values: Callable[[str, int, Child], dict[str, Any]],
    ) -> None:
        """Make the sample's child rows in ``row``'s table ``after``. With ``before`` (the
        entries as stored) only what changed is written; without, all are replaced."""
        table = table_of(row)
        mine = table.c.sample_id == sample_id
        if before is None:
            self._s.execute(delete(table).where(mine))
            if after:
                self._s.execute(insert(table), [values(sample_id, i, e)
                                                for i, e in enumerate(after)])
            return
        was = {e.id: (i, e) for i, e in enumerate(before)}
        gone = set(was) - {e.id for e in after}
        if gone:
            self._s.execute(delete(table).where(mine, table.c.id.in_(sorted(gone))))
        fresh, changed = [], []
        for i, e in enumerate(after):
            old = was.get(e.id)
            if old is None:
                fresh.append(values(sample_id, i, e))
            elif old != (i, e):
                changed.append({f"new_{k}" if k in ("sample_id", "id") else k: v
                                for k, v in values(sample_id, i, e).items()})
        if changed:
            self._s.execute(
                update(table).where(table.c.sample_id == bindparam("new_sample_id"),
                                    table.c.id == bindparam("new_id"))
                .execution_options(synchronize_session=False), changed)
        if fresh:
            self._s.execute(insert(table), fresh)

    def _children(self, sample: Sample, before: Sample | None) -> None:
        self._sync(SampleApplicationRow, sample.id,
                   None if before is None else before.applications, sample.applications,
                   application_values)
        self._sync(SampleFeedbackRow, sample.id,
                   None if before is None else before.feedback, sample.feedback,
                   feedback_values)

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
                self._s.execute(INSERT_SAMPLE, [sample_values(stored)])
                # diffed against no entries at all: inserts only
                self._children(stored, attrs.evolve(stored, applications=(), feedback=()))
        except IntegrityError:
            raise ConcurrencyError(f"sample {sample.id!r} or its number exists") from None
        self._append(events)
        self._memory()[stored.id] = stored
        return stored

    def update(self, sample: Sample, events: Sequence[CustodyEvent]) -> Sample:
        stored = attrs.evolve(sample, version=sample.version + 1)
        before = self._memory().get(sample.id)
        if before is not None and before.version != sample.version:
            before = None  # read at another version: replace the child rows
        try:
            with self._s.begin_nested():
                versioned_update(self._s, SampleRow, {"id": sample.id}, sample.version,
                                 sample_values(stored), "sample")
                self._children(stored, before)
        except IntegrityError:
            raise ConcurrencyError(f"sample number {sample.number!r} or one of its "
                                   "entries is taken") from None
        self._append(events)
        self._memory()[stored.id] = stored
        return stored

    def get(self, sample_id: str) -> Sample:
        found = self._load(select(SampleRow).where(SampleRow.id == sample_id))
        if not found:
            raise NotFound("sample", sample_id)
        return found[0]

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
        self, *, location: str | None = None, state: SampleState | None = None,
        customer_id: str | None = None,
    ) -> Sequence[Sample]:
        statement = select(SampleRow)
        if customer_id is not None:
            statement = statement.where(SampleRow.customer_id == customer_id)
        if location is not None:
            statement = statement.where(SampleRow.location == location)
        if state is not None:
            statement = statement.where(SampleRow.state == state.value)
        return self._load(statement)
