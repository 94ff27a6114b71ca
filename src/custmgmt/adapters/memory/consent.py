"""The memory consent history: append-only records per customer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from custmgmt.adapters.memory.records import as_utc
from custmgmt.domain.consent import ConsentRecord, ContactChannel
from custmgmt.domain.customers import Purpose
from custmgmt.errors import ConcurrencyError

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


def _order(record: ConsentRecord) -> tuple[datetime, str]:
    return (as_utc(record.at), record.id)


class MemoryConsents:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.staged: list[ConsentRecord] = []

    def _all(self, customer_id: str) -> list[ConsentRecord]:
        return sorted((r for r in [*self._state.consents.get(customer_id, ()), *self.staged]
                       if r.customer_id == customer_id), key=_order)

    def add(self, record: ConsentRecord) -> None:
        if record.id in self._state.consent_ids or any(r.id == record.id for r in self.staged):
            raise ConcurrencyError(f"consent record {record.id!r} already exists")
        self.staged.append(record)

    def history(self, customer_id: str) -> Sequence[ConsentRecord]:
        return self._all(customer_id)

    def latest(
        self, customer_id: str, purpose: Purpose, channel: ContactChannel, sensitive: bool,
        at: datetime,
    ) -> ConsentRecord | None:
        found = [r for r in self._all(customer_id)
                 if r.key == (purpose, channel, sensitive) and as_utc(r.at) <= as_utc(at)]
        return found[-1] if found else None

    def check(self) -> None:
        for record in self.staged:
            if record.id in self._state.consent_ids:
                raise ConcurrencyError(f"consent record {record.id!r} already exists")

    def apply(self) -> None:
        for record in self.staged:
            self._state.consents.setdefault(record.customer_id, []).append(record)
            self._state.consent_ids.add(record.id)
