"""Reports, reached as ``app.reports``: visit points, the funnel, on-time follow-ups.

Rates are exact ``fractions.Fraction`` values (None where there is nothing to
divide by); format them as you like, e.g. ``f"{float(rate):.1%}"``.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

from attrs import frozen

from custmgmt.domain.followups import ClosedMonth
from custmgmt.domain.prospects import PIPELINE, Grade, Prospect, Stage
from custmgmt.domain.validation import date_problem, require_date, require_enum
from custmgmt.errors import ConcurrencyError, InvalidTransition, PermissionDenied, ValidationError
from custmgmt.ports.auth import Action, Principal, Reach, Role, Scope
from custmgmt.ports.storage import FollowUpQuery, ProspectQuery, UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def month_bounds(month: object) -> tuple[str, date, date]:
    """``"2026-03"`` (or any date in it) -> ("2026-03", first day, last day)."""
    if isinstance(month, date) and not isinstance(month, datetime):
        year, number = month.year, month.month
    elif isinstance(month, str) and (found := _MONTH.fullmatch(month.strip())):
        year, number = int(found[1]), int(found[2])
    else:
        raise ValidationError("month", "must be 'YYYY-MM' or a date")
    if not 1 <= number <= 12 or year < 1:
        raise ValidationError("month", "is not a month that exists")
    last = calendar.monthrange(year, number)[1]
    first, end = date(year, number, 1), date(year, number, last)
    problem = date_problem(first) or date_problem(end)  # as a date argument is held
    if problem is not None:
        raise ValidationError("month", problem)
    return f"{year:04d}-{number:02d}", first, end


def _period(start: object, end: object) -> tuple[date, date]:
    first, last = require_date("start", start), require_date("end", end)
    if last < first:
        raise ValidationError("end", "must not be before start")
    return first, last


def rate(part: int, whole: int) -> Fraction | None:
    """``part / whole`` as an exact fraction, or None when ``whole`` is 0."""
    return None if whole == 0 else Fraction(part, whole)


@frozen
class VisitPointsRow:
    """One salesperson's visit points in a month, how many short, and whether flagged."""

    principal_id: str
    points: int
    """One per prospect visited per local day."""
    shortfall: int
    flagged: bool
    days_without_visit: tuple[date, ...] = ()
    """Working days of the month (up to today) with no visit at all ("平均每天…最少一个")."""


@frozen
class VisitPointsReport:
    """Visit points (业务积分) per salesperson for one month."""

    month: str
    minimum: int
    flag_shortfall: int
    rows: tuple[VisitPointsRow, ...]
    closed: bool = False
    """Whether the month's report is closed (for the caller's team, or for everyone)."""


@frozen
class FunnelStep:
    """One stage of the funnel: how many prospects reached it, and the rate to the next."""

    stage: Stage
    reached: int
    conversion_to_next: Fraction | None
    """Share of those who reached this stage that reached the next (None: last or none)."""


@frozen
class Funnel:
    """Prospects registered in a period and how far along the pipeline they got."""

    start: date
    end: date
    total: int
    lost: int
    steps: tuple[FunnelStep, ...]


@frozen
class ComplianceRow:
    """One salesperson's on-time follow-ups: how many, how many on time, the rate."""

    owner_id: str
    follow_ups: int
    on_time: int
    rate: Fraction | None


@frozen
class Compliance:
    """The share of follow-ups done by the date their plan said (on time)."""

    start: date
    end: date
    follow_ups: int
    on_time: int
    rate: Fraction | None
    by_owner: tuple[ComplianceRow, ...]


def highest_stage(prospect: Prospect) -> Stage:
    """The furthest pipeline stage the prospect ever reached (``Prospect.furthest_stage``)."""
    return prospect.furthest_stage


