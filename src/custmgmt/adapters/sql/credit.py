"""The SQL credit repositories: instrument rows with conditions and drawdowns as child
tables, credit limits, and the exposure report summed by the database.

Amounts are kept as whole minor units (fen) in integer columns, so that sums are exact
on every engine (SQLite would add text or NUMERIC through floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import attrs
from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from custmgmt.adapters.sql.column_types import ExactDecimal, UTCDateTime
from custmgmt.adapters.sql.reach import reach_clause
from custmgmt.adapters.sql.tables import Base
from custmgmt.adapters.sql.versioned import save_versioned, versioned_update
from custmgmt.domain.common import CURRENCY_MINOR_UNITS, Money
from custmgmt.domain.credit import (
    EXPOSED,
    Benchmark,
    Condition,
    Counterparty,
    CreditInstrument,
    CreditLimit,
    CustomerConsent,
    Drawdown,
    ExposureLine,
    InstrumentKind,
    InstrumentState,
    InterestRate,
    Revocation,
)
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import CreditQuery


class CreditInstrumentRow(Base):
    __tablename__ = "custmgmt_credit_instruments"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(100), index=True)
    owner_id: Mapped[str] = mapped_column(String(200), index=True)
    owner_team: Mapped[str | None] = mapped_column(String(100), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    drawn_minor: Mapped[int] = mapped_column(BigInteger)
    """The sum of the drawdowns, kept with them so exposure is one query."""
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(String(500))
    rate_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    rate_benchmark: Mapped[str | None] = mapped_column(String(20))
    rate_spread_bp: Mapped[int | None] = mapped_column(Integer)
    term_months: Mapped[int | None] = mapped_column(Integer)
    drawdown_method: Mapped[str | None] = mapped_column(String(500))
    commitment_fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    beneficiary: Mapped[str | None] = mapped_column(String(300))
    project: Mapped[str | None] = mapped_column(String(300))
    construction_end: Mapped[date | None] = mapped_column(Date)
    counterparty: Mapped[str | None] = mapped_column(String(20))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    consent_by: Mapped[str | None] = mapped_column(String(200))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_ref: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_custmgmt_credit_instruments_created", "created_at", "id"),)


class CreditConditionRow(Base):
    __tablename__ = "custmgmt_credit_conditions"

    instrument_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_credit_instruments.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    cited_position: Mapped[int | None] = mapped_column(Integer)
    """Where a revocation cited this condition among the failed ones (None: not cited)."""


class CreditDrawdownRow(Base):
    __tablename__ = "custmgmt_credit_drawdowns"

    instrument_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_credit_instruments.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(200))
    project: Mapped[str | None] = mapped_column(String(300))


class CreditLimitRow(Base):
    __tablename__ = "custmgmt_credit_limits"

    customer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    limit_minor: Mapped[int] = mapped_column(BigInteger)
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


# -- translation, both ways ---------------------------------------------------------

def _minor(money: Money) -> int:
    return int(money.amount.scaleb(CURRENCY_MINOR_UNITS[money.currency]))


def _money(minor: int, currency: str) -> Money:
    return Money(Decimal(minor).scaleb(-CURRENCY_MINOR_UNITS[currency]), currency)


def instrument_values(i: CreditInstrument) -> dict[str, object]:
    """Column values of an instrument's main row (not its conditions or drawdowns)."""
    rate, revocation = i.rate, i.revocation
    consent = None if revocation is None else revocation.consent
    return {
        "id": i.id, "kind": i.kind.value, "customer_id": i.customer_id,
        "owner_id": i.owner_id, "owner_team": i.owner_team, "currency": i.amount.currency,
        "amount_minor": _minor(i.amount), "drawn_minor": _minor(i.drawn),
        "valid_from": i.valid_from, "valid_until": i.valid_until, "created_at": i.created_at,
        "state": i.state.value, "purpose": i.purpose,
        "rate_percent": None if rate is None else rate.percent,
        "rate_benchmark": None if rate is None or rate.benchmark is None
        else rate.benchmark.value,
        "rate_spread_bp": None if rate is None else rate.spread_bp,
        "term_months": i.term_months, "drawdown_method": i.drawdown_method,
        "commitment_fee_minor": None if i.commitment_fee is None
        else _minor(i.commitment_fee),
        "beneficiary": i.beneficiary, "project": i.project,
        "construction_end": i.construction_end,
        "counterparty": None if i.counterparty is None else i.counterparty.value,
        "submitted_at": i.submitted_at, "approved_by": i.approved_by,
        "approved_at": i.approved_at, "issued_at": i.issued_at, "awarded_at": i.awarded_at,
        "revoked_by": None if revocation is None else revocation.by,
        "revoked_at": None if revocation is None else revocation.at,
        "revoke_reason": None if revocation is None else revocation.reason,
        "consent_by": None if consent is None else consent.consented_by,
        "consent_at": None if consent is None else consent.at,
        "consent_ref": None if consent is None else consent.document_ref,
        "version": i.version,
    }


