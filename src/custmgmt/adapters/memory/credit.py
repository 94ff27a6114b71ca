"""The memory credit repositories: versioned instruments and versioned credit limits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.common import Money
from custmgmt.domain.credit import (
    EXPOSED,
    CreditInstrument,
    CreditLimit,
    ExposureLine,
    InstrumentKind,
)
from custmgmt.ports.storage import CreditQuery

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


class MemoryCredit:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows: VersionedStage[CreditInstrument] = VersionedStage(
            "credit instrument", uow.state.credit)

    def add(self, instrument: CreditInstrument) -> CreditInstrument:
        return self.rows.add(instrument.id, instrument)

    def get(self, instrument_id: str) -> CreditInstrument:
        return self.rows.get(instrument_id)

    def update(self, instrument: CreditInstrument) -> CreditInstrument:
        return self.rows.update(instrument.id, instrument)

    def find(self, query: CreditQuery) -> Sequence[CreditInstrument]:
        rows = sorted((i for i in self.rows.merged().values() if query.matches(i)),
                      key=lambda i: (i.created_at, i.id))
        if query.after is not None:
            rows = [i for i in rows if (i.created_at, i.id) > query.after]
        return rows[: query.limit]

    def exposure(self, on: date, customer_id: str | None = None) -> Sequence[ExposureLine]:
        sums: dict[tuple[str, str, str], tuple[Money, Money, int]] = {}
        for i in self.rows.merged().values():
            if (not i.binding or i.state not in EXPOSED or i.valid_until < on
                    or (customer_id is not None and i.customer_id != customer_id)):
                continue
            key = (i.customer_id, i.kind.value, i.amount.currency)
            committed, drawn, count = sums.get(
                key, (Money(0, i.amount.currency), Money(0, i.amount.currency), 0))
            sums[key] = (committed + i.amount, drawn + i.drawn, count + 1)
        return [ExposureLine(customer_id=cid, kind=InstrumentKind(kind), currency=currency,
                             committed=c, drawn=d, count=n)
                for (cid, kind, currency), (c, d, n) in sorted(sums.items())]

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()


class MemoryCreditLimits:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.rows: VersionedStage[CreditLimit] = VersionedStage(
            "credit limit", uow.state.credit_limits)

    def get(self, customer_id: str) -> CreditLimit | None:
        return self.rows.current(customer_id)

    def save(self, limit: CreditLimit) -> CreditLimit:
        return self.rows.save(limit.customer_id, limit)

    def check(self) -> None:
        self.rows.check()

    def apply(self) -> None:
        self.rows.apply()
