"""Migration 0017 adds the personal-information request log: it upgrades and downgrades
cleanly on SQLite and PostgreSQL, and a store upgraded again takes requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

import custmgmt
from custmgmt.adapters.sql import migrate
from tests.pg_server import Cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path / 'crm.db'}"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_database


def test_the_request_log_comes_and_goes_with_its_migration(new_url: Callable[[], str]) -> None:
    url = new_url()
    with custmgmt.open(url, migrate=True) as app:
        dpo = app.principal("u-dpo", roles={"privacy_officer"})
        app.privacy.receive(dpo, "access", phone="13912345678")
    engine = sa.create_engine(url)
    try:
        assert "custmgmt_pi_requests" in sa.inspect(engine).get_table_names()
        command.downgrade(migrate.config(engine), "0016")
        assert migrate.current(engine) == "0016"
        assert "custmgmt_pi_requests" not in sa.inspect(engine).get_table_names()
        migrate.upgrade(engine, "head")
    finally:
        engine.dispose()
    with custmgmt.open(url) as app:
        dpo = app.principal("u-dpo", roles={"privacy_officer"})
        assert app.privacy.requests(dpo) == ()
        app.privacy.receive(dpo, "erasure", customer_id="c-1")
        assert len(app.privacy.requests(dpo)) == 1
