"""SQL repositories for follow-up plans and follow-up records."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Any, ParamSpec, TypeVar

import attrs
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Select,
    bindparam,
    case,
    cast,
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

from custmgmt.adapters.sql.driver import (
    dialect_name,
    driver_rows,
    read_alone,
)
from custmgmt.adapters.sql.reach import reach_clause
from custmgmt.adapters.sql.repositories import (
    CURRENT_GENERATION,
    generation_of,
    principal_of,
    principal_row,
)
from custmgmt.adapters.sql.tables import (
    ClosedMonthRow,
    FollowUpRow,
    ProspectRow,
    table_of,
)
from custmgmt.domain.common import ProspectId
from custmgmt.domain.followups import (
    FIRST_STAGE,
    Channel,
    ClosedMonth,
    DueItem,
    FollowUp,
    FollowUpPlan,
    days_late,
    followed_up,
)
from custmgmt.domain.prospects import Grade, Stage
from custmgmt.domain.registrations import RegistrationBatch
from custmgmt.errors import ConcurrencyError, NotFound, StorageError
from custmgmt.ports.auth import Principal, Reach, Scope
from custmgmt.ports.storage import FollowUpQuery, OnTimeCount, VisitDay

INSERT_FOLLOW_UP = insert(table_of(FollowUpRow))
INSERT_CLOSED = insert(table_of(ClosedMonthRow))

_P = ParamSpec("_P")
_R = TypeVar("_R")

ROWS = table_of(ProspectRow)
"""The plans' table: each prospect's plan is in its row (migration 0027)."""
PLAN_VALUES: dict[str, Callable[[FollowUpPlan], Any]] = {
    "grade": attrgetter("grade._value_"),  # the member's value, not via the property
    "stage": attrgetter("stage._value_"),
    "active": attrgetter("active"),
    "anchor": attrgetter("anchor"),
    "override": attrgetter("override"),
    "next_due": attrgetter("next_due"),
    "version": attrgetter("version"),
}
"""How each of a plan's own fields is read from a plan: the prospect row's column
``plan_`` and its name holds it. Its owner and team are the row's own."""
PLAN_FIELDS = tuple(PLAN_VALUES)


class _PlanColumns:
    """The prospect row's columns by the plan's field names."""

    prospect_id = ROWS.c.id
    owner_id = ROWS.c.owner_id
    owner_team = ROWS.c.owner_team
    grade = ROWS.c.plan_grade
    stage = ROWS.c.plan_stage
    active = ROWS.c.plan_active
    anchor = ROWS.c.plan_anchor
    override = ROWS.c.plan_override
    next_due = ROWS.c.plan_next_due
    version = ROWS.c.plan_version


PLAN = _PlanColumns
GRADES = {grade.value: grade for grade in Grade}


def _due(*where: ColumnElement[bool]) -> Select[str, str, str, date]:
    """Active plans due by ``:on``. The owner's and the team's indexes (owner_id |
    owner_team, active, next_due, id, ...) serve the filter and the (next_due,
    prospect_id) order, and cover the columns read; everyone's list reads the table."""
    return select(PLAN.prospect_id.label("prospect_id"), PLAN.owner_id.label("owner_id"),
                  PLAN.grade.label("grade"), PLAN.next_due.label("next_due")).where(
        PLAN.active == true(), PLAN.next_due <= bindparam("on"), *where)


_UNCHANGED = bindparam("generation", type_=BigInteger) == CURRENT_GENERATION
"""True if no principal, role or certification changed since the actor was read with
``:generation`` (the grants generation, which the database counts up at every such
change, by the library or by hand: migration 0020). Comparing one number (a primary
key's row) costs the database less than building and comparing the actor's whole
document (on PostgreSQL, about 30 microseconds a list). It refers to no row of the
list, so both databases test it once, before reading any: PostgreSQL as a one-time
filter over an init plan, SQLite as a constant condition checked before its loop
(its subquery run once)."""

