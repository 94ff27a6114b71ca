"""Row models. Every table is prefixed ``custmgmt_`` to sit beside a host app's tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from custmgmt.adapters.sql.column_types import (
    KEY_PREFIX,
    ExactDecimal,
    SealedKey,
    UTCDateTime,
)
from custmgmt.domain.audit import IMPORT_KIND
from custmgmt.domain.identity import KeyKind

# Explicit constraint names, identical on SQLite and PostgreSQL, so migrations can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


KEY_COLUMNS = {kind: f"{kind.value}_key" for kind in KeyKind}
"""The column of a prospect's row that holds its identity key of each kind."""


def key_index_expression(column: str) -> str:
    """What the unique index of an identity-key column holds: its first ``KEY_PREFIX``
    bytes (SQL that a look-up repeats word for word, so that both engines use the index)."""
    return f"substr({column}, 1, {KEY_PREFIX})"


def held_key_index(table: str, column: str) -> Index:
    """The unique index of one identity-key column, over what ``key_index_expression``
    keeps of each key; rows without that key are left out."""
    held = text(f"{column} IS NOT NULL")
    return Index(f"ux_{table}_{column}", text(key_index_expression(column)), unique=True,
                 sqlite_where=held, postgresql_where=held)


def table_of(row: type[Base]) -> Table:
    """The Core table behind a row model, for statements built once and reused."""
    return Base.metadata.tables[row.__tablename__]


class ProspectRow(Base):
    __tablename__ = "custmgmt_prospects"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    organization: Mapped[str | None] = mapped_column(String(300))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    industry: Mapped[str | None] = mapped_column(String(100))
    source_channel: Mapped[str | None] = mapped_column(String(100))
    needs: Mapped[str | None] = mapped_column(Text)
    willingness: Mapped[str] = mapped_column(String(20))
    potential_amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    potential_currency: Mapped[str] = mapped_column(String(3))
    # grade and stage are not indexed: four and six values select too little to pay
    # for the index upkeep on every write (lists filter by owner or team first).
    grade: Mapped[str] = mapped_column(String(1))
    grade_is_manual: Mapped[bool] = mapped_column(Boolean)
    stage: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[str] = mapped_column(String(200))
    owner_team: Mapped[str | None] = mapped_column(String(100))
    registration_id: Mapped[str] = mapped_column(String(100), unique=True)
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registration_active: Mapped[bool] = mapped_column(Boolean)
    registration_from_pool: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[str | None] = mapped_column(String(100))
    # The identity keys it holds, at most one of each kind (none once released). A
    # unique index on each makes the first registration stand; in the prospect's own
    # row, the keys take no row of their own.
    phone_key: Mapped[str | None] = mapped_column(SealedKey)
    email_key: Mapped[str | None] = mapped_column(SealedKey)
    organization_key: Mapped[str | None] = mapped_column(SealedKey)
    credit_code_key: Mapped[str | None] = mapped_column(SealedKey)
    # Its follow-up plan (all NULL while it has none), in its own row since migration
    # 0027: a registration writes prospect and plan in one row, and the plan takes no
    # row, primary key, statement or index of its own. The plan's owner and team are
    # the prospect's (owner_id, owner_team); its grade, stage and version its own.
    # Deferred: a prospect loaded is loaded without them (only ``SqlPlans`` reads them).
    plan_grade: Mapped[str | None] = mapped_column(String(1), deferred=True)
    plan_stage: Mapped[str | None] = mapped_column(String(30), deferred=True)
    plan_active: Mapped[bool | None] = mapped_column(Boolean, deferred=True)
    plan_anchor: Mapped[date | None] = mapped_column(Date, deferred=True)
    plan_override: Mapped[date | None] = mapped_column(Date, deferred=True)
    plan_next_due: Mapped[date | None] = mapped_column(Date, deferred=True)
    plan_version: Mapped[int | None] = mapped_column(Integer, deferred=True)
    # The head of its audit trail (chain ``PROSPECT_TRAILS``; all NULL while it has
    # none), in its own row since migration 0028: a registration's head takes no row,
    # primary key or index of its own (``SqlHeads`` reads and writes it here). Deferred
    # as the plan is.
    trail_length: Mapped[int | None] = mapped_column(Integer, deferred=True)
    trail_hash: Mapped[str | None] = mapped_column(String(64), deferred=True)
    trail_seal: Mapped[str | None] = mapped_column(String(200), deferred=True)

    __table_args__ = (
        Index("ix_custmgmt_prospects_registered", "registered_at", "id"),
        # An owner's and a team's prospects, and their due lists: one index range each,
        # the due list's already in (next_due, id) order (no sort, no scan of plans not
        # due) and covering the columns it returns (an index-only scan). Everyone's due
        # list (an administrator's) reads the table: an index for it cost every
        # registration a fifth of its writing.
        Index("ix_custmgmt_prospects_owner_due", "owner_id", "plan_active",
              "plan_next_due", "id", "plan_grade", "owner_team"),
        Index("ix_custmgmt_prospects_team_due", "owner_team", "plan_active",
              "plan_next_due", "id", "owner_id", "plan_grade"),
        *(held_key_index("custmgmt_prospects", column) for column in KEY_COLUMNS.values()),
        # Found by customer with ``customer_id = ?``; a prospect is registered (and
        # imported) with none, and those rows are left out of the index.
        Index("ix_custmgmt_prospects_customer_id", "customer_id",
              sqlite_where=text("customer_id IS NOT NULL"),
              postgresql_where=text("customer_id IS NOT NULL")),
    )


