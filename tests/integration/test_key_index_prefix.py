"""The unique indexes of a prospect's identity keys hold 17 bytes of each key (migration
0024): the look-ups that enforce the first registration read them, a key that is not a
seal is told apart by its digest, and the migration rewrites such keys both ways."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.sql.column_types import KEY_PREFIX, pack_key, unpack_key
from custmgmt.adapters.sql.prospects import _holder_lookup
from custmgmt.domain.identity import KeyRing
from custmgmt.errors import ClaimConflict
from tests.helpers import downgrade_as_the_library_opens

KEY_COLUMNS = ("phone_key", "email_key", "organization_key", "credit_code_key")


def test_the_duplicate_check_reads_the_key_index(sql_url: str) -> None:
    with custmgmt.open(sql_url, migrate=True):
        pass
    seal = KeyRing().phone("13900000001").value
    statement, parameters = _holder_lookup({"phone_key": [seal]})
    engine = sa.create_engine(sql_url)
    try:
        with engine.connect() as db:
            # the library's statement as it is sent, its parameters named for sa.text
            sql = str(statement.compile(dialect=type(engine.dialect)(paramstyle="named")))
            assert f"substr(phone_key, 1, {KEY_PREFIX})" in sql
            if engine.dialect.name == "sqlite":
                plan = " ".join(str(row[-1]) for row in db.execute(
                    sa.text(f"EXPLAIN QUERY PLAN {sql}"), parameters))
            else:
                db.execute(sa.text("SET enable_seqscan = off"))
                plan = " ".join(row[0] for row in db.execute(
                    sa.text(f"EXPLAIN {sql}"), parameters))
    finally:
        engine.dispose()
    assert "ux_custmgmt_prospects_phone_key" in plan


def test_a_value_that_is_not_a_seal_keeps_a_digest_ahead_of_it() -> None:
    for value in ("91350100M000100Y43", "x" * 300, "", "\ud800\x00"):
        packed = pack_key(value)
        assert packed[:1] == b"\x00" and unpack_key(packed) == value
    # two values alike in their first 16 bytes differ in what the index holds
    first, second = "a" * 16 + "1", "a" * 16 + "2"
    assert pack_key(first)[:KEY_PREFIX] != pack_key(second)[:KEY_PREFIX]


def _stored(engine: sa.Engine) -> dict[str, bytes]:
    with engine.connect() as db:
        return {pid: bytes(value) for pid, value in db.execute(sa.text(
            "SELECT id, credit_code_key FROM custmgmt_prospects "
            "WHERE credit_code_key IS NOT NULL"))}


def _key_indexes(engine: sa.Engine) -> dict[str, str]:
    """Each key column's unique index as the database defines it (SQLAlchemy does not
    reflect an index on an expression from SQLite)."""
    query = ("SELECT name, sql FROM sqlite_master WHERE type = 'index'"
             if engine.dialect.name == "sqlite" else
             "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'custmgmt_prospects'")
    with engine.connect() as db:
        defined = {name: str(sql) for name, sql in db.execute(sa.text(query))}
    return {c: defined[f"ux_custmgmt_prospects_{c}"].replace('"', "") for c in KEY_COLUMNS}


def test_the_migration_rewrites_opaque_keys_both_ways(
    new_empty_url: Callable[[], str],
) -> None:
    url = new_empty_url()
    with custmgmt.open(url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        kept = app.prospects.register(alice, name="Wang", phone="13900000001",
                                      willingness="clear", potential_value=1)
    downgrade_as_the_library_opens(url, "0023")
    engine = sa.create_engine(url)
    try:
        opaque = "91350100M000100Y43"  # a key the storage keeps as written, not a seal
        with engine.begin() as db:  # as revision 0023 stores it: tag and UTF-8
            db.execute(sa.text("UPDATE custmgmt_prospects SET credit_code_key = :v"),
                       {"v": b"\x00" + opaque.encode()})
        assert all(f"({c})" in defined and "UNIQUE" in defined
                   for c, defined in _key_indexes(engine).items())
        migrate.upgrade(engine, "head")
        assert _stored(engine) == {kept.id: pack_key(opaque)}
        assert all(f"(substr({c}, 1, {KEY_PREFIX}))" in defined and "UNIQUE" in defined
                   for c, defined in _key_indexes(engine).items())
        with custmgmt.open(url) as app:
            bob = app.principal("u-bob", roles={"salesperson"})
            with pytest.raises(ClaimConflict):
                app.prospects.register(bob, name="Li", phone="139 0000 0001",
                                       willingness="clear", potential_value=1)
        downgrade_as_the_library_opens(url, "0023")
        assert _stored(engine) == {kept.id: b"\x00" + opaque.encode()}
    finally:
        engine.dispose()
