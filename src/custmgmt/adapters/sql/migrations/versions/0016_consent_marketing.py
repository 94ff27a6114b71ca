"""consent history; campaigns, products, risk assessments, touches, outcomes (issue 16)

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmgmt.adapters.sql.column_types import UTCDateTime

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def _instant(name: str) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "custmgmt_consents",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("given", sa.Boolean(), nullable=False),
        _instant("at"),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("notice_version", sa.String(length=50), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        _instant("recorded_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_consents")),
    )
    op.create_index("ix_custmgmt_consents_key", "custmgmt_consents",
                    ["customer_id", "purpose", "channel", "sensitive", "at", "id"],
                    unique=False)


    _marketing()


def _campaign_child(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["campaign_id"], ["custmgmt_campaigns.id"],
                                   name=op.f(f"fk_{table}_campaign_id_custmgmt_campaigns"),
                                   ondelete="CASCADE")


def _marketing() -> None:
    text, when = sa.String, UTCDateTime(timezone=True)
    op.create_table(
        "custmgmt_campaigns",
        sa.Column("id", text(length=100), nullable=False),
        sa.Column("name", text(length=200), nullable=False),
        sa.Column("product_id", text(length=100), nullable=False),
        sa.Column("channels", text(length=200), nullable=False),
        sa.Column("owner_id", text(length=200), nullable=False),
        sa.Column("owner_team", text(length=100), nullable=True),
        sa.Column("uses_sensitive_data", sa.Boolean(), nullable=False),
        sa.Column("state", text(length=20), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("subject", text(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", text(length=200), nullable=False),
        sa.Column("reviewed_by", text(length=200), nullable=True),
        sa.Column("reviewed_at", when, nullable=True),
        sa.Column("review_passed", sa.Boolean(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("approved_by", text(length=200), nullable=True),
        sa.Column("approved_at", when, nullable=True),
        sa.Column("started_at", when, nullable=True),
        sa.Column("closed_at", when, nullable=True),
        sa.Column("evaluated_at", when, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_campaigns")),
    )
    op.create_index(op.f("ix_custmgmt_campaigns_owner_id"), "custmgmt_campaigns",
                    ["owner_id"], unique=False)
    op.create_table(
        "custmgmt_campaign_members",
        sa.Column("campaign_id", text(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("segment", text(length=100), nullable=False),
        sa.Column("customer_id", text(length=100), nullable=False),
        _campaign_child("custmgmt_campaign_members"),
        sa.PrimaryKeyConstraint("campaign_id", "position",
                                name=op.f("pk_custmgmt_campaign_members")),
    )
    op.create_table(
        "custmgmt_campaign_waves",
        sa.Column("campaign_id", text(length=100), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", when, nullable=False),
        sa.Column("by", text(length=200), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False)
          for name in ("queued", "refused", "no_assessment", "assessment_expired",
                       "tolerance_below", "no_consent")),
        _campaign_child("custmgmt_campaign_waves"),
        sa.PrimaryKeyConstraint("campaign_id", "number",
                                name=op.f("pk_custmgmt_campaign_waves")),
    )
    op.create_table(
        "custmgmt_products",
        sa.Column("id", text(length=100), nullable=False),
        sa.Column("name", text(length=200), nullable=False),
        sa.Column("risk_level", sa.Integer(), nullable=False),
        sa.Column("created_by", text(length=200), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_products")),
    )
    op.create_table(
        "custmgmt_risk_assessments",
        sa.Column("id", text(length=100), nullable=False),
        sa.Column("customer_id", text(length=100), nullable=False),
        sa.Column("tolerance", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("assessed_by", text(length=200), nullable=False),
        sa.Column("recorded_at", when, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_risk_assessments")),
    )
    op.create_index("ix_custmgmt_risk_assessments_latest", "custmgmt_risk_assessments",
                    ["customer_id", "assessed_on", "recorded_at", "id"], unique=False)
    op.create_table(
        "custmgmt_touches",
        sa.Column("id", text(length=100), nullable=False),
        sa.Column("campaign_id", text(length=100), nullable=False),
        sa.Column("customer_id", text(length=100), nullable=False),
        sa.Column("segment", text(length=100), nullable=False),
        sa.Column("channel", text(length=20), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("notification_id", text(length=100), nullable=False),
        sa.Column("queued_at", when, nullable=False),
        sa.Column("sent_at", when, nullable=True),
        sa.Column("consent_id", text(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_touches")),
        sa.UniqueConstraint("notification_id",
                            name=op.f("uq_custmgmt_touches_notification_id")),
    )
    op.create_index("ix_custmgmt_touches_campaign", "custmgmt_touches",
                    ["campaign_id", "queued_at", "id"], unique=False)
    op.create_table(
        "custmgmt_outcomes",
        sa.Column("id", text(length=100), nullable=False),
        sa.Column("campaign_id", text(length=100), nullable=False),
        sa.Column("customer_id", text(length=100), nullable=False),
        sa.Column("touch_id", text(length=100), nullable=False),
        sa.Column("kind", text(length=30), nullable=False),
        sa.Column("at", when, nullable=False),
        sa.Column("recorded_by", text(length=200), nullable=False),
        sa.Column("reference", text(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_outcomes")),
    )
    op.create_index("ix_custmgmt_outcomes_campaign", "custmgmt_outcomes",
                    ["campaign_id", "at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_custmgmt_outcomes_campaign", table_name="custmgmt_outcomes")
    op.drop_table("custmgmt_outcomes")
    op.drop_index("ix_custmgmt_touches_campaign", table_name="custmgmt_touches")
    op.drop_table("custmgmt_touches")
    op.drop_index("ix_custmgmt_risk_assessments_latest",
                  table_name="custmgmt_risk_assessments")
    op.drop_table("custmgmt_risk_assessments")
    op.drop_table("custmgmt_products")
    op.drop_table("custmgmt_campaign_waves")
    op.drop_table("custmgmt_campaign_members")
    op.drop_index(op.f("ix_custmgmt_campaigns_owner_id"), table_name="custmgmt_campaigns")
    op.drop_table("custmgmt_campaigns")
    op.drop_index("ix_custmgmt_consents_key", table_name="custmgmt_consents")
    op.drop_table("custmgmt_consents")