_ANY: tuple[ColumnElement[bool], ...] = ()
_OWNER = (PLAN.owner_id == bindparam("owner"),)
_TEAM = (PLAN.owner_team == bindparam("team"),)
_MINE = (PLAN.owner_id == bindparam("me"),
         or_(PLAN.owner_team.is_(None), PLAN.owner_team != bindparam("team")))
_SHAPES: dict[str, tuple[tuple[ColumnElement[bool], ...], ...]] = {
    "any": (_ANY,),
    "owner": (_OWNER,),
    # a team's list: the actor's own plans outside the team, and the team's (the
    # small part first: SQLite merges the parts left to right, and the principal's
    # row merged with the small part costs the large one nothing)
    "team": (_MINE, _TEAM),
    "team_owner": (_MINE + _OWNER, _TEAM + _OWNER),
    "none": (),
}
"""The index ranges of each kind of due list (the WHERE clauses of its halves)."""


def _list(dialect: str, shape: str, head: Select[Any] | None = None,
          guarded: bool = False) -> Any:
    """The due list of ``shape`` in (next_due, prospect_id) order, each part read in
    order from its index and the parts merged, never sorted; ``head`` (a row of the
    same four columns: the actor's principal) is read in the same statement, as the
    first part.

    SQLite merges the ordered arms of a compound select, two at a time from the left;
    a merge whose left side is spent passes the right side's rows on without
    comparing them, so the principal's row (its NULLs sort first) costs the list's
    rows nothing. PostgreSQL (before 17) plans a top-level UNION ALL as an Append
    and sorts it, and does not know a flattened arm's index order either; an arm
    ordered in its own subquery keeps it, so the union of those, selected from, is a
    Merge Append of index scans (the principal's row, a constant sort key, needs no
    sort). On PostgreSQL the fourth column is the days late on ``:on`` (``:on -
    next_due``, an integer) instead of the date: see :func:`due_items_of`.

    ``guarded``: every part reads nothing unless the grants generation is still
    ``:generation`` (``_UNCHANGED``, tested once per part). It is a condition, not a
    one-row subquery joined to each part: SQLite, once the tables had statistics,
    put such a subquery in the inner loop and read it again for every row of the
    list (14 microseconds of 150 for 334 rows)."""
    parts = [_due(*where) for where in _SHAPES[shape]]
    if guarded:
        parts = [part.where(_UNCHANGED) for part in parts]
    if not parts:  # nothing can be due: the principal alone, if asked for
        if head is None:
            raise AssertionError("a list of no part")
        return head
    if head is not None:
        parts.insert(0, head)
    if dialect == "postgresql":
        # the days late, counted by the database: an integer (a small one, which Python
        # keeps ready-made) instead of a date object per row that is then hashed to
        # look its lateness up; the dates are made once per distinct lateness
        if len(parts) == 1:
            only = parts[0]
            return only.with_only_columns(
                PLAN.prospect_id.label("prospect_id"), PLAN.owner_id.label("owner_id"),
                PLAN.grade.label("grade"),
                (cast(bindparam("on"), Date) - PLAN.next_due).label("late"),
            ).order_by(PLAN.next_due, PLAN.prospect_id)
        ordered = [select(part.order_by(part.selected_columns.next_due,
                                        part.selected_columns.prospect_id).subquery())
                   for part in parts]
        listed = union_all(*ordered).subquery()
        return select(listed.c.prospect_id, listed.c.owner_id, listed.c.grade,
                      (cast(bindparam("on"), Date) - listed.c.next_due).label("late"),
                      ).order_by(listed.c.next_due, listed.c.prospect_id)
    if len(parts) == 1:
        only = parts[0]
        return only.order_by(only.selected_columns.next_due, only.selected_columns.prospect_id)
    merged = union_all(*parts)
    return merged.order_by(merged.selected_columns.next_due, merged.selected_columns.prospect_id)


_LISTS: dict[tuple[str, str, bool, bool], Any] = {}


