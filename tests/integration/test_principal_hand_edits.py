"""A principal's grants changed by hand in SQL (an administrator's UPDATE, a script
that deletes a role, a restore) take effect at the principal's next call, as a change
made through the library does: the database counts every such change (migration
0020), and a due list, which checks that count instead of reading a known actor
again, sees the change too. A conflict the database breaks reaches the caller as
ConcurrencyError."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import attrs
import psycopg
import pytest
import sqlalchemy as sa
from alembic import command

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import ConcurrencyError, CustmgmtError, PermissionDenied
from tests.conftest import START
from tests.helpers import east_team, register_numbered
from tests.pg_server import Cluster

App = custmgmt.CustomerManagement
ON = date(2026, 12, 31)


@pytest.fixture
def app(sql_url: str) -> Iterator[App]:
    with east_team(sql_url, FixedClock(START)) as opened:
        yield opened


@pytest.fixture
def by_hand(sql_url: str) -> Iterator[sa.Engine]:
    """The same database, written by hand, outside the library."""
    engine = sa.create_engine(sql_url)
    yield engine
    engine.dispose()


def _run(engine: sa.Engine, *sql: str, **params: object) -> None:
    with engine.begin() as connection:
        for statement in sql:
            connection.execute(sa.text(statement), params)


def _stored(app: App, who: str) -> custmgmt.Principal:
    found = app.get_principal(who)
    assert found is not None
    return found


def _known_twice(app: App, who: str) -> custmgmt.Principal:
    """``who`` as stored, after two due lists (the second checked, not read again)."""
    actor = _stored(app, who)
    app.followups.due(actor, on=ON)
    app.followups.due(actor, on=ON)
    return actor


def test_a_role_deleted_by_hand_stops_the_next_due_list(app: App, by_hand: sa.Engine) -> None:
    alice = _known_twice(app, "u-alice")
    _run(by_hand, "DELETE FROM custmgmt_principal_roles WHERE principal_id = 'u-alice'")
    with pytest.raises(PermissionDenied):
        app.followups.due(alice, on=ON)


def test_a_team_changed_by_hand_changes_the_next_due_list(app: App, by_hand: sa.Engine) -> None:
    mia = _known_twice(app, "u-mia")
    assert len(app.followups.due(mia, on=ON)) == 2
    _run(by_hand, "UPDATE custmgmt_principals SET team = 'west' WHERE id = 'u-mia'")
    assert app.followups.due(mia, on=ON) == ()


def test_a_principal_deactivated_by_hand_is_refused_at_the_next_call(
        app: App, by_hand: sa.Engine) -> None:
    alice = _known_twice(app, "u-alice")
    _run(by_hand, "UPDATE custmgmt_principals SET active = :no WHERE id = 'u-alice'", no=False)
    with pytest.raises(PermissionDenied):
        app.followups.due(alice, on=ON)


def test_a_role_added_by_hand_widens_the_next_due_list(app: App, by_hand: sa.Engine) -> None:
    bob = app.principal("u-bob", roles={"salesperson"}, team="east")
    register_numbered(app, bob, 3)
    alice = _known_twice(app, "u-alice")
    assert len(app.followups.due(alice, on=ON)) == 2
    _run(by_hand, "INSERT INTO custmgmt_principal_roles (principal_id, role) "
                  "VALUES ('u-alice', 'sales_manager')")
    assert len(app.followups.due(alice, on=ON)) == 3


def test_a_principal_deleted_by_hand_is_refused_at_the_next_call(
        app: App, by_hand: sa.Engine) -> None:
    alice = _known_twice(app, "u-alice")
    _run(by_hand, "DELETE FROM custmgmt_principal_roles WHERE principal_id = 'u-alice'",
         "DELETE FROM custmgmt_principals WHERE id = 'u-alice'")
    with pytest.raises(PermissionDenied):
        app.followups.due(alice, on=ON)


def test_an_older_version_restored_by_hand_is_still_a_change(
        app: App, by_hand: sa.Engine) -> None:
    """A row restored as it was (its old version too), but deactivated."""
    alice = _known_twice(app, "u-alice")
    root = _stored(app, "u-root")
    app.principals.assign(root, "u-alice", team="east", supervisor_id="u-mia")
    _run(by_hand, "UPDATE custmgmt_principals SET supervisor_id = NULL, active = :no, "
                  "version = :old WHERE id = 'u-alice'", no=False, old=alice.version)
    assert _stored(app, "u-alice") == attrs.evolve(alice, active=False)
    with pytest.raises(PermissionDenied):
        app.followups.due(alice, on=ON)


def test_a_principal_recreated_by_hand_at_the_same_version_is_a_change(
        app: App, by_hand: sa.Engine) -> None:
    alice = _known_twice(app, "u-alice")
    _run(by_hand, "DELETE FROM custmgmt_principal_roles WHERE principal_id = 'u-alice'",
         "DELETE FROM custmgmt_principals WHERE id = 'u-alice'",
         "INSERT INTO custmgmt_principals (id, team, supervisor_id, active, version) "
         "VALUES ('u-alice', 'east', NULL, :no, :old)",
         "INSERT INTO custmgmt_principal_roles (principal_id, role) "
         "VALUES ('u-alice', 'salesperson')", no=False, old=alice.version)
    with pytest.raises(PermissionDenied):
        app.followups.due(alice, on=ON)


def test_the_library_stores_what_it_returns(app: App) -> None:
    root = _stored(app, "u-root")
    saves = [
        lambda: app.principals.grant(root, "u-alice", {"sales_manager"}),
        lambda: app.principals.certify(root, "u-alice", "sample_receiver"),
        lambda: app.principals.certify(root, "u-alice", "sample_receiver", valid_until=ON),
        lambda: app.principals.revoke(root, "u-alice", {"sales_manager"},
                                      certifications={"sample_receiver"}),
        lambda: app.principals.assign(root, "u-alice", team="west", supervisor_id=None),
        lambda: app.principals.deactivate(root, "u-alice"),
        lambda: app.principals.reactivate(root, "u-alice"),
        lambda: app.principal("u-alice", roles={"salesperson", "admin"}, team="east"),
    ]
    version = _stored(app, "u-alice").version
    for save in saves:
        returned = save()
        version += 1
        assert returned.version == version
        assert _stored(app, "u-alice") == returned
    for who, roles in (("u-new", {"salesperson"}), ("u-bare", set())):
        made = app.principal(who, roles=roles)
        assert made.version == 1
        assert _stored(app, who) == made


def _counted(engine: sa.Engine) -> set[str]:
    """The names of the triggers (and PostgreSQL functions) that count grants changes."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            rows = connection.exec_driver_sql(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal UNION ALL "
                "SELECT proname FROM pg_proc WHERE proname LIKE 'custmgmt%%'")
        return {row[0] for row in rows if "count" in row[0]}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crm.db'}"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_empty_database()


