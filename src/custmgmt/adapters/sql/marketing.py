"""SQL marketing repositories: campaigns as columns with child rows (segment members,
sends), products, risk assessments, touches and outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import attrs
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from custmgmt.adapters.sql.column_types import UTCDateTime
from custmgmt.adapters.sql.tables import Base
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.consent import ContactChannel
from custmgmt.domain.marketing import (
    Campaign,
    CampaignState,
    Exclusion,
    Material,
    Outcome,
    OutcomeKind,
    Product,
    RiskAssessment,
    RiskLevel,
    Segment,
    Touch,
    Wave,
)
from custmgmt.errors import ConcurrencyError, NotFound


class CampaignRow(Base):
    __tablename__ = "custmgmt_campaigns"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[str] = mapped_column(String(100))
    channels: Mapped[str] = mapped_column(String(200))
    """The channel values in order of preference, comma-separated."""
    owner_id: Mapped[str] = mapped_column(String(200), index=True)
    owner_team: Mapped[str | None] = mapped_column(String(100))
    uses_sensitive_data: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(200))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_passed: Mapped[bool | None] = mapped_column(Boolean)
    review_note: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class CampaignMemberRow(Base):
    """One customer of one target segment, in the campaign's order."""

    __tablename__ = "custmgmt_campaign_members"

    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_campaigns.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(100))


class CampaignWaveRow(Base):
    """One send of a campaign, with the customers left out by reason."""

    __tablename__ = "custmgmt_campaign_waves"

    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_campaigns.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(200))
    queued: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    no_assessment: Mapped[int] = mapped_column(Integer)
    assessment_expired: Mapped[int] = mapped_column(Integer)
    tolerance_below: Mapped[int] = mapped_column(Integer)
    no_consent: Mapped[int] = mapped_column(Integer)


class ProductRow(Base):
    __tablename__ = "custmgmt_products"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    risk_level: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskAssessmentRow(Base):
    __tablename__ = "custmgmt_risk_assessments"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100))
    tolerance: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    assessed_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_custmgmt_risk_assessments_latest", "customer_id",
                            "assessed_on", "recorded_at", "id"),)


class TouchRow(Base):
    __tablename__ = "custmgmt_touches"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(100))
    segment: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    wave: Mapped[int] = mapped_column(Integer)
    notification_id: Mapped[str] = mapped_column(String(100), unique=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_id: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("ix_custmgmt_touches_campaign", "campaign_id", "queued_at", "id"),)


class OutcomeRow(Base):
    __tablename__ = "custmgmt_outcomes"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(100))
    touch_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_custmgmt_outcomes_campaign", "campaign_id", "at", "id"),)


_WAVE_COLUMNS = {Exclusion.REFUSED: "refused", Exclusion.NO_ASSESSMENT: "no_assessment",
                 Exclusion.ASSESSMENT_EXPIRED: "assessment_expired",
                 Exclusion.TOLERANCE_BELOW: "tolerance_below",
                 Exclusion.NO_CONSENT: "no_consent"}


def _campaign_values(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "product_id": c.product_id,
        "channels": ",".join(ch.value for ch in c.channels), "owner_id": c.owner_id,
        "owner_team": c.owner_team, "uses_sensitive_data": c.uses_sensitive_data,
        "state": c.state.value, "created_at": c.created_at, "subject": c.material.subject,
        "body": c.material.body, "author_id": c.material.author_id,
        "reviewed_by": c.reviewed_by, "reviewed_at": c.reviewed_at,
        "review_passed": c.review_passed, "review_note": c.review_note,
        "approved_by": c.approved_by, "approved_at": c.approved_at,
        "started_at": c.started_at, "closed_at": c.closed_at,
        "evaluated_at": c.evaluated_at, "version": c.version}


