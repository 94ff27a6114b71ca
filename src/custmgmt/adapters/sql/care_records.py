"""The SQL repositories of care records: visits, survey responses (answers as a child
table), care tasks and memberships (tier changes as a child table). Spend is kept in
whole minor units, so sums are exact on every engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import attrs
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    case,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from custmgmt.adapters.sql.column_types import UTCDateTime
from custmgmt.adapters.sql.tables import Base, CustomerRow
from custmgmt.adapters.sql.versioned import save_versioned, versioned_update
from custmgmt.domain.care import VisitKind
from custmgmt.domain.common import CURRENCY_MINOR_UNITS, Money
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.membership import Membership, TierChange
from custmgmt.domain.surveys import Answer, CareTask, ScoreCount, SurveyResponse, TaskState
from custmgmt.domain.visits import Activity, Visit
from custmgmt.errors import ConcurrencyError, NotFound


class VisitRow(Base):
    __tablename__ = "custmgmt_visits"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    spend_minor: Mapped[int] = mapped_column(BigInteger)
    service: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_custmgmt_visits_customer_ended", "customer_id", "ended_on"),)


class SurveyResponseRow(Base):
    __tablename__ = "custmgmt_survey_responses"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100), index=True)
    visit_id: Mapped[str] = mapped_column(String(100))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_day: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))


class SurveyAnswerRow(Base):
    __tablename__ = "custmgmt_survey_answers"

    response_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_survey_responses.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    answered_day: Mapped[date] = mapped_column(Date)
    """The response's local date, kept here so the report is one grouped query."""
    service: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(String(300))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_custmgmt_survey_answers_day", "answered_day", "service"),)


class CareTaskRow(Base):
    __tablename__ = "custmgmt_care_tasks"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    response_id: Mapped[str] = mapped_column(String(100))
    service: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(String(300))
    score: Mapped[int] = mapped_column(Integer)
    assignee_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)


class MembershipRow(Base):
    __tablename__ = "custmgmt_memberships"

    customer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tier: Mapped[str] = mapped_column(String(50))
    since: Mapped[date] = mapped_column(Date)
    evaluated_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)


class TierChangeRow(Base):
    __tablename__ = "custmgmt_tier_changes"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_memberships.customer_id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    on: Mapped[date] = mapped_column(Date)
    before: Mapped[str | None] = mapped_column(String(50))
    after: Mapped[str] = mapped_column(String(50))
    rule: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


def _minor(money: Money) -> int:
    return int(money.amount.scaleb(CURRENCY_MINOR_UNITS[money.currency]))


def _money(minor: int, currency: str) -> Money:
    return Money(Decimal(minor).scaleb(-CURRENCY_MINOR_UNITS[currency]), currency)


def _insert_once(session: Session, row: type[Base], values: list[dict[str, object]],
                 what: str) -> None:
    try:
        with session.begin_nested():
            session.execute(insert(row), values)
    except IntegrityError:
        raise ConcurrencyError(f"{what} already exists") from None


class SqlVisits:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, visit: Visit) -> None:
        _insert_once(self._s, VisitRow, [{
            "id": visit.id, "customer_id": visit.customer_id, "kind": visit.kind.value,
            "started_on": visit.started_on, "ended_on": visit.ended_on,
            "currency": visit.spend.currency, "spend_minor": _minor(visit.spend),
            "service": visit.service, "recorded_by": visit.recorded_by,
            "recorded_at": visit.recorded_at}], f"visit {visit.id!r}")

    @staticmethod
    def _visit(r: VisitRow) -> Visit:
        return Visit(id=r.id, customer_id=r.customer_id, kind=VisitKind(r.kind),
                     started_on=r.started_on, ended_on=r.ended_on,
                     spend=_money(r.spend_minor, r.currency), service=r.service,
                     recorded_by=r.recorded_by, recorded_at=r.recorded_at)

    def get(self, visit_id: str) -> Visit:
        row = self._s.get(VisitRow, visit_id, populate_existing=True)
        if row is None:
            raise NotFound("visit", visit_id)
        return self._visit(row)

    def find(self, customer_id: str, limit: int) -> Sequence[Visit]:
        rows = self._s.scalars(
            select(VisitRow).where(VisitRow.customer_id == customer_id)
            .order_by(VisitRow.ended_on.desc(), VisitRow.id.desc()).limit(limit)
            .execution_options(populate_existing=True)).all()
        return [self._visit(r) for r in rows]

    def _spend(self, currency: str) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((VisitRow.currency == currency,
                                            VisitRow.spend_minor), else_=0)), 0)

    def totals(self, customer_id: str, date_from: date, date_to: date, currency: str
               ) -> tuple[int, Money]:
        v = VisitRow
        count, spend = self._s.execute(
            select(func.count(), self._spend(currency)).where(
                v.customer_id == customer_id, v.ended_on >= date_from,
                v.ended_on <= date_to)).one()
        return int(count), _money(int(spend or 0), currency)

    def activity(self, date_from: date, date_to: date, currency: str) -> Sequence[Activity]:
        v = VisitRow
        within = v.ended_on >= date_from
        result = self._s.execute(
            select(v.customer_id, func.max(v.ended_on),
                   func.coalesce(func.sum(case((within, 1), else_=0)), 0),
                   func.coalesce(func.sum(case(((within) & (v.currency == currency),
                                                v.spend_minor), else_=0)), 0))
            .join(CustomerRow, CustomerRow.id == v.customer_id)
            .where(v.ended_on <= date_to, CustomerRow.status == CustomerStatus.ACTIVE.value)
            .group_by(v.customer_id).order_by(v.customer_id))
        return [Activity(customer_id=cid, last_visit=_day(last), visits=int(n),
                         spend=_money(int(minor or 0), currency))
                for cid, last, n, minor in result]


