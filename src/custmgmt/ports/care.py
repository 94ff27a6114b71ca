"""Storage ports of customer care: care files, complaints (and their reports), visits,
survey responses, care tasks and memberships.

Part of the unit of work like every repository (``uow.care_files``,
``uow.complaints``); declared on the roster. Reports are computed by the
storage (counts and sums in SQL), never by loading every complaint.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from attrs import field, frozen

from custmgmt.domain.care import CareFile
from custmgmt.domain.common import Money
from custmgmt.domain.complaints import Complaint, ComplaintState
from custmgmt.domain.membership import Membership
from custmgmt.domain.surveys import CareTask, ScoreCount, SurveyResponse, TaskState
from custmgmt.domain.visits import Activity, Visit

__all__ = ["CareFileRepository", "CareTaskRepository", "ComplaintQuery", "ComplaintRepository",
           "ComplaintTiming", "MembershipRepository", "RepeatComplainer", "SurveyRepository",
           "VisitRepository"]


class CareFileRepository(Protocol):
    """One care file per customer: preferences and usual periods."""

    def get(self, customer_id: str) -> CareFile | None:
        """The customer's file, or None if nothing was ever recorded."""
        ...

    def save(self, care_file: CareFile) -> CareFile:
        """Insert (version 0 -> 1) or replace (version n -> n + 1); ConcurrencyError if
        the stored version is not the one given."""
        ...

    def born_on(self, month_days: Sequence[str]) -> Sequence[str]:
        """The ids of the customers whose birthday falls on one of ``month_days``
        (``MM-DD``), in id order."""
        ...


@frozen(kw_only=True)
class ComplaintQuery:
    """Filters for listing complaints; ``None`` means "any". Order: receipt time, id."""

    customer_id: str | None = None
    state: ComplaintState | None = None
    open_only: bool = False
    """Only complaints still waiting for staff (received, acknowledged, reopened)."""
    limit: int = 50
    after: tuple[datetime, str] | None = field(default=None)
    """Keyset cursor: (receipt time, complaint id) of the last row already seen."""

    def matches(self, complaint: Complaint) -> bool:
        """The filter in plain Python: adapters must select exactly these rows."""
        return ((self.customer_id is None or complaint.customer_id == self.customer_id)
                and (self.state is None or complaint.state is self.state)
                and (not self.open_only or complaint.is_open))


@frozen(kw_only=True)
class ComplaintTiming:
    """Of the complaints received in one local month: how many, how many were
    acknowledged and resolved, the total seconds those took (for averages), and how
    many of them were acknowledged or resolved late."""

    month: str
    """``YYYY-MM``."""
    received: int
    acknowledged: int
    acknowledge_seconds: int
    acknowledged_late: int
    resolved: int
    resolve_seconds: int
    resolved_late: int


@frozen(kw_only=True)
class RepeatComplainer:
    """A customer with several complaints in a period, and when the last came."""

    customer_id: str
    complaints: int
    last_received_at: datetime


class ComplaintRepository(Protocol):
    """Complaints with their history (child records)."""

    def add(self, complaint: Complaint) -> Complaint:
        """Store a new complaint (version 1)."""
        ...

    def get(self, complaint_id: str) -> Complaint:
        """The complaint, or NotFound."""
        ...

    def update(self, complaint: Complaint) -> Complaint:
        """Store a changed complaint (its new history entries too); ConcurrencyError if
        it is stale."""
        ...

    def find(self, query: ComplaintQuery) -> Sequence[Complaint]:
        """Up to ``query.limit`` complaints in (receipt time, id) order."""
        ...

    def overdue(self, now: datetime, limit: int) -> Sequence[Complaint]:
        """Open complaints with a deadline strictly before ``now`` that was not escalated
        yet (``Complaint.overdue(now)`` is not empty), oldest receipt first, at most
        ``limit`` of them."""
        ...

    def count_open(self, received_from: datetime | None, received_before: datetime | None
                   ) -> int:
        """How many open complaints were received at or after ``received_from`` and
        before ``received_before`` (None: no bound)."""
        ...

    def timing(self, date_from: date, date_to: date) -> Sequence[ComplaintTiming]:
        """Per local month of receipt (``received_day`` from ``date_from`` to ``date_to``,
        inclusive): counts and total seconds to acknowledge and to (first) resolve,
        ordered by month. Months without complaints are left out."""
        ...

    def repeat_complainers(self, date_from: date, date_to: date, at_least: int,
                           limit: int) -> Sequence[RepeatComplainer]:
        """Customers with ``at_least`` complaints received from ``date_from`` to
        ``date_to`` (local days, inclusive), most complaints first, then customer id."""
        ...


class VisitRepository(Protocol):
    """Customers' stays and visits (append-only), summed by the storage."""

    def add(self, visit: Visit) -> None:
        """Record a visit; ConcurrencyError if its id exists."""
        ...

    def find(self, customer_id: str, limit: int) -> Sequence[Visit]:
        """The customer's latest visits, newest end date first (then id), at most ``limit``."""
        ...

    def get(self, visit_id: str) -> Visit:
        """The visit, or NotFound."""
        ...

    def totals(self, customer_id: str, date_from: date, date_to: date, currency: str
               ) -> tuple[int, Money]:
        """How many of the customer's visits ended from ``date_from`` to ``date_to``
        (inclusive) and what they spent in ``currency``."""
        ...

    def activity(self, date_from: date, date_to: date, currency: str) -> Sequence[Activity]:
        """Per active (not sealed) customer with a visit ended by ``date_to``: the last
        end date, and the count and spend (in ``currency``) of visits ended from
        ``date_from`` to ``date_to``; ordered by customer id."""
        ...


class SurveyRepository(Protocol):
    """Survey responses (append-only) and the score counts of the report."""

    def add(self, response: SurveyResponse) -> None:
        """Record a response with its answers; ConcurrencyError if its id exists."""
        ...

    def get(self, response_id: str) -> SurveyResponse:
        """The response, or NotFound."""
        ...

    def score_counts(self, date_from: date, date_to: date) -> Sequence[ScoreCount]:
        """How many answers per service and score were given from ``date_from`` to
        ``date_to`` (local days, inclusive), ordered by service, then score."""
        ...


class CareTaskRepository(Protocol):
    """Follow-up tasks opened by low survey scores."""

    def add(self, task: CareTask) -> CareTask:
        """Store a new task (version 1)."""
        ...

    def get(self, task_id: str) -> CareTask:
        """The task, or NotFound."""
        ...

    def update(self, task: CareTask) -> CareTask:
        """Store a changed task; ConcurrencyError if it is stale."""
        ...

    def find(self, assignee_id: str | None, state: TaskState | None, limit: int
             ) -> Sequence[CareTask]:
        """Tasks of one assignee (None: anyone) in one state (None: any), oldest first."""
        ...


class MembershipRepository(Protocol):
    """Each customer's membership tier and its history of changes."""

    def get(self, customer_id: str) -> Membership | None:
        """The customer's membership, or None if never evaluated."""
        ...

    def save(self, membership: Membership) -> Membership:
        """Insert (version 0 -> 1) or replace (version n -> n + 1) with any new history
        entries; ConcurrencyError if the stored version is not the one given."""
        ...
