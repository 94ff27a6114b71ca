"""SQLite bulk inserts write a batch's shared values as literals of the INSERT: every
value is stored exactly as it would have been bound, and an int SQLite cannot hold as
an INTEGER is refused as before, never stored as a REAL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    select,
)
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.driver import driver_insert_columns
from custmgmt.errors import StorageError

METADATA = MetaData()
ROWS = Table("rows", METADATA, Column("n", Integer, primary_key=True),
             Column("big", BigInteger), Column("text", String(100)),
             Column("blob", LargeBinary))


def _stored(tmp_path: Path, columns: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    engine = create_engine(f"sqlite:///{tmp_path}/rows.db")
    METADATA.create_all(engine)
    with Session(engine) as session:
        driver_insert_columns(session, ROWS, columns)
        session.commit()
        return [tuple(r) for r in session.execute(
            select(ROWS.c.big, ROWS.c.text, ROWS.c.blob).order_by(ROWS.c.n))]


@pytest.mark.parametrize("big", [2**63 - 1, -2**63, 0, None])
def test_shared_values_are_stored_as_given(tmp_path: Path, big: int | None) -> None:
    stored = _stored(tmp_path, {"n": [1, 2, 3], "big": [big] * 3,
                                "text": ["it's"] * 3, "blob": [b"\x00'k"] * 3})
    assert stored == [(big, "it's", b"\x00'k")] * 3
    assert all(type(row[0]) is type(big) for row in stored)


@pytest.mark.parametrize("big", [2**63, -2**63 - 1, 10**30])
def test_an_int_beyond_64_bits_is_refused_and_nothing_stored(
        tmp_path: Path, big: int) -> None:
    with pytest.raises(StorageError):
        _stored(tmp_path, {"n": [1, 2], "big": [big, big], "text": ["a", "a"],
                           "blob": [None, None]})
    engine = create_engine(f"sqlite:///{tmp_path}/rows.db")
    with engine.connect() as connection:
        assert connection.execute(select(ROWS.c.n)).all() == []