def _day(value: date | str) -> date:
    """``max()`` of a date column: SQLite may hand back its text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


class SqlSurveys:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, response: SurveyResponse) -> None:
        _insert_once(self._s, SurveyResponseRow, [{
            "id": response.id, "customer_id": response.customer_id,
            "visit_id": response.visit_id, "answered_at": response.answered_at,
            "answered_day": response.answered_day, "recorded_by": response.recorded_by}],
            f"survey response {response.id!r}")
        self._s.execute(insert(SurveyAnswerRow), [
            {"response_id": response.id, "position": n, "answered_day": response.answered_day,
             "service": a.service, "question": a.question, "score": a.score,
             "comment": a.comment} for n, a in enumerate(response.answers)])

    def get(self, response_id: str) -> SurveyResponse:
        row = self._s.get(SurveyResponseRow, response_id, populate_existing=True)
        if row is None:
            raise NotFound("survey response", response_id)
        answers = self._s.scalars(
            select(SurveyAnswerRow).where(SurveyAnswerRow.response_id == response_id)
            .order_by(SurveyAnswerRow.position).execution_options(populate_existing=True))
        return SurveyResponse(
            id=row.id, customer_id=row.customer_id, visit_id=row.visit_id,
            answers=tuple(Answer(service=a.service, question=a.question, score=a.score,
                                 comment=a.comment) for a in answers),
            answered_at=row.answered_at, answered_day=row.answered_day,
            recorded_by=row.recorded_by)

    def score_counts(self, date_from: date, date_to: date) -> Sequence[ScoreCount]:
        a = SurveyAnswerRow
        result = self._s.execute(
            select(a.service, a.score, func.count())
            .where(a.answered_day >= date_from, a.answered_day <= date_to)
            .group_by(a.service, a.score).order_by(a.service, a.score))
        return [ScoreCount(service=s, score=int(n), count=int(c)) for s, n, c in result]


def _task_values(t: CareTask) -> dict[str, object]:
    return {"id": t.id, "customer_id": t.customer_id, "response_id": t.response_id,
            "service": t.service, "question": t.question, "score": t.score,
            "assignee_id": t.assignee_id, "created_at": t.created_at, "state": t.state.value,
            "closed_at": t.closed_at, "closed_by": t.closed_by, "outcome": t.outcome,
            "version": t.version}


class SqlCareTasks:
    def __init__(self, session: Session) -> None:
        self._s = session

    @staticmethod
    def _task(r: CareTaskRow) -> CareTask:
        return CareTask(id=r.id, customer_id=r.customer_id, response_id=r.response_id,
                        service=r.service, question=r.question, score=r.score,
                        assignee_id=r.assignee_id, created_at=r.created_at,
                        state=TaskState(r.state), closed_at=r.closed_at,
                        closed_by=r.closed_by, outcome=r.outcome, version=r.version)

    def add(self, task: CareTask) -> CareTask:
        stored = attrs.evolve(task, version=1)
        _insert_once(self._s, CareTaskRow, [_task_values(stored)], f"care task {task.id!r}")
        return stored

    def get(self, task_id: str) -> CareTask:
        row = self._s.get(CareTaskRow, task_id, populate_existing=True)
        if row is None:
            raise NotFound("care task", task_id)
        return self._task(row)

    def update(self, task: CareTask) -> CareTask:
        stored = attrs.evolve(task, version=task.version + 1)
        versioned_update(self._s, CareTaskRow, {"id": task.id}, task.version,
                         _task_values(stored), "care task")
        return stored

    def find(self, assignee_id: str | None, state: TaskState | None, limit: int
             ) -> Sequence[CareTask]:
        t = CareTaskRow
        clauses: list[ColumnElement[bool]] = []
        if assignee_id is not None:
            clauses.append(t.assignee_id == assignee_id)
        if state is not None:
            clauses.append(t.state == state.value)
        rows = self._s.scalars(select(t).where(*clauses).order_by(t.created_at, t.id)
                               .limit(limit).execution_options(populate_existing=True)).all()
        return [self._task(r) for r in rows]


class SqlMemberships:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, customer_id: str) -> Membership | None:
        row = self._s.get(MembershipRow, customer_id, populate_existing=True)
        if row is None:
            return None
        changes = self._s.scalars(
            select(TierChangeRow).where(TierChangeRow.customer_id == customer_id)
            .order_by(TierChangeRow.position).execution_options(populate_existing=True))
        return Membership(
            customer_id=row.customer_id, tier=row.tier, since=row.since,
            evaluated_on=row.evaluated_on,
            history=tuple(TierChange(on=c.on, before=c.before, after=c.after, rule=c.rule,
                                     by=c.by, at=c.at) for c in changes),
            version=row.version)

    def save(self, membership: Membership) -> Membership:
        cid, version = membership.customer_id, membership.version
        values = {"tier": membership.tier, "since": membership.since,
                  "evaluated_on": membership.evaluated_on, "version": version + 1}
        save_versioned(self._s, MembershipRow, {"customer_id": cid}, version, values,
                       "membership")
        known = 0 if version == 0 else self._s.scalar(
            select(func.count()).select_from(TierChangeRow)
            .where(TierChangeRow.customer_id == cid)) or 0
        new = [{"customer_id": cid, "position": known + n, "on": c.on, "before": c.before,
                "after": c.after, "rule": c.rule, "by": c.by, "at": c.at}
               for n, c in enumerate(membership.history[known:])]
        if new:
            self._s.execute(insert(TierChangeRow), new)
        return attrs.evolve(membership, version=version + 1)