def due_statement(dialect: str, shape: str, with_actor: bool = False,
                  guarded: bool = False) -> Any:
    """The statement of a due list of ``shape`` ("any", "owner", "team", "team_owner"
    or "none"), with the actor's principal read in it when ``with_actor``, or read
    only if no grants changed since ``:generation`` when ``guarded``; built once
    per dialect."""
    key = (dialect, shape, with_actor, guarded)
    found = _LISTS.get(key)
    if found is None:
        head = principal_row(dialect) if with_actor else None
        found = _LISTS[key] = _list(dialect, shape, head, guarded)
    return found


def _shape(reach: Reach, owner: str | None, params: dict[str, Any]) -> str:
    """Which list ``reach`` (narrowed to ``owner``) reads; fills in its parameters."""
    if reach.scope is Scope.ANY:
        params["owner"] = owner
        return "any" if owner is None else "owner"
    if reach.scope is Scope.TEAM and reach.team is not None:
        params.update(team=reach.team, me=reach.principal_id, owner=owner)
        return "team" if owner is None else "team_owner"
    if reach.scope is Scope.NONE or (owner is not None and owner != reach.principal_id):
        return "none"
    params["owner"] = reach.principal_id
    return "owner"


def due_items_of(rows: list[Any], on: date) -> tuple[DueItem, ...]:
    """``DueItem``s of (prospect_id, owner_id, grade, due) rows read in (next_due,
    prospect_id) order, by priority (grade, most days late, prospect id). ``due`` is
    the next due date as SQLite keeps it (ISO text), or on PostgreSQL the days late on
    ``on`` as the database counted them (an integer, see :func:`_list`).
    The per-row work is one DueItem: a stable sort by grade alone keeps the date order
    within each grade, and each distinct ``due`` (a list holds few) is turned into its
    date and lateness on ``on`` once, and remembered for the next list asked on the
    same day. The items are made by ``map`` calling ``tuple.__new__`` from C (a call
    per row from the comprehension cost a fifth more)."""
    if not rows:
        return ()
    rows.sort(key=_GRADE)
    days, late = _dates_on(on)
    grades = GRADES
    try:
        if type(rows[0][3]) is int:  # PostgreSQL: the days late (never negative)
            values = [(pid, who, grades[grade], days[due], due)
                      for pid, who, grade, due in rows]
        else:
            values = [(pid, who, grades[grade], days[due], late[due])
                      for pid, who, grade, due in rows]
        return tuple(map(_NEW, repeat(DueItem, len(values)), values))
    except KeyError:  # a date not seen yet on ``on``
        pass
    seen: dict[Any, date] = {}
    lateness: dict[Any, int] = {}
    for due in set(map(_DUE, rows)):
        if type(due) is int:  # days late on ``on``
            day = on - timedelta(days=due)
        else:
            day = due if isinstance(due, date) else date.fromisoformat(due)
        seen[due], lateness[due] = day, days_late(day, on)
    if len(late) >= REMEMBERED_DATES:
        days.clear()
        late.clear()
    # the fast path above takes a (never negative) number of days late as it is
    days.update((due, day) for due, day in seen.items() if type(due) is not int or due >= 0)
    late.update(lateness)
    values = [(pid, who, grades[grade], seen[due], lateness[due])
              for pid, who, grade, due in rows]
    return tuple(map(_NEW, repeat(DueItem, len(values)), values))


_NEW = tuple.__new__


_DATES: dict[date, tuple[dict[Any, date], dict[Any, int]]] = {}
REMEMBERED_DATES = 4096
"""How many stored due dates (ISO text or dates) ``due_items_of`` remembers per day asked."""


def _dates_on(on: date) -> tuple[dict[Any, date], dict[Any, int]]:
    """The dates already parsed and their lateness on ``on``: the dictionaries grow as
    lists ask (a few days asked are remembered, then it starts over)."""
    found = _DATES.get(on)
    if found is None:
        if len(_DATES) >= 8:
            _DATES.clear()
        found = _DATES[on] = ({}, {})
    return found