def condition_values(i: CreditInstrument) -> list[dict[str, object]]:
    cited = () if i.revocation is None else i.revocation.failed_conditions
    return [{"instrument_id": i.id, "position": n, "code": c.code,
             "description": c.description,
             "cited_position": cited.index(c.code) if c.code in cited else None}
            for n, c in enumerate(i.conditions)]


def drawdown_values(i: CreditInstrument, start: int) -> list[dict[str, object]]:
    return [{"instrument_id": i.id, "position": start + n, "id": d.id,
             "amount_minor": _minor(d.amount), "at": d.at, "by": d.by, "project": d.project}
            for n, d in enumerate(i.drawdowns[start:])]


def to_instrument(row: CreditInstrumentRow, conditions: Sequence[CreditConditionRow],
                  drawdowns: Sequence[CreditDrawdownRow]) -> CreditInstrument:
    currency = row.currency
    rate = None
    if row.rate_percent is not None:
        rate = InterestRate(percent=row.rate_percent)
    elif row.rate_benchmark is not None:
        rate = InterestRate(benchmark=Benchmark(row.rate_benchmark),
                            spread_bp=row.rate_spread_bp)
    ordered = sorted(conditions, key=lambda c: c.position)
    revocation = None
    if row.revoked_by is not None:
        assert row.revoked_at is not None and row.revoke_reason is not None
        consent = None
        if row.consent_by is not None:
            assert row.consent_at is not None and row.consent_ref is not None
            consent = CustomerConsent(consented_by=row.consent_by, at=row.consent_at,
                                      document_ref=row.consent_ref)
        cited = sorted((c for c in ordered if c.cited_position is not None),
                       key=lambda c: c.cited_position or 0)
        revocation = Revocation(by=row.revoked_by, at=row.revoked_at,
                                reason=row.revoke_reason, consent=consent,
                                failed_conditions=tuple(c.code for c in cited))
    return CreditInstrument(
        id=row.id, kind=InstrumentKind(row.kind), customer_id=row.customer_id,
        owner_id=row.owner_id, owner_team=row.owner_team,
        amount=_money(row.amount_minor, currency), valid_from=row.valid_from,
        valid_until=row.valid_until, created_at=row.created_at,
        state=InstrumentState(row.state), purpose=row.purpose, rate=rate,
        term_months=row.term_months, drawdown_method=row.drawdown_method,
        commitment_fee=None if row.commitment_fee_minor is None
        else _money(row.commitment_fee_minor, currency),
        beneficiary=row.beneficiary, project=row.project,
        construction_end=row.construction_end,
        conditions=tuple(Condition(code=c.code, description=c.description) for c in ordered),
        counterparty=None if row.counterparty is None else Counterparty(row.counterparty),
        submitted_at=row.submitted_at, approved_by=row.approved_by,
        approved_at=row.approved_at, issued_at=row.issued_at, awarded_at=row.awarded_at,
        drawdowns=tuple(
            Drawdown(id=d.id, amount=_money(d.amount_minor, currency), at=d.at, by=d.by,
                     project=d.project)
            for d in sorted(drawdowns, key=lambda d: d.position)),
        revocation=revocation, version=row.version,
    )


# -- repositories -------------------------------------------------------------------

