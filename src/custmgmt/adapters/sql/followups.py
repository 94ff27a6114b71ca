"""SQL repositories for follow-up plans and follow-up records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from operator import itemgetter
from typing import Any

import attrs
from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.driver import driver_insert, driver_rows, insert_rows
from custmgmt.adapters.sql.reach import reach_clause
from custmgmt.adapters.sql.tables import ClosedMonthRow, FollowUpPlanRow, FollowUpRow, table_of
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.common import ProspectId
from custmgmt.domain.followups import Channel, ClosedMonth, DueItem, FollowUp, FollowUpPlan
from custmgmt.domain.prospects import Grade, Stage
from custmgmt.errors import ConcurrencyError
from custmgmt.ports.auth import Reach, Scope
from custmgmt.ports.storage import FollowUpQuery, OnTimeCount, VisitDay

INSERT_PLAN = insert(table_of(FollowUpPlanRow))
INSERT_FOLLOW_UP = insert(table_of(FollowUpRow))
INSERT_CLOSED = insert(table_of(ClosedMonthRow))

PLANS = table_of(FollowUpPlanRow)
GRADES = {grade.value: grade for grade in Grade}


def _due(*where: ColumnElement[bool]) -> Select[tuple[str, str, str, date]]:
    """Active plans due by ``:on``, in (next_due, prospect_id) order. The indexes
    (owner_id | owner_team | -, active, next_due, prospect_id) serve filter and order."""
    return select(PLANS.c.prospect_id, PLANS.c.owner_id, PLANS.c.grade, PLANS.c.next_due).where(
        PLANS.c.active == true(), PLANS.c.next_due <= bindparam("on"), *where)


def _ordered(*parts: Select[tuple[str, str, str, date]]) -> Any:
    if len(parts) == 1:
        return parts[0].order_by(PLANS.c.next_due, PLANS.c.prospect_id)
    # One ordered index range per part, merged (no sort): SQLite merges a compound
    # select's ordered halves, PostgreSQL plans a Merge Append.
    both = union_all(*parts)
    return both.order_by(both.selected_columns.next_due, both.selected_columns.prospect_id)


DUE_ANY = _ordered(_due())
DUE_OWNER = _ordered(_due(PLANS.c.owner_id == bindparam("owner")))
DUE_TEAM = _ordered(
    _due(PLANS.c.owner_team == bindparam("team")),
    _due(PLANS.c.owner_id == bindparam("me"),
         or_(PLANS.c.owner_team.is_(None), PLANS.c.owner_team != bindparam("team"))),
)
DUE_TEAM_OWNER = _ordered(
    _due(PLANS.c.owner_team == bindparam("team"), PLANS.c.owner_id == bindparam("owner")),
    _due(PLANS.c.owner_id == bindparam("me"), PLANS.c.owner_id == bindparam("owner"),
         or_(PLANS.c.owner_team.is_(None), PLANS.c.owner_team != bindparam("team"))),
)


def _plan_values(plan: FollowUpPlan) -> dict[str, Any]:
    return {
        "prospect_id": plan.prospect_id, "owner_id": plan.owner_id,
        "owner_team": plan.owner_team, "grade": plan.grade.value, "stage": plan.stage.value,
        "active": plan.active,
        "anchor": plan.anchor, "override": plan.override, "next_due": plan.next_due,
        "version": plan.version,
    }


def _to_plan(row: FollowUpPlanRow) -> FollowUpPlan:
    return FollowUpPlan(
        prospect_id=ProspectId(row.prospect_id), owner_id=row.owner_id,
        owner_team=row.owner_team, grade=Grade(row.grade), stage=Stage(row.stage),
        active=row.active,
        anchor=row.anchor, override=row.override, next_due=row.next_due, version=row.version,
    )


class SqlPlans:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, prospect_id: str) -> FollowUpPlan | None:
        row = self._s.scalars(select(FollowUpPlanRow)
                              .where(FollowUpPlanRow.prospect_id == prospect_id)
                              .execution_options(populate_existing=True)).one_or_none()
        return None if row is None else _to_plan(row)

    def save(self, plan: FollowUpPlan) -> FollowUpPlan:
        stored = attrs.evolve(plan, version=plan.version + 1)
        if plan.version == 0:
            # an existing plan is skipped, not an error: no savepoint needed
            if not insert_rows(self._s, PLANS, [_plan_values(stored)], skip_conflicts=True):
                raise ConcurrencyError(f"plan of {plan.prospect_id!r} already exists")
            return stored
        versioned_update(self._s, FollowUpPlanRow, {"prospect_id": plan.prospect_id},
                         plan.version, _plan_values(stored), "plan")
        return stored

    def add_many(self, plans: Sequence[FollowUpPlan]) -> None:
        values = [{**_plan_values(p), "version": 1} for p in plans]
        if len(values) == 1:  # a single registration's plan: one compiled INSERT
            insert_rows(self._s, PLANS, values)
        elif values:  # an import batch's: executemany on SQLite, COPY on PostgreSQL
            driver_insert(self._s, PLANS, values)

    def due(self, reach: Reach, on: date, owner: str | None = None) -> Sequence[FollowUpPlan]:
        clauses: list[ColumnElement[bool]] = [
            FollowUpPlanRow.active.is_(True), FollowUpPlanRow.next_due <= on,
            *reach_clause(reach, FollowUpPlanRow.owner_id, FollowUpPlanRow.owner_team),
        ]
        if owner is not None:
            clauses.append(FollowUpPlanRow.owner_id == owner)
        rows = self._s.scalars(
            select(FollowUpPlanRow).where(*clauses)
            .order_by(FollowUpPlanRow.next_due, FollowUpPlanRow.prospect_id)
            .execution_options(populate_existing=True)
        ).all()
        return [_to_plan(r) for r in rows]

    def due_items(self, reach: Reach, on: date, owner: str | None = None) -> Sequence[DueItem]:
        params: dict[str, Any] = {"on": on}
        if reach.scope is Scope.NONE:
            return []
        if reach.scope is Scope.ANY:
            statement = DUE_ANY if owner is None else DUE_OWNER
            params["owner"] = owner
        elif reach.scope is Scope.TEAM and reach.team is not None:
            statement = DUE_TEAM if owner is None else DUE_TEAM_OWNER
            params.update(team=reach.team, me=reach.principal_id, owner=owner)
        else:
            if owner is not None and owner != reach.principal_id:
                return []
            statement = DUE_OWNER
            params["owner"] = reach.principal_id
        rows = driver_rows(self._s, statement, params)
        # Rows come in (next_due, prospect_id) order: a stable sort by grade alone gives
        # (grade, most days late, prospect id).
        rows.sort(key=_GRADE)
        # A due list holds few distinct dates: parse each (SQLite keeps ISO text) once.
        days: dict[Any, tuple[date, int]] = {}
        for due in {row[3] for row in rows}:
            parsed = date.fromisoformat(due) if isinstance(due, str) else due
            days[due] = (parsed, (on - parsed).days)
        make, grades = tuple.__new__, GRADES
        return [make(DueItem, (pid, who, grades[grade], *days[due]))
                for pid, who, grade, due in rows]


_GRADE = itemgetter(2)


def _follow_up_values(f: FollowUp) -> dict[str, Any]:
    return {
        "id": f.id, "prospect_id": f.prospect_id, "owner_id": f.owner_id,
        "owner_team": f.owner_team, "by": f.by, "channel": f.channel.value, "at": f.at,
        "local_date": f.local_date, "summary": f.summary, "needs": f.needs,
        "problems": f.problems, "outcome": f.outcome, "next_step": f.next_step,
        "next_due": f.next_due, "due_on": f.due_on, "recorded_at": f.recorded_at,
        "stage": None if f.stage is None else f.stage.value, "reason": f.reason,
        "recorded_by": f.recorded_by,
    }


def _to_follow_up(row: FollowUpRow) -> FollowUp:
    return FollowUp(
        id=row.id, prospect_id=ProspectId(row.prospect_id), owner_id=row.owner_id,
        owner_team=row.owner_team, by=row.by, channel=Channel(row.channel), at=row.at,
        local_date=row.local_date, summary=row.summary, needs=row.needs,
        problems=row.problems, outcome=row.outcome, next_step=row.next_step,
        next_due=row.next_due, due_on=row.due_on, recorded_at=row.recorded_at,
        stage=None if row.stage is None else Stage(row.stage), reason=row.reason,
        recorded_by=row.recorded_by,
    )


def _matching(query: FollowUpQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``query``."""
    clauses = reach_clause(query.reach, FollowUpRow.owner_id, FollowUpRow.owner_team)
    if query.owner is not None:
        clauses.append(FollowUpRow.owner_id == query.owner)
    if query.prospect_id is not None:
        clauses.append(FollowUpRow.prospect_id == query.prospect_id)
    if query.channel is not None:
        clauses.append(FollowUpRow.channel == query.channel.value)
    if query.date_from is not None:
        clauses.append(FollowUpRow.local_date >= query.date_from)
    if query.date_to is not None:
        clauses.append(FollowUpRow.local_date <= query.date_to)
    if query.stage is not None:
        clauses.append(FollowUpRow.stage == query.stage.value)
    if query.recorded_from is not None:
        clauses.append(FollowUpRow.recorded_at >= query.recorded_from)
    return clauses


