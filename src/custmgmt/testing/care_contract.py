"""Contract tests for the care repositories: care files and complaints read back equal,
versions refuse stale writes, the overdue query holds at the exact deadline, and the
complaint reports are counted by the storage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

import attrs
import pytest

from custmgmt.domain.care import CareFile, Preferences, StayPattern
from custmgmt.domain.complaints import (
    Complaint,
    ComplaintChannel,
    Deadline,
    Severity,
    Within,
)
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.care import ComplaintQuery
from custmgmt.ports.storage import Storage

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def make_complaint(n: int, *, customer: str = "c-1", at: datetime = T0,
                   severity: Severity = Severity.HIGH) -> Complaint:
    """Complaint ``n`` as the service receives it (acknowledge within 4 hours, resolve
    within 2 local days)."""
    complaint, _ = Complaint.receive(
        id=f"cp-{n:06d}", customer_id=customer, channel=ComplaintChannel.PHONE,
        severity=severity, summary="the room was not cleaned", service="room",
        visit_id=None, by="u-desk", at=at, zone=SHANGHAI,
        acknowledge_within=Within(hours=4), resolve_within=Within(days=2))
    return complaint


class CareStorageContract:
    """Care files and complaints: versioned, exact to the microsecond, counted in storage."""

    covers: ClassVar[tuple[str, ...]] = ("care_files", "complaints")

    def test_a_care_file_reads_back_equal_and_refuses_a_stale_save(
        self, storage: Storage
    ) -> None:
        care_file = CareFile(
            customer_id="c-1",
            preferences=Preferences(room_type="king", floor="high", diet="no pork",
                                    language="粤语", tags=("quiet", "feather-free")),
            usual_periods=(StayPattern(weekdays=(0, 1, 2)),
                           StayPattern(months=(1, 2), note="春节")),
            updated_at=T0, updated_by="u-desk")
        with storage.unit_of_work() as uow:
            assert uow.care_files.get("c-1") is None
            stored = uow.care_files.save(care_file)
            uow.commit()
        assert stored == attrs.evolve(care_file, version=1)
        with storage.unit_of_work() as uow:
            assert uow.care_files.get("c-1") == stored
            again = uow.care_files.save(attrs.evolve(stored, preferences=Preferences()))
            uow.commit()
        assert again.version == 2
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.care_files.save(stored)
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.care_files.save(care_file)  # version 0: a second insert
            uow.commit()

    def test_birthdays_are_found_by_month_and_day(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for cid, born in (("c-1", date(1980, 3, 2)), ("c-2", date(1999, 3, 2)),
                              ("c-3", date(1988, 2, 29)), ("c-4", None)):
                uow.care_files.save(CareFile(customer_id=cid, birthday=born))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert list(uow.care_files.born_on(["03-02"])) == ["c-1", "c-2"]
            assert list(uow.care_files.born_on(["02-28", "02-29"])) == ["c-3"]
            assert list(uow.care_files.born_on(["12-25"])) == []
            assert uow.care_files.get("c-3").birthday == date(1988, 2, 29)  # type: ignore[union-attr]

    def test_a_complaint_reads_back_equal_with_its_history(self, storage: Storage) -> None:
        complaint = make_complaint(1)
        with storage.unit_of_work() as uow:
            stored = uow.complaints.add(complaint)
            uow.commit()
        acked, _ = stored.acknowledge(by="u-duty", at=T0 + timedelta(hours=1), note="on it")
        resolved, _ = acked.resolve(resolution="cleaned, fruit basket", by="u-duty",
                                    at=T0 + timedelta(hours=2, microseconds=7))
        with storage.unit_of_work() as uow:
            first = uow.complaints.update(acked)
            second = uow.complaints.update(attrs.evolve(resolved, version=first.version))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.complaints.get(complaint.id) == second
            assert len(second.history) == 3 and second.version == 3
            assert second.seconds_to_resolve == 7200
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.complaints.update(acked)
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.complaints.get("cp-missing")

    def test_the_overdue_query_holds_at_the_exact_deadline(self, storage: Storage) -> None:
        complaint = make_complaint(1)
        with storage.unit_of_work() as uow:
            uow.complaints.add(complaint)
            uow.commit()
        due = complaint.acknowledge_due
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.complaints.overdue(due - TICK, 10) == []
            assert uow.complaints.overdue(due, 10) == []
            assert [c.id for c in uow.complaints.overdue(due + TICK, 10)] == [complaint.id]
        stored = uow_get(storage, complaint.id)
        escalated, _ = stored.escalated(Deadline.ACKNOWLEDGE, by="u-sweep", at=due + TICK)
        with storage.unit_of_work() as uow:
            uow.complaints.update(escalated)
            uow.commit()
        resolve_due = complaint.resolve_due
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.complaints.overdue(resolve_due, 10) == []
            late = uow.complaints.overdue(resolve_due + TICK, 10)
            assert [c.overdue(resolve_due + TICK) for c in late] == [(Deadline.RESOLVE,)]

    def test_lists_counts_and_reports_come_from_the_storage(self, storage: Storage) -> None:
        complaints = [make_complaint(1, customer="c-1"),
                      make_complaint(2, customer="c-2", at=T0 + timedelta(days=2)),
                      make_complaint(3, customer="c-1", at=T0 + timedelta(days=40)),
                      make_complaint(4, customer="c-1", at=T0 + timedelta(days=41))]
        with storage.unit_of_work() as uow:
            for c in complaints:
                uow.complaints.add(c)
            uow.commit()
        first = uow_get(storage, "cp-000001")
        acked, _ = first.acknowledge(by="u", at=T0 + timedelta(minutes=90))
        done, _ = acked.resolve(resolution="r", by="u", at=T0 + timedelta(days=3))
        with storage.unit_of_work() as uow:
            uow.complaints.update(done)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            page = uow.complaints.find(ComplaintQuery(customer_id="c-1", limit=2))
            assert [c.id for c in page] == ["cp-000001", "cp-000003"]
            rest = uow.complaints.find(ComplaintQuery(
                customer_id="c-1", after=(page[-1].received_at, page[-1].id)))
            assert [c.id for c in rest] == ["cp-000004"]
            assert [c.id for c in uow.complaints.find(ComplaintQuery(open_only=True))] == [
                "cp-000002", "cp-000003", "cp-000004"]
            assert uow.complaints.count_open(None, None) == 3
            assert uow.complaints.count_open(T0 + timedelta(days=2), None) == 3
            assert uow.complaints.count_open(T0 + timedelta(days=2) + TICK, None) == 2
            assert uow.complaints.count_open(None, T0 + timedelta(days=40)) == 1
            march, april = uow.complaints.timing(date(2026, 3, 1), date(2026, 4, 30))
            assert (march.month, march.received, march.acknowledged,
                    march.acknowledge_seconds, march.acknowledged_late) == (
                "2026-03", 2, 1, 5400, 0)
            assert (march.resolved, march.resolve_seconds, march.resolved_late) == (
                1, 3 * 86400, 1)
            assert (april.month, april.received, april.acknowledged) == ("2026-04", 2, 0)
            repeat = uow.complaints.repeat_complainers(date(2026, 3, 1), date(2026, 4, 30), 2,
                                                       10)
            assert [(r.customer_id, r.complaints) for r in repeat] == [("c-1", 3)]
            assert repeat[0].last_received_at == T0 + timedelta(days=41)
            assert uow.complaints.repeat_complainers(date(2026, 3, 1), date(2026, 3, 31), 2,
                                                     10) == []


def uow_get(storage: Storage, complaint_id: str) -> Complaint:
    with storage.unit_of_work(read_only=True) as uow:
        return uow.complaints.get(complaint_id)