class ProspectHistoryRow(Base):
    __tablename__ = "custmgmt_prospect_history"

    prospect_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_prospects.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    before: Mapped[str | None] = mapped_column(String(200))
    after: Mapped[str] = mapped_column(String(2000))
    reason: Mapped[str | None] = mapped_column(Text)


class CustomerRow(Base):
    __tablename__ = "custmgmt_customers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    organization: Mapped[str | None] = mapped_column(String(300))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    industry: Mapped[str | None] = mapped_column(String(100))
    source_channel: Mapped[str | None] = mapped_column(String(100))
    needs: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(String(200), index=True)
    owner_team: Mapped[str | None] = mapped_column(String(100), index=True)
    # status is not indexed (two values); lists filter by owner or team first.
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    needs_review: Mapped[bool] = mapped_column(Boolean)
    review_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_custmgmt_customers_created", "created_at", "id"),)


class CustomerHistoryRow(Base):
    __tablename__ = "custmgmt_customer_history"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_customers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    before: Mapped[str | None] = mapped_column(String(200))
    after: Mapped[str] = mapped_column(String(2000))
    reason: Mapped[str | None] = mapped_column(Text)


class CustomerKeyRow(Base):
    """Every customer's identity keys: the primary key keeps one company one customer."""

    __tablename__ = "custmgmt_customer_keys"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_customers.id", ondelete="CASCADE"), index=True
    )


class DelistingCaseRow(Base):
    """A delisting case; its notice's exact text is kept in the row."""

    __tablename__ = "custmgmt_delisting_cases"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_customers.id", ondelete="RESTRICT"), index=True
    )
    grounds: Mapped[str] = mapped_column(String(300))
    other_ground: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(30))
    trigger_note: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    sealed: Mapped[bool] = mapped_column(Boolean)
    notice_language: Mapped[str | None] = mapped_column(String(5))
    notice_text: Mapped[str | None] = mapped_column(Text)
    notice_reasons: Mapped[str | None] = mapped_column(Text)
    notice_basis: Mapped[str | None] = mapped_column(Text)
    notice_issued_by: Mapped[str | None] = mapped_column(String(200))
    notice_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_notification_id: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)


class DelistingEvidenceRow(Base):
    __tablename__ = "custmgmt_delisting_evidence"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_delisting_cases.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[str] = mapped_column(String(200))


class DelistingPanelRow(Base):
    """The panel as snapshotted when the vote opened: one row per member."""

    __tablename__ = "custmgmt_delisting_panel"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_delisting_cases.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(String(200), primary_key=True)