_SET = {f"plan_{field}": bindparam(f"new_{field}") for field in PLAN_FIELDS}
_THIS = ROWS.c.id == bindparam("prospect")
_IN_STEP = (ROWS.c.owner_id == bindparam("owner"),
            ROWS.c.owner_team.is_not_distinct_from(bindparam("team")))
"""The plan's owner and team are its prospect's as stored."""
FIRST_PLAN = update(ROWS).where(_THIS, *_IN_STEP, PLAN.version.is_(None)).values(_SET)
"""A prospect's first plan: its row's plan columns, written if it has no plan yet."""
NEXT_PLAN = update(ROWS).where(_THIS, *_IN_STEP, PLAN.version == bindparam("read")) \
    .values(_SET)
"""A plan changed: written if it is still at the version read (``:read``)."""
READ_PLAN = select(PLAN.prospect_id, PLAN.owner_id, PLAN.owner_team,
                   *(ROWS.c[f"plan_{field}"] for field in PLAN_FIELDS))
STORED = select(PLAN.version).where(_THIS)


def plan_columns(plan: FollowUpPlan) -> dict[str, Any]:
    """The prospect row's plan columns holding ``plan``."""
    return {f"plan_{field}": read(plan) for field, read in PLAN_VALUES.items()}


def _plan_params(plan: FollowUpPlan) -> dict[str, Any]:
    """The parameters of ``FIRST_PLAN`` or ``NEXT_PLAN`` writing ``plan`` as it is."""
    params = {f"new_{field}": read(plan) for field, read in PLAN_VALUES.items()}
    params.update(prospect=plan.prospect_id, owner=plan.owner_id, team=plan.owner_team)
    return params


def _to_plan(row: Any) -> FollowUpPlan:
    prospect_id, owner_id, team, grade, stage, active, anchor, override, due, version = row
    return FollowUpPlan(
        prospect_id=ProspectId(prospect_id), owner_id=owner_id, owner_team=team,
        grade=Grade(grade), stage=Stage(stage), active=active, anchor=anchor,
        override=override, next_due=due, version=version)


def _reads_plans(read: Callable[_P, _R]) -> Callable[_P, _R]:
    """``read``, giving a stored plan custmgmt did not write (a row edited by hand: a
    grade, stage or date no plan has) as StorageError, not as what reading it raised."""
    @functools.wraps(read)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return read(*args, **kwargs)
        except (KeyError, TypeError, ValueError):
            raise StorageError("a stored follow-up plan is not one custmgmt wrote (a row "
                               "edited by hand?)") from None
    return checked


def first_plan_columns(batch: RegistrationBatch) -> dict[str, list[Any]]:
    """The plan columns of a batch's prospect rows: the plans ``batch.plans`` describes,
    built a column at a time (no plan object a row); none if it carries no plans."""
    first = batch.plans
    if first is None:
        return {}
    size, stage = len(batch), FIRST_STAGE
    return {
        "plan_grade": [grade._value_ for grade in batch.grades],
        "plan_stage": [stage._value_] * size, "plan_active": [followed_up(stage)] * size,
        "plan_anchor": [first.anchor] * size, "plan_override": [None] * size,
        "plan_next_due": list(first.next_due), "plan_version": [1] * size}


