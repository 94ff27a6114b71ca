"""Memory repository of personal-information requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.privacy import PiRequest, RequestStatus

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


class MemoryPiRequests:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows: VersionedStage[PiRequest] = VersionedStage(
            "personal-information request", uow.state.pi_requests)

    def add(self, request: PiRequest) -> PiRequest:
        return self.rows.add(request.id, request)

    def get(self, request_id: str) -> PiRequest:
        return self.rows.get(request_id)

    def update(self, request: PiRequest) -> PiRequest:
        return self.rows.update(request.id, request)

    def find(
        self,
        *,
        status: RequestStatus | None = None,
        due_before: date | None = None,
        subject_ref: str | None = None,
        limit: int = 500,
    ) -> Sequence[PiRequest]:
        found = [r for r in self.rows.merged().values()
                 if (status is None or r.status is status)
                 and (due_before is None or r.due_on < due_before)
                 and (subject_ref is None or r.subject.ref == subject_ref)]
        found.sort(key=lambda r: (r.received_at, r.id))
        return found[: max(limit, 0)]

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()
