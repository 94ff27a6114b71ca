"""app.prospects: registration, conflicts, grading, pipeline, transfer, queries, audit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import custmgmt
from custmgmt import Grade, Money, Stage, Willingness
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.audit import broken_link
from custmgmt.domain.prospects import ChangeKind, GradeChanged, ProspectRegistered
from custmgmt.errors import (
    ClaimConflict,
    InvalidTransition,
    PermissionDenied,
    ValidationError,
)
from custmgmt.services.prospects import ProspectService
from tests.helpers import admin, dispatcher

App = custmgmt.CustomerManagement


@pytest.fixture
def alice(app: App) -> custmgmt.Principal:
    return app.principal("u-alice", roles={"salesperson"}, team="east")


@pytest.fixture
def bob(app: App) -> custmgmt.Principal:
    return app.principal("u-bob", roles={"salesperson"}, team="east")


@pytest.fixture
def mia(app: App) -> custmgmt.Principal:
    return app.principal("u-mia", roles={"sales_manager"}, team="east")


def register(app: App, who: custmgmt.Principal, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "name": "Wang Wei", "phone": "13800138000", "willingness": "clear",
        "potential_value": 2_000_000,
    }
    fields.update(overrides)
    return app.prospects.register(who, **fields)


def stored_count(app: App) -> int:
    admin = app.principal("u-root", roles={"admin"})
    return app.prospects.counts(admin).total


def test_the_registering_salesperson_owns_the_prospect(
    app: App, alice: custmgmt.Principal, clock: FixedClock
) -> None:
    p = register(app, alice, organization="Acme Co., Ltd.", industry="chemicals",
                 source_channel="referral", needs="solvents", email="w@acme.example",
                 address="1 Bund Road")
    assert p.owner_id == "u-alice" and p.owner_team == "east"
    assert p.registration.by == "u-alice" and p.registration.at == clock.now()
    assert p.grade is Grade.A and p.stage is Stage.INITIAL_CONTACT
    assert app.prospects.get(alice, p.id) == p


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"phone": "13800138000"}, {"phone": "+86 138-0013-8000"}),
        ({"phone": "13800138000"}, {"phone": "0086 １３８ ００１３ ８０００"}),
        ({"phone": None, "email": "Wang@Acme.com"}, {"phone": None, "email": " wang@acme.COM"}),
        ({"organization": "Acme Co., Ltd.", "phone": "13800138000"},
         {"organization": "ＡＣＭＥ", "phone": "13900139000"}),
        ({"organization": "星辰贸易有限公司", "phone": "13800138000"},
         {"organization": "星辰贸易（股份有限公司）", "phone": "13900139000"}),
        ({"organization": "Acme", "credit_code": "91350100M000100Y43", "phone": "13800138000"},
         {"organization": "Totally Different", "credit_code": "91350100m000100y43",
          "phone": "13900139000"}),
    ],
)
def test_first_to_register_owns_it_whatever_the_spelling(
    app: App, alice: custmgmt.Principal, bob: custmgmt.Principal, clock: FixedClock,
    first: dict[str, Any], second: dict[str, Any],
) -> None:
    winner = register(app, alice, **first)
    clock.advance(minutes=1)
    with pytest.raises(ClaimConflict) as raised:
        register(app, bob, name="Someone Else", **second)
    assert raised.value.owner_id == "u-alice"
    assert raised.value.registration_id == winner.registration.id
    assert raised.value.registered_at == winner.registration.at
    assert stored_count(app) == 1


def test_different_people_do_not_collide(
    app: App, alice: custmgmt.Principal, bob: custmgmt.Principal
) -> None:
    register(app, alice, phone="13800138000", email="a@example.com", organization="Acme")
    register(app, bob, phone="13800138001", email="b@example.com", organization="Apex")
    assert stored_count(app) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"phone": None}, "contacts"),
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"potential_value": -1}, "potential_value"),
        ({"potential_value": 1.5}, "potential_value"),
        ({"potential_value": "lots"}, "potential_value"),
        ({"potential_value": Money("-5")}, "potential_value"),
        ({"willingness": "maybe"}, "willingness"),
        ({"credit_code": "91350100M000100Y44", "organization": "Acme"}, "credit_code"),
        ({"credit_code": "91350100M000100Y43"}, "credit_code"),
        ({"industry": 7}, "industry"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(
    app: App, alice: custmgmt.Principal, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        register(app, alice, **overrides)
    assert raised.value.field == field
    assert stored_count(app) == 0
    assert app.events(admin(app)) == () and app.outbox(dispatcher(app)) == ()


def test_errors_never_show_personal_data(app: App, alice: custmgmt.Principal) -> None:
    register(app, alice, phone="13800138000", email="wang.wei@example.com")
    with pytest.raises(ClaimConflict) as raised:
        register(app, alice, phone="13800138000")
    with pytest.raises(ValidationError) as bad:
        register(app, alice, phone="13911112222", email="wang.wei@")
    for error in (raised.value, bad.value):
        assert "13800138000" not in str(error) and "wang.wei" not in str(error)


def test_changing_willingness_or_value_regrades_and_keeps_history(
    app: App, alice: custmgmt.Principal
) -> None:
    p = register(app, alice, willingness="clear", potential_value=2_000_000)
    p = app.prospects.reassess(alice, p.id, potential_value=Decimal("150000"))
    assert p.grade is Grade.B
    p = app.prospects.reassess(alice, p.id, willingness=Willingness.NONE)
    assert p.grade is Grade.D
    grades = [(h.before, h.after, h.by) for h in p.history if h.kind is ChangeKind.GRADE]
    assert grades == [("A", "B", "u-alice"), ("B", "D", "u-alice")]


def test_a_manual_grade_needs_a_reason_and_is_kept(app: App, alice: custmgmt.Principal) -> None:
    p = register(app, alice, willingness="watching", potential_value=10)
    with pytest.raises(ValidationError) as raised:
        app.prospects.override_grade(alice, p.id, "A", reason=" ")
    assert raised.value.field == "reason"
    assert app.prospects.get(alice, p.id).grade is Grade.C
    p = app.prospects.override_grade(alice, p.id, Grade.A, reason="CEO met them in person")
    assert p.grade is Grade.A and p.grade_is_manual
    last = p.history[-1]
    assert (last.kind, last.before, last.after, last.reason) == (
        ChangeKind.GRADE, "C", "A", "CEO met them in person")


def test_configured_thresholds_grade_the_prospect(clock: FixedClock) -> None:
    settings = custmgmt.Settings(grading_large=Money("10000"), grading_medium=Money("1000"))
    with custmgmt.open("memory://", settings=settings, clock=clock) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        assert register(app, alice, potential_value=20_000).grade is Grade.A


def test_the_pipeline_through_the_service(
    app: App, alice: custmgmt.Principal, mia: custmgmt.Principal
) -> None:
    p = register(app, alice)
    app.followups.record(alice, p.id, channel="phone", summary="first call")
    p = app.prospects.advance(alice, p.id, to="proposal")
    p = app.prospects.step_back(alice, p.id, to=Stage.NEEDS_IDENTIFIED, reason="new scope")
    p = app.prospects.mark_lost(alice, p.id, reason="budget cut")
    with pytest.raises(InvalidTransition):
        app.prospects.advance(alice, p.id, to=Stage.NEGOTIATION)
    with pytest.raises(PermissionDenied):
        app.prospects.reopen(alice, p.id, reason="they called back")
    p = app.prospects.reopen(mia, p.id, reason="they called back", to=Stage.PROPOSAL)
    app.followups.record(alice, p.id, channel="visit", summary="proposal talk")
    p = app.prospects.mark_won(alice, p.id)
    assert p.stage is Stage.CONTRACT_SIGNED
    with pytest.raises(ValidationError) as raised:
        app.prospects.advance(alice, p.id, to="signed")
    assert raised.value.field == "to"


def test_transfer_is_for_managers_with_a_reason(
    app: App, alice: custmgmt.Principal, bob: custmgmt.Principal, mia: custmgmt.Principal
) -> None:
    p = register(app, alice)
    with pytest.raises(PermissionDenied):
        app.prospects.transfer(alice, p.id, to_owner="u-bob", reason="holiday")
    with pytest.raises(ValidationError):
        app.prospects.transfer(mia, p.id, to_owner="u-bob", reason="")
    with pytest.raises(ValidationError, match="to_owner"):
        app.prospects.transfer(mia, p.id, to_owner="u-ghost", reason="holiday")
    p = app.prospects.transfer(mia, p.id, to_owner="u-bob", reason="alice moved to export")
    assert p.owner_id == "u-bob"
    assert p.history[-1].kind is ChangeKind.OWNER
    assert (p.history[-1].before, p.history[-1].after, p.history[-1].by) == (
        "u-alice", "u-bob", "u-mia")
    with pytest.raises(PermissionDenied):
        app.prospects.get(alice, p.id)
    assert app.prospects.get(bob, p.id).id == p.id


def test_lists_page_in_a_stable_order_and_count(
    app: App, alice: custmgmt.Principal, bob: custmgmt.Principal, mia: custmgmt.Principal,
    clock: FixedClock,
) -> None:
    for n in range(5):
        clock.advance(minutes=1)
        register(app, alice, phone=f"1380000000{n}", potential_value=n * 400_000)
    register(app, bob, phone="13900000000", willingness="none")
    first = app.prospects.mine(alice, limit=2)
    second = app.prospects.mine(alice, limit=2, cursor=first.next_cursor)
    third = app.prospects.mine(alice, limit=2, cursor=second.next_cursor)
    ids = [p.id for page in (first, second, third) for p in page.items]
    assert len(ids) == len(set(ids)) == 5 and third.next_cursor is None
    assert [p.id for p in app.prospects.list(alice, grade="A").items] == ids[3:]
    assert len(app.prospects.list(mia).items) == 6
    assert [p.owner_id for p in app.prospects.list(mia, owner="u-bob").items] == ["u-bob"]
    counts = app.prospects.counts(mia)
    assert counts.total == 6
    assert counts.by_grade == {Grade.A: 2, Grade.B: 2, Grade.C: 1, Grade.D: 1}
    assert counts.by_stage[Stage.INITIAL_CONTACT] == 6
    assert app.prospects.counts(alice).total == 5
    with pytest.raises(ValidationError) as raised:
        app.prospects.list(alice, cursor="garbage")
    assert raised.value.field == "cursor"
    with pytest.raises(ValidationError):
        app.prospects.list(alice, limit=0)


def test_events_reach_observers_and_audit_keeps_no_personal_data(clock: FixedClock) -> None:
    seen: list[object] = []

    class Observer:
        @custmgmt.plugins.hookimpl
        def custmgmt_on_event(self, event: object) -> None:
            seen.append(event)

    with custmgmt.open("memory://", clock=clock, plugins=[Observer()]) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register(app, alice, phone="13800138000", email="wang.wei@example.com")
        app.prospects.reassess(alice, p.id, willingness="watching")
        assert [type(e) for e in seen] == [ProspectRegistered, GradeChanged]
        assert list(app.events(admin(app))) == seen
        root = app.principal("u-root", roles={"admin"})
        trail = app.prospects.audit_trail(root, p.id)
        assert [e.action for e in trail] == ["register", "reassess"]
        assert broken_link(list(trail)) is None
        assert dict(trail[1].before)["grade"] == "A" and dict(trail[1].after)["grade"] == "C"
        for entry in trail:
            text = repr(entry)
            assert "13800138000" not in text and "wang.wei" not in text and "Wang" not in text


def test_an_observer_failure_does_not_undo_the_change(clock: FixedClock) -> None:
    class Broken:
        @custmgmt.plugins.hookimpl
        def custmgmt_on_event(self, event: object) -> None:
            raise RuntimeError("observer down")

    with custmgmt.open("memory://", clock=clock, plugins=[Broken()]) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = register(app, alice)
        assert app.prospects.get(alice, p.id) == p


def test_profile_updates_keep_identity_keys_unique(
    app: App, alice: custmgmt.Principal, bob: custmgmt.Principal
) -> None:
    mine = register(app, alice, phone="13800138000")
    register(app, bob, phone="13900139000", email="taken@example.com")
    updated = app.prospects.update_profile(alice, mine.id, phone="13700137000",
                                           industry="chemicals")
    assert updated.profile.phone is not None and updated.profile.phone.key == "+8613700137000"
    assert updated.history[-1].kind is ChangeKind.PROFILE
    assert updated.history[-1].after == "phone,industry"
    register(app, bob, phone="13800138000")  # alice's old number is free again
    with pytest.raises(ClaimConflict) as raised:
        app.prospects.update_profile(alice, mine.id, email="TAKEN@example.com")
    assert raised.value.owner_id == "u-bob"
    assert app.prospects.get(alice, mine.id) == updated
    with pytest.raises(ValidationError) as bad:
        app.prospects.update_profile(alice, mine.id, fax="123")
    assert bad.value.field == "fax"
    with pytest.raises(ValidationError) as no_contact:
        app.prospects.update_profile(alice, mine.id, phone=None)
    assert no_contact.value.field == "contacts"


def test_an_actor_must_be_a_principal(app: App, alice: custmgmt.Principal) -> None:
    p = register(app, alice)
    for call in (lambda: app.prospects.get("u-alice", p.id),  # type: ignore[arg-type]
                 lambda: app.prospects.list(None),  # type: ignore[arg-type]
                 lambda: app.followups.due("u-alice")):  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as raised:
            call()
        assert raised.value.field == "actor"


def test_a_service_built_with_a_plain_plan_function_hands_it_every_new_prospect(
    app: App, alice: custmgmt.Principal
) -> None:
    # keep_plans was a plain function before a batch had its own call (KeepPlans.first)
    seen: list[tuple[list[tuple[str, int]], bool]] = []
    service = ProspectService(app._context, app.prospects.grading_policy,
                              lambda uow, prospects, new: seen.append(
                                  ([(p.id, p.version) for p in prospects], new)))
    one = service.register(alice, name="A", phone="13800000001", willingness="clear",
                           potential_value=1)
    report = service.import_many(alice, [
        {"name": "B", "phone": "13800000002", "willingness": "clear", "potential_value": "1"},
        {"name": "C", "phone": "13800000003", "willingness": "none", "potential_value": "1"}])
    assert report.imported == 2
    imported = [p.id for p in app.prospects.mine(alice).items if p.id != one.id]
    assert seen == [([(one.id, 1)], True), ([(pid, 1) for pid in imported], True)]