class SqlCredit:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _load(self, rows: Sequence[CreditInstrumentRow]) -> list[CreditInstrument]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        conditions: dict[str, list[CreditConditionRow]] = {i: [] for i in ids}
        drawdowns: dict[str, list[CreditDrawdownRow]] = {i: [] for i in ids}
        for c in self._s.scalars(select(CreditConditionRow).where(
                CreditConditionRow.instrument_id.in_(ids))
                .execution_options(populate_existing=True)):
            conditions[c.instrument_id].append(c)
        for d in self._s.scalars(select(CreditDrawdownRow).where(
                CreditDrawdownRow.instrument_id.in_(ids))
                .execution_options(populate_existing=True)):
            drawdowns[d.instrument_id].append(d)
        return [to_instrument(r, conditions[r.id], drawdowns[r.id]) for r in rows]

    def get(self, instrument_id: str) -> CreditInstrument:
        row = self._s.scalars(
            select(CreditInstrumentRow).where(CreditInstrumentRow.id == instrument_id)
            .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound("credit instrument", instrument_id)
        return self._load([row])[0]

    def add(self, instrument: CreditInstrument) -> CreditInstrument:
        stored = attrs.evolve(instrument, version=1)
        try:
            with self._s.begin_nested():
                self._s.execute(insert(CreditInstrumentRow), [instrument_values(stored)])
        except IntegrityError:
            raise ConcurrencyError(f"credit instrument {instrument.id!r} already exists") \
                from None
        self._children(stored, 0)
        return stored

    def update(self, instrument: CreditInstrument) -> CreditInstrument:
        stored = attrs.evolve(instrument, version=instrument.version + 1)
        versioned_update(self._s, CreditInstrumentRow, {"id": instrument.id},
                         instrument.version, instrument_values(stored), "credit instrument")
        self._s.execute(delete(CreditConditionRow).where(
            CreditConditionRow.instrument_id == instrument.id))
        known = self._s.scalar(select(func.count()).select_from(CreditDrawdownRow).where(
            CreditDrawdownRow.instrument_id == instrument.id)) or 0
        self._children(stored, known)
        return stored

    def _children(self, instrument: CreditInstrument, known_drawdowns: int) -> None:
        conditions = condition_values(instrument)
        if conditions:
            self._s.execute(insert(CreditConditionRow), conditions)
        drawdowns = drawdown_values(instrument, known_drawdowns)
        if drawdowns:
            self._s.execute(insert(CreditDrawdownRow), drawdowns)

    def find(self, query: CreditQuery) -> Sequence[CreditInstrument]:
        row = CreditInstrumentRow
        clauses = reach_clause(query.reach, row.owner_id, row.owner_team)
        if query.customer_id is not None:
            clauses.append(row.customer_id == query.customer_id)
        if query.kind is not None:
            clauses.append(row.kind == query.kind.value)
        if query.state is not None:
            clauses.append(row.state == query.state.value)
        if query.after is not None:
            at, iid = query.after
            clauses.append(or_(row.created_at > at, and_(row.created_at == at, row.id > iid)))
        rows = self._s.scalars(
            select(row).where(*clauses).order_by(row.created_at, row.id).limit(query.limit)
            .execution_options(populate_existing=True)).all()
        return self._load(rows)

    def exposure(self, on: date, customer_id: str | None = None) -> Sequence[ExposureLine]:
        row = CreditInstrumentRow
        binding = sorted(k.value for k in InstrumentKind if k.binding)
        clauses = [row.kind.in_(binding), row.state.in_(sorted(s.value for s in EXPOSED)),
                   row.valid_until >= on]
        if customer_id is not None:
            clauses.append(row.customer_id == customer_id)
        result = self._s.execute(
            select(row.customer_id, row.kind, row.currency, func.sum(row.amount_minor),
                   func.sum(row.drawn_minor), func.count())
            .where(*clauses).group_by(row.customer_id, row.kind, row.currency)
            .order_by(row.customer_id, row.kind, row.currency))
        return [ExposureLine(customer_id=cid, kind=InstrumentKind(kind), currency=currency,
                             committed=_money(int(committed), currency),
                             drawn=_money(int(drawn), currency), count=int(count))
                for cid, kind, currency, committed, drawn, count in result]


class SqlCreditLimits:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, customer_id: str) -> CreditLimit | None:
        row = self._s.scalars(
            select(CreditLimitRow).where(CreditLimitRow.customer_id == customer_id)
            .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            return None
        return CreditLimit(customer_id=row.customer_id,
                           limit=_money(row.limit_minor, row.currency),
                           approved_by=row.approved_by, approved_at=row.approved_at,
                           version=row.version)

    def save(self, limit: CreditLimit) -> CreditLimit:
        cid, version = limit.customer_id, limit.version
        values = {"currency": limit.limit.currency, "limit_minor": _minor(limit.limit),
                  "approved_by": limit.approved_by, "approved_at": limit.approved_at,
                  "version": version + 1}
        save_versioned(self._s, CreditLimitRow, {"customer_id": cid}, version, values,
                       "credit limit")
        return attrs.evolve(limit, version=version + 1)
