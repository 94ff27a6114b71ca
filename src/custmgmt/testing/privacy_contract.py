"""Contract tests for the personal-information request log: requests read back equal,
versions refuse stale writes, ``find`` filters by status, due day and subject, oldest
first; the free text of one prospect's follow-ups is redacted by the storage."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.common import ProspectId
from custmgmt.domain.followups import Channel, FollowUp
from custmgmt.domain.privacy import PiRequest, RequestKind, RequestStatus, Subject, SubjectKind
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.auth import Reach, Scope
from custmgmt.ports.storage import FollowUpQuery, Storage
from custmgmt.testing.builders import T0, add_prospect, make_prospect

EVERYONE = Reach(scope=Scope.ANY, principal_id="u-admin")


def make_follow_up(n: int, prospect_id: str, *, needs: str | None = None,
                   problems: str | None = "price") -> FollowUp:
    return FollowUp(id=f"f-{n}", prospect_id=ProspectId(prospect_id), owner_id="u-alice",
                    by="u-alice", channel=Channel.VISIT, at=T0, local_date=date(2026, 3, 2),
                    summary="met Zhao at home", recorded_at=T0, needs=needs, problems=problems,
                    outcome="interested", next_step="send offer")


def make_request(n: int, *, kind: RequestKind = RequestKind.EXPORT, ref: str = "c-1",
                 due: date = date(2026, 3, 17)) -> PiRequest:
    """A request as ``app.privacy.receive`` stores it."""
    subject = Subject(kind=SubjectKind.CUSTOMER if ref.startswith("c-") else SubjectKind.PHONE,
                      ref=ref)
    return PiRequest(id=f"pi-{n:06d}", kind=kind, subject=subject, received_by="u-dpo",
                     received_at=T0 + timedelta(minutes=n), due_on=due)


class PrivacyStorageContract:
    """Personal-information requests: versioned, filtered by the storage."""

    covers: ClassVar[tuple[str, ...]] = ("pi_requests",)

    def test_a_request_reads_back_equal_through_its_answer(self, storage: Storage) -> None:
        request = make_request(1, ref="a" * 64)
        with storage.unit_of_work() as uow:
            stored = uow.pi_requests.add(request)
            uow.commit()
        assert stored == attrs.evolve(request, version=1)
        answered = attrs.evolve(stored, status=RequestStatus.DEFERRED, answered_by="u-dpo",
                                answered_at=T0 + timedelta(days=1), outcome="erasure deferred",
                                reason="legal hold: open credit instrument cr-1 (issued)")
        with storage.unit_of_work() as uow:
            newer = uow.pi_requests.update(answered)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.pi_requests.get(request.id) == newer == attrs.evolve(answered, version=2)

    def test_a_missing_request_is_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.pi_requests.get("pi-none")

    def test_a_stale_or_duplicate_write_is_refused(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = uow.pi_requests.add(make_request(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.pi_requests.update(attrs.evolve(stored, outcome="shown: nothing held"))
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.pi_requests.update(attrs.evolve(stored, outcome="late"))
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.pi_requests.add(make_request(1))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.pi_requests.get(stored.id).outcome == "shown: nothing held"

    def test_find_filters_by_status_due_day_and_subject_oldest_first(
            self, storage: Storage) -> None:
        early = make_request(3, due=date(2026, 3, 10))
        late = make_request(1, due=date(2026, 3, 20), ref="c-2")
        done = attrs.evolve(make_request(2, due=date(2026, 3, 5)),
                            status=RequestStatus.ANSWERED)
        with storage.unit_of_work() as uow:
            for request in (early, late, done):
                uow.pi_requests.add(request)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            found = uow.pi_requests.find
            assert [r.id for r in found()] == [late.id, done.id, early.id]
            assert [r.id for r in found(status=RequestStatus.OPEN)] == [late.id, early.id]
            assert [r.id for r in found(status=RequestStatus.OPEN,
                                        due_before=date(2026, 3, 11))] == [early.id]
            assert [r.id for r in found(due_before=date(2026, 3, 10))] == [done.id]
            assert [r.id for r in found(subject_ref="c-2")] == [late.id]
            assert [r.id for r in found(limit=1)] == [late.id]

    def test_redact_replaces_the_free_text_of_one_prospects_follow_ups(
            self, storage: Storage) -> None:
        full = make_follow_up(1, "p-000001", needs="a flat", problems=None)
        other = make_follow_up(2, "p-000002")
        with storage.unit_of_work() as uow:
            add_prospect(uow, make_prospect(1))
            add_prospect(uow, make_prospect(2))
            uow.follow_ups.add(full)
            uow.follow_ups.add(other)
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.follow_ups.redact("p-000001", "[erased]")
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            (done,) = uow.follow_ups.find(FollowUpQuery(reach=EVERYONE, prospect_id="p-000001"))
            assert done == attrs.evolve(full, summary="[erased]", needs="[erased]",
                                        outcome="[erased]", next_step="[erased]")
            assert uow.follow_ups.find(FollowUpQuery(reach=EVERYONE,
                                                     prospect_id="p-000002")) == [other]
