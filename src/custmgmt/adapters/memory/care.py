"""The memory care repositories: care files and complaints (versioned), and the
complaint reports computed over what this unit of work sees."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from custmgmt.adapters.memory.records import as_utc
from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.care import CareFile, month_day
from custmgmt.domain.complaints import Complaint
from custmgmt.ports.care import ComplaintQuery, ComplaintTiming, RepeatComplainer

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


class MemoryCareFiles:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows: VersionedStage[CareFile] = VersionedStage("care file", uow.state.care_files)

    def get(self, customer_id: str) -> CareFile | None:
        return self.rows.current(customer_id)

    def save(self, care_file: CareFile) -> CareFile:
        return self.rows.save(care_file.customer_id, care_file)

    def born_on(self, month_days: Sequence[str]) -> Sequence[str]:
        return sorted(cid for cid, f in self.rows.merged().items()
                      if f.birthday is not None and month_day(f.birthday) in month_days)

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()


class MemoryComplaints:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows: VersionedStage[Complaint] = VersionedStage("complaint", uow.state.complaints)

    def add(self, complaint: Complaint) -> Complaint:
        return self.rows.add(complaint.id, complaint)

    def get(self, complaint_id: str) -> Complaint:
        return self.rows.get(complaint_id)

    def update(self, complaint: Complaint) -> Complaint:
        return self.rows.update(complaint.id, complaint)

    def _ordered(self) -> list[Complaint]:
        return sorted(self.rows.merged().values(), key=lambda c: (as_utc(c.received_at), c.id))

    def find(self, query: ComplaintQuery) -> Sequence[Complaint]:
        rows = [c for c in self._ordered() if query.matches(c)]
        if query.after is not None:
            after = (as_utc(query.after[0]), query.after[1])
            rows = [c for c in rows if (as_utc(c.received_at), c.id) > after]
        return rows[: query.limit]

    def overdue(self, now: datetime, limit: int) -> Sequence[Complaint]:
        return [c for c in self._ordered() if c.overdue(now)][:limit]

    def count_open(self, received_from: datetime | None, received_before: datetime | None
                   ) -> int:
        return sum(1 for c in self.rows.merged().values()
                   if c.is_open and (received_from is None or c.received_at >= received_from)
                   and (received_before is None or c.received_at < received_before))

    def _between(self, date_from: date, date_to: date) -> list[Complaint]:
        return [c for c in self._ordered() if date_from <= c.received_day <= date_to]

    def timing(self, date_from: date, date_to: date) -> Sequence[ComplaintTiming]:
        months: dict[str, list[Complaint]] = {}
        for c in self._between(date_from, date_to):
            months.setdefault(c.received_day.strftime("%Y-%m"), []).append(c)
        out = []
        for month, found in sorted(months.items()):
            ack = [c.seconds_to_acknowledge for c in found if c.acknowledged_at is not None]
            res = [c.seconds_to_resolve for c in found if c.first_resolved_at is not None]
            out.append(ComplaintTiming(
                month=month, received=len(found), acknowledged=len(ack),
                acknowledge_seconds=sum(s or 0 for s in ack),
                acknowledged_late=sum(1 for c in found if c.acknowledged_late),
                resolved=len(res), resolve_seconds=sum(s or 0 for s in res),
                resolved_late=sum(1 for c in found if c.resolved_late)))
        return out

    def repeat_complainers(self, date_from: date, date_to: date, at_least: int,
                           limit: int) -> Sequence[RepeatComplainer]:
        per: dict[str, list[Complaint]] = {}
        for c in self._between(date_from, date_to):
            per.setdefault(c.customer_id, []).append(c)
        found = [RepeatComplainer(customer_id=cid, complaints=len(cs),
                                  last_received_at=max(c.received_at for c in cs))
                 for cid, cs in per.items() if len(cs) >= at_least]
        found.sort(key=lambda r: (-r.complaints, r.customer_id))
        return found[:limit]

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()
