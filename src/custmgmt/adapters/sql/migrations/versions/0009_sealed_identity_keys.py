"""identity keys sealed with a keyed hash; phones normalized by phonenumbers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

The keys of every active prospect registration and of every customer are
computed again from their stored contacts: phones as E.164 (``phonenumbers``,
region CN), organization names without "Co.", and all of them sealed with
HMAC-SHA256 under the built-in pepper. If the application sets
``Settings.key_pepper`` (or another ``phone_region``), run ``custmgmt db rekey
URL`` (or ``app.rekey_identity_keys()``) once with those settings. Where the new
normalization makes two holders one, the earlier one (registered, or created,
first) keeps the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from custmgmt.domain.identity import KeyRing, keys_from_columns
from custmgmt.errors import StorageError

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _contacts(name: str, *extra: str) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.String), sa.column("phone", sa.String),
                    sa.column("email", sa.String), sa.column("organization", sa.String),
                    sa.column("credit_code", sa.String), *(sa.column(e) for e in extra))


_prospects = _contacts("custmgmt_prospects", "registration_active", "registered_at")
_customers = _contacts("custmgmt_customers", "created_at")
_prospect_keys = sa.table("custmgmt_prospect_keys", sa.column("kind", sa.String),
                          sa.column("value", sa.String), sa.column("prospect_id", sa.String))
_customer_keys = sa.table("custmgmt_customer_keys", sa.column("kind", sa.String),
                          sa.column("value", sa.String), sa.column("customer_id", sa.String))


def _rekey(bind: sa.Connection, keys: sa.TableClause, holder: str,
           rows: Sequence[Any]) -> None:
    """Replace every key row with the sealed keys of ``rows`` (oldest holder first)."""
    ring = KeyRing()
    bind.execute(keys.delete())
    taken: set[tuple[str, str]] = set()
    batch: list[dict[str, str]] = []
    for holder_id, phone, email, organization, credit_code in rows:
        for key in sorted(keys_from_columns(ring, phone=phone, email=email,
                                            organization=organization,
                                            credit_code=credit_code),
                          key=lambda k: (k.kind.value, k.value)):
            if (key.kind.value, key.value) in taken:
                continue  # the earlier holder keeps it
            taken.add((key.kind.value, key.value))
            batch.append({"kind": key.kind.value, "value": key.value, holder: holder_id})
        if len(batch) >= 1000:
            bind.execute(keys.insert(), batch)
            batch = []
    if batch:
        bind.execute(keys.insert(), batch)


def upgrade() -> None:
    bind = op.get_bind()
    p, c = _prospects.c, _customers.c
    _rekey(bind, _prospect_keys, "prospect_id", bind.execute(
        sa.select(p.id, p.phone, p.email, p.organization, p.credit_code)
        .where(p.registration_active.is_(True)).order_by(p.registered_at, p.id)).all())
    _rekey(bind, _customer_keys, "customer_id", bind.execute(
        sa.select(c.id, c.phone, c.email, c.organization, c.credit_code)
        .order_by(c.created_at, c.id)).all())


def downgrade() -> None:
    # Sealed keys cannot be turned back into clear ones, and the earlier revisions
    # compare clear keys: an empty key table would let anyone register anything again.
    raise StorageError("migration 0009 cannot be undone: sealed identity keys cannot be "
                       "turned back into clear ones; restore a backup taken before it")
