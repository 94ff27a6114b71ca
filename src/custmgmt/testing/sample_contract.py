"""Contract tests for the sample repository: aggregate, chain, numbering."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain import sample_moves as moves
from custmgmt.domain.samples import (
    Chain,
    CustodyEvent,
    Hazard,
    Light,
    Sample,
    SampleInfo,
    SampleState,
    StorageCondition,
)
from custmgmt.domain.stock import CountLine, Department, StockCount
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import Storage
from custmgmt.testing.builders import T0

CHAIN = Chain()


def received(n: int, *, hazardous: bool = False) -> tuple[Sample, list[CustodyEvent]]:
    info = SampleInfo.checked(customer_id=f"p-{n}", sample_name=f"Resin {n}",
                              quantity="12.50", unit="kg", description="white granules",
                              requested_work="tensile test")
    hazard = Hazard(hazard_class="3 flammable liquid", handling_procedure="HSE-07") \
        if hazardous else None
    sample, event = moves.receive(CHAIN, sample_id=f"s-{n:06d}", info=info, hazard=hazard,
                                  receiver="u-rita", at=T0)
    return sample, [event]


def registered(
    sample: Sample, number: str, location: str = "shelf A"
) -> tuple[Sample, CustodyEvent]:
    storage = StorageCondition(min_celsius=Decimal("2"), max_celsius=Decimal("8"),
                               light=Light.DARK, max_humidity_percent=60,
                               segregation="away from oxidizers")
    return moves.register(CHAIN, sample, number=number, classification="polymer",
                          location=location, storage=storage, single_use=False,
                          registrar="u-reg", at=T0)


class SampleStorageContract:
    """Mixed into StorageContract; uses its ``storage`` fixture."""

    covers: ClassVar[tuple[str, ...]] = ("samples", "departments", "stock_counts")

    def test_a_sample_and_its_chain_read_back_equal(self, storage: Storage) -> None:
        sample, events = received(1, hazardous=True)
        with storage.unit_of_work() as uow:
            stored = uow.samples.add(sample, events)
            uow.commit()
        moved, event = registered(stored, "S2026-000001")
        moved, applied = moves.apply(CHAIN, moved, application_id="a-1", applicant="u-lab",
                                     purpose="test", quantity=Decimal("2.5"),
                                     expected_return=date(2026, 2, 1), at=T0)
        with storage.unit_of_work() as uow:
            updated = uow.samples.update(moved, [event, applied])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.samples.get(sample.id) == updated
            assert list(uow.samples.chain(sample.id)) == [*events, event, applied]
        assert stored.version == 1 and updated.version == 2
        CHAIN.verify(updated, [*events, event, applied])

    def test_feedback_and_approvals_read_back_equal(self, storage: Storage) -> None:
        sample, events = received(2, hazardous=True)
        moved, event = registered(sample, "S2026-000002")
        moved, applied = moves.apply(CHAIN, moved, application_id="a-1", applicant="u-lab",
                                     purpose="test", quantity=Decimal("2"),
                                     expected_return=None, at=T0)
        moved = moves.approve(CHAIN, moved, "a-1", approver="u-reg", at=T0)[0]
        moved = moves.approve_hazard(CHAIN, moved, "a-1", approver="u-safe", at=T0)[0]
        moved = moves.check_out(CHAIN, moved, "a-1", by="u-reg", at=T0)[0]
        moved = moves.record_use(CHAIN, moved, "a-1", used=Decimal("2"), note="all",
                                 by="u-lab", at=T0)[0]
        moved = moves.feedback(CHAIN, moved, feedback_id="fb-1", user="u-lab",
                               filed_by="u-reg", effect="fine", problems="none",
                               suggestions="dry it", at=T0)[0]
        moved = moves.archive_feedback(CHAIN, moved, "fb-1", by="u-reg", note="ok", at=T0)[0]
        moved = moves.approve_distribution(CHAIN, moved, to="dept-qc", approver="u-safe",
                                           at=T0)[0]
        assert moved.feedback and moved.distribution_approval == ("dept-qc", "u-safe")
        with storage.unit_of_work() as uow:
            uow.samples.add(sample, events)
            uow.commit()
        with storage.unit_of_work() as uow:
            current = uow.samples.get(sample.id)
            stored = uow.samples.update(attrs.evolve(moved, version=current.version),
                                        [event, applied])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.samples.get(sample.id) == stored
            assert uow.samples.get(sample.id).application("a-1").issued_by == "u-reg"

    def test_applications_and_feedback_keep_their_order_through_updates(
        self, storage: Storage
    ) -> None:
        """Two applications and two feedback entries, written one change at a time (each
        read back first), then the older entries changed: all read back equal, in order."""
        sample, events = received(3, hazardous=True)
        with storage.unit_of_work() as uow:
            uow.samples.add(sample, events)
            uow.commit()
        steps: list[Callable[[Sample], tuple[Sample, CustodyEvent]]] = [
            lambda s: registered(s, "S2026-000003"),
            lambda s: moves.apply(CHAIN, s, application_id="a-2", applicant="u-lab",
                                  purpose="first", quantity=Decimal("2.50"),
                                  expected_return=date(2026, 2, 1), at=T0),
            lambda s: moves.apply(CHAIN, s, application_id="a-1", applicant="u-lab2",
                                  purpose="second", quantity=Decimal("1E+0"),
                                  expected_return=None, at=T0),
            lambda s: moves.approve(CHAIN, s, "a-2", approver="u-reg", at=T0),
            lambda s: moves.approve_hazard(CHAIN, s, "a-2", approver="u-safe", at=T0),
            lambda s: moves.check_out(CHAIN, s, "a-2", by="u-reg", at=T0),
            lambda s: moves.record_use(CHAIN, s, "a-2", used=Decimal("2.5"), note="all",
                                       by="u-lab", at=T0),
            lambda s: moves.feedback(CHAIN, s, feedback_id="fb-2", user="u-lab",
                                     filed_by="u-lab", effect="fine", problems="none",
                                     suggestions="dry it", at=T0),
            lambda s: moves.feedback(CHAIN, s, feedback_id="fb-1", user="u-lab",
                                     filed_by="u-reg", effect="no result",
                                     problems="spilled", suggestions="none", at=T0),
            lambda s: moves.archive_feedback(CHAIN, s, "fb-2", by="u-reg", note="ok", at=T0),
            lambda s: moves.approve(CHAIN, s, "a-1", approver="u-reg", at=T0),
        ]
        chain = list(events)
        for step in steps:
            with storage.unit_of_work() as uow:
                moved, event = step(uow.samples.get(sample.id))
                expected = uow.samples.update(moved, [event])
                chain.append(event)
                uow.commit()
            with storage.unit_of_work() as uow:
                assert uow.samples.get(sample.id) == expected
        with storage.unit_of_work() as uow:
            stored = uow.samples.get(sample.id)
            assert [a.id for a in stored.applications] == ["a-2", "a-1"]
            assert [f.id for f in stored.feedback] == ["fb-2", "fb-1"]
            assert stored.application("a-1").approved_by == "u-reg"
            assert stored.application("a-2").used == Decimal("2.5")
            assert stored.feedback_entry("fb-2").archived_by == "u-reg"
            assert stored.feedback_entry("fb-1").archived_by is None
            assert [s.id for s in uow.samples.find(location="shelf A")] == [sample.id]
            assert uow.samples.find(location="shelf A")[0] == stored
            assert list(uow.samples.chain(sample.id)) == chain
        CHAIN.verify(stored, chain)

    def test_a_sample_written_without_reading_it_first_reads_back_equal(
        self, storage: Storage
    ) -> None:
        """An update of a sample this unit of work never read (the caller kept it from
        an earlier one) still stores every entry as given, and no stale ones."""
        sample, events = received(4)
        moved, event = registered(sample, "S2026-000004")
        moved, applied = moves.apply(CHAIN, moved, application_id="a-1", applicant="u-lab",
                                     purpose="test", quantity=Decimal(1),
                                     expected_return=None, at=T0)
        with storage.unit_of_work() as uow:
            stored = uow.samples.add(moved, [*events, event, applied])
            uow.commit()
        later, approved = moves.approve(CHAIN, stored, "a-1", approver="u-reg", at=T0)
        later, again = moves.apply(CHAIN, later, application_id="a-2", applicant="u-lab2",
                                   purpose="more", quantity=Decimal("0.5"),
                                   expected_return=None, at=T0)
        with storage.unit_of_work() as uow:
            written = uow.samples.update(later, [approved, again])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.samples.get(sample.id) == written
            assert [a.approved_by for a in written.applications] == ["u-reg", None]

    def test_a_stale_write_changes_no_entry(self, storage: Storage) -> None:
        sample, events = received(5)
        moved, event = registered(sample, "S2026-000005")
        with storage.unit_of_work() as uow:
            stored = uow.samples.add(moved, [*events, event])
            uow.commit()
        mine, e1 = moves.apply(CHAIN, stored, application_id="a-1", applicant="u-lab",
                               purpose="mine", quantity=Decimal(1), expected_return=None,
                               at=T0)
        theirs, e2 = moves.apply(CHAIN, stored, application_id="a-2", applicant="u-lab2",
                                 purpose="theirs", quantity=Decimal(2), expected_return=None,
                                 at=T0)
        with storage.unit_of_work() as uow:
            uow.samples.get(sample.id)
            first = uow.samples.update(mine, [e1])
            uow.commit()
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.samples.get(sample.id)
            uow.samples.update(theirs, [e2])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.samples.get(sample.id) == first
            assert [a.id for a in first.applications] == ["a-1"]

    def test_found_samples_carry_their_own_entries(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for n, place in ((6, "shelf B"), (7, "shelf A"), (8, "shelf B")):
                sample, events = received(n)
                moved, event = registered(sample, f"S2026-00000{n}", place)
                chain = [*events, event]
                for k in range(n - 5):  # 1, 2 and 3 applications
                    moved, applied = moves.apply(
                        CHAIN, moved, application_id=f"a-{n}-{k}", applicant="u-lab",
                        purpose=f"use {k}", quantity=Decimal(1), expected_return=None, at=T0)
                    chain.append(applied)
                uow.samples.add(moved, chain)
            uow.commit()
        with storage.unit_of_work() as uow:
            found = uow.samples.find(location="shelf B")
            assert [len(s.applications) for s in found] == [1, 3]
            assert found == [uow.samples.get("s-000006"), uow.samples.get("s-000008")]
            assert [a.id for a in uow.samples.find()[1].applications] == ["a-7-0", "a-7-1"]

    def test_departments_are_registered_once(self, storage: Storage) -> None:
        qc = Department(id="dept-qc", name="Quality control", registered_by="u-reg",
                        registered_at=T0)
        lab = Department(id="dept-lab", name="Analytics lab", registered_by="u-reg",
                         registered_at=T0 + timedelta(minutes=1))
        with storage.unit_of_work() as uow:
            uow.departments.add(qc)
            assert uow.departments.get("dept-qc") == qc
            uow.rollback()
        with storage.unit_of_work() as uow:
            assert uow.departments.get("dept-qc") is None
            uow.departments.add(qc)
            uow.departments.add(lab)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.departments.all()) == [lab, qc]
            assert uow.departments.get("dept-x") is None
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.departments.add(attrs.evolve(qc, name="again"))
            uow.commit()

    def test_stock_counts_read_back_as_counted(self, storage: Storage) -> None:
        lines = (CountLine(number="S2026-000001", sample_id="s-000001",
                           expected=Decimal("12.50"), counted=Decimal("12.5")),
                 CountLine(number="S2026-000009", sample_id=None, expected=Decimal(0),
                           counted=Decimal("1E+1")),
                 CountLine(number="S2026-000002", sample_id="s-000002",
                           expected=Decimal("123456789012345.123456789"),
                           counted=Decimal("123456789012345.123456788")))
        first = StockCount(id="sc-2", location="shelf A", counted_by="u-reg", at=T0,
                           lines=lines)
        later = StockCount(id="sc-1", location="shelf B", counted_by="u-reg2",
                           at=T0 + timedelta(days=1))
        with storage.unit_of_work() as uow:
            uow.stock_counts.add(later)
            uow.stock_counts.add(first)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.stock_counts.find()) == [first, later]
            assert list(uow.stock_counts.find("shelf A")) == [first]
            assert list(uow.stock_counts.find("shelf C")) == []
            stored = uow.stock_counts.find("shelf A")[0]
            # exact values, in the order given (a back end may write 1E+1 as 10)
            assert [line.counted for line in stored.lines] == [
                Decimal("12.5"), Decimal(10), Decimal("123456789012345.123456788")]
            assert stored.lines[2].expected == Decimal("123456789012345.123456789")
            assert stored.discrepancies == lines[1:]

    def test_a_missing_sample_is_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.samples.get("s-none")

    def test_a_stale_sample_write_is_refused_and_appends_nothing(
        self, storage: Storage
    ) -> None:
        sample, events = received(1)
        with storage.unit_of_work() as uow:
            stored = uow.samples.add(sample, events)
            uow.commit()
        first, e1 = registered(stored, "S2026-000001")
        second, e2 = registered(stored, "S2026-000002")
        with storage.unit_of_work() as uow:
            uow.samples.update(first, [e1])
            uow.commit()
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.samples.update(second, [e2])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert len(uow.samples.chain(sample.id)) == 2
            assert uow.samples.get(sample.id).number == "S2026-000001"

    def test_numbers_are_sequential_per_year_and_gap_free(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert [uow.samples.next_number(2026) for _ in range(3)] == [1, 2, 3]
            assert uow.samples.next_number(2027) == 1
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.samples.next_number(2026) == 4
            # not committed: the number goes back
        with storage.unit_of_work() as uow:
            assert uow.samples.next_number(2026) == 4
            assert uow.samples.next_number(2027) == 2

    def test_concurrent_numbering_queues_instead_of_failing(self, storage: Storage) -> None:
        """Units numbering samples of one year at once wait for each other (a row lock
        in SQL): every one commits, with numbers 1..n and no gap."""
        numbers: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def number() -> None:
            try:
                with storage.unit_of_work() as uow:
                    start.wait()
                    numbers.append(uow.samples.next_number(2026))
                    time.sleep(0.05)
                    uow.commit()
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=number) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert sorted(numbers) == [1, 2, 3, 4]
        with storage.unit_of_work() as uow:
            assert uow.samples.next_number(2026) == 5

    def test_unnumbered_samples_come_first_in_find_on_every_back_end(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            for n in (1, 2, 3, 4):
                sample, events = received(n)
                uow.samples.add(sample, events)
            uow.commit()
        with storage.unit_of_work() as uow:
            for n, number in ((4, "S2026-000001"), (1, "S2026-000002")):
                moved, event = registered(uow.samples.get(f"s-{n:06d}"), number)
                uow.samples.update(moved, [event])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert [s.id for s in uow.samples.find()] == [
                "s-000002", "s-000003", "s-000004", "s-000001"]

    def test_samples_are_found_by_location_and_state(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for n in (1, 2, 3):
                sample, events = received(n)
                uow.samples.add(sample, events)
            uow.commit()
        with storage.unit_of_work() as uow:
            for n, place in ((3, "shelf A"), (1, "shelf A")):
                sample = uow.samples.get(f"s-{n:06d}")
                moved, event = registered(sample, f"S2026-00000{n}", place)
                uow.samples.update(moved, [event])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert [s.id for s in uow.samples.find(location="shelf A")] == [
                "s-000001", "s-000003"]
            assert [s.id for s in uow.samples.find(state=SampleState.RECEIVED)] == [
                "s-000002"]
            assert len(uow.samples.find()) == 3
