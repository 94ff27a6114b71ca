"""a prospect's identity keys move into its own row

A prospect holds at most one identity key of each kind (phone, e-mail, organization,
credit code), so the key table ``custmgmt_prospect_keys`` becomes four columns of
``custmgmt_prospects``, each under a unique index that leaves out the rows without
that key. The keys then take no row of their own, and they are kept as bytes (a seal
as its 32 bytes behind a tag byte, as ``column_types.pack_key`` keeps them), half the
size of their hex text in every index entry.

Both directions check first and change after: SQLite commits DDL at once, so a
refusal after the first change would leave a half-migrated store. Both read and
write a page of rows at a time, so memory stays flat however many prospects there
are.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from custmgmt.errors import StorageError

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

PROSPECTS = "custmgmt_prospects"
KEYS = "custmgmt_prospect_keys"
KINDS = ("phone", "email", "organization", "credit_code")
COLUMNS = {kind: f"{kind}_key" for kind in KINDS}
PAGE = 1000

_keys = sa.table(KEYS, sa.column("kind", sa.String), sa.column("value", sa.String),
                 sa.column("prospect_id", sa.String))
_prospects = sa.table(PROSPECTS, sa.column("id", sa.String),
                      *(sa.column(c, sa.LargeBinary) for c in COLUMNS.values()))


# The stored form of a key as this revision defines it (a copy, so that the migration
# keeps its meaning whatever later code does): a seal (64 lower-case hex digits) as
# b"\x01" and its 32 bytes, any other value as b"\x00" and its UTF-8.
def _pack(value: str) -> bytes:
    if len(value) == 64:
        try:
            sealed = bytes.fromhex(value)
        except ValueError:
            sealed = b""
        if sealed.hex() == value:
            return b"\x01" + sealed
    return b"\x00" + value.encode("utf-8", "surrogatepass")


def _unpack(stored: bytes) -> str:
    if stored[:1] == b"\x01":
        return stored[1:].hex()
    return stored[1:].decode("utf-8", "surrogatepass")


def _index(column: str) -> None:
    held = sa.text(f"{column} IS NOT NULL")
    op.create_index(f"ux_{PROSPECTS}_{column}", PROSPECTS, [column], unique=True,
                    sqlite_where=held, postgresql_where=held)


def _refuse_what_a_row_cannot_hold(bind: sa.Connection) -> None:
    """StorageError if a prospect holds two keys of one kind, or a kind the row has no
    column for (the library never stores either)."""
    k = _keys.c
    twice = bind.execute(
        sa.select(k.prospect_id, k.kind).group_by(k.prospect_id, k.kind)
        .having(sa.func.count() > 1).limit(1)).first()
    other = bind.execute(sa.select(k.prospect_id, k.kind)
                         .where(k.kind.not_in(KINDS)).limit(1)).first()
    found = twice or other
    if found is not None:
        # refuse rather than drop a key, which would let someone else register the party
        raise StorageError(f"migration 0021: prospect {found[0]!r} holds an identity key "
                           f"the new schema cannot keep ({found[1]!r})")


def _key_pages(bind: sa.Connection) -> Iterator[list[dict[str, Any]]]:
    """The key columns of every prospect holding keys, a page of prospects at a time."""
    k = _keys.c
    last = ""
    while True:
        ids = bind.execute(sa.select(k.prospect_id).distinct().where(k.prospect_id > last)
                           .order_by(k.prospect_id).limit(PAGE)).scalars().all()
        if not ids:
            return
        rows = {pid: {"pid": pid, **dict.fromkeys(COLUMNS.values())} for pid in ids}
        for kind, value, pid in bind.execute(
                sa.select(k.kind, k.value, k.prospect_id).where(k.prospect_id.in_(ids))):
            rows[pid][COLUMNS[kind]] = _pack(value)
        yield list(rows.values())
        last = ids[-1]


def upgrade() -> None:
    bind = op.get_bind()
    _refuse_what_a_row_cannot_hold(bind)
    for column in COLUMNS.values():
        op.add_column(PROSPECTS, sa.Column(column, sa.LargeBinary(), nullable=True))
    statement = _prospects.update().where(_prospects.c.id == sa.bindparam("pid")).values(
        {column: sa.bindparam(column) for column in COLUMNS.values()})
    for page in _key_pages(bind):  # one write per prospect
        bind.execute(statement, page)
    for column in COLUMNS.values():
        _index(column)
    op.drop_index(op.f(f"ix_{KEYS}_prospect_id"), table_name=KEYS)
    op.drop_table(KEYS)


def _restorable(value: str) -> bool:
    """Whether the key table of revision 0020 can hold ``value`` (the library only ever
    stores seals; a value written by hand through the port might not fit)."""
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return len(value) <= 300 and "\x00" not in value


def _held_pages(bind: sa.Connection) -> Iterator[list[dict[str, str]]]:
    """The key rows of revision 0020 for every prospect holding keys, a page of
    prospects at a time."""
    p = _prospects.c
    holding = sa.or_(*(p[c].is_not(None) for c in COLUMNS.values()))
    last = ""
    while True:
        page = bind.execute(sa.select(p.id, *(p[c] for c in COLUMNS.values()))
                            .where(holding, p.id > last).order_by(p.id).limit(PAGE)).all()
        if not page:
            return
        yield [{"kind": kind, "value": _unpack(bytes(stored)), "prospect_id": pid}
               for pid, *stored_keys in page
               for kind, stored in zip(KINDS, stored_keys, strict=True) if stored is not None]
        last = page[-1][0]


def _refuse_what_the_table_cannot_hold(bind: sa.Connection) -> None:
    if bind.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise StorageError("migration 0021 cannot be undone with SQLite "
                           f"{sqlite3.sqlite_version}: it needs 3.35 or later")
    for page in _held_pages(bind):
        for row in page:
            if not _restorable(row["value"]):
                raise StorageError(
                    f"migration 0021 cannot be undone: prospect {row['prospect_id']!r} "
                    "holds an identity key the key table of revision 0020 cannot hold; "
                    "restore a backup taken before the upgrade")


def _drop_key_columns(bind: sa.Connection) -> None:
    """Drop the key columns in place. On SQLite, alembic's batch mode would copy the table
    and drop the original, and with foreign keys on that drop cascades to every row
    that refers to a prospect (history, plans, the keys just restored)."""
    for column in COLUMNS.values():
        op.drop_index(f"ux_{PROSPECTS}_{column}", table_name=PROSPECTS)
        if bind.dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {PROSPECTS} DROP COLUMN {column}")
        else:
            op.drop_column(PROSPECTS, column)


def downgrade() -> None:
    bind = op.get_bind()
    _refuse_what_the_table_cannot_hold(bind)
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
    for page in _held_pages(bind):
        bind.execute(_keys.insert(), page)
    _drop_key_columns(bind)
