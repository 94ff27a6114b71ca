"""the identity keys' unique indexes hold 17 bytes of each key

Each key column of ``custmgmt_prospects`` keeps its whole key, but its unique index
now holds ``substr(<column>, 1, 17)``: the tag byte and 128 bits of the seal (an
HMAC-SHA256 truncated to half its length, as RFC 2104 allows), a third of the
whole key's width in every index entry. Raw sqlite3 writing an import's prospect
rows, 100k rows in batches of 1,000: about 30 us a row instead of 38-44.

A key that is not a seal (the keys are opaque to storage) is kept from now on as its
tag byte, 16 bytes of its SHA-256 digest and its UTF-8, so that its first 17 bytes
stand for the whole value too; such values already stored are rewritten (both ways),
a page at a time, each only if it is not in the new form already, so that a step
interrupted on SQLite (whose DDL commits at once) can be run again.

The upgrade checks first and changes after: two seals stored alike in their first 128
bits (only possible when written by hand) would break the new unique index, and
SQLite would be left with an index dropped; it refuses them before dropping any.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from custmgmt.errors import StorageError

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

PROSPECTS = "custmgmt_prospects"
COLUMNS = ("phone_key", "email_key", "organization_key", "credit_code_key")
PREFIX = 17
PAGE = 1000
SEALED, OTHER = b"\x01", b"\x00"

_prospects = sa.table(PROSPECTS, sa.column("id", sa.String),
                      *(sa.column(c, sa.LargeBinary) for c in COLUMNS))


# The stored forms of a value that is not a seal, before and after this revision
# (copies, so that the migration keeps its meaning whatever later code does).
def _in_new_form(stored: bytes) -> bool:
    return hashlib.sha256(stored[PREFIX:]).digest()[:PREFIX - 1] == stored[1:PREFIX]


def _with_digest(old: bytes) -> bytes:
    if _in_new_form(old):
        return old
    text = old[1:]
    return OTHER + hashlib.sha256(text).digest()[:PREFIX - 1] + text


def _without_digest(new: bytes) -> bytes:
    return OTHER + new[PREFIX:] if _in_new_form(new) else new


def _repack(column: str, convert: Callable[[bytes], bytes]) -> None:
    """Rewrite the values of ``column`` that are not seals, a page of rows at a time."""
    connection = op.get_bind()
    col = _prospects.c[column]
    after = ""
    while True:
        page = connection.execute(
            sa.select(_prospects.c.id, col)
            .where(col.is_not(None), sa.func.substr(col, 1, 1) == OTHER, _prospects.c.id > after)
            .order_by(_prospects.c.id).limit(PAGE)).all()
        if not page:
            return
        connection.execute(
            sa.update(_prospects).where(_prospects.c.id == sa.bindparam("pid"))
            .values({column: sa.bindparam("packed")}),
            [{"pid": pid, "packed": convert(bytes(value))} for pid, value in page])
        after = page[-1][0]


def _index(column: str, expression: str) -> None:
    held = sa.text(f"{column} IS NOT NULL")
    op.create_index(f"ux_{PROSPECTS}_{column}", PROSPECTS, [sa.text(expression)],
                    unique=True, sqlite_where=held, postgresql_where=held)


def _refuse_seals_alike() -> None:
    connection = op.get_bind()
    for column in COLUMNS:
        col = _prospects.c[column]
        prefix = sa.func.substr(col, 1, PREFIX)
        alike = connection.execute(sa.select(sa.func.count()).select_from(
            sa.select(prefix).where(col.is_not(None), sa.func.substr(col, 1, 1) == SEALED)
            .group_by(prefix).having(sa.func.count() > 1).subquery())).scalar_one()
        if alike:
            raise StorageError(
                f"migration 0024 cannot be applied: {alike} group(s) of {column} values "
                f"agree in their first {PREFIX} bytes, which its new unique index keeps; "
                "they were written outside custmgmt (release all but one of each group, "
                "then migrate again)")


def upgrade() -> None:
    _refuse_seals_alike()
    for column in COLUMNS:
        op.drop_index(f"ux_{PROSPECTS}_{column}", table_name=PROSPECTS, if_exists=True)
        _repack(column, _with_digest)
        _index(column, f"substr({column}, 1, {PREFIX})")


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ux_{PROSPECTS}_{column}", table_name=PROSPECTS, if_exists=True)
        _repack(column, _without_digest)
        _index(column, column)