class DelistingVoteRow(Base):
    """Each member's current vote: the primary key keeps one vote per member."""

    __tablename__ = "custmgmt_delisting_votes"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_delisting_cases.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    choice: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class DelistingHistoryRow(Base):
    __tablename__ = "custmgmt_delisting_history"

    case_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_delisting_cases.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class DelistingReviewRow(Base):
    """Each customer's latest periodic review (the audit trail keeps every one)."""

    __tablename__ = "custmgmt_delisting_reviews"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_customers.id", ondelete="CASCADE"), primary_key=True
    )
    reviewed_by: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str] = mapped_column(Text)


class PrincipalRow(Base):
    __tablename__ = "custmgmt_principals"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    team: Mapped[str | None] = mapped_column(String(100), index=True)
    supervisor_id: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class GrantsGenerationRow(Base):
    """One row: a number the database counts up at every change of a principal, its
    roles or certifications, made by the library or by hand (migration 0020's
    triggers). A due list read for an actor known from an earlier list is kept only
    if the number is still the one read with that actor."""

    __tablename__ = "custmgmt_grants_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)


class PrincipalRoleRow(Base):
    __tablename__ = "custmgmt_principal_roles"

    principal_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_principals.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(100), primary_key=True)


class CertificationRow(Base):
    __tablename__ = "custmgmt_certifications"

    principal_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_principals.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    valid_until: Mapped[date | None] = mapped_column(Date)


class AuditRow(Base):
    __tablename__ = "custmgmt_audit"
    # An import batch's entry is found by its hash (an imported prospect's trail starts
    # from it); entries of other kinds are left out, so no other write pays for it.
    __table_args__ = (Index("ix_custmgmt_audit_import_hash", "hash",
                            sqlite_where=text(f"resource_kind = '{IMPORT_KIND}'"),
                            postgresql_where=text(f"resource_kind = '{IMPORT_KIND}'")),)

    resource_kind: Mapped[str] = mapped_column(String(50), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHeadRow(Base):
    """The head of each custody chain and audit trail, sealed when a key is configured;
    a prospect's audit trail's is in the prospect's row (``ProspectRow.trail_length``...)."""

    __tablename__ = "custmgmt_chain_heads"

    chain: Mapped[str] = mapped_column(String(60), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str | None] = mapped_column(String(200))


class EventRow(Base):
    __tablename__ = "custmgmt_events"

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[str] = mapped_column(Text)


class OutboxRow(Base):
    __tablename__ = "custmgmt_outbox"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(50))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(200))
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_custmgmt_outbox_created", "created_at", "id"),
        # Workers claim the oldest due items: status first, then the claim order.
        Index("ix_custmgmt_outbox_due", "status", "created_at", "id"),
    )


class ObserverCursorRow(Base):
    """How far each event observer has read the event log, and who feeds it now."""

    __tablename__ = "custmgmt_observer_cursors"

    observer: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    leased_by: Mapped[str | None] = mapped_column(String(200))
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FollowUpRow(Base):
    __tablename__ = "custmgmt_followups"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    prospect_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_prospects.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[str] = mapped_column(String(200), index=True)
    owner_team: Mapped[str | None] = mapped_column(String(100))
    by: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[date] = mapped_column(Date, index=True)
    summary: Mapped[str] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_due: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stage: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(200))


