"""The memory repositories of care records: visits, survey responses, care tasks and
memberships, with the sums and counts the reports read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from custmgmt.adapters.memory.records import as_utc
from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.common import Money
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.membership import Membership
from custmgmt.domain.surveys import CareTask, ScoreCount, SurveyResponse, TaskState
from custmgmt.domain.visits import Activity, Visit
from custmgmt.errors import ConcurrencyError, NotFound

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


class _Appended:
    """Records added once, never changed: staged, then checked for duplicate ids."""

    def __init__(self, kind: str, committed: dict[str, object]) -> None:
        self.kind = kind
        self.committed = committed
        self.staged: dict[str, object] = {}

    def add(self, key: str, record: object) -> None:
        if key in self.staged or key in self.committed:
            raise ConcurrencyError(f"{self.kind} {key!r} already exists")
        self.staged[key] = record

    def merged(self) -> dict[str, object]:
        return {**self.committed, **self.staged}

    def check(self) -> None:
        for key in self.staged:
            if key in self.committed:
                raise ConcurrencyError(f"{self.kind} {key!r} already exists")

    def apply(self) -> None:
        self.committed.update(self.staged)


class MemoryVisits:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self._customers = uow.state.customers
        self.rows = _Appended("visit", uow.state.visits)  # type: ignore[arg-type]

    def _all(self) -> list[Visit]:
        return [v for v in self.rows.merged().values() if isinstance(v, Visit)]

    def add(self, visit: Visit) -> None:
        self.rows.add(visit.id, visit)

    def get(self, visit_id: str) -> Visit:
        found = self.rows.merged().get(visit_id)
        if not isinstance(found, Visit):
            raise NotFound("visit", visit_id)
        return found

    def find(self, customer_id: str, limit: int) -> Sequence[Visit]:
        mine = [v for v in self._all() if v.customer_id == customer_id]
        mine.sort(key=lambda v: (v.ended_on, v.id), reverse=True)
        return mine[:limit]

    def totals(self, customer_id: str, date_from: date, date_to: date, currency: str
               ) -> tuple[int, Money]:
        within = [v for v in self._all() if v.customer_id == customer_id
                  and date_from <= v.ended_on <= date_to]
        spend = Money(0, currency)
        for v in within:
            if v.spend.currency == currency:
                spend = spend + v.spend
        return len(within), spend

    def activity(self, date_from: date, date_to: date, currency: str) -> Sequence[Activity]:
        per: dict[str, list[Visit]] = {}
        for v in self._all():
            customer = self._customers.get(v.customer_id)
            if (v.ended_on <= date_to and customer is not None
                    and customer.status is CustomerStatus.ACTIVE):
                per.setdefault(v.customer_id, []).append(v)
        out = []
        for cid in sorted(per):
            visits = per[cid]
            within = [v for v in visits if v.ended_on >= date_from]
            spend = Money(0, currency)
            for v in within:
                if v.spend.currency == currency:
                    spend = spend + v.spend
            out.append(Activity(customer_id=cid, last_visit=max(v.ended_on for v in visits),
                                visits=len(within), spend=spend))
        return out

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()


class MemorySurveys:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows = _Appended("survey response", uow.state.surveys)  # type: ignore[arg-type]

    def add(self, response: SurveyResponse) -> None:
        self.rows.add(response.id, response)

    def get(self, response_id: str) -> SurveyResponse:
        found = self.rows.merged().get(response_id)
        if not isinstance(found, SurveyResponse):
            raise NotFound("survey response", response_id)
        return found

    def score_counts(self, date_from: date, date_to: date) -> Sequence[ScoreCount]:
        counts: dict[tuple[str, int], int] = {}
        for r in self.rows.merged().values():
            if isinstance(r, SurveyResponse) and date_from <= r.answered_day <= date_to:
                for a in r.answers:
                    counts[(a.service, a.score)] = counts.get((a.service, a.score), 0) + 1
        return [ScoreCount(service=s, score=n, count=c) for (s, n), c in sorted(counts.items())]

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()


class MemoryCareTasks:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows: VersionedStage[CareTask] = VersionedStage("care task", uow.state.care_tasks)

    def add(self, task: CareTask) -> CareTask:
        return self.rows.add(task.id, task)

    def get(self, task_id: str) -> CareTask:
        return self.rows.get(task_id)

    def update(self, task: CareTask) -> CareTask:
        return self.rows.update(task.id, task)

    def find(self, assignee_id: str | None, state: TaskState | None, limit: int
             ) -> Sequence[CareTask]:
        found = [t for t in self.rows.merged().values()
                 if (assignee_id is None or t.assignee_id == assignee_id)
                 and (state is None or t.state is state)]
        found.sort(key=lambda t: (as_utc(t.created_at), t.id))
        return found[:limit]

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()


class MemoryMemberships:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows: VersionedStage[Membership] = VersionedStage(
            "membership", uow.state.memberships)

    def get(self, customer_id: str) -> Membership | None:
        return self.rows.current(customer_id)

    def save(self, membership: Membership) -> Membership:
        return self.rows.save(membership.customer_id, membership)

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()
