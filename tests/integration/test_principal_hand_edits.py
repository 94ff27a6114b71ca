"""A principal's grants changed by hand in SQL (an administrator's UPDATE, a script
that inserts a role) take effect at the principal's next call, as a change made
through the library does: the database counts the principal's version up itself,
so a due list, which checks the version of the principal it read last time instead
of reading it again, sees the change too. The library's own saves still store the
version they return."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa

import custmgmt
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import PermissionDenied
from tests.conftest import START
from tests.helpers import east_team, register_numbered

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


def _run(engine: sa.Engine, sql: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(sql), params)


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
    before = _stored(app, "u-alice").version
    _run(by_hand, "DELETE FROM custmgmt_principal_roles WHERE principal_id = :who",
         who="u-alice")
    assert _stored(app, "u-alice").version > before
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
    root = _stored(app, "u-root")
    bob = app.principal("u-bob", roles={"salesperson"}, team="east")
    register_numbered(app, bob, 3)
    alice = _known_twice(app, "u-alice")
    assert len(app.followups.due(alice, on=ON)) == 2
    _run(by_hand, "INSERT INTO custmgmt_principal_roles (principal_id, role) "
                  "VALUES ('u-alice', 'sales_manager')")
    assert len(app.followups.due(alice, on=ON)) == 3
    assert "sales_manager" in app.principals.get(root, "u-alice").roles


def test_a_certification_changed_by_hand_counts_the_version_up(
        app: App, by_hand: sa.Engine) -> None:
    versions = [_stored(app, "u-alice").version]
    _run(by_hand, "INSERT INTO custmgmt_certifications (principal_id, name, valid_until) "
                  "VALUES ('u-alice', 'sample_receiver', NULL)")
    versions.append(_stored(app, "u-alice").version)
    _run(by_hand, "UPDATE custmgmt_certifications SET valid_until = :day "
                  "WHERE principal_id = 'u-alice'", day=ON)
    versions.append(_stored(app, "u-alice").version)
    _run(by_hand, "DELETE FROM custmgmt_certifications WHERE principal_id = 'u-alice'")
    versions.append(_stored(app, "u-alice").version)
    assert versions == sorted(set(versions))  # up at every change


def test_a_version_set_by_hand_is_kept(app: App, by_hand: sa.Engine) -> None:
    _run(by_hand, "UPDATE custmgmt_principals SET version = 40, team = 'north' "
                  "WHERE id = 'u-alice'")
    assert _stored(app, "u-alice").version == 40


def test_the_library_stores_the_version_it_returns(app: App, by_hand: sa.Engine) -> None:
    root = _stored(app, "u-root")
    _run(by_hand, "UPDATE custmgmt_principals SET supervisor_id = 'u-mia' WHERE id = 'u-alice'")
    saves = [
        lambda: app.principals.grant(root, "u-alice", {"sales_manager"}),
        lambda: app.principals.certify(root, "u-alice", "sample_receiver"),
        lambda: app.principals.revoke(root, "u-alice", {"sales_manager"},
                                      certifications={"sample_receiver"}),
        lambda: app.principals.assign(root, "u-alice", team="west", supervisor_id=None),
        lambda: app.principals.revoke(root, "u-alice"),  # nothing to take: not saved
        lambda: app.principal("u-alice", roles={"salesperson", "admin"}, team="east"),
    ]
    version = _stored(app, "u-alice").version
    for step, save in enumerate(saves):
        returned = save()
        version += step != 4
        assert returned.version == version
        assert _stored(app, "u-alice") == returned
    for who, roles in (("u-new", {"salesperson"}), ("u-bare", set())):
        made = app.principal(who, roles=roles)
        assert made.version == 1
        assert _stored(app, who) == made
