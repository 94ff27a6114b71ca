"""SQL consent history: one row per record, appended, never updated."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Boolean, Index, String, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from custmgmt.adapters.sql.column_types import UTCDateTime
from custmgmt.adapters.sql.tables import Base, table_of
from custmgmt.domain.consent import ConsentRecord, ConsentSource, ContactChannel
from custmgmt.domain.customers import Purpose
from custmgmt.errors import ConcurrencyError


class ConsentRow(Base):
    """One consent given or withdrawn (append-only)."""

    __tablename__ = "custmgmt_consents"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    sensitive: Mapped[bool] = mapped_column(Boolean)
    given: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(200))
    notice_version: Mapped[str | None] = mapped_column(String(50))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_custmgmt_consents_key", "customer_id", "purpose", "channel",
                            "sensitive", "at", "id"),)


INSERT = insert(table_of(ConsentRow))


def _to_record(row: ConsentRow) -> ConsentRecord:
    return ConsentRecord(
        id=row.id, customer_id=row.customer_id, purpose=Purpose(row.purpose),
        channel=ContactChannel(row.channel), sensitive=row.sensitive, given=row.given,
        at=row.at, source=ConsentSource(row.source), reference=row.reference,
        notice_version=row.notice_version, recorded_by=row.recorded_by,
        recorded_at=row.recorded_at)


class SqlConsents:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: ConsentRecord) -> None:
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT, [{
                    "id": record.id, "customer_id": record.customer_id,
                    "purpose": record.purpose.value, "channel": record.channel.value,
                    "sensitive": record.sensitive, "given": record.given, "at": record.at,
                    "source": record.source.value, "reference": record.reference,
                    "notice_version": record.notice_version,
                    "recorded_by": record.recorded_by, "recorded_at": record.recorded_at}])
        except IntegrityError:
            raise ConcurrencyError(f"consent record {record.id!r} already exists") from None

    def history(self, customer_id: str) -> Sequence[ConsentRecord]:
        rows = self._s.scalars(
            select(ConsentRow).where(ConsentRow.customer_id == customer_id)
            .order_by(ConsentRow.at, ConsentRow.id)
            .execution_options(populate_existing=True)).all()
        return [_to_record(r) for r in rows]

    def latest(
        self, customer_id: str, purpose: Purpose, channel: ContactChannel, sensitive: bool,
        at: datetime,
    ) -> ConsentRecord | None:
        row = self._s.scalars(
            select(ConsentRow).where(
                ConsentRow.customer_id == customer_id, ConsentRow.purpose == purpose.value,
                ConsentRow.channel == channel.value, ConsentRow.sensitive == sensitive,
                ConsentRow.at <= at)
            .order_by(ConsentRow.at.desc(), ConsentRow.id.desc()).limit(1)
            .execution_options(populate_existing=True)).one_or_none()
        return None if row is None else _to_record(row)