def test_the_counting_comes_and_goes_with_migration_0020(empty_url: str) -> None:
    with custmgmt.open(empty_url, migrate=True) as opened:
        opened.principal("u-alice", roles={"salesperson"})
    engine = sa.create_engine(empty_url)
    try:
        present = _counted(engine)
        expected = 9 if engine.dialect.name == "sqlite" else 4  # PostgreSQL: + function
        assert len(present) == expected
        command.downgrade(migrate.config(engine), "0019")
        assert _counted(engine) == set()
        assert "custmgmt_grants_generation" not in sa.inspect(engine).get_table_names()
        migrate.upgrade(engine, "head")
        assert _counted(engine) == present
    finally:
        engine.dispose()
    with custmgmt.open(empty_url) as opened:
        saved = opened.principal("u-alice", roles={"salesperson", "admin"})
        assert saved.version == 2 and opened.get_principal("u-alice") == saved


def test_sqlite_replace_into_principals_is_a_change(tmp_path: Path) -> None:
    """REPLACE deletes and inserts (no delete trigger fires without recursive triggers),
    here with foreign keys off, as the sqlite3 shell has them."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with east_team(url, FixedClock(START)) as app:
        mia = _known_twice(app, "u-mia")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "REPLACE INTO custmgmt_principals (id, team, supervisor_id, active, version) "
                f"VALUES ('u-mia', 'west', NULL, 1, {mia.version})")
        engine.dispose()
        assert app.followups.due(mia, on=ON) == ()


@pytest.fixture
def pg(postgres: Cluster) -> Iterator[tuple[App, Cluster, str]]:
    """An app on a new PostgreSQL database, the cluster and the database's name."""
    url = postgres.new_database()
    with east_team(url, FixedClock(START)) as opened:
        name = sa.make_url(url).database
        assert name is not None
        yield opened, postgres, name