def _to_campaign(row: CampaignRow, members: Sequence[CampaignMemberRow],
                 waves: Sequence[CampaignWaveRow]) -> Campaign:
    segments: dict[str, list[str]] = {}
    for member in sorted(members, key=lambda m: m.position):
        segments.setdefault(member.segment, []).append(member.customer_id)
    return Campaign(
        id=row.id, name=row.name, product_id=row.product_id,
        segments=tuple(Segment(name=n, customer_ids=tuple(ids))
                       for n, ids in segments.items()),
        channels=tuple(ContactChannel(v) for v in row.channels.split(",")),
        material=Material(subject=row.subject, body=row.body, author_id=row.author_id),
        owner_id=row.owner_id, owner_team=row.owner_team,
        uses_sensitive_data=row.uses_sensitive_data, state=CampaignState(row.state),
        created_at=row.created_at, reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at,
        review_passed=row.review_passed, review_note=row.review_note,
        approved_by=row.approved_by, approved_at=row.approved_at, started_at=row.started_at,
        closed_at=row.closed_at, evaluated_at=row.evaluated_at,
        waves=tuple(Wave(number=w.number, at=w.at, by=w.by, queued=w.queued,
                         excluded=tuple((reason, getattr(w, column))
                                        for reason, column in _WAVE_COLUMNS.items()
                                        if getattr(w, column)))
                    for w in sorted(waves, key=lambda w: w.number)),
        version=row.version)