class ClosedMonthRow(Base):
    """A closed month (``team`` "" means everyone): no follow-up may be recorded in it."""

    __tablename__ = "custmgmt_closed_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    team: Mapped[str] = mapped_column(String(100), primary_key=True)
    closed_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SampleRow(Base):
    """A sample, field by field; its applications and feedback are child rows."""

    __tablename__ = "custmgmt_samples"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(100), index=True)
    number: Mapped[str | None] = mapped_column(String(30), unique=True)
    state: Mapped[str] = mapped_column(String(20))
    custodian: Mapped[str] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200), index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    chain_length: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    # info: what the receiver checked (free text has no length limit of its own)
    sample_name: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    unit: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    requested_work: Mapped[str] = mapped_column(Text)
    # hazard: both set, or both NULL for a sample that is not hazardous
    hazard_class: Mapped[str | None] = mapped_column(String(100))
    handling_procedure: Mapped[str | None] = mapped_column(String(200))
    classification: Mapped[str | None] = mapped_column(String(100))
    # storage condition: storage_light is NULL when the sample has none
    storage_light: Mapped[str | None] = mapped_column(String(10))
    storage_min_celsius: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    storage_max_celsius: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    storage_max_humidity_percent: Mapped[int | None] = mapped_column(Integer)
    storage_segregation: Mapped[str | None] = mapped_column(String(200))
    single_use: Mapped[bool] = mapped_column(Boolean)
    received: Mapped[Decimal] = mapped_column(ExactDecimal)
    in_storage: Mapped[Decimal] = mapped_column(ExactDecimal)
    checked_out: Mapped[Decimal] = mapped_column(ExactDecimal)
    consumed: Mapped[Decimal] = mapped_column(ExactDecimal)
    disposed: Mapped[Decimal] = mapped_column(ExactDecimal)
    # a hazardous sample's pending distribution: both set, or both NULL
    distribution_to: Mapped[str | None] = mapped_column(String(200))
    distribution_approved_by: Mapped[str | None] = mapped_column(String(200))


class SampleApplicationRow(Base):
    """A use application of a sample; ``position`` keeps the sample's order."""

    __tablename__ = "custmgmt_sample_applications"

    sample_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_samples.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    applicant: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    expected_return: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    hazard_approved_by: Mapped[str | None] = mapped_column(String(200))
    taken: Mapped[Decimal] = mapped_column(ExactDecimal)
    used: Mapped[Decimal] = mapped_column(ExactDecimal)
    issued_by: Mapped[str | None] = mapped_column(String(200))


class SampleFeedbackRow(Base):
    """A feedback entry on a sample; ``position`` keeps the sample's order."""

    __tablename__ = "custmgmt_sample_feedback"

    sample_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_samples.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(200))
    filed_by: Mapped[str] = mapped_column(String(200))
    effect: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text)
    suggestions: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    archived_by: Mapped[str | None] = mapped_column(String(200))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(Text)


class CustodyEventRow(Base):
    __tablename__ = "custmgmt_custody_events"

    sample_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_samples.id", ondelete="CASCADE"), primary_key=True
    )
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str] = mapped_column(String(200))
    custodian: Mapped[str] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    in_storage: Mapped[Decimal] = mapped_column(ExactDecimal)
    checked_out: Mapped[Decimal] = mapped_column(ExactDecimal)
    consumed: Mapped[Decimal] = mapped_column(ExactDecimal)
    disposed: Mapped[Decimal] = mapped_column(ExactDecimal)
    details: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(String(64), server_default="")
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CounterRow(Base):
    """A named counter with a ceiling (the pool's daily cap): updated in one statement
    ``... SET value = value + 1 WHERE value < limit``, whose row lock queues takers."""

    __tablename__ = "custmgmt_counters"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class SampleCounterRow(Base):
    """The last registry number given out per year; its row lock keeps numbers gap-free."""

    __tablename__ = "custmgmt_sample_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class DepartmentRow(Base):
    """Departments the sample registry distributes to."""

    __tablename__ = "custmgmt_departments"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StockCountRow(Base):
    """A physical stock count of one location; its lines are child rows."""

    __tablename__ = "custmgmt_stock_counts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    location: Mapped[str] = mapped_column(String(200), index=True)
    counted_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class StockCountLineRow(Base):
    """One line of a stock count, in the count's order."""

    __tablename__ = "custmgmt_stock_count_lines"

    count_id: Mapped[str] = mapped_column(
        ForeignKey("custmgmt_stock_counts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30))
    sample_id: Mapped[str | None] = mapped_column(String(100))
    expected: Mapped[Decimal] = mapped_column(ExactDecimal)
    counted: Mapped[Decimal] = mapped_column(ExactDecimal)