def _connect(cluster: Cluster, name: str, autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(f"host={cluster.socket_dir} user=postgres dbname={name}",
                           autocommit=autocommit)


@pytest.mark.postgresql
def test_postgresql_truncate_of_the_roles_is_a_change(pg: tuple[App, Cluster, str]) -> None:
    app, cluster, name = pg
    alice = _known_twice(app, "u-alice")
    with _connect(cluster, name) as connection:
        connection.execute("TRUNCATE custmgmt_principal_roles")
    with pytest.raises(PermissionDenied):
        app.followups.due(alice, on=ON)


@pytest.mark.postgresql
def test_postgresql_an_editor_without_rights_on_the_count_is_counted(
        pg: tuple[App, Cluster, str]) -> None:
    """A database role allowed to edit roles, nothing else: the trigger counts as its
    owner."""
    app, cluster, name = pg
    alice = _known_twice(app, "u-alice")
    with _connect(cluster, name) as connection:
        connection.execute("CREATE ROLE grants_editor")
        connection.execute("GRANT SELECT, DELETE ON custmgmt_principal_roles TO grants_editor")
        connection.execute("SET ROLE grants_editor")
        connection.execute("DELETE FROM custmgmt_principal_roles WHERE principal_id = 'u-alice'")
        connection.execute("RESET ROLE")
        connection.execute("REVOKE ALL ON custmgmt_principal_roles FROM grants_editor")
        connection.execute("DROP ROLE grants_editor")
    with pytest.raises(PermissionDenied):
        app.followups.due(alice, on=ON)


@pytest.mark.postgresql
def test_postgresql_a_store_in_its_own_schema_is_counted_from_any_search_path(
        postgres: Cluster) -> None:
    base = postgres.new_empty_database()
    name = sa.make_url(base).database
    assert name is not None
    with _connect(postgres, name) as connection:
        connection.execute("CREATE SCHEMA crm")
    with east_team(base + "&options=-csearch_path%3Dcrm", FixedClock(START)) as app:
        alice = _known_twice(app, "u-alice")
        with _connect(postgres, name) as connection:  # the default search path
            connection.execute("DELETE FROM crm.custmgmt_principal_roles "
                               "WHERE principal_id = 'u-alice'")
        with pytest.raises(PermissionDenied):
            app.followups.due(alice, on=ON)


@pytest.mark.postgresql
def test_postgresql_a_deadlock_with_a_script_is_a_concurrency_error(
        pg: tuple[App, Cluster, str]) -> None:
    """A script locks alice's roles, then changes one; a library save in between holds
    what the script's change needs next and waits for the roles: the database breaks
    the cycle, and whichever side it ends, the library's caller sees ConcurrencyError
    (reload and retry), never a raw driver error."""
    app, cluster, name = pg
    root = _stored(app, "u-root")
    locked, outcome = threading.Event(), list[object]()

    def script() -> None:
        with _connect(cluster, name, autocommit=False) as connection:
            connection.execute("SELECT * FROM custmgmt_principal_roles "
                               "WHERE principal_id = 'u-alice' FOR UPDATE")
            locked.set()
            time.sleep(0.5)  # the save is waiting for the roles by now
            try:
                connection.execute("DELETE FROM custmgmt_principal_roles "
                                   "WHERE principal_id = 'u-alice'")
                connection.commit()
                outcome.append("script committed")
            except psycopg.Error as error:
                outcome.append(f"script: {type(error).__name__}")

    thread = threading.Thread(target=script)
    thread.start()
    assert locked.wait(10)
    try:
        app.principals.grant(root, "u-alice", {"sales_manager"})
        outcome.append("save committed")
    except CustmgmtError as error:
        outcome.append(error)
    thread.join(30)
    errors = [o for o in outcome if isinstance(o, CustmgmtError)]
    assert all(isinstance(e, ConcurrencyError) for e in errors), outcome
    assert len(outcome) == 2
