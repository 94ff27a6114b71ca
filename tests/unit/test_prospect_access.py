"""Prospect information is a trade secret: every role x action x whose-prospect cell."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import custmgmt
from custmgmt import Stage
from custmgmt.errors import PermissionDenied

App = custmgmt.CustomerManagement
Call = Callable[[App, custmgmt.Principal, str], Any]

ACTIONS: dict[str, Call] = {
    "read": lambda app, who, pid: app.prospects.get(who, pid),
    "update": lambda app, who, pid: app.prospects.advance(who, pid, to=Stage.PROPOSAL),
    "override_grade": lambda app, who, pid: app.prospects.override_grade(
        who, pid, "A", reason="met the board"),
    "transfer": lambda app, who, pid: app.prospects.transfer(
        who, pid, to_owner="u-spare", reason="rebalancing"),
    "reopen": lambda app, who, pid: app.prospects.reopen(who, pid, reason="they came back"),
}

# (role, action) -> which prospects it may touch: its own, its team's, anyone's.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("salesperson", "read"): {"own"},
    ("salesperson", "update"): {"own"},
    ("salesperson", "override_grade"): {"own"},
    ("salesperson", "transfer"): set(),
    ("salesperson", "reopen"): set(),
    ("sales_manager", "read"): {"own", "team"},
    ("sales_manager", "update"): {"own", "team"},
    ("sales_manager", "override_grade"): {"own", "team"},
    ("sales_manager", "transfer"): {"own", "team"},
    ("sales_manager", "reopen"): {"own", "team"},
    ("prospect_reader", "read"): {"own", "team", "other"},
    ("prospect_reader", "update"): set(),
    ("prospect_reader", "override_grade"): set(),
    ("prospect_reader", "transfer"): set(),
    ("prospect_reader", "reopen"): set(),
    ("admin", "read"): {"own", "team", "other"},
    ("admin", "update"): {"own", "team", "other"},
    ("admin", "override_grade"): {"own", "team", "other"},
    ("admin", "transfer"): {"own", "team", "other"},
    ("admin", "reopen"): {"own", "team", "other"},
    ("sample_receiver", "read"): set(),
    ("sample_receiver", "update"): set(),
    ("sample_receiver", "override_grade"): set(),
    ("sample_receiver", "transfer"): set(),
    ("sample_receiver", "reopen"): set(),
}

CELLS = [(role, action, whose) for (role, action) in ALLOWED
         for whose in ("own", "team", "other")]


@pytest.mark.parametrize(("role", "action", "whose"), CELLS)
def test_access_table(role: str, action: str, whose: str, app: App) -> None:
    actor = app.principal("u-actor", roles={role}, team="east")
    app.principal("u-spare", roles={"salesperson"}, team="east")
    owner = {
        "own": actor,
        "team": app.principal("u-teammate", roles={"salesperson"}, team="east"),
        "other": app.principal("u-stranger", roles={"salesperson"}, team="west"),
    }[whose]
    registrar = owner if whose != "own" else app.principal(
        "u-actor-as-seller", roles={"salesperson"}, team="east")
    prospect = app.prospects.register(registrar, name="Li Na", phone="13700137000",
                                      willingness="interested", potential_value=500_000)
    if whose == "own" and prospect.owner_id != actor.id:
        # Only a principal who may own prospects receives one: lend the role for the move.
        root = app.principal("u-root", roles={"admin"})
        app.principal("u-actor", roles={role, "salesperson"}, team="east")
        prospect = app.prospects.transfer(root, prospect.id, to_owner=actor.id, reason="setup")
        app.principal("u-actor", roles={role}, team="east")
    if action == "reopen":
        root = app.principal("u-root", roles={"admin"})
        app.prospects.mark_lost(root, prospect.id, reason="setup")
    if action == "update":  # leaving a stage needs a follow-up recorded in it
        root = app.principal("u-root", roles={"admin"})
        app.followups.record(root, prospect.id, channel="phone", summary="setup")

    if whose in ALLOWED[(role, action)]:
        ACTIONS[action](app, actor, prospect.id)
    else:
        before = app.prospects.get(app.principal("u-root", roles={"admin"}), prospect.id)
        with pytest.raises(PermissionDenied):
            ACTIONS[action](app, actor, prospect.id)
        after = app.prospects.get(app.principal("u-root", roles={"admin"}), prospect.id)
        assert after == before


def test_lists_only_show_what_the_actor_may_read(app: App) -> None:
    east_seller = app.principal("u-a", roles={"salesperson"}, team="east")
    west_seller = app.principal("u-w", roles={"salesperson"}, team="west")
    manager = app.principal("u-m", roles={"sales_manager"}, team="east")
    outsider = app.principal("u-x", roles={"sample_receiver"})
    app.prospects.register(east_seller, name="A", phone="13700000001", willingness="clear",
                           potential_value=1)
    app.prospects.register(west_seller, name="B", phone="13700000002", willingness="clear",
                           potential_value=1)
    assert [p.owner_id for p in app.prospects.list(east_seller).items] == ["u-a"]
    assert [p.owner_id for p in app.prospects.list(manager).items] == ["u-a"]
    assert app.prospects.list(manager, team="west").items == ()
    assert app.prospects.list(east_seller, owner="u-w").items == ()
    with pytest.raises(PermissionDenied):
        app.prospects.list(outsider)
