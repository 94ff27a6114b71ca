"""Contract tests for the credit repositories: instruments with their conditions and
drawdowns read back equal, versions refuse stale writes, exposure is summed exactly."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.common import Money
from custmgmt.domain.credit import (
    Benchmark,
    Condition,
    Counterparty,
    CreditInstrument,
    CreditLimit,
    CustomerConsent,
    Drawdown,
    InstrumentKind,
    InstrumentState,
    InterestRate,
    Revocation,
)
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.auth import Reach, Scope
from custmgmt.ports.storage import CreditQuery, Storage
from custmgmt.testing.builders import T0

EVERYONE = Reach(scope=Scope.ANY, principal_id="u-admin")


def make_letter(n: int, *, customer: str = "c-1", amount: str = "1000000.00",
                owner: str = "u-rm", state: InstrumentState = InstrumentState.ISSUED,
                until: date = date(2026, 12, 31)) -> CreditInstrument:
    """A loan commitment letter (floating rate), as stored by the service."""
    return CreditInstrument(
        id=f"cr-{n:06d}", kind=InstrumentKind.LOAN_COMMITMENT_LETTER, customer_id=customer,
        owner_id=owner, owner_team="east", amount=Money(amount, "CNY"),
        valid_from=date(2026, 1, 1), valid_until=until, created_at=T0 + timedelta(minutes=n),
        state=state, purpose="plant expansion", rate=InterestRate.floating(Benchmark.LPR_5Y, -20),
        term_months=36, drawdown_method="in tranches", commitment_fee=Money("1200.50", "CNY"))


def make_intent(n: int, *, customer: str = "c-1") -> CreditInstrument:
    return CreditInstrument(
        id=f"cr-{n:06d}", kind=InstrumentKind.COOPERATION_AGREEMENT, customer_id=customer,
        owner_id="u-rm", amount=Money("5000000", "CNY"), valid_from=date(2026, 1, 1),
        valid_until=date(2027, 12, 31), created_at=T0 + timedelta(minutes=n),
        counterparty=Counterparty.GOVERNMENT,
        conditions=(Condition(code="industry", description="state industry policy"),
                    Condition(code="rules", description="the bank's credit rules")))


class CreditStorageContract:
    """Credit instruments and limits: versioned, exact, summed by the storage."""

    covers: ClassVar[tuple[str, ...]] = ("credit", "credit_limits")

    def test_an_instrument_reads_back_equal_with_its_children(self, storage: Storage) -> None:
        letter = make_letter(1)
        drawn = attrs.evolve(letter, drawdowns=(
            Drawdown(id="d-1", amount=Money("0.01", "CNY"), at=T0, by="u-rm"),
            Drawdown(id="d-2", amount=Money("250000", "CNY"), at=T0 + timedelta(days=1),
                     by="u-rm")))
        intent = attrs.evolve(make_intent(2), state=InstrumentState.REVOKED, revocation=Revocation(
            by="u-appr", at=T0, reason="failed", failed_conditions=("rules", "industry")))
        fixed = attrs.evolve(make_letter(3), rate=InterestRate.fixed("3.45"), revocation=Revocation(
            by="u-appr", at=T0, reason="agreed", consent=CustomerConsent(
                consented_by="CFO Zhang", at=T0, document_ref="DOC-7")))
        with storage.unit_of_work() as uow:
            stored = [uow.credit.add(i) for i in (drawn, intent, fixed)]
            uow.commit()
        with storage.unit_of_work() as uow:
            assert [uow.credit.get(i.id) for i in stored] == stored
            assert stored[0] == attrs.evolve(drawn, version=1)
            assert uow.credit.get(drawn.id).drawn == Money("250000.01", "CNY")

    def test_a_missing_instrument_is_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.credit.get("cr-none")

    def test_updates_append_drawdowns_and_refuse_stale_versions(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = uow.credit.add(make_letter(1))
            uow.commit()
        draw = Drawdown(id="d-1", amount=Money("10", "CNY"), at=T0, by="u-rm")
        with storage.unit_of_work() as uow:
            newer = uow.credit.update(attrs.evolve(stored, drawdowns=(draw,)))
            uow.commit()
        assert newer.version == 2
        with storage.unit_of_work() as uow:
            assert uow.credit.get(stored.id) == newer
            with pytest.raises(ConcurrencyError):
                uow.credit.update(attrs.evolve(stored, state=InstrumentState.REVOKED))

    def test_an_uncommitted_instrument_is_not_kept(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.credit.add(make_letter(1))
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.credit.get("cr-000001")

    def test_find_filters_by_customer_kind_state_and_reach_in_order(
        self, storage: Storage
    ) -> None:
        rows = [make_letter(1), make_intent(2), make_letter(3, customer="c-2"),
                make_letter(4, owner="u-other")]
        with storage.unit_of_work() as uow:
            for row in rows:
                uow.credit.add(row)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            def ids(**kw: object) -> list[str]:
                query = CreditQuery(**{"reach": EVERYONE, **kw})  # type: ignore[arg-type]
                found = [i.id for i in uow.credit.find(query)]
                expected = [r.id for r in rows if query.matches(r) and (
                    query.after is None or (r.created_at, r.id) > query.after)]
                assert found == expected[: query.limit]
                return found
            assert ids() == ["cr-000001", "cr-000002", "cr-000003", "cr-000004"]
            assert ids(customer_id="c-1") == ["cr-000001", "cr-000002", "cr-000004"]
            assert ids(kind=InstrumentKind.COOPERATION_AGREEMENT) == ["cr-000002"]
            assert ids(state=InstrumentState.DRAFT) == ["cr-000002"]
            assert ids(reach=Reach(scope=Scope.OWN, principal_id="u-other")) == ["cr-000004"]
            assert ids(limit=2, after=(rows[0].created_at, rows[0].id)) == [
                "cr-000002", "cr-000003"]

    def test_exposure_sums_binding_instruments_still_in_force(self, storage: Storage) -> None:
        drawn = attrs.evolve(make_letter(1, amount="100.10"), drawdowns=(
            Drawdown(id="d-1", amount=Money("0.03", "CNY"), at=T0, by="u-rm"),))
        rows = [drawn, make_letter(2, amount="0.20"),
                make_letter(3, state=InstrumentState.DRAFT),           # not yet approved
                make_letter(4, state=InstrumentState.REVOKED),         # gone
                make_letter(5, until=date(2026, 6, 29)),               # ended before `on`
                make_letter(6, until=date(2026, 6, 30), customer="c-2"),  # last valid day
                make_intent(7)]                                        # does not bind
        with storage.unit_of_work() as uow:
            for row in rows:
                uow.credit.add(row)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            lines = uow.credit.exposure(date(2026, 6, 30))
            assert [(x.customer_id, x.kind, x.committed, x.drawn, x.count) for x in lines] == [
                ("c-1", InstrumentKind.LOAN_COMMITMENT_LETTER, Money("100.30", "CNY"),
                 Money("0.03", "CNY"), 2),
                ("c-2", InstrumentKind.LOAN_COMMITMENT_LETTER, Money("1000000", "CNY"),
                 Money("0", "CNY"), 1)]
            assert lines[0].outstanding == Money("100.27", "CNY")
            only = uow.credit.exposure(date(2026, 6, 30), customer_id="c-2")
            assert [x.customer_id for x in only] == ["c-2"]

    def test_a_credit_limit_is_versioned(self, storage: Storage) -> None:
        limit = CreditLimit(customer_id="c-1", limit=Money("5000000.00", "CNY"),
                            approved_by="u-appr", approved_at=T0)
        with storage.unit_of_work() as uow:
            assert uow.credit_limits.get("c-1") is None
            stored = uow.credit_limits.save(limit)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.credit_limits.get("c-1") == stored == attrs.evolve(limit, version=1)
            raised = uow.credit_limits.save(attrs.evolve(stored, limit=Money("1", "CNY")))
            assert raised.version == 2
            with pytest.raises(ConcurrencyError):
                uow.credit_limits.save(stored)
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.credit_limits.save(limit)  # version 0: someone created it first
