"""The SQL care repositories: care files, complaints (history as a child table) and the
complaint reports, counted and summed by the database."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

import attrs
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    case,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from custmgmt.adapters.sql.column_types import UTCDateTime
from custmgmt.adapters.sql.tables import Base
from custmgmt.adapters.sql.versioned import save_versioned, versioned_update
from custmgmt.domain.care import CareFile, Preferences, StayPattern, month_day
from custmgmt.domain.complaints import (
    Complaint,
    ComplaintChannel,
    ComplaintEntry,
    ComplaintState,
    ComplaintStep,
    Severity,
)
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.care import ComplaintQuery, ComplaintTiming, RepeatComplainer


class CareFileRow(Base):
    __tablename__ = "custmgmt_care_files"

    customer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    room_type: Mapped[str | None] = mapped_column(String(100))
    floor: Mapped[str | None] = mapped_column(String(50))
    diet: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(50))
    tags: Mapped[str] = mapped_column(Text)
    """JSON list of texts."""
    usual_periods: Mapped[str] = mapped_column(Text)
    """JSON list of {"weekdays": [...], "months": [...], "note": ...}."""
    birthday: Mapped[date | None] = mapped_column(Date)
    birth_month_day: Mapped[str | None] = mapped_column(String(5), index=True)
    """``MM-DD`` of the birthday, for the birthday greetings of a day."""
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)


class ComplaintRow(Base):
    __tablename__ = "custmgmt_complaints"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    service: Mapped[str | None] = mapped_column(String(100))
    visit_id: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[str] = mapped_column(String(200))
    received_day: Mapped[date] = mapped_column(Date, index=True)
    received_month: Mapped[str] = mapped_column(String(7))
    acknowledge_due: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_due: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))
    is_open: Mapped[bool] = mapped_column(Boolean)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_seconds: Mapped[int | None] = mapped_column(Integer)
    acknowledged_late: Mapped[bool] = mapped_column(Boolean)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_seconds: Mapped[int | None] = mapped_column(Integer)
    resolved_late: Mapped[bool] = mapped_column(Boolean)
    resolution: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_escalated: Mapped[bool] = mapped_column(Boolean)
    resolve_escalated: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_custmgmt_complaints_received", "received_at", "id"),
                      Index("ix_custmgmt_complaints_open", "is_open", "received_at"))


class ComplaintStepRow(Base):
    __tablename__ = "custmgmt_complaint_steps"

    complaint_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_complaints.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)


# -- care files ----------------------------------------------------------------------

def _periods_json(periods: tuple[StayPattern, ...]) -> str:
    return json.dumps([{"weekdays": list(p.weekdays), "months": list(p.months),
                        "note": p.note} for p in periods], ensure_ascii=False)


def _periods(text: str) -> tuple[StayPattern, ...]:
    return tuple(StayPattern(weekdays=p["weekdays"], months=p["months"], note=p["note"])
                 for p in json.loads(text))


def care_file_values(f: CareFile, version: int) -> dict[str, object]:
    p = f.preferences
    return {"room_type": p.room_type, "floor": p.floor, "diet": p.diet,
            "language": p.language, "tags": json.dumps(list(p.tags), ensure_ascii=False),
            "usual_periods": _periods_json(f.usual_periods), "birthday": f.birthday,
            "birth_month_day": None if f.birthday is None else month_day(f.birthday),
            "updated_at": f.updated_at,
            "updated_by": f.updated_by, "version": version}


def to_care_file(row: CareFileRow) -> CareFile:
    return CareFile(
        customer_id=row.customer_id,
        preferences=Preferences(room_type=row.room_type, floor=row.floor, diet=row.diet,
                                language=row.language, tags=tuple(json.loads(row.tags))),
        usual_periods=_periods(row.usual_periods), birthday=row.birthday,
        updated_at=row.updated_at,
        updated_by=row.updated_by, version=row.version)


class SqlCareFiles:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, customer_id: str) -> CareFile | None:
        row = self._s.scalars(
            select(CareFileRow).where(CareFileRow.customer_id == customer_id)
            .execution_options(populate_existing=True)).one_or_none()
        return None if row is None else to_care_file(row)

    def save(self, care_file: CareFile) -> CareFile:
        cid, version = care_file.customer_id, care_file.version
        values = care_file_values(care_file, version + 1)
        save_versioned(self._s, CareFileRow, {"customer_id": cid}, version, values,
                       "care file")
        return attrs.evolve(care_file, version=version + 1)

    def born_on(self, month_days: Sequence[str]) -> Sequence[str]:
        rows = self._s.scalars(select(CareFileRow.customer_id).where(
            CareFileRow.birth_month_day.in_(list(month_days)))
            .order_by(CareFileRow.customer_id)).all()
        return list(rows)


# -- complaints ----------------------------------------------------------------------

def complaint_values(c: Complaint) -> dict[str, object]:
    ack, res = c.seconds_to_acknowledge, c.seconds_to_resolve
    return {
        "id": c.id, "customer_id": c.customer_id, "channel": c.channel.value,
        "severity": c.severity.value, "summary": c.summary, "service": c.service,
        "visit_id": c.visit_id, "received_at": c.received_at, "received_by": c.received_by,
        "received_day": c.received_day, "received_month": c.received_day.strftime("%Y-%m"),
        "acknowledge_due": c.acknowledge_due, "resolve_due": c.resolve_due,
        "state": c.state.value, "is_open": c.is_open, "acknowledged_at": c.acknowledged_at,
        "acknowledge_seconds": ack,
        "acknowledged_late": c.acknowledged_late,
        "resolved_at": c.resolved_at, "first_resolved_at": c.first_resolved_at,
        "resolve_seconds": res,
        "resolved_late": c.resolved_late,
        "resolution": c.resolution, "confirmed_at": c.confirmed_at,
        "acknowledge_escalated": c.acknowledge_escalated,
        "resolve_escalated": c.resolve_escalated, "version": c.version,
    }


def to_complaint(row: ComplaintRow, steps: Sequence[ComplaintStepRow]) -> Complaint:
    return Complaint(
        id=row.id, customer_id=row.customer_id, channel=ComplaintChannel(row.channel),
        severity=Severity(row.severity), summary=row.summary, service=row.service,
        visit_id=row.visit_id, received_at=row.received_at, received_by=row.received_by,
        received_day=row.received_day, acknowledge_due=row.acknowledge_due,
        resolve_due=row.resolve_due, state=ComplaintState(row.state),
        acknowledged_at=row.acknowledged_at, resolved_at=row.resolved_at,
        first_resolved_at=row.first_resolved_at, resolution=row.resolution,
        confirmed_at=row.confirmed_at, acknowledged_late=row.acknowledged_late,
        resolved_late=row.resolved_late, acknowledge_escalated=row.acknowledge_escalated,
        resolve_escalated=row.resolve_escalated,
        history=tuple(ComplaintEntry(step=ComplaintStep(s.step), by=s.by, at=s.at, note=s.note)
                      for s in sorted(steps, key=lambda s: s.position)),
        version=row.version)


class SqlComplaints:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _load(self, rows: Sequence[ComplaintRow]) -> list[Complaint]:
        if not rows:
            return []
        steps: dict[str, list[ComplaintStepRow]] = {r.id: [] for r in rows}
        for s in self._s.scalars(select(ComplaintStepRow).where(
                ComplaintStepRow.complaint_id.in_(list(steps)))
                .execution_options(populate_existing=True)):
            steps[s.complaint_id].append(s)
        return [to_complaint(r, steps[r.id]) for r in rows]

    def _steps(self, c: Complaint, start: int) -> None:
        values = [{"complaint_id": c.id, "position": start + n, "step": e.step.value,
                   "by": e.by, "at": e.at, "note": e.note}
                  for n, e in enumerate(c.history[start:])]
        if values:
            self._s.execute(insert(ComplaintStepRow), values)

    def add(self, complaint: Complaint) -> Complaint:
        stored = attrs.evolve(complaint, version=1)
        try:
            with self._s.begin_nested():
                self._s.execute(insert(ComplaintRow), [complaint_values(stored)])
        except IntegrityError:
            raise ConcurrencyError(f"complaint {complaint.id!r} already exists") from None
        self._steps(stored, 0)
        return stored

    def get(self, complaint_id: str) -> Complaint:
        row = self._s.scalars(select(ComplaintRow).where(ComplaintRow.id == complaint_id)
                              .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound("complaint", complaint_id)
        return self._load([row])[0]

    def update(self, complaint: Complaint) -> Complaint:
        stored = attrs.evolve(complaint, version=complaint.version + 1)
        versioned_update(self._s, ComplaintRow, {"id": complaint.id}, complaint.version,
                         complaint_values(stored), "complaint")
        known = self._s.scalar(select(func.count()).select_from(ComplaintStepRow).where(
            ComplaintStepRow.complaint_id == complaint.id)) or 0
        self._steps(stored, known)
        return stored

    def find(self, query: ComplaintQuery) -> Sequence[Complaint]:
        row = ComplaintRow
        clauses: list[ColumnElement[bool]] = []
        if query.customer_id is not None:
            clauses.append(row.customer_id == query.customer_id)
        if query.state is not None:
            clauses.append(row.state == query.state.value)
        if query.open_only:
            clauses.append(row.is_open.is_(True))
        if query.after is not None:
            at, cid = query.after
            clauses.append(or_(row.received_at > at,
                               and_(row.received_at == at, row.id > cid)))
        rows = self._s.scalars(
            select(row).where(*clauses).order_by(row.received_at, row.id).limit(query.limit)
            .execution_options(populate_existing=True)).all()
        return self._load(rows)

    def overdue(self, now: datetime, limit: int) -> Sequence[Complaint]:
        row = ComplaintRow
        late_ack = and_(row.state == ComplaintState.RECEIVED.value,
                        row.acknowledge_escalated.is_(False), row.acknowledge_due < now)
        late_res = and_(row.is_open.is_(True), row.resolve_escalated.is_(False),
                        row.resolve_due < now)
        rows = self._s.scalars(
            select(row).where(or_(late_ack, late_res)).order_by(row.received_at, row.id)
            .limit(limit).execution_options(populate_existing=True)).all()
        return self._load(rows)

    def count_open(self, received_from: datetime | None, received_before: datetime | None
                   ) -> int:
        row = ComplaintRow
        clauses: list[ColumnElement[bool]] = [row.is_open.is_(True)]
        if received_from is not None:
            clauses.append(row.received_at >= received_from)
        if received_before is not None:
            clauses.append(row.received_at < received_before)
        return int(self._s.scalar(select(func.count()).select_from(row).where(*clauses)) or 0)

    def timing(self, date_from: date, date_to: date) -> Sequence[ComplaintTiming]:
        row = ComplaintRow

        def flag(column: Mapped[bool]) -> ColumnElement[int]:
            return func.sum(case((column.is_(True), 1), else_=0))

        result = self._s.execute(
            select(row.received_month, func.count(), func.count(row.acknowledge_seconds),
                   func.coalesce(func.sum(row.acknowledge_seconds), 0),
                   flag(row.acknowledged_late), func.count(row.resolve_seconds),
                   func.coalesce(func.sum(row.resolve_seconds), 0), flag(row.resolved_late))
            .where(row.received_day >= date_from, row.received_day <= date_to)
            .group_by(row.received_month).order_by(row.received_month))
        return [ComplaintTiming(month=m, received=int(n), acknowledged=int(a),
                                acknowledge_seconds=int(asec or 0), acknowledged_late=int(al or 0),
                                resolved=int(r), resolve_seconds=int(rsec or 0),
                                resolved_late=int(rl or 0))
                for m, n, a, asec, al, r, rsec, rl in result]

    def repeat_complainers(self, date_from: date, date_to: date, at_least: int,
                           limit: int) -> Sequence[RepeatComplainer]:
        row = ComplaintRow
        count = func.count()
        result = self._s.execute(
            select(row.customer_id, count, func.max(row.received_at))
            .where(row.received_day >= date_from, row.received_day <= date_to)
            .group_by(row.customer_id).having(count >= at_least)
            .order_by(count.desc(), row.customer_id).limit(limit))
        return [RepeatComplainer(customer_id=cid, complaints=int(n),
                                 last_received_at=last) for cid, n, last in result]
