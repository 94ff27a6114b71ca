"""The unique indexes of a prospect's identity keys hold 17 bytes of each key (migration
0024): the look-ups that enforce the first registration read them, a key that is not a
seal is told apart by its digest, and the migration rewrites such keys both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.sql.column_types import KEY_PREFIX, key_prefix, pack_key, unpack_key
from custmgmt.adapters.sql.prospects import _holder_lookup
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.domain.identity import IdentityKey, KeyKind, KeyRing
from custmgmt.errors import ClaimConflict, StorageError
from custmgmt.testing.builders import make_prospect
from tests.helpers import downgrade_as_the_library_opens

KEY_COLUMNS = ("phone_key", "email_key", "organization_key", "credit_code_key")


def test_the_duplicate_check_reads_the_key_index(sql_url: str) -> None:
    with custmgmt.open(sql_url, migrate=True):
        pass
    seal = KeyRing().phone("13900000001").value
    statement, parameters = _holder_lookup({"phone_key": [key_prefix(seal)]})
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


ALIKE = ("ab" * 16 + "00" * 16, "ab" * 16 + "11" * 16)
"""Two seal-shaped keys that agree in their first 128 bits (written through the port:
the library's own seals never do, but nothing stops an adapter's caller)."""


def test_keys_alike_in_what_the_index_keeps_are_one_claim(sql_url: str) -> None:
    storage = SqlStorage(sql_url, migrate=True)
    try:
        first, second = make_prospect(1), make_prospect(2)
        with storage.unit_of_work() as uow:
            uow.prospects.add(first, frozenset({IdentityKey(KeyKind.PHONE, ALIKE[0])}))
            uow.commit()
        with storage.unit_of_work() as uow:
            found = uow.prospects.holders_of([IdentityKey(KeyKind.PHONE, ALIKE[1])])
            assert [p.id for p in found.values()] == [first.id]
            with pytest.raises(ClaimConflict) as refused:
                uow.prospects.add(second, frozenset({IdentityKey(KeyKind.PHONE, ALIKE[1])}))
            assert refused.value.owner_id == first.owner_id
    finally:
        storage.close()


def _set_credit_code_keys(engine: sa.Engine, values: dict[str, bytes]) -> None:
    with engine.begin() as db:
        db.execute(sa.text("UPDATE custmgmt_prospects SET credit_code_key = :v WHERE id = :id"),
                   [{"id": pid, "v": v} for pid, v in values.items()])


def _two_prospects_at_0023(url: str) -> list[str]:
    with custmgmt.open(url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        ids = [app.prospects.register(alice, name=f"P{n}", phone=f"1390000000{n}",
                                      willingness="clear", potential_value=1).id
               for n in (1, 2)]
    downgrade_as_the_library_opens(url, "0023")
    return ids


def test_seals_alike_in_128_bits_refuse_the_upgrade_before_any_change(
    new_empty_url: Callable[[], str],
) -> None:
    url = new_empty_url()
    ids = _two_prospects_at_0023(url)
    engine = sa.create_engine(url)
    try:  # revision 0023's index keeps whole keys: it lets both in
        _set_credit_code_keys(engine, {pid: pack_key(v) for pid, v in zip(ids, ALIKE, strict=True)})
        before = _key_indexes(engine)
        with pytest.raises(StorageError, match="0024") as refused:
            migrate.upgrade(engine, "head")
        assert "abab" not in str(refused.value)
        assert migrate.current(engine) == "0023"
        assert _key_indexes(engine) == before
    finally:
        engine.dispose()


def test_an_upgrade_cut_short_on_sqlite_runs_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    ids = _two_prospects_at_0023(url)
    engine = sa.create_engine(url)
    try:  # as 0024 leaves SQLite when stopped after its first column (DDL commits at once)
        opaque = "91350100M000100Y43"
        _set_credit_code_keys(engine, {ids[0]: pack_key(opaque),  # rewritten already
                                       ids[1]: b"\x00" + b"x" * 20})  # not yet
        with engine.begin() as db:
            db.execute(sa.text("DROP INDEX ux_custmgmt_prospects_credit_code_key"))
        migrate.upgrade(engine, "head")
        assert _stored(engine) == {ids[0]: pack_key(opaque), ids[1]: pack_key("x" * 20)}
        assert all(f"(substr({c}, 1, {KEY_PREFIX}))" in defined
                   for c, defined in _key_indexes(engine).items())
    finally:
        engine.dispose()
