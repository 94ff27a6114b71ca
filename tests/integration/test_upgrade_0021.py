"""Migration 0021 moves a prospect's identity keys from the key table into its own row:
every key survives exactly and still makes the first registration stand, a downgrade
(on the library's own engine, foreign keys on) puts them back and loses no row that
refers to a prospect, and what either side cannot hold is refused, the store unchanged."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.sql.column_types import pack_key
from custmgmt.adapters.sql.tables import ProspectHistoryRow, ProspectRow
from custmgmt.adapters.sql.translate import history_values, prospect_values
from custmgmt.domain.prospects import Prospect
from custmgmt.errors import ClaimConflict, StorageError
from custmgmt.testing.builders import keys_of, make_prospect
from tests.helpers import downgrade_as_the_library_opens

KEYS = "custmgmt_prospect_keys"
KEY_COLUMNS = ("phone_key", "email_key", "organization_key", "credit_code_key")

Held = set[tuple[str, str, str]]


def _at_0020(url: str, prospects: Iterable[Prospect], held: Held) -> sa.Engine:
    """A store at revision 0020 holding ``prospects`` and the key rows ``held``."""
    engine = sa.create_engine(url)
    migrate.upgrade(engine, "0020")
    with engine.begin() as connection:
        connection.execute(sa.insert(ProspectRow.__table__),
                           [prospect_values(p) for p in prospects])
        connection.execute(sa.insert(ProspectHistoryRow.__table__), [
            history_values(p.id, i, entry) for p in prospects
            for i, entry in enumerate(p.history)])
        connection.execute(sa.text(f"INSERT INTO {KEYS} (kind, value, prospect_id) "
                                   "VALUES (:kind, :value, :pid)"),
                           [{"kind": k, "value": v, "pid": p} for k, v, p in held])
    return engine


def _key_table(engine: sa.Engine) -> Held:
    with engine.connect() as connection:
        return {(k, v, p) for k, v, p in connection.execute(
            sa.text(f"SELECT kind, value, prospect_id FROM {KEYS}"))}


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_the_keys_move_into_the_row_and_back(new_empty_url: Callable[[], str]) -> None:
    url = new_empty_url()
    old = make_prospect(1, organization="Acme Co., Ltd.")
    other = make_prospect(2)
    held = {(k.kind.value, k.value, old.id) for k in keys_of(old)}
    # the keys are opaque to storage: a value that is not a seal survives as it is
    held.add(("credit_code", "91350100M000100Y43", other.id))
    engine = _at_0020(url, [old, other], held)
    try:
        migrate.upgrade(engine, "head")
        assert KEYS not in _tables(engine)
        with engine.connect() as connection:
            at_rest = {(column.removesuffix("_key"), bytes(value), pid)
                       for pid, *values in connection.execute(sa.text(
                           f"SELECT id, {', '.join(KEY_COLUMNS)} FROM custmgmt_prospects"))
                       for column, value in zip(KEY_COLUMNS, values, strict=True)
                       if value is not None}
        assert at_rest == {(kind, pack_key(value), pid) for kind, value, pid in held}
        with custmgmt.open(url) as app:
            bob = app.principal("u-bob", roles={"salesperson"})
            assert old.profile.phone is not None
            for clash in ({"phone": old.profile.phone.value}, {"organization": "ACME CO"}):
                with pytest.raises(ClaimConflict) as caught:
                    app.prospects.register(bob, name="B", willingness="clear",
                                           potential_value=1,
                                           **({"phone": "13900139000"} | clash))
                assert caught.value.registration_id == old.registration.id
        before = _children(engine)
        assert before["custmgmt_prospect_history"] == 2
        downgrade_as_the_library_opens(url, "0020")
        assert _key_table(engine) == held
        assert _children(engine) == before
        assert not set(KEY_COLUMNS) & {c["name"] for c in sa.inspect(engine).get_columns(
            "custmgmt_prospects")}
        migrate.upgrade(engine, "head")
        downgrade_as_the_library_opens(url, "0020")
        assert _key_table(engine) == held
        assert _children(engine) == before
    finally:
        engine.dispose()


def _children(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("custmgmt_prospects", "custmgmt_prospect_history")}


def test_a_key_the_old_table_cannot_hold_refuses_the_downgrade(
    new_empty_url: Callable[[], str],
) -> None:
    url = new_empty_url()
    old = make_prospect(1)
    engine = _at_0020(url, [old], {(k.kind.value, k.value, old.id) for k in keys_of(old)})
    try:
        migrate.upgrade(engine, "head")
        with engine.begin() as connection:  # written by hand: the library stores seals
            connection.execute(sa.text("UPDATE custmgmt_prospects SET credit_code_key = :v"),
                               {"v": pack_key("9" * 301)})
        with pytest.raises(StorageError, match="cannot be undone") as raised:
            downgrade_as_the_library_opens(url, "0020")
        assert "9" * 20 not in str(raised.value)
        # 0021 refused before changing anything; the steps down from head before it stand
        # where DDL is not transactional (SQLite), and are rolled back with it where it is
        stood = "0021" if engine.dialect.name == "sqlite" else migrate.head()
        assert migrate.current(engine) == stood
        assert KEYS not in _tables(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("extra", [("phone", "0" * 64), ("fax", "0" * 64)])
def test_a_key_a_row_cannot_hold_is_refused_and_the_store_left_at_0020(
    new_empty_url: Callable[[], str], extra: tuple[str, str],
) -> None:
    """A second key of one kind, or a kind the row has no column for."""
    url = new_empty_url()
    old = make_prospect(1)
    held = {(k.kind.value, k.value, old.id) for k in keys_of(old)}
    held.add((*extra, old.id))
    engine = _at_0020(url, [old], held)
    try:
        with pytest.raises(StorageError, match="0021") as raised:
            migrate.upgrade(engine, "head")
        assert "0" * 12 not in str(raised.value)
        assert migrate.current(engine) == "0020"
        assert _key_table(engine) == held
        assert not set(KEY_COLUMNS) & {c["name"] for c in sa.inspect(engine).get_columns(
            "custmgmt_prospects")}
    finally:
        engine.dispose()


def test_an_old_sqlite_refuses_the_downgrade_before_changing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    old = make_prospect(1)
    engine = _at_0020(url, [old], {(k.kind.value, k.value, old.id) for k in keys_of(old)})
    try:
        migrate.upgrade(engine, "0021")
        monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
        with pytest.raises(StorageError, match=r"3\.35 or later"):
            command.downgrade(migrate.config(engine), "0020")  # a plain engine, too
        assert migrate.current(engine) == "0021"
        assert KEYS not in _tables(engine)
        indexes = {i["name"] for i in sa.inspect(engine).get_indexes("custmgmt_prospects")}
        assert {f"ux_custmgmt_prospects_{c}" for c in KEY_COLUMNS} <= indexes
    finally:
        engine.dispose()
