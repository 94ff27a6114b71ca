"""A bulk insert's rows formatted for PostgreSQL's COPY by custmgmt store exactly what
psycopg's own row formatting stores, and anything it does not format is left to psycopg."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

import custmgmt
from custmgmt.adapters.sql import driver
from custmgmt.adapters.sql.copy_text import copy_text
from custmgmt.adapters.system import FixedClock, SequentialIds
from tests.conftest import START
from tests.pg_server import Cluster

pytestmark = pytest.mark.postgresql

COLUMNS = "line, t, b, i, f, n, d, ts, tn"
TABLE = ("(line integer, t text, b bytea, i bigint, f boolean, n numeric, d date, "
         "ts timestamptz, tn timestamp)")

# Text the server takes (no NUL, no lone surrogate), heavy in what COPY must escape.
TEXT = st.one_of(
    st.text(st.sampled_from("\\N.a "), max_size=6),  # backslashes alone: escaped anyway
    st.text(st.one_of(st.sampled_from("\\\t\n\r.N ,|\"'"), st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\0")), max_size=12))
MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
VALUES = (
    TEXT,
    st.binary(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False, places=None,
                min_value=Decimal("-1e30"), max_value=Decimal("1e30")),
    st.dates(),
    MOMENTS.map(lambda moment: moment.replace(tzinfo=UTC)),
    MOMENTS,
)
ROWS = st.lists(st.tuples(*(st.none() | values for values in VALUES)), min_size=1,
                max_size=6)


@pytest.fixture(scope="module")
def connection(postgres: Cluster) -> Iterator[psycopg.Connection[Any]]:
    name = make_url(postgres.new_empty_database()).database
    with psycopg.connect(f"host={postgres.socket_dir} user=postgres dbname={name}",
                         autocommit=True) as connection:
        connection.execute("SET TimeZone = 'Asia/Shanghai'")  # not UTC: offsets matter
        for table in ("by_custmgmt", "by_psycopg"):
            connection.execute(f"CREATE TABLE {table} {TABLE}")
        yield connection


def stored(connection: psycopg.Connection[Any], rows: list[tuple[Any, ...]]
           ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows as each table holds them, once written each way."""
    numbered = [(n, *row) for n, row in enumerate(rows)]
    columns = [list(column) for column in zip(*numbered, strict=True)]
    data = copy_text(columns, connection.info.encoding)
    assert data is not None
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM by_custmgmt")
        cursor.execute("DELETE FROM by_psycopg")
        with cursor.copy(f"COPY by_custmgmt ({COLUMNS}) FROM STDIN") as writer:
            writer.write(data)
        with cursor.copy(f"COPY by_psycopg ({COLUMNS}) FROM STDIN") as writer:
            for row in numbered:
                writer.write_row(row)
    return tuple(  # type: ignore[return-value]
        connection.execute(f"SELECT {COLUMNS} FROM {table} ORDER BY line").fetchall()
        for table in ("by_custmgmt", "by_psycopg"))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_the_text_stores_what_psycopgs_rows_store(
    connection: psycopg.Connection[Any], rows: list[tuple[Any, ...]]
) -> None:
    mine, theirs = stored(connection, rows)
    assert mine == theirs
    assert len(mine) == len(rows)


def test_a_column_of_one_value_repeated_and_values_at_their_limits(
    connection: psycopg.Connection[Any],
) -> None:
    east = timezone(timedelta(hours=8))
    rows = [("\\N", b"\x00\\\t", -(2**63), True, Decimal("-0.000"), date.min,
             datetime(1, 1, 2, tzinfo=UTC), datetime.min + timedelta(days=1))] * 3 + [
            ("\\.", b"", 2**63 - 1, False, Decimal("1E+30"), date.max,
             datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=east),
             datetime(9999, 12, 30, 23, 59, 59, 999999))]
    mine, theirs = stored(connection, rows)
    assert mine == theirs
    assert mine[0][1] == "\\N" and mine[0][2] == b"\x00\\\t"


@pytest.mark.parametrize("column", [
    ["a", "b\0c"],  # NUL: the server refuses it; psycopg raises what it raises
    ["a\ud800"],  # a lone surrogate: no encoding holds it
    [Decimal("NaN")], [Decimal("Infinity"), Decimal(1)],
    [1.5, 2.5],  # a type not formatted here
    [1, "1"],  # mixed types
    [True, 1],  # a bool is not an int here
])
def test_what_it_does_not_format_is_left_to_psycopg(column: list[Any]) -> None:
    assert copy_text([column], "utf-8") is None


def test_an_import_is_formatted_here_and_stored_as_psycopg_would(
    postgres: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import's columns are all formatted here (not one batch left to psycopg), and
    read back the same as with psycopg's rows."""
    formatted: list[bool] = []

    def spy(columns: Any, encoding: str) -> bytes | None:
        data = copy_text(columns, encoding)
        formatted.append(data is not None)
        return data

    given = [{"name": f"Wang\\{n}", "phone": f"1380013{n:04d}", "email": f"w{n}@example.com",
              "willingness": "clear", "potential_value": "12.50", "needs": "a\\nb"}
             for n in range(30)]
    read = []
    for formatter in (spy, lambda columns, encoding: None):
        monkeypatch.setattr(driver, "copy_text", formatter)
        with custmgmt.open(postgres.new_database(), clock=FixedClock(START),
                           ids=SequentialIds()) as app:
            alice = app.principal("u-alice", roles={"salesperson"})
            assert app.prospects.import_many(alice, given, batch_size=7).imported == 30
            read.append(app.prospects.list(alice, limit=100).items)
    assert formatted and all(formatted)
    assert read[0] == read[1] and len(read[0]) == 30
    assert read[0][0].profile.name.value == "Wang\\0" and read[0][0].profile.needs == "a\\nb"
