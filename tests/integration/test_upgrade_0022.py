"""Migration 0022 indexes import entries by hash; its downgrade refuses while the store
holds an import written with one entry a batch (0021 would read its trails as broken)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.errors import StorageError
from tests.helpers import downgrade_as_the_library_opens


def test_a_store_without_imports_goes_down_and_up_again(sql_url: str) -> None:
    with custmgmt.open(sql_url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        app.prospects.register(alice, name="Li", phone="13800000001", willingness="clear",
                               potential_value=5)
    downgrade_as_the_library_opens(sql_url, "0021")
    with custmgmt.open(sql_url, migrate=True) as app:  # back up to the head
        auditor = app.principal("u-audit", roles={"auditor"})
        (p,) = app.prospects.list(app.principal("u-alice", roles={"salesperson"})).items
        assert app.audit.verify(auditor, "prospect", p.id) == 1


def test_a_store_with_an_import_refuses_the_downgrade(sql_url: str) -> None:
    with custmgmt.open(sql_url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        app.prospects.import_many(alice, [{"name": "Li", "phone": "13800000001",
                                           "willingness": "clear", "potential_value": "5"}])
    with pytest.raises(StorageError, match="0022 cannot be undone"):
        downgrade_as_the_library_opens(sql_url, "0021")
    engine = sa.create_engine(sql_url)
    try:  # 0022 refused before changing anything; where DDL is not transactional
        # (SQLite) the later revisions' steps down before it stand
        stood = "0022" if engine.dialect.name == "sqlite" else migrate.head()
        assert migrate.current(engine) == stood
    finally:
        engine.dispose()
    with custmgmt.open(sql_url, migrate=True) as app:
        (p,) = app.prospects.list(app.principal("u-alice", roles={"salesperson"})).items
        auditor = app.principal("u-audit", roles={"auditor"})
        assert app.audit.verify(auditor, "prospect", p.id) == 1
