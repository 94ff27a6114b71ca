"""Who is acting: stored grants decide, never the Principal object a caller hands in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

import custmgmt
from custmgmt import Certification, Principal
from custmgmt.errors import NotFound, PermissionDenied, ValidationError
from tests.helpers import a_customer, register_numbered

App = custmgmt.CustomerManagement
VALID = Certification("sample_receiver", date(2026, 12, 31))


@pytest.fixture
def root(app: App) -> Principal:
    return app.principal("u-root", roles={"admin"})


@pytest.fixture
def alice(app: App) -> Principal:
    return app.principal("u-alice", roles={"salesperson"}, team="east")


@pytest.fixture
def bob(app: App) -> Principal:
    return app.principal("u-bob", roles={"salesperson"}, team="west")


@pytest.fixture
def second_process(app: App, storage_url: str) -> Iterator[App]:
    """Another opening of the same store, as a second process would have (memory has
    no second process: the same app stands in)."""
    if storage_url == "memory://":
        yield app
        return
    with custmgmt.open(storage_url, clock=app._context.clock) as other:
        yield other


# -- the object passed in identifies the actor, nothing more ----------------------------


def test_a_hand_built_admin_reads_nothing(app: App, alice: Principal) -> None:
    p = register_numbered(app, alice, 1)
    bobs = register_numbered(app, app.principal("u-bob", roles={"salesperson"}), 2)
    made_up = Principal(id="u-x", roles={"admin"})
    for call in (lambda: app.prospects.get(made_up, p.id),
                 lambda: app.prospects.list(made_up, owner="u-bob")):
        with pytest.raises(PermissionDenied):
            call()
    # A known id with forged roles acts with its stored roles: alice sees only her own.
    forged_alice = Principal(id="u-alice", roles={"admin", "prospect_reader"})
    with pytest.raises(PermissionDenied):
        app.prospects.get(forged_alice, bobs.id)
    assert [x.id for x in app.prospects.list(forged_alice).items] == [p.id]
    with pytest.raises(PermissionDenied):
        app.prospects.transfer(forged_alice, bobs.id, to_owner="u-alice", reason="mine now")


def test_an_unknown_principal_id_is_permission_denied_everywhere(
    app: App, alice: Principal
) -> None:
    p = register_numbered(app, alice, 1)
    ghost = Principal(id="u-ghost", roles={"admin"},
                      certifications={Certification("sample_receiver")})
    calls: list[Callable[[], Any]] = [
        lambda: app.prospects.register(ghost, name="X", phone="13900000000",
                                       willingness="clear", potential_value=1),
        lambda: app.prospects.import_many(ghost, []),
        lambda: app.prospects.get(ghost, p.id),
        lambda: app.prospects.counts(ghost),
        lambda: app.followups.due(ghost),
        lambda: app.followups.record(ghost, p.id, channel="visit", summary="s"),
        lambda: app.reports.visit_points(ghost, month="2026-03"),
        lambda: app.samples.receive(ghost, customer_id="c", sample_name="n", quantity=1,
                                    unit="kg", description="d", requested_work="w"),
        lambda: app.samples.stocktake(ghost),
        lambda: app.principals.list(ghost),
        lambda: app.principals.grant(ghost, "u-ghost", {"admin"}),
        lambda: app.outbox(ghost),
        lambda: app.events(ghost),
        lambda: app.notifications.dispatch(ghost),
        lambda: app.notifications.dead(ghost),
        lambda: app.notifications.get(ghost, "n-1"),
        lambda: app.notifications.retry(ghost, "n-1"),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied, match="not a known, active principal"):
            call()
    assert app.get_principal("u-ghost") is None


def test_a_revoked_role_stops_working_at_the_next_call_in_every_process(
    app: App, second_process: App, root: Principal, alice: Principal
) -> None:
    p = register_numbered(second_process, alice, 1)
    assert second_process.prospects.get(alice, p.id).id == p.id
    app.principals.revoke(root, "u-alice", {"salesperson"})
    # alice still holds her old object, with the salesperson role in it: it counts for nothing.
    assert "salesperson" in alice.roles
    with pytest.raises(PermissionDenied):
        second_process.prospects.get(alice, p.id)
    with pytest.raises(PermissionDenied):
        register_numbered(second_process, alice, 2)
    app.principals.grant(root, "u-alice", {"salesperson"})
    assert second_process.prospects.get(alice, p.id).id == p.id


def test_a_due_list_follows_the_stored_grants_at_every_call(
    app: App, second_process: App, root: Principal, alice: Principal, bob: Principal
) -> None:
    """The due list is read with the grants its call reads (in one statement on SQL
    storage), for the reach they gave at the last call; a change of team, role or
    activity made by another process shows at the very next call."""
    mia = app.principal("u-mia", roles={"sales_manager"}, team="east")
    east, west, own = (register_numbered(app, alice, 1), register_numbered(app, bob, 2),
                       register_numbered(app, mia, 3))
    on = date(2027, 1, 1)

    def due(who: Principal = mia) -> list[str]:
        return sorted(i.prospect_id for i in second_process.followups.due(who, on=on))

    for _ in range(2):  # the second call reads the grants with the list
        assert due() == sorted([east.id, own.id])
    app.principals.assign(root, "u-mia", team="west", supervisor_id=None)
    assert due() == sorted([west.id, own.id])  # her own plans stay hers outside the team
    app.principals.revoke(root, "u-mia", {"sales_manager"})
    with pytest.raises(PermissionDenied):
        due()
    app.principals.grant(root, "u-mia", {"salesperson"})
    assert due() == [own.id]
    forged = Principal(id="u-mia", roles={"admin", "sales_manager"}, team="east")
    assert due(forged) == [own.id]
    app.principals.deactivate(root, "u-mia")
    with pytest.raises(PermissionDenied, match="not a known, active principal"):
        due()
    app.principals.reactivate(root, "u-mia")
    app.principals.grant(root, "u-mia", {"sales_manager"})
    assert due() == sorted([west.id, own.id])
    assert due(alice) == [east.id]


def test_a_deactivated_principal_cannot_act_and_is_no_witness_or_new_owner(
    app: App, second_process: App, root: Principal, alice: Principal
) -> None:
    p = register_numbered(app, alice, 1)
    gone = app.principals.deactivate(root, "u-alice")
    assert not gone.active and gone.roles == {"salesperson"}
    with pytest.raises(PermissionDenied, match="not a known, active principal"):
        second_process.prospects.get(alice, p.id)
    with pytest.raises(ValidationError, match="to_owner"):
        app.prospects.transfer(root, p.id, to_owner="u-alice", reason="back from leave")
    assert app.principals.reactivate(root, "u-alice").active
    assert second_process.prospects.get(alice, p.id).id == p.id
    with pytest.raises(ValidationError, match="yourself"):
        app.principals.deactivate(root, "u-root")


def test_a_forged_team_is_ignored(app: App, alice: Principal, bob: Principal) -> None:
    app.principal("u-mia", roles={"sales_manager"}, team="east")
    west = register_numbered(app, bob, 1)
    forged_mia = Principal(id="u-mia", roles={"sales_manager"}, team="west")
    with pytest.raises(PermissionDenied):
        app.prospects.get(forged_mia, west.id)
    assert app.prospects.list(forged_mia).items == ()
    # Registering under a forged team files the prospect under the stored team.
    forged_alice = Principal(id="u-alice", roles={"salesperson"}, team="west")
    mine = register_numbered(app, forged_alice, 2)
    assert mine.owner_team == "east"


def test_a_forged_certification_or_supervisor_is_ignored(app: App, root: Principal) -> None:
    app.principal("u-qm", roles={"quality_manager"})
    app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm")  # no certificate
    forged = Principal(id="u-rita", roles={"sample_receiver"}, supervisor_id="u-accomplice",
                       certifications={VALID})
    fields: dict[str, Any] = {"customer_id": a_customer(app), "sample_name": "resin",
                              "quantity": "1",
                              "unit": "kg", "description": "d", "requested_work": "w"}
    with pytest.raises(PermissionDenied, match="certification"):
        app.samples.receive(forged, **fields)
    app.principals.certify(root, "u-rita", "sample_receiver", valid_until=date(2026, 12, 31))
    sample = app.samples.receive(forged, anomalies=["torn bag"], **fields)
    assert sample.custodian == "u-rita"
    notes = [i.notification for i in app.outbox(root)]
    assert [n.recipient_id for n in notes] == ["u-qm"]


# -- granting is itself authorized ---------------------------------------------------


def test_principals_are_managed_only_with_the_right(
    app: App, root: Principal, alice: Principal
) -> None:
    with pytest.raises(PermissionDenied):
        app.principals.grant(alice, "u-alice", {"admin"})
    with pytest.raises(PermissionDenied):
        app.principals.list(alice)
    assert app.get_principal("u-alice") == alice
    made = app.principals.grant(root, "u-carl", {"salesperson"}, team="east",
                                supervisor_id="u-mia")
    assert (made.roles, made.team, made.supervisor_id, made.active) == (
        frozenset({"salesperson"}), "east", "u-mia", True)
    made = app.principals.grant(root, "u-carl", {"prospect_reader"})
    assert made.roles == {"salesperson", "prospect_reader"} and made.team == "east"
    made = app.principals.assign(root, "u-carl", team="west", supervisor_id=None)
    assert (made.team, made.supervisor_id) == ("west", None)
    made = app.principals.certify(root, "u-carl", "sample_receiver")
    assert made.certifications == {Certification("sample_receiver")}
    made = app.principals.revoke(root, "u-carl", {"prospect_reader"},
                                 certifications={"sample_receiver"})
    assert made.roles == {"salesperson"} and not made.certifications
    assert app.principals.get(root, "u-carl") == made
    assert [p.id for p in app.principals.list(root, role="salesperson")] == ["u-alice",
                                                                             "u-carl"]
    assert [p.id for p in app.principals.list(root, team="west")] == ["u-carl"]
    with pytest.raises(NotFound):
        app.principals.revoke(root, "u-nobody", {"salesperson"})


def test_principal_changes_are_audited(app: App, root: Principal, storage_url: str) -> None:
    app.principals.grant(root, "u-carl", {"salesperson"})
    app.principals.revoke(root, "u-carl", {"salesperson"})
    with app._storage.unit_of_work() as uow:
        trail = uow.audit.trail("principal", "u-carl")
    assert [(e.action, e.actor_id, dict(e.after)["roles"]) for e in trail] == [
        ("grant", "u-root", "salesperson"), ("revoke", "u-root", "")]


def test_unknown_role_names_are_refused_when_granted(app: App, root: Principal) -> None:
    with pytest.raises(ValidationError, match="unknown role 'salesman'"):
        app.principals.grant(root, "u-carl", {"salesman"})
    with pytest.raises(ValidationError, match="unknown role 'admn'"):
        app.principal("u-dan", roles={"admn"})
    with pytest.raises(ValidationError, match="roles"):
        app.principals.grant(root, "u-carl", "salesperson")  # one string, not a set
    assert app.get_principal("u-carl") is None and app.get_principal("u-dan") is None


# -- four eyes means two people ---------------------------------------------------------


@pytest.fixture
def lab(app: App) -> dict[str, Principal]:
    return {
        "rita": app.principal("u-rita", roles={"sample_receiver"}, certifications={VALID}),
        "reg": app.principal("u-reg", roles={"sample_registry"}),
        "both": app.principal("u-both", roles={"sample_registry", "safety_officer"}),
        "user": app.principal("u-user", roles={"sample_user"}),
        "reguser": app.principal("u-reguser", roles={"sample_registry", "sample_user"}),
    }


def _hazardous(app: App, lab: dict[str, Principal]) -> str:
    s = app.samples.receive(lab["rita"], customer_id=a_customer(app), sample_name="solvent",
                            quantity="2", unit="L", description="d", requested_work="w",
                            hazard_class="3", handling_procedure="HSE-07")
    storage = custmgmt.StorageCondition(segregation="flammables cabinet")
    return app.samples.register(lab["reg"], s.id, classification="solvent", location="F1",
                                storage=storage).id


def test_registry_and_hazard_approval_are_two_people(
    app: App, lab: dict[str, Principal]
) -> None:
    sid = _hazardous(app, lab)
    first = app.samples.apply(lab["user"], sid, purpose="GC", quantity="1")
    app.samples.approve(lab["both"], sid, first.id)
    with pytest.raises(PermissionDenied, match="two different people"):
        app.samples.approve_hazard(lab["both"], sid, first.id)
    second = app.samples.apply(lab["user"], sid, purpose="GC again", quantity="1")
    app.samples.approve_hazard(lab["both"], sid, second.id)
    with pytest.raises(PermissionDenied, match="two different people"):
        app.samples.approve(lab["both"], sid, second.id)
    app.samples.approve(lab["reg"], sid, second.id)
    assert app.samples.check_out(lab["reg"], sid, second.id).checked_out == 1


def test_an_applicant_with_the_registry_role_cannot_check_out_their_own(
    app: App, lab: dict[str, Principal]
) -> None:
    s = app.samples.receive(lab["rita"], customer_id=a_customer(app), sample_name="resin",
                            quantity="5",
                            unit="kg", description="d", requested_work="w")
    app.samples.register(lab["reg"], s.id, classification="polymer", location="A")
    mine = app.samples.apply(lab["reguser"], s.id, purpose="test", quantity="1")
    app.samples.approve(lab["reg"], s.id, mine.id)
    with pytest.raises(PermissionDenied, match="own application"):
        app.samples.check_out(lab["reguser"], s.id, mine.id)
    assert app.samples.check_out(lab["reg"], s.id, mine.id).custodian == "u-reguser"


def test_a_disposal_witness_is_a_known_principal_other_than_the_disposer(
    app: App, lab: dict[str, Principal], root: Principal
) -> None:
    s = app.samples.receive(lab["rita"], customer_id=a_customer(app), sample_name="resin",
                            quantity="5",
                            unit="kg", description="d", requested_work="w")
    app.samples.register(lab["reg"], s.id, classification="polymer", location="A")
    for witness, reason in (("u-reg", "someone other"), ("u-imaginary", "known"),
                            ("Mr. Wang from next door", "known")):
        with pytest.raises(ValidationError, match=reason):
            app.samples.dispose(lab["reg"], s.id, method="incinerated", witness=witness)
    app.principals.deactivate(root, "u-user")
    with pytest.raises(ValidationError, match="known, active"):
        app.samples.dispose(lab["reg"], s.id, method="incinerated", witness="u-user")
    done = app.samples.dispose(lab["reg"], s.id, method="incinerated", witness="u-rita")
    assert done.state.value == "disposed"


def test_a_prospect_goes_only_to_a_principal_who_may_own_prospects(
    app: App, root: Principal, alice: Principal, lab: dict[str, Principal]
) -> None:
    p = register_numbered(app, alice, 1)
    for target in ("u-user", "u-nobody"):
        with pytest.raises(ValidationError, match="to_owner"):
            app.prospects.transfer(root, p.id, to_owner=target, reason="cover")
    app.principal("u-carl", roles={"salesperson"}, team="north")
    moved = app.prospects.transfer(root, p.id, to_owner="u-carl", reason="cover")
    assert (moved.owner_id, moved.owner_team) == ("u-carl", "north")


# -- no existence oracle ----------------------------------------------------------------


def _denial(call: Callable[[], Any]) -> str:
    with pytest.raises(PermissionDenied) as caught:
        call()
    return str(caught.value).replace("p-missing", "<id>").replace("p-000001", "<id>")


def test_reading_anothers_prospect_answers_as_if_it_did_not_exist(
    app: App, alice: Principal, bob: Principal, lab: dict[str, Principal]
) -> None:
    bobs = register_numbered(app, bob, 1)
    assert bobs.id == "p-000001"
    calls: list[Callable[[App, str], Any]] = [
        lambda a, pid: a.prospects.get(alice, pid),
        lambda a, pid: a.prospects.history(alice, pid),
        lambda a, pid: a.prospects.audit_trail(alice, pid),
        lambda a, pid: a.prospects.advance(alice, pid, to="proposal"),
        lambda a, pid: a.prospects.mark_lost(alice, pid, reason="r"),
        lambda a, pid: a.followups.plan(alice, pid),
        lambda a, pid: a.followups.record(alice, pid, channel="visit", summary="s"),
        lambda a, pid: a.prospects.get(lab["rita"], pid),  # no prospect right at all
    ]
    for call in calls:
        existing = _denial(lambda c=call: c(app, bobs.id))  # type: ignore[misc]
        assert existing == _denial(lambda c=call: c(app, "p-missing"))  # type: ignore[misc]


def test_samples_answer_the_same_whether_or_not_they_exist(
    app: App, alice: Principal, lab: dict[str, Principal]
) -> None:
    s = app.samples.receive(lab["rita"], customer_id=a_customer(app), sample_name="resin",
                            quantity="5",
                            unit="kg", description="d", requested_work="w")
    for sid in (s.id, "s-missing"):
        with pytest.raises(PermissionDenied) as caught:
            app.samples.get(alice, sid)
        assert str(caught.value) == f"'u-alice' may not sample.read: no access to sample {sid!r}"


def test_transfer_checks_the_right_before_looking_up_the_new_owner(
    app: App, alice: Principal, bob: Principal
) -> None:
    app.principal("u-mia", roles={"sales_manager"}, team="east")
    bobs = register_numbered(app, bob, 1)
    mine = register_numbered(app, alice, 2)
    for who, pid in (("u-alice", mine.id), ("u-mia", bobs.id)):
        answers = set()
        for target in ("u-bob", "u-ghost"):
            with pytest.raises(PermissionDenied) as caught:
                app.prospects.transfer(Principal(id=who), pid, to_owner=target, reason="r")
            answers.add(str(caught.value))
        assert len(answers) == 1


# -- the outbox, the event log and dispatch ---------------------------------------------


def test_outbox_events_and_dispatch_need_a_right(
    app: App, root: Principal, alice: Principal
) -> None:
    register_numbered(app, alice, 1)
    worker = app.principal("u-worker", roles={"dispatcher"})
    for call in (lambda: app.outbox(alice), lambda: app.events(alice),
                 lambda: app.notifications.dispatch(alice), lambda: app.notifications.dead(alice),
                 lambda: app.notifications.retry(alice, "n-1"), lambda: app.events(worker)):
        with pytest.raises(PermissionDenied):
            call()
    assert app.outbox(worker) == ()
    assert app.notifications.dispatch(worker) == custmgmt.DispatchReport(sent=0, failed=0)
    assert app.notifications.dead(worker) == ()
    assert [e.name for e in app.events(root)] == ["ProspectRegistered"]
