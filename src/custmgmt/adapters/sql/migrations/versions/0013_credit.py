"""credit instruments, their conditions and drawdowns, and credit limits

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmgmt.adapters.sql.column_types import ExactDecimal, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_INSTRUMENTS = "custmgmt_credit_instruments"


def _instant(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def _child_key(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(["instrument_id"], [f"{_INSTRUMENTS}.id"],
                                name=op.f(f"fk_{table}_instrument_id_{_INSTRUMENTS}"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instrument_id", "position", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        _INSTRUMENTS,
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("owner_team", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("drawn_minor", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        _instant("created_at", nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=True),
        sa.Column("rate_percent", ExactDecimal(), nullable=True),
        sa.Column("rate_benchmark", sa.String(length=20), nullable=True),
        sa.Column("rate_spread_bp", sa.Integer(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("drawdown_method", sa.String(length=500), nullable=True),
        sa.Column("commitment_fee_minor", sa.BigInteger(), nullable=True),
        sa.Column("beneficiary", sa.String(length=300), nullable=True),
        sa.Column("project", sa.String(length=300), nullable=True),
        sa.Column("construction_end", sa.Date(), nullable=True),
        sa.Column("counterparty", sa.String(length=20), nullable=True),
        _instant("submitted_at"),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        _instant("approved_at"),
        _instant("issued_at"),
        _instant("awarded_at"),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        _instant("revoked_at"),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("consent_by", sa.String(length=200), nullable=True),
        _instant("consent_at"),
        sa.Column("consent_ref", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{_INSTRUMENTS}")),
    )
    op.create_index(f"ix_{_INSTRUMENTS}_created", _INSTRUMENTS, ["created_at", "id"],
                    unique=False)
    for column in ("customer_id", "owner_id", "owner_team"):
        op.create_index(op.f(f"ix_{_INSTRUMENTS}_{column}"), _INSTRUMENTS, [column],
                        unique=False)
    op.create_table(
        "custmgmt_credit_conditions",
        sa.Column("instrument_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cited_position", sa.Integer(), nullable=True),
        *_child_key("custmgmt_credit_conditions"),
    )
    op.create_table(
        "custmgmt_credit_drawdowns",
        sa.Column("instrument_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        _instant("at", nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("project", sa.String(length=300), nullable=True),
        *_child_key("custmgmt_credit_drawdowns"),
    )
    op.create_table(
        "custmgmt_credit_limits",
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        _instant("approved_at", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_custmgmt_credit_limits")),
    )


def downgrade() -> None:
    op.drop_table("custmgmt_credit_limits")
    op.drop_table("custmgmt_credit_drawdowns")
    op.drop_table("custmgmt_credit_conditions")
    for column in ("owner_team", "owner_id", "customer_id"):
        op.drop_index(op.f(f"ix_{_INSTRUMENTS}_{column}"), table_name=_INSTRUMENTS)
    op.drop_index(f"ix_{_INSTRUMENTS}_created", table_name=_INSTRUMENTS)
    op.drop_table(_INSTRUMENTS)
