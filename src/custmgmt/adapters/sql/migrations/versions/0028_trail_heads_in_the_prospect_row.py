"""the head of a prospect's audit trail is kept in the prospect's own row

A registration wrote two rows, the prospect and the head of its audit trail (chain
``audit:prospect``, a row of the heads table under its two-column text primary key);
now the head is columns of the prospect's row (``trail_length``, ``trail_hash``,
``trail_seal``, all NULL while it has none). An import writes one row a prospect
instead of two: on PostgreSQL the server's CPU for an import fell by 7-10%, on
SQLite an import took 0.91x-0.93x the time (benchmarks/README.md, step 3, stop
33). The heads are copied over and deleted from the heads table; a head of no stored
prospect (none the library wrote: it starts a prospect's trail only once the
prospect is stored) has no row to go to and is left where it is, unread.

Downgrading copies each prospect's head back into the heads table and drops the
columns.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from alembic import op

from custmgmt.errors import StorageError

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

PROSPECTS, HEADS, CHAIN = "custmgmt_prospects", "custmgmt_chain_heads", "audit:prospect"
MOVED: dict[str, sa.types.TypeEngine[Any]] = {
    "length": sa.Integer(), "head_hash": sa.String(64), "seal": sa.String(200)}
"""A head's columns in the heads table; in the prospect's row, ``trail_length``,
``trail_hash`` and ``trail_seal``."""
ROW_COLUMNS = {"length": "trail_length", "head_hash": "trail_hash", "seal": "trail_seal"}


def upgrade() -> None:
    for field, type_ in MOVED.items():
        op.add_column(PROSPECTS, sa.Column(ROW_COLUMNS[field], type_, nullable=True))
    assigned = ", ".join(f"{ROW_COLUMNS[field]} = h.{field}" for field in MOVED)
    op.execute(f"UPDATE {PROSPECTS} SET {assigned} FROM {HEADS} AS h "
               f"WHERE h.chain = '{CHAIN}' AND h.chain_id = {PROSPECTS}.id")
    op.execute(f"DELETE FROM {HEADS} WHERE chain = '{CHAIN}' AND EXISTS "
               f"(SELECT 1 FROM {PROSPECTS} p WHERE p.id = {HEADS}.chain_id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise StorageError("migration 0028 cannot be undone with SQLite "
                           f"{sqlite3.sqlite_version}: it needs 3.35 or later")
    read = ", ".join(ROW_COLUMNS[field] for field in MOVED)
    op.execute(f"INSERT INTO {HEADS} (chain, chain_id, {', '.join(MOVED)}) "
               f"SELECT '{CHAIN}', id, {read} FROM {PROSPECTS} WHERE trail_length IS NOT NULL")
    for field in MOVED:
        op.drop_column(PROSPECTS, ROW_COLUMNS[field])