class SqlCampaigns:
    def __init__(self, session: Session) -> None:
        self._s = session
        self._read: dict[str, Campaign] = {}

    def get(self, campaign_id: str) -> Campaign:
        row = self._s.scalars(select(CampaignRow).where(CampaignRow.id == campaign_id)
                              .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound("campaign", campaign_id)
        members = self._s.scalars(
            select(CampaignMemberRow).where(CampaignMemberRow.campaign_id == campaign_id)
            .execution_options(populate_existing=True)).all()
        waves = self._s.scalars(
            select(CampaignWaveRow).where(CampaignWaveRow.campaign_id == campaign_id)
            .execution_options(populate_existing=True)).all()
        found = _to_campaign(row, members, waves)
        self._read[campaign_id] = found
        return found

    def add(self, campaign: Campaign) -> Campaign:
        stored = attrs.evolve(campaign, version=1)
        try:
            with self._s.begin_nested():
                self._s.execute(insert(CampaignRow), [_campaign_values(stored)])
        except IntegrityError:
            raise ConcurrencyError(f"campaign {campaign.id!r} already exists") from None
        self._members(stored)
        self._waves(stored, 0)
        self._read[stored.id] = stored
        return stored

    def update(self, campaign: Campaign) -> Campaign:
        stored = attrs.evolve(campaign, version=campaign.version + 1)
        versioned_update(self._s, CampaignRow, {"id": campaign.id}, campaign.version,
                         _campaign_values(stored), "campaign")
        before = self._read.get(campaign.id)
        if before is None or before.segments != campaign.segments:
            self._s.execute(delete(CampaignMemberRow).where(
                CampaignMemberRow.campaign_id == campaign.id))
            self._members(stored)
        if before is None:
            self._s.execute(delete(CampaignWaveRow).where(
                CampaignWaveRow.campaign_id == campaign.id))
        self._waves(stored, 0 if before is None else len(before.waves))
        self._read[stored.id] = stored
        return stored

    def _members(self, campaign: Campaign) -> None:
        values = [{"campaign_id": campaign.id, "position": n, "segment": segment,
                   "customer_id": cid}
                  for n, (segment, cid) in enumerate(
                      (s.name, c) for s in campaign.segments for c in s.customer_ids)]
        if values:
            self._s.execute(insert(CampaignMemberRow), values)

    def _waves(self, campaign: Campaign, known: int) -> None:
        values = []
        for wave in campaign.waves[known:]:
            value: dict[str, Any] = {"campaign_id": campaign.id, "number": wave.number,
                                     "at": wave.at, "by": wave.by, "queued": wave.queued}
            value.update({column: wave.excluded_for(reason)
                          for reason, column in _WAVE_COLUMNS.items()})
            values.append(value)
        if values:
            self._s.execute(insert(CampaignWaveRow), values)


def _to_touch(row: TouchRow) -> Touch:
    return Touch(id=row.id, campaign_id=row.campaign_id, customer_id=row.customer_id,
                 segment=row.segment, channel=ContactChannel(row.channel), wave=row.wave,
                 notification_id=row.notification_id, queued_at=row.queued_at,
                 sent_at=row.sent_at, consent_id=row.consent_id)


class SqlMarketing:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add_product(self, product: Product) -> None:
        try:
            with self._s.begin_nested():
                self._s.execute(insert(ProductRow), [{
                    "id": product.id, "name": product.name,
                    "risk_level": int(product.risk_level), "created_by": product.created_by,
                    "created_at": product.created_at}])
        except IntegrityError:
            raise ConcurrencyError(f"product {product.id!r} already exists") from None

    def product(self, product_id: str) -> Product:
        row = self._s.scalars(select(ProductRow).where(ProductRow.id == product_id)
                              .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound("product", product_id)
        return Product(id=row.id, name=row.name, risk_level=RiskLevel(row.risk_level),
                       created_by=row.created_by, created_at=row.created_at)

    def add_assessment(self, assessment: RiskAssessment) -> None:
        self._s.execute(insert(RiskAssessmentRow), [{
            "id": assessment.id, "customer_id": assessment.customer_id,
            "tolerance": int(assessment.tolerance), "assessed_on": assessment.assessed_on,
            "valid_until": assessment.valid_until, "assessed_by": assessment.assessed_by,
            "recorded_at": assessment.recorded_at}])

    def assessment(self, customer_id: str) -> RiskAssessment | None:
        r = RiskAssessmentRow
        row = self._s.scalars(
            select(r).where(r.customer_id == customer_id)
            .order_by(r.assessed_on.desc(), r.recorded_at.desc(), r.id.desc()).limit(1)
            .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            return None
        return RiskAssessment(id=row.id, customer_id=row.customer_id,
                              tolerance=RiskLevel(row.tolerance), assessed_on=row.assessed_on,
                              valid_until=row.valid_until, assessed_by=row.assessed_by,
                              recorded_at=row.recorded_at)

    def add_touches(self, touches: Sequence[Touch]) -> None:
        if not touches:
            return
        try:
            with self._s.begin_nested():
                self._s.execute(insert(TouchRow), [{
                    "id": t.id, "campaign_id": t.campaign_id, "customer_id": t.customer_id,
                    "segment": t.segment, "channel": t.channel.value, "wave": t.wave,
                    "notification_id": t.notification_id, "queued_at": t.queued_at,
                    "sent_at": t.sent_at, "consent_id": t.consent_id} for t in touches])
        except IntegrityError:
            raise ConcurrencyError("a touch with that id or notification exists") from None

    def touch_for(self, notification_id: str) -> Touch | None:
        row = self._s.scalars(select(TouchRow).where(
            TouchRow.notification_id == notification_id)
            .execution_options(populate_existing=True)).one_or_none()
        return None if row is None else _to_touch(row)

    def mark_sent(self, notification_id: str, at: datetime, consent_id: str | None) -> None:
        self._s.execute(update(TouchRow).where(TouchRow.notification_id == notification_id)
                        .values(sent_at=at, consent_id=consent_id)
                        .execution_options(synchronize_session=False))

    def touches(self, campaign_id: str) -> Sequence[Touch]:
        rows = self._s.scalars(
            select(TouchRow).where(TouchRow.campaign_id == campaign_id)
            .order_by(TouchRow.queued_at, TouchRow.id)
            .execution_options(populate_existing=True)).all()
        return [_to_touch(r) for r in rows]

    def add_outcome(self, outcome: Outcome) -> None:
        self._s.execute(insert(OutcomeRow), [{
            "id": outcome.id, "campaign_id": outcome.campaign_id,
            "customer_id": outcome.customer_id, "touch_id": outcome.touch_id,
            "kind": outcome.kind.value, "at": outcome.at, "recorded_by": outcome.recorded_by,
            "reference": outcome.reference}])

    def outcomes(self, campaign_id: str) -> Sequence[Outcome]:
        rows = self._s.scalars(
            select(OutcomeRow).where(OutcomeRow.campaign_id == campaign_id)
            .order_by(OutcomeRow.at, OutcomeRow.id)
            .execution_options(populate_existing=True)).all()
        return [Outcome(id=r.id, campaign_id=r.campaign_id, customer_id=r.customer_id,
                        touch_id=r.touch_id, kind=OutcomeKind(r.kind), at=r.at,
                        recorded_by=r.recorded_by, reference=r.reference) for r in rows]