class SqlFollowUps:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, follow_up: FollowUp) -> None:
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_FOLLOW_UP, [_follow_up_values(follow_up)])
        except IntegrityError:
            raise ConcurrencyError(f"follow-up {follow_up.id!r} already exists") from None

    def find(self, query: FollowUpQuery) -> Sequence[FollowUp]:
        rows = self._s.scalars(
            select(FollowUpRow).where(*_matching(query))
            .order_by(FollowUpRow.local_date, FollowUpRow.at, FollowUpRow.id)
            .execution_options(populate_existing=True)
        ).all()
        return [_to_follow_up(r) for r in rows]

    def visit_days(self, date_from: date, date_to: date) -> Sequence[VisitDay]:
        rows = self._s.execute(
            select(FollowUpRow.by, FollowUpRow.local_date,
                   func.count(FollowUpRow.prospect_id.distinct()))
            .where(FollowUpRow.channel == Channel.VISIT.value,
                   FollowUpRow.local_date >= date_from, FollowUpRow.local_date <= date_to)
            .group_by(FollowUpRow.by, FollowUpRow.local_date)
            .order_by(FollowUpRow.by, FollowUpRow.local_date)
        ).all()
        return [VisitDay(person, day, int(n)) for person, day, n in rows]

    def on_time_counts(self, query: FollowUpQuery) -> Sequence[OnTimeCount]:
        on_time = or_(FollowUpRow.due_on.is_(None), FollowUpRow.local_date <= FollowUpRow.due_on)
        rows = self._s.execute(
            select(FollowUpRow.owner_id, func.count(),
                   func.sum(case((on_time, 1), else_=0)))
            .where(*_matching(query))
            .group_by(FollowUpRow.owner_id).order_by(FollowUpRow.owner_id)
        ).all()
        return [OnTimeCount(owner, int(total), int(done or 0)) for owner, total, done in rows]

    def reassign(self, prospect_id: str, owner_id: str, owner_team: str | None) -> None:
        self._s.execute(
            update(FollowUpRow).where(FollowUpRow.prospect_id == prospect_id)
            .values(owner_id=owner_id, owner_team=owner_team)
            .execution_options(synchronize_session=False))

    def redact(self, prospect_id: str, text: str) -> None:
        row = FollowUpRow
        self._s.execute(
            update(row).where(row.prospect_id == prospect_id)
            .values(summary=text, **{
                name: case((getattr(row, name).is_(None), None), else_=text)
                for name in ("needs", "problems", "outcome", "next_step")})
            .execution_options(synchronize_session=False))


class SqlClosedMonths:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, closed: ClosedMonth) -> None:
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_CLOSED, [{
                    "month": closed.month, "team": closed.team or "",
                    "closed_by": closed.closed_by, "closed_at": closed.closed_at}])
        except IntegrityError:
            raise ConcurrencyError(f"month {closed.month} is already closed") from None

    def find(self, month: str) -> Sequence[ClosedMonth]:
        rows = self._s.scalars(
            select(ClosedMonthRow).where(ClosedMonthRow.month == month)
            .order_by(ClosedMonthRow.team).execution_options(populate_existing=True)).all()
        return [ClosedMonth(month=r.month, team=r.team or None, closed_by=r.closed_by,
                            closed_at=r.closed_at) for r in rows]
