"""delisting: cases with evidence, panel, votes and history; periodic reviews

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmgmt.adapters.sql.column_types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_CASES = "custmgmt_delisting_cases"


def _case_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["case_id"], [f"{_CASES}.id"],
                                   name=op.f(f"fk_{table}_case_id_{_CASES}"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        _CASES,
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("grounds", sa.String(length=300), nullable=False),
        sa.Column("other_ground", sa.Text(), nullable=True),
        sa.Column("trigger", sa.String(length=30), nullable=False),
        sa.Column("trigger_note", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("notice_language", sa.String(length=5), nullable=True),
        sa.Column("notice_text", sa.Text(), nullable=True),
        sa.Column("notice_reasons", sa.Text(), nullable=True),
        sa.Column("notice_basis", sa.Text(), nullable=True),
        sa.Column("notice_issued_by", sa.String(length=200), nullable=True),
        sa.Column("notice_issued_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("notice_notification_id", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["custmgmt_customers.id"],
            name=op.f(f"fk_{_CASES}_customer_id_custmgmt_customers"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{_CASES}")),
    )
    op.create_index(op.f(f"ix_{_CASES}_customer_id"), _CASES, ["customer_id"], unique=False)
    op.create_index(op.f(f"ix_{_CASES}_state"), _CASES, ["state"], unique=False)
    op.create_table(
        "custmgmt_delisting_evidence",
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        _case_fk("custmgmt_delisting_evidence"),
        sa.PrimaryKeyConstraint("case_id", "position",
                                name=op.f("pk_custmgmt_delisting_evidence")),
    )
    op.create_table(
        "custmgmt_delisting_panel",
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("member_id", sa.String(length=200), nullable=False),
        _case_fk("custmgmt_delisting_panel"),
        sa.PrimaryKeyConstraint("case_id", "member_id",
                                name=op.f("pk_custmgmt_delisting_panel")),
    )
    op.create_table(
        "custmgmt_delisting_votes",
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("member_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=10), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        _case_fk("custmgmt_delisting_votes"),
        sa.PrimaryKeyConstraint("case_id", "member_id",
                                name=op.f("pk_custmgmt_delisting_votes")),
    )
    op.create_table(
        "custmgmt_delisting_history",
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _case_fk("custmgmt_delisting_history"),
        sa.PrimaryKeyConstraint("case_id", "position",
                                name=op.f("pk_custmgmt_delisting_history")),
    )
    op.create_table(
        "custmgmt_delisting_reviews",
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["custmgmt_customers.id"],
            name=op.f("fk_custmgmt_delisting_reviews_customer_id_custmgmt_customers"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_custmgmt_delisting_reviews")),
    )
    op.create_index(op.f("ix_custmgmt_delisting_reviews_reviewed_at"),
                    "custmgmt_delisting_reviews", ["reviewed_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_custmgmt_delisting_reviews_reviewed_at"),
                  table_name="custmgmt_delisting_reviews")
    op.drop_table("custmgmt_delisting_reviews")
    for table in ("custmgmt_delisting_history", "custmgmt_delisting_votes",
                  "custmgmt_delisting_panel", "custmgmt_delisting_evidence"):
        op.drop_table(table)
    op.drop_index(op.f(f"ix_{_CASES}_state"), table_name=_CASES)
    op.drop_index(op.f(f"ix_{_CASES}_customer_id"), table_name=_CASES)
    op.drop_table(_CASES)
