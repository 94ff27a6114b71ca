"""Contract tests for the care records: visits summed exactly (within a window, per
currency, sealed customers left out of the activity), survey answers counted per
service and score, care tasks and memberships versioned with their history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.care import VisitKind
from custmgmt.domain.common import Money
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.membership import Membership, TierChange
from custmgmt.domain.surveys import Answer, CareTask, SurveyResponse, TaskState
from custmgmt.domain.visits import Visit
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import Storage
from custmgmt.testing.builders import RING, make_customer

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def make_visit(n: int, *, customer: str = "c-1", ended: date = date(2026, 3, 1),
               spend: str = "1000.50", currency: str = "CNY") -> Visit:
    return Visit(id=f"v-{n:06d}", customer_id=customer, kind=VisitKind.STAY,
                 started_on=ended - timedelta(days=2), ended_on=ended,
                 spend=Money(spend, currency), service="room", recorded_by="u-desk",
                 recorded_at=T0)


class CareRecordsStorageContract:
    """Visits, survey responses, care tasks and memberships."""

    covers: ClassVar[tuple[str, ...]] = ("visits", "surveys", "care_tasks", "memberships")

    def test_visits_read_back_and_are_summed_in_a_window_per_currency(
        self, storage: Storage
    ) -> None:
        visits = [make_visit(1, ended=date(2025, 3, 2)), make_visit(2, ended=date(2025, 3, 3)),
                  make_visit(3, ended=date(2026, 3, 1), spend="0.01"),
                  make_visit(4, ended=date(2026, 3, 2), currency="USD", spend="10"),
                  make_visit(5, customer="c-2", ended=date(2026, 1, 1))]
        with storage.unit_of_work() as uow:
            for v in visits:
                uow.visits.add(v)
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.visits.add(visits[0])
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.visits.get("v-000003") == visits[2]
            with pytest.raises(NotFound):
                uow.visits.get("v-missing")
            assert [v.id for v in uow.visits.find("c-1", 3)] == [
                "v-000004", "v-000003", "v-000002"]
            count, spend = uow.visits.totals("c-1", date(2025, 3, 3), date(2026, 3, 2), "CNY")
            assert (count, spend) == (3, Money("1000.51", "CNY"))
            assert uow.visits.totals("c-1", date(2025, 3, 4), date(2026, 3, 1), "CNY") == (
                1, Money("0.01", "CNY"))
            assert uow.visits.totals("c-9", date(2025, 1, 1), date(2026, 1, 1), "CNY") == (
                0, Money(0, "CNY"))

    def test_activity_is_per_active_customer(self, storage: Storage) -> None:
        active = make_customer(1)
        sealed = attrs.evolve(make_customer(2), status=CustomerStatus.SEALED)
        with storage.unit_of_work() as uow:
            uow.customers.add(active, active.held_keys(RING))
            uow.customers.add(sealed, sealed.held_keys(RING))
            for v in (make_visit(1, customer=active.id, ended=date(2025, 1, 1)),
                      make_visit(2, customer=active.id, ended=date(2026, 2, 1)),
                      make_visit(3, customer=active.id, ended=date(2026, 5, 1)),
                      make_visit(4, customer=sealed.id, ended=date(2026, 2, 1)),
                      make_visit(5, customer="c-unknown", ended=date(2026, 2, 1))):
                uow.visits.add(v)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            (one,) = uow.visits.activity(date(2025, 3, 3), date(2026, 3, 2), "CNY")
            assert (one.customer_id, one.last_visit, one.visits, one.spend) == (
                active.id, date(2026, 2, 1), 1, Money("1000.50", "CNY"))
            (old,) = uow.visits.activity(date(2025, 6, 1), date(2025, 12, 31), "CNY")
            assert (old.last_visit, old.visits, old.spend) == (
                date(2025, 1, 1), 0, Money(0, "CNY"))

    def test_survey_answers_are_counted_per_service_and_score(self, storage: Storage) -> None:
        def response(n: int, day: date, *answers: tuple[str, int]) -> SurveyResponse:
            return SurveyResponse(
                id=f"sv-{n}", customer_id="c-1", visit_id="v-1", answered_at=T0,
                answered_day=day, recorded_by="u-desk",
                answers=tuple(Answer(service=s, question="q", score=k, comment="c")
                              for s, k in answers))

        first = response(1, date(2026, 3, 1), ("room", 5), ("restaurant", 2))
        with storage.unit_of_work() as uow:
            uow.surveys.add(first)
            uow.surveys.add(response(2, date(2026, 3, 31), ("room", 5), ("room", 3)))
            uow.surveys.add(response(3, date(2026, 4, 1), ("room", 1)))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.surveys.get("sv-1") == first
            counts = uow.surveys.score_counts(date(2026, 3, 1), date(2026, 3, 31))
            assert [(c.service, c.score, c.count) for c in counts] == [
                ("restaurant", 2, 1), ("room", 3, 1), ("room", 5, 2)]

    def test_tasks_and_memberships_are_versioned(self, storage: Storage) -> None:
        task = CareTask(id="tk-1", customer_id="c-1", response_id="sv-1", service="room",
                        question="q", score=1, assignee_id="u-rooms", created_at=T0)
        with storage.unit_of_work() as uow:
            stored = uow.care_tasks.add(task)
            uow.care_tasks.add(attrs.evolve(task, id="tk-2", assignee_id="u-other"))
            uow.commit()
        closed, _ = stored.close(outcome="called the guest", by="u-rooms", at=T0)
        with storage.unit_of_work() as uow:
            done = uow.care_tasks.update(closed)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.care_tasks.get("tk-1") == done and done.version == 2
            assert [t.id for t in uow.care_tasks.find("u-rooms", TaskState.DONE, 10)] == ["tk-1"]
            assert [t.id for t in uow.care_tasks.find(None, TaskState.OPEN, 10)] == ["tk-2"]
            with pytest.raises(ConcurrencyError):
                uow.care_tasks.update(stored)
        change = TierChange(on=date(2026, 3, 2), before=None, after="member", rule="r", by="u",
                            at=T0)
        membership = Membership(customer_id="c-1", tier="member", since=date(2026, 3, 2),
                                evaluated_on=date(2026, 3, 2), history=(change,))
        with storage.unit_of_work() as uow:
            assert uow.memberships.get("c-1") is None
            first = uow.memberships.save(membership)
            uow.commit()
        up = attrs.evolve(first, tier="gold", history=(*first.history, attrs.evolve(
            change, before="member", after="gold", rule="15 stays")))
        with storage.unit_of_work() as uow:
            second = uow.memberships.save(up)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.memberships.get("c-1") == second and second.version == 2
            assert [c.after for c in second.history] == ["member", "gold"]
            with pytest.raises(ConcurrencyError):
                uow.memberships.save(first)
