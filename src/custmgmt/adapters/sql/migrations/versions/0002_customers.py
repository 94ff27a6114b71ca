"""customers; samples and prospects reference them

Adds the customer tables and a ``customer_id`` column to samples and prospects.
Every existing sample's customer reference is linked to a customer: a reference
that names a prospect becomes a customer built from that prospect's profile
(and the prospect names it); any other reference gets a customer of its own.
Either way the new customer keeps the referenced id (so custody chains still
verify) and is flagged for review; nothing is lost.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import custmgmt.adapters.sql.column_types
from custmgmt.adapters.sql.column_types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MIGRATED_BY = "custmgmt-migration-0002"
UNASSIGNED = "unassigned"


def upgrade() -> None:
    op.create_table(
        "custmgmt_customers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("organization", sa.String(length=300), nullable=True),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("source_channel", sa.String(length=100), nullable=True),
        sa.Column("needs", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("owner_team", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", custmgmt.adapters.sql.column_types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custmgmt_customers")),
    )
    op.create_index("ix_custmgmt_customers_created", "custmgmt_customers",
                    ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_custmgmt_customers_owner_id"), "custmgmt_customers",
                    ["owner_id"], unique=False)
    op.create_index(op.f("ix_custmgmt_customers_owner_team"), "custmgmt_customers",
                    ["owner_team"], unique=False)
    op.create_table(
        "custmgmt_customer_history",
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", custmgmt.adapters.sql.column_types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("before", sa.String(length=200), nullable=True),
        sa.Column("after", sa.String(length=2000), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["custmgmt_customers.id"],
            name=op.f("fk_custmgmt_customer_history_customer_id_custmgmt_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "position",
                                name=op.f("pk_custmgmt_customer_history")),
    )
    op.create_table(
        "custmgmt_customer_keys",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["custmgmt_customers.id"],
            name=op.f("fk_custmgmt_customer_keys_customer_id_custmgmt_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kind", "value", name=op.f("pk_custmgmt_customer_keys")),
    )
    op.create_index(op.f("ix_custmgmt_customer_keys_customer_id"), "custmgmt_customer_keys",
                    ["customer_id"], unique=False)
    for table in ("custmgmt_samples", "custmgmt_prospects"):
        op.add_column(table, sa.Column("customer_id", sa.String(length=100), nullable=True))
        op.create_index(op.f(f"ix_{table}_customer_id"), table, ["customer_id"], unique=False)
    _link_samples()


# Lightweight tables as they stand at this revision (never the current row models).
_samples = sa.table("custmgmt_samples", sa.column("id", sa.String),
                    sa.column("document", sa.Text), sa.column("customer_id", sa.String))
_custody = sa.table("custmgmt_custody_events", sa.column("sample_id", sa.String),
                    sa.column("at", UTCDateTime()))
_PROFILE = ("kind", "name", "phone", "email", "address", "organization", "credit_code",
            "industry", "source_channel", "needs")
_prospects = sa.table("custmgmt_prospects", sa.column("id", sa.String),
                      sa.column("owner_id", sa.String), sa.column("owner_team", sa.String),
                      sa.column("customer_id", sa.String),
                      *(sa.column(name, sa.String) for name in _PROFILE))
_prospect_keys = sa.table("custmgmt_prospect_keys", sa.column("kind", sa.String),
                          sa.column("value", sa.String), sa.column("prospect_id", sa.String))
_customers = sa.table(
    "custmgmt_customers", sa.column("id", sa.String), sa.column("owner_id", sa.String),
    sa.column("owner_team", sa.String), sa.column("status", sa.String),
    sa.column("created_at", UTCDateTime()), sa.column("needs_review", sa.Boolean),
    sa.column("review_note", sa.Text), sa.column("version", sa.Integer),
    *(sa.column(name, sa.String) for name in _PROFILE))
_history = sa.table(
    "custmgmt_customer_history", sa.column("customer_id", sa.String),
    sa.column("position", sa.Integer), sa.column("kind", sa.String), sa.column("by", sa.String),
    sa.column("at", UTCDateTime()), sa.column("before", sa.String),
    sa.column("after", sa.String), sa.column("reason", sa.Text))
_customer_keys = sa.table("custmgmt_customer_keys", sa.column("kind", sa.String),
                          sa.column("value", sa.String), sa.column("customer_id", sa.String))


def _link_samples() -> None:
    bind = op.get_bind()
    named: dict[str, list[str]] = {}
    for sample_id, document in bind.execute(sa.select(_samples.c.id, _samples.c.document)):
        customer_id = str(json.loads(document)["info"]["customer_id"])
        named.setdefault(customer_id, []).append(sample_id)
        bind.execute(sa.update(_samples).where(_samples.c.id == sample_id)
                     .values(customer_id=customer_id))
    for customer_id, sample_ids in sorted(named.items()):
        first = bind.execute(sa.select(sa.func.min(_custody.c.at))
                             .where(_custody.c.sample_id.in_(sample_ids))).scalar()
        at = first if isinstance(first, datetime) else datetime.now(UTC)
        _create_customer(bind, customer_id, sample_ids, at)


def _create_customer(bind: Any, customer_id: str, sample_ids: list[str], at: datetime) -> None:
    prospect = bind.execute(sa.select(_prospects).where(_prospects.c.id == customer_id)
                            ).mappings().one_or_none()
    samples = ", ".join(sorted(sample_ids))
    if prospect is not None:
        profile: dict[str, Any] = {name: prospect[name] for name in _PROFILE}
        owner, team = prospect["owner_id"], prospect["owner_team"]
        note = (f"migration 0002: samples {samples} named prospect {customer_id}; "
                "this customer was built from its profile: check it")
    else:
        profile = {name: None for name in _PROFILE}
        profile.update(kind="individual", name=customer_id[:200],
                       address="unknown (created by migration 0002)")
        owner, team = UNASSIGNED, None
        note = (f"migration 0002: samples {samples} named customer {customer_id!r}, which "
                "matched nothing: complete the profile and assign an account manager")
    bind.execute(sa.insert(_customers).values(
        id=customer_id, owner_id=owner, owner_team=team, status="active", created_at=at,
        needs_review=True, review_note=note, version=1, **profile))
    bind.execute(sa.insert(_history).values(
        customer_id=customer_id, position=0, kind="created", by=MIGRATED_BY, at=at,
        before=None, after="active", reason=note[:2000]))
    if prospect is None:
        return
    bind.execute(sa.update(_prospects).where(_prospects.c.id == customer_id)
                 .values(customer_id=customer_id))
    held = {(k, v) for k, v in bind.execute(sa.select(_customer_keys.c.kind,
                                                      _customer_keys.c.value))}
    keys = [{"kind": k, "value": v, "customer_id": customer_id}
            for k, v in bind.execute(sa.select(_prospect_keys.c.kind, _prospect_keys.c.value)
                                     .where(_prospect_keys.c.prospect_id == customer_id))
            if (k, v) not in held]
    if keys:
        bind.execute(sa.insert(_customer_keys), keys)


def downgrade() -> None:
    for table in ("custmgmt_prospects", "custmgmt_samples"):
        op.drop_index(op.f(f"ix_{table}_customer_id"), table_name=table)
        # SQLite drops a column by copying the table, and dropping the original would
        # cascade to its history and custody rows: there the unused column stays.
        if op.get_bind().dialect.name != "sqlite":
            op.drop_column(table, "customer_id")
    op.drop_index(op.f("ix_custmgmt_customer_keys_customer_id"),
                  table_name="custmgmt_customer_keys")
    op.drop_table("custmgmt_customer_keys")
    op.drop_table("custmgmt_customer_history")
    op.drop_index(op.f("ix_custmgmt_customers_owner_team"), table_name="custmgmt_customers")
    op.drop_index(op.f("ix_custmgmt_customers_owner_id"), table_name="custmgmt_customers")
    op.drop_index("ix_custmgmt_customers_created", table_name="custmgmt_customers")
    op.drop_table("custmgmt_customers")