class SqlPlans:
    """Each prospect's plan, in the plan columns of the prospect's row: a first plan
    given with its prospect is part of the row's INSERT (``SqlProspects.add`` and
    ``add_batch``), any other write an UPDATE of that row; a prospect not stored can
    have none."""

    def __init__(self, session: Session) -> None:
        self._s = session

    @_reads_plans
    def get(self, prospect_id: str) -> FollowUpPlan | None:
        row = self._s.execute(READ_PLAN.where(ROWS.c.id == prospect_id,
                                              PLAN.version.is_not(None))).one_or_none()
        return None if row is None else _to_plan(row)

    def save(self, plan: FollowUpPlan) -> FollowUpPlan:
        stored = attrs.evolve(plan, version=plan.version + 1)
        params = _plan_params(stored)
        if plan.version:
            params["read"] = plan.version
        if self._s.execute(NEXT_PLAN if plan.version else FIRST_PLAN, params).rowcount != 1:
            self._refuse(plan)
        return stored

    def _refuse(self, plan: FollowUpPlan) -> None:
        """Why ``plan`` was not written: its prospect is not stored, it was not (a first
        plan: it was) stored, it is not in step with its prospect, or it changed."""
        found = self._s.execute(STORED, {"prospect": plan.prospect_id}).one_or_none()
        if found is None:
            raise NotFound("prospect", plan.prospect_id)
        version = found[0]
        if plan.version and version is None:
            raise NotFound("plan", plan.prospect_id)
        if not plan.version and version is not None:
            raise ConcurrencyError(f"plan of {plan.prospect_id!r} already exists")
        if version != (plan.version or None):
            raise ConcurrencyError(f"plan {plan.prospect_id!r} changed since it was read")
        raise ConcurrencyError(f"plan of {plan.prospect_id!r} is not in step with its "
                               "prospect: a plan's owner and team are its prospect's")

    def add_many(self, plans: Sequence[FollowUpPlan]) -> None:
        """``save`` of each plan, all or none (an import's first plans are written with
        their rows instead: ``first_plan_columns``)."""
        if len(plans) == 1:  # a registration's: one statement, nothing to undo
            self.save(plans[0])
            return
        with self._s.begin_nested():
            for plan in plans:
                self.save(plan)

    @_reads_plans
    def due(self, reach: Reach, on: date, owner: str | None = None) -> Sequence[FollowUpPlan]:
        clauses: list[ColumnElement[bool]] = [
            PLAN.active == true(), PLAN.next_due <= on,
            *reach_clause(reach, PLAN.owner_id, PLAN.owner_team),
        ]
        if owner is not None:
            clauses.append(PLAN.owner_id == owner)
        rows = self._s.execute(
            READ_PLAN.where(*clauses).order_by(PLAN.next_due, PLAN.prospect_id)).all()
        return [_to_plan(r) for r in rows]

    @_reads_plans
    def due_items(self, reach: Reach, on: date, owner: str | None = None) -> Sequence[DueItem]:
        params: dict[str, Any] = {"on": on}
        shape = _shape(reach, owner, params)
        if shape == "none":
            return ()
        dialect = dialect_name(self._s)
        return due_items_of(driver_rows(self._s, due_statement(dialect, shape), params), on)

    @_reads_plans
    def due_for(self, principal_id: str, reach: Reach, on: date, owner: str | None = None,
                known: Principal | None = None,
                ) -> tuple[Principal | None, Sequence[DueItem]]:
        params: dict[str, Any] = {"on": on, "actor": principal_id}
        shape = _shape(reach, owner, params)
        dialect = dialect_name(self._s)
        generation = None if known is None or known.id != principal_id \
            else generation_of(known)
        if generation is not None and shape != "none":
            # the list alone, read only if no grants changed since ``known`` was read (an
            # empty list: changed, or nothing due; read both below)
            rows = read_alone(self._s, due_statement(dialect, shape, guarded=True),
                              {**params, "generation": generation})
            if rows:
                return known, due_items_of(rows, on)
        rows = read_alone(self._s, due_statement(dialect, shape, with_actor=True), params)
        # the principal's row has a NULL prospect id: it sorts first on SQLite, last on
        # PostgreSQL
        stored = None
        if rows and rows[0][0] is None:
            stored = principal_of(principal_id, rows[0][1])
            del rows[0]
        elif rows and rows[-1][0] is None:
            stored = principal_of(principal_id, rows.pop()[1])
        return stored, due_items_of(rows, on)


_GRADE, _DUE = itemgetter(2), itemgetter(3)


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
        # only the records held otherwise: the plan keeper tells every change of a
        # prospect, and most leave its owner as it was
        self._s.execute(
            update(FollowUpRow).where(
                FollowUpRow.prospect_id == prospect_id,
                or_(FollowUpRow.owner_id != owner_id,
                    FollowUpRow.owner_team.is_distinct_from(owner_team)))
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
