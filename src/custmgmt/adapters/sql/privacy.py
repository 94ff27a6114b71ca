"""SQL table and repository of personal-information requests.

A request row holds who asked about whom (a customer or prospect id, or a
sealed identity key), when it is due and how it was answered: never a name,
phone or e-mail in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import attrs
from sqlalchemy import Date, Index, Integer, String, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from custmgmt.adapters.sql.column_types import UTCDateTime
from custmgmt.adapters.sql.tables import Base
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.privacy import (
    PiRequest,
    RequestKind,
    RequestStatus,
    Subject,
    SubjectKind,
)
from custmgmt.errors import ConcurrencyError, NotFound


class PiRequestRow(Base):
    __tablename__ = "custmgmt_pi_requests"
    __table_args__ = (Index("ix_custmgmt_pi_requests_status_due", "status", "due_on"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_ref: Mapped[str] = mapped_column(String(100), index=True)
    received_by: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(2000))
    reason: Mapped[str | None] = mapped_column(String(2000))
    version: Mapped[int] = mapped_column(Integer)


def _values(r: PiRequest) -> dict[str, object]:
    return {"id": r.id, "kind": r.kind.value, "subject_kind": r.subject.kind.value,
            "subject_ref": r.subject.ref, "received_by": r.received_by,
            "received_at": r.received_at, "due_on": r.due_on, "status": r.status.value,
            "answered_by": r.answered_by, "answered_at": r.answered_at,
            "outcome": r.outcome, "reason": r.reason, "version": r.version}


def _to_request(row: PiRequestRow) -> PiRequest:
    return PiRequest(
        id=row.id, kind=RequestKind(row.kind),
        subject=Subject(kind=SubjectKind(row.subject_kind), ref=row.subject_ref),
        received_by=row.received_by, received_at=row.received_at, due_on=row.due_on,
        status=RequestStatus(row.status), answered_by=row.answered_by,
        answered_at=row.answered_at, outcome=row.outcome, reason=row.reason,
        version=row.version)


class SqlPiRequests:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, request: PiRequest) -> PiRequest:
        stored = attrs.evolve(request, version=1)
        try:
            with self._s.begin_nested():
                self._s.execute(insert(PiRequestRow), [_values(stored)])
        except IntegrityError:
            raise ConcurrencyError(f"personal-information request {request.id!r} already "
                                   "exists") from None
        return stored

    def get(self, request_id: str) -> PiRequest:
        row = self._s.scalars(select(PiRequestRow).where(PiRequestRow.id == request_id)
                              .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound("personal-information request", request_id)
        return _to_request(row)

    def update(self, request: PiRequest) -> PiRequest:
        stored = attrs.evolve(request, version=request.version + 1)
        values = _values(stored)
        del values["id"]
        versioned_update(self._s, PiRequestRow, {"id": request.id}, request.version, values,
                         "personal-information request")
        return stored

    def find(
        self,
        *,
        status: RequestStatus | None = None,
        due_before: date | None = None,
        subject_ref: str | None = None,
        limit: int = 500,
    ) -> Sequence[PiRequest]:
        row = PiRequestRow
        statement = select(row)
        if status is not None:
            statement = statement.where(row.status == status.value)
        if due_before is not None:
            statement = statement.where(row.due_on < due_before)
        if subject_ref is not None:
            statement = statement.where(row.subject_ref == subject_ref)
        rows = self._s.scalars(statement.order_by(row.received_at, row.id)
                               .limit(max(limit, 0))
                               .execution_options(populate_existing=True)).all()
        return [_to_request(r) for r in rows]
