"""Migrations: no drift from the metadata, own version table, refusal of an unmigrated schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.sql.tables import Base
from custmgmt.errors import StorageError, ValidationError
from tests.helpers import admin, expression_index_drift
from tests.pg_server import Cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    if request.param == "sqlite":
        counter = iter(range(1000))
        return lambda: f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite'}"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_empty_database


def test_the_migrated_schema_matches_the_metadata(new_url: Callable[[], str]) -> None:
    url = new_url()
    custmgmt.open(url, migrate=True).close()
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "version_table": migrate.VERSION_TABLE,
            "include_name": lambda name, type_, parent: type_ != "table"
            or name.startswith("custmgmt_"),
        })
        differences = compare_metadata(context, Base.metadata)
    drift = expression_index_drift(engine)
    engine.dispose()
    assert differences == []
    assert drift == []


def test_migrations_keep_their_own_version_table_beside_the_hosts(
    new_url: Callable[[], str],
) -> None:
    url = new_url()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('hosts_own_rev')"))
    custmgmt.open(url, migrate=True).close()
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        host_rev = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert migrate.VERSION_TABLE in tables and host_rev == "hosts_own_rev"


def test_an_unmigrated_database_is_refused_and_left_untouched(
    new_url: Callable[[], str],
) -> None:
    url = new_url()
    with pytest.raises(StorageError, match="migrate"):
        custmgmt.open(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == []
    engine.dispose()
    with custmgmt.open(url, migrate=True) as app:
        app.migrate()  # idempotent
    custmgmt.open(url).close()


def test_data_survives_reopening(new_url: Callable[[], str]) -> None:
    url = new_url()
    with custmgmt.open(url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        p = app.prospects.register(alice, name="Li Na", phone="13700137000",
                                   willingness="clear", potential_value="1234567.89")
    with custmgmt.open(url) as app:
        alice_again = app.get_principal("u-alice")
        assert alice_again == alice
        assert app.prospects.get(alice, p.id) == p
        assert [e.name for e in app.events(admin(app))] == ["ProspectRegistered"]


def test_driver_failures_surface_as_storage_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as raised:
        custmgmt.open(f"sqlite:///{tmp_path}/no/such/folder/crm.db", migrate=True)
    assert "sqlalchemy" not in type(raised.value).__module__


def test_a_missing_driver_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        custmgmt.open("postgresql+nosuchdriver://x/y")
    assert raised.value.field == "url"


def test_a_database_from_a_newer_custmgmt_is_refused_as_a_storage_error(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    custmgmt.open(url, migrate=True).close()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StorageError, match="9999"):
        custmgmt.open(url)
    with pytest.raises(StorageError):
        custmgmt.open(url, migrate=True)


def test_bad_url_options_are_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        custmgmt.open("sqlite:///crm.db?timeout=soon")
    assert raised.value.field == "url"