@guarded
class ReportService(Described):
    """Visit points, the funnel and on-time follow-ups, reached as ``app.reports``."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def _reach(self, uow: UnitOfWork, actor: Principal) -> Reach:
        return self._ctx.reach(uow, actor, Action.REPORT_READ)[1]

    def _people(self, uow: UnitOfWork, reach: Reach, visitors: set[str]) -> set[str]:
        """Whose rows the caller may see: a salesperson their own, a manager their team
        (its salespeople and anyone of it who visited), ANY everyone."""
        if reach.scope is Scope.ANY:
            return set(uow.principals.ids(role=Role.SALESPERSON)) | visitors
        if reach.scope is Scope.TEAM and reach.team is not None:
            sellers = uow.principals.ids(role=Role.SALESPERSON, team=reach.team)
            return set(sellers) | (set(uow.principals.ids(team=reach.team)) & visitors)
        return {reach.principal_id}

    def visit_points(self, actor: Principal, *, month: str | date) -> VisitPointsReport:
        """Visit points (业务积分) per salesperson: one point per prospect (or customer)
        visited per local day, to whoever visited; short of the monthly minimum by
        ``Settings.visit_flag_shortfall`` or more is flagged. Each row also lists the
        working days (``Settings.working_weekdays``) of the month, up to today, with
        no visit. A salesperson sees their own row, a manager their team's."""
        name, first, last = month_bounds(month)
        settings = self._ctx.settings
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            reach = self._reach(uow, actor)
            points: dict[str, int] = {}
            visited: dict[str, set[date]] = {}
            for tally in uow.follow_ups.visit_days(first, last):
                points[tally.person] = points.get(tally.person, 0) + tally.prospects
                visited.setdefault(tally.person, set()).add(tally.day)
            people = self._people(uow, reach, set(points))
            closures = uow.closed_months.find(name)
        until = min(last, self._ctx.today())
        working = [first + timedelta(days=n) for n in range((until - first).days + 1)
                   if (first + timedelta(days=n)).weekday() in settings.working_weekdays]
        rows = []
        for person in sorted(people):
            earned, days = points.get(person, 0), visited.get(person, set())
            shortfall = max(0, settings.visit_minimum - earned)
            rows.append(VisitPointsRow(
                person, earned, shortfall, shortfall >= settings.visit_flag_shortfall,
                tuple(day for day in working if day not in days)))
        closed = any(c.covers(name, None if reach.scope is Scope.ANY else reach.team)
                     for c in closures)
        return VisitPointsReport(month=name, minimum=settings.visit_minimum,
                                 flag_shortfall=settings.visit_flag_shortfall, rows=tuple(rows),
                                 closed=closed)

    def close_month(self, actor: Principal, month: str | date) -> ClosedMonth:
        """Close a month's report (sales managers: their team; a right over everyone
        closes it for all). The month then takes no more follow-up records. A month
        that has not begun cannot be closed; closing one twice is InvalidTransition."""
        name, first, _ = month_bounds(month)
        if first > self._ctx.today():
            raise ValidationError("month", "has not begun yet")
        with self._ctx.storage.unit_of_work() as uow:
            who, reach = self._ctx.reach(uow, actor, Action.REPORT_CLOSE)
            if reach.scope is Scope.ANY:
                team = None
            elif reach.scope is Scope.TEAM and reach.team is not None:
                team = reach.team
            else:
                raise PermissionDenied(who.id, Action.REPORT_CLOSE.value,
                                       "closing a month needs a team or a right over everyone")
            closed = ClosedMonth(month=name, team=team, closed_by=who.id,
                                 closed_at=self._ctx.now())
            if any(c.covers(name, team) for c in uow.closed_months.find(name)):
                raise InvalidTransition("closed", "close", f"{name} is already closed")
            try:
                uow.closed_months.add(closed)
                self._ctx.audit(uow, who, kind="report", resource_id=name,
                                action="close_month", at=closed.closed_at, before=None,
                                after={"month": name, "team": team or "*"})
                uow.commit()
            except ConcurrencyError:
                raise InvalidTransition("closed", "close", f"{name} is already closed") from None
        return closed

    def _instant(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self._ctx.settings.zone).astimezone(UTC)

    def funnel(
        self, actor: Principal, *, start: date, end: date, owner: str | None = None,
        grade: Grade | str | None = None,
    ) -> Funnel:
        """Of the prospects registered from ``start`` to ``end`` (local dates, inclusive),
        how many reached each pipeline stage, and the conversion from each to the next."""
        first, last = _period(start, end)
        wanted = None if grade is None else require_enum("grade", Grade, grade)
        highest: Counter[Stage] = Counter()
        lost = 0
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            query = ProspectQuery(
                reach=self._reach(uow, actor), owner=owner, grade=wanted,
                registered_from=self._instant(first),
                registered_before=self._instant(last + timedelta(days=1)))
            for (stage, is_lost), count in uow.prospects.furthest_stages(query).items():
                highest[stage] += count
                lost += count if is_lost else 0
        reached = [sum(n for s, n in highest.items() if s.rank >= stage.rank)
                   for stage in PIPELINE]
        steps = tuple(
            FunnelStep(stage, reached[i],
                       rate(reached[i + 1], reached[i]) if i + 1 < len(PIPELINE) else None)
            for i, stage in enumerate(PIPELINE)
        )
        return Funnel(start=first, end=last, total=reached[0], lost=lost, steps=steps)

    def followup_compliance(
        self, actor: Principal, *, start: date, end: date, owner: str | None = None
    ) -> Compliance:
        """Follow-ups recorded from ``start`` to ``end`` (local dates, inclusive) and the
        share done by their due date, overall and per owner."""
        first, last = _period(start, end)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            query = FollowUpQuery(reach=self._reach(uow, actor), owner=owner, date_from=first,
                                  date_to=last)
            counts = uow.follow_ups.on_time_counts(query)
        rows = tuple(ComplianceRow(c.owner_id, c.follow_ups, c.on_time,
                                   rate(c.on_time, c.follow_ups)) for c in counts)
        total, on_time = sum(c.follow_ups for c in counts), sum(c.on_time for c in counts)
        return Compliance(start=first, end=last, follow_ups=total, on_time=on_time,
                          rate=rate(on_time, total), by_owner=rows)

