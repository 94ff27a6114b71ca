"""The optional open pool: lapse warnings, release, claims, cool-down, daily cap, races."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import custmgmt
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.prospects import ChangeKind
from custmgmt.errors import ClaimConflict, PermissionDenied, ValidationError
from tests.helpers import dispatcher, each_in_thread, register_numbered

App = custmgmt.CustomerManagement
LAPSE = custmgmt.Settings(ownership_lapse=True,
                          protection_days={"A": 10, "B": 20, "C": 30, "D": 40},
                          lapse_warning_days=2, pool_cooldown_days=5, pool_daily_cap=2)


@pytest.fixture
def pool_app(clock: FixedClock) -> Iterator[App]:
    with custmgmt.open("memory://", clock=clock, settings=LAPSE) as app:
        yield app


@pytest.fixture
def people(pool_app: App) -> dict[str, custmgmt.Principal]:
    return {
        "mia": pool_app.principal("u-mia", roles={"sales_manager"}, team="east"),
        "alice": pool_app.principal("u-alice", roles={"salesperson"}, team="east"),
        "bob": pool_app.principal("u-bob", roles={"salesperson"}, team="east"),
        "root": pool_app.principal("u-root", roles={"admin"}),
    }


register = register_numbered


def test_the_pool_is_off_by_default(app: App) -> None:
    root = app.principal("u-root", roles={"admin"})
    with pytest.raises(ValidationError) as raised:
        app.pool.release_lapsed(root)
    assert raised.value.field == "ownership_lapse"


def test_warned_before_then_released_and_keys_freed(
    pool_app: App, people: dict[str, Any], clock: FixedClock
) -> None:
    p = register(pool_app, people["alice"], 1)          # A: protected 10 days from 03-02
    kept = register(pool_app, people["alice"], 2)
    clock.advance(days=9)
    pool_app.followups.record(people["alice"], kept.id, channel="phone", summary="keep")
    report = pool_app.pool.release_lapsed(people["mia"], on=date(2026, 3, 10))
    assert report.warned == (p.id,) and report.released == ()
    assert pool_app.pool.release_lapsed(people["mia"], on=date(2026, 3, 11)).warned == ()
    report = pool_app.pool.release_lapsed(people["mia"], on=date(2026, 3, 12))
    assert report.released == (p.id,)
    released = pool_app.prospects.get(people["root"], p.id)
    assert released.in_pool and released.history[-1].kind is ChangeKind.RELEASED
    assert [x.id for x in pool_app.pool.available(people["bob"])] == [p.id]
    assert pool_app.followups.due(people["alice"], on=date(2026, 6, 1))[0].prospect_id == kept.id
    warnings = [i.notification for i in pool_app.outbox(dispatcher(pool_app))]
    assert [(n.recipient_id, n.kind) for n in warnings] == [("u-alice", "pool.lapse_warning")]
    # Its keys are free: the same person may be registered fresh.
    register(pool_app, people["bob"], 1)


def test_claims_cooldown_and_daily_cap(
    pool_app: App, people: dict[str, Any], clock: FixedClock
) -> None:
    ids = [register(pool_app, people["alice"], n).id for n in range(4)]
    clock.advance(days=10)
    assert set(pool_app.pool.release_lapsed(people["root"]).released) == set(ids)
    with pytest.raises(PermissionDenied, match="cool-down"):
        pool_app.pool.claim(people["alice"], ids[0])
    taken = pool_app.pool.claim(people["bob"], ids[0])
    assert taken.owner_id == "u-bob" and taken.registration.from_pool
    assert taken.history[-1].kind is ChangeKind.CLAIMED
    assert pool_app.followups.plan(people["bob"], ids[0]).anchor == date(2026, 3, 12)  # type: ignore[union-attr]
    pool_app.pool.claim(people["bob"], ids[1])
    with pytest.raises(PermissionDenied, match="daily cap"):
        pool_app.pool.claim(people["bob"], ids[2])
    with pytest.raises(ClaimConflict) as raised:
        pool_app.pool.claim(people["mia"], ids[0])
    assert raised.value.owner_id == "u-bob"
    clock.advance(days=1)
    pool_app.pool.claim(people["bob"], ids[2])
    clock.advance(days=5)
    assert pool_app.pool.claim(people["alice"], ids[3]).owner_id == "u-alice"


def test_two_taking_one_pooled_prospect_at_once_never_both_win(
    tmp_path: Path, clock: FixedClock
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with custmgmt.open(url, clock=clock, settings=LAPSE, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        root = app.principal("u-root", roles={"admin"})
        p = register(app, alice, 1)
        clock.advance(days=10)
        app.pool.release_lapsed(root)
        contenders = [app.principal(f"u-{n}", roles={"salesperson"}) for n in range(6)]
        start = threading.Barrier(len(contenders))
        won: list[str] = []
        lost: list[ClaimConflict] = []

        def take(who: custmgmt.Principal) -> None:
            start.wait()
            try:
                won.append(app.pool.claim(who, p.id).owner_id)
            except ClaimConflict as conflict:
                lost.append(conflict)

        each_in_thread(take, [(c,) for c in contenders], timeout=60)
        assert len(won) == 1 and len(lost) == len(contenders) - 1
        assert {c.owner_id for c in lost} == set(won)
        assert app.prospects.get(root, p.id).owner_id == won[0]


def test_released_and_claimed_are_in_history(
    pool_app: App, people: dict[str, Any], clock: FixedClock
) -> None:
    p = register(pool_app, people["alice"], 1)
    clock.advance(days=10)
    pool_app.pool.release_lapsed(people["root"])
    pool_app.pool.claim(people["bob"], p.id)
    history = pool_app.prospects.history(people["bob"], p.id)
    assert [(h.kind, h.before, h.after) for h in history[-2:]] == [
        (ChangeKind.RELEASED, "u-alice", "pool"), (ChangeKind.CLAIMED, "u-alice", "u-bob")]
    assert datetime(2026, 3, 12, 1, 30, tzinfo=UTC) == history[-1].at


def test_follow_up_history_goes_with_a_claimed_prospect(
    storage_url: str, clock: FixedClock
) -> None:
    """On every storage: a prospect released to the pool and claimed by another takes
    its follow-up records (and its plan) to its new owner."""
    with custmgmt.open(storage_url, clock=clock, settings=LAPSE, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        bob = app.principal("u-bob", roles={"salesperson"}, team="west")
        root = app.principal("u-root", roles={"admin"})
        p = register(app, alice, 1)
        app.followups.record(alice, p.id, channel="phone", summary="call")
        clock.advance(days=12)
        assert app.pool.release_lapsed(root).released == (p.id,)
        app.pool.claim(bob, p.id)
        assert [f.prospect_id for f in app.followups.history(bob)] == [p.id]
        assert app.followups.history(alice) == ()
        plan = app.followups.plan(bob, p.id)
        assert plan is not None and (plan.owner_id, plan.owner_team) == ("u-bob", "west")
