"""a prospect's identity keys move into its own row

A prospect holds at most one identity key of each kind (phone, e-mail, organization,
credit code), so the key table ``custmgmt_prospect_keys`` becomes four columns of
``custmgmt_prospects``, each under a unique index that leaves out the rows without
that key. A registration then writes one row instead of three, and the keys are kept
as bytes (a seal as its 32 bytes behind a tag byte, ``column_types.pack_key``), half
the size of their hex text in every index entry.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from custmgmt.adapters.sql.column_types import pack_key, unpack_key
from custmgmt.errors import StorageError

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

PROSPECTS = "custmgmt_prospects"
KEYS = "custmgmt_prospect_keys"
KINDS = ("phone", "email", "organization", "credit_code")
COLUMNS = {kind: f"{kind}_key" for kind in KINDS}
CHUNK = 1000

_keys = sa.table(KEYS, sa.column("kind", sa.String), sa.column("value", sa.String),
                 sa.column("prospect_id", sa.String))
_prospects = sa.table(PROSPECTS, sa.column("id", sa.String),
                      *(sa.column(c, sa.LargeBinary) for c in COLUMNS.values()))


def _chunks(rows: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _index(column: str) -> None:
    held = sa.text(f"{column} IS NOT NULL")
    op.create_index(f"ux_{PROSPECTS}_{column}", PROSPECTS, [column], unique=True,
                    sqlite_where=held, postgresql_where=held)


def upgrade() -> None:
    bind = op.get_bind()
    # Read and check every key before the first change: SQLite commits DDL at once, so
    # a refusal after it would leave a half-migrated store.
    held: dict[str, dict[str, bytes]] = {}
    for kind, value, prospect_id in bind.execute(
            sa.select(_keys.c.kind, _keys.c.value, _keys.c.prospect_id)
            .order_by(_keys.c.prospect_id, _keys.c.kind)):
        keys = held.setdefault(prospect_id, {})
        if kind not in COLUMNS or kind in keys:
            # the library never stores these: refuse rather than drop a key, which
            # would let someone else register the same party
            raise StorageError(f"migration 0021: prospect {prospect_id!r} holds an "
                               f"identity key the new schema cannot keep ({kind!r})")
        keys[kind] = pack_key(value)
    for column in COLUMNS.values():
        op.add_column(PROSPECTS, sa.Column(column, sa.LargeBinary(), nullable=True))
    statement = _prospects.update().where(_prospects.c.id == sa.bindparam("pid")).values(
        {column: sa.bindparam(column) for column in COLUMNS.values()})
    rows = [{"pid": pid, **{column: keys.get(kind) for kind, column in COLUMNS.items()}}
            for pid, keys in held.items()]
    for chunk in _chunks(rows):  # one write per prospect
        bind.execute(statement, list(chunk))
    for column in COLUMNS.values():
        _index(column)
    op.drop_index(op.f(f"ix_{KEYS}_prospect_id"), table_name=KEYS)
    op.drop_table(KEYS)


def _restorable(prospect_id: str, value: str) -> str:
    """``value`` if the key table of revision 0020 can hold it (the library only ever
    stores seals; a value written by hand through the port might not fit)."""
    try:
        value.encode()
        fits = len(value) <= 300 and "\x00" not in value
    except UnicodeEncodeError:  # a lone surrogate
        fits = False
    if not fits:
        raise StorageError(f"migration 0021 cannot be undone: prospect {prospect_id!r} "
                           "holds an identity key the key table of revision 0020 cannot "
                           "hold; restore a backup taken before the upgrade")
    return value


def _drop_key_columns(bind: sa.Connection) -> None:
    """Drop the key columns in place. On SQLite, alembic's batch mode would copy the table
    and drop the original, and with foreign keys on that drop cascades to every row
    that refers to a prospect (history, plans, the keys just restored)."""
    for column in COLUMNS.values():
        op.drop_index(f"ux_{PROSPECTS}_{column}", table_name=PROSPECTS)
    if bind.dialect.name == "sqlite":
        if sqlite3.sqlite_version_info < (3, 35):
            raise StorageError("migration 0021 cannot be undone with SQLite "
                               f"{sqlite3.sqlite_version}: it needs 3.35 or later")
        for column in COLUMNS.values():
            op.execute(f"ALTER TABLE {PROSPECTS} DROP COLUMN {column}")
        return
    for column in COLUMNS.values():
        op.drop_column(PROSPECTS, column)


def downgrade() -> None:
    bind = op.get_bind()
    p = _prospects.c
    rows = [{"kind": kind, "value": _restorable(pid, unpack_key(bytes(stored))),
             "prospect_id": pid}
            for pid, *stored_keys in bind.execute(
                sa.select(p.id, *(p[c] for c in COLUMNS.values())))
            for kind, stored in zip(KINDS, stored_keys, strict=True) if stored is not None]
    op.create_table(
        KEYS,
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("prospect_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["prospect_id"], [f"{PROSPECTS}.id"],
                                name=op.f(f"fk_{KEYS}_prospect_id_{PROSPECTS}"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("kind", "value", name=op.f(f"pk_{KEYS}")),
    )
    op.create_index(op.f(f"ix_{KEYS}_prospect_id"), KEYS, ["prospect_id"], unique=False)
    for chunk in _chunks(rows):
        bind.execute(_keys.insert(), list(chunk))
    _drop_key_columns(bind)
