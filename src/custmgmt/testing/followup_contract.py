"""Contract tests for follow-up plans, follow-up records and principal lookups."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.common import ProspectId
from custmgmt.domain.followups import (
    Channel,
    ClosedMonth,
    DueItem,
    FollowUp,
    FollowUpPlan,
    by_priority,
    due_item,
)
from custmgmt.domain.prospects import Grade, Stage
from custmgmt.errors import ClaimConflict, ConcurrencyError, NotFound
from custmgmt.ports.auth import Certification, Principal, Reach, Scope
from custmgmt.ports.storage import (
    FollowUpQuery,
    OnTimeCount,
    ProspectQuery,
    Storage,
    UnitOfWork,
    VisitDay,
)
from custmgmt.testing.builders import T0, add_prospect, keys_of, make_prospect

EVERYONE = Reach(scope=Scope.ANY, principal_id="u-root")
DAY = date(2026, 1, 5)


def plan(n: int, *, owner: str = "u-alice", team: str | None = "east", due: int = 0,
         active: bool = True, grade: Grade = Grade.B) -> FollowUpPlan:
    return FollowUpPlan(prospect_id=ProspectId(f"p-{n:06d}"), owner_id=owner, owner_team=team,
                        grade=grade, active=active, anchor=DAY,
                        next_due=DAY + timedelta(days=due))


def follow_up(n: int, *, prospect: int = 1, owner: str = "u-alice", team: str | None = "east",
              channel: Channel = Channel.VISIT, day: int = 0,
              stage: Stage | None = Stage.INITIAL_CONTACT) -> FollowUp:
    return FollowUp(
        id=f"f-{n:06d}", prospect_id=ProspectId(f"p-{prospect:06d}"), owner_id=owner,
        owner_team=team, by=owner, channel=channel, at=T0 + timedelta(days=day),
        local_date=DAY + timedelta(days=day), summary="Talked about the spring order.",
        needs="solvents", problems=None, outcome="sample requested", next_step="send sample",
        next_due=DAY + timedelta(days=day + 3), due_on=DAY + timedelta(days=day + 1),
        recorded_at=T0 + timedelta(days=day, minutes=5), stage=stage,
        reason="entered late: the visit sheet came in by post" if day else None,
        recorded_by="u-mia" if day else None,
    )


class FollowUpStorageContract:
    """Mixed into StorageContract; uses its ``storage`` fixture."""

    covers: ClassVar[tuple[str, ...]] = ("plans", "follow_ups", "closed_months")

    def _prospects(self, storage: Storage, *owners: tuple[str, str | None]) -> None:
        with storage.unit_of_work() as uow:
            for n, (owner, team) in enumerate(owners, start=1):
                add_prospect(uow, make_prospect(n, owner=owner, team=team))
            uow.commit()

    def test_plans_insert_update_and_refuse_stale_writes(self, storage: Storage) -> None:
        self._prospects(storage, ("u-alice", "east"))
        with storage.unit_of_work() as uow:
            stored = uow.plans.save(plan(1))
            uow.commit()
        assert stored.version == 1
        with storage.unit_of_work() as uow:
            assert uow.plans.get("p-000001") == stored
            assert uow.plans.get("p-000404") is None
            moved = uow.plans.save(attrs.evolve(stored, next_due=DAY + timedelta(days=30),
                                                override=DAY + timedelta(days=30)))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.plans.get("p-000001") == moved and moved.version == 2
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.plans.save(attrs.evolve(stored, active=False))
            uow.commit()

    def test_a_plan_is_of_a_stored_prospect(self, storage: Storage) -> None:
        self._prospects(storage, ("u-alice", "east"))
        for batch in ([plan(404)], [plan(1), plan(404)]):
            with pytest.raises(NotFound) as refused, storage.unit_of_work() as uow:
                if len(batch) == 1:
                    uow.plans.save(batch[0])
                else:
                    uow.plans.add_many(batch)
                uow.commit()
            assert (refused.value.kind, refused.value.ident) == ("prospect", "p-000404")
        with storage.unit_of_work() as uow:
            assert uow.plans.get("p-000404") is None and uow.plans.get("p-000001") is None
            with pytest.raises(NotFound) as refused:
                uow.plans.save(attrs.evolve(plan(1), version=1))
            assert refused.value.kind == "plan"
            stored = uow.plans.save(plan(1))
            with pytest.raises(ConcurrencyError):
                uow.plans.save(plan(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.plans.get("p-000001") == stored

    def test_a_plan_has_its_prospects_owner_and_team(self, storage: Storage) -> None:
        """A plan is refused unless its owner and team are its prospect's as stored: a
        plan moves with its prospect (the plan keeper saves it after the prospect)."""
        self._prospects(storage, ("u-alice", "east"), ("u-alice", "east"))
        for stray in (plan(1, owner="u-bob"), plan(1, team="west"), plan(1, team=None)):
            with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
                uow.plans.save(stray)
        with storage.unit_of_work() as uow:
            stored = uow.plans.save(plan(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(ConcurrencyError):
                uow.plans.save(attrs.evolve(stored, owner_id="u-bob", owner_team="west"))
            prospect = uow.prospects.get(ProspectId("p-000001"))
            uow.prospects.update(attrs.evolve(prospect, owner_id="u-bob", owner_team="west"))
            moved = uow.plans.save(attrs.evolve(stored, owner_id="u-bob", owner_team="west"))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.plans.get("p-000001") == moved
            bob = Reach(scope=Scope.OWN, principal_id="u-bob")
            assert [p.prospect_id for p in uow.plans.due(bob, DAY)] == ["p-000001"]

    def test_a_prospect_is_added_with_its_first_plan(self, storage: Storage) -> None:
        """``prospects.add(prospect, keys, plan)`` stores both, the plan as ``save`` would;
        a plan not in step with the prospect is refused and neither is stored."""
        prospect = make_prospect(1)
        strays = (plan(1, owner="u-bob"), plan(2), attrs.evolve(plan(1), version=1))
        for stray in strays:
            with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
                uow.prospects.add(prospect, keys_of(prospect), stray)
                uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.prospects.get(prospect.id)
            stored = uow.prospects.add(prospect, keys_of(prospect), plan(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.get(prospect.id) == stored
            assert uow.plans.get(prospect.id) == attrs.evolve(plan(1), version=1)
            east = Reach(scope=Scope.TEAM, principal_id="u-mia", team="east")
            assert [p.prospect_id for p in uow.plans.due(east, DAY)] == [prospect.id]
        # a prospect refused (its keys held, its id taken) is stored with no plan
        twin = attrs.evolve(make_prospect(1), id=ProspectId("p-000002"))
        for refused, error in ((twin, ClaimConflict), (prospect, ConcurrencyError)):
            with pytest.raises(error), storage.unit_of_work() as uow:
                uow.prospects.add(refused, keys_of(refused),
                                  attrs.evolve(plan(1), prospect_id=refused.id))
                uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.plans.get("p-000002") is None
            with pytest.raises(NotFound):
                uow.prospects.get(ProspectId("p-000002"))
            assert uow.plans.get(prospect.id) == attrs.evolve(plan(1), version=1)

    def test_add_many_writes_every_plan_or_none(self, storage: Storage) -> None:
        """A refused ``add_many`` leaves nothing behind, even in a unit committed after
        the refusal is caught."""
        self._prospects(storage, ("u-alice", "east"), ("u-alice", "east"))
        with storage.unit_of_work() as uow:
            kept = uow.plans.save(plan(2))
            uow.commit()
        refusals = ([plan(1), plan(404)], [plan(1), plan(2)], [plan(1), plan(2, owner="u-bob")],
                    [plan(1), attrs.evolve(kept, version=9)])
        for plans in refusals:
            with storage.unit_of_work() as uow:
                with pytest.raises((NotFound, ConcurrencyError)):
                    uow.plans.add_many(plans)
                uow.commit()
            with storage.unit_of_work() as uow:
                assert uow.plans.get("p-000001") is None
                assert uow.plans.get("p-000002") == kept

    def test_due_plans_keep_to_reach_date_and_activity(self, storage: Storage) -> None:
        self._prospects(storage, ("u-alice", "east"), ("u-bob", "east"), ("u-carol", "west"),
                        ("u-alice", "east"))
        with storage.unit_of_work() as uow:
            uow.plans.add_many([plan(1, due=2), plan(2, owner="u-bob", due=0),
                                plan(3, owner="u-carol", team="west", due=-5),
                                plan(4, due=-1, active=False)])
            uow.commit()
        on = DAY + timedelta(days=2)
        with storage.unit_of_work() as uow:
            everyone = [p.prospect_id for p in uow.plans.due(EVERYONE, on)]
            east = [p.prospect_id for p in uow.plans.due(
                Reach(scope=Scope.TEAM, principal_id="u-mia", team="east"), on)]
            alice = [p.prospect_id for p in uow.plans.due(
                Reach(scope=Scope.OWN, principal_id="u-alice"), on)]
            early = [p.prospect_id for p in uow.plans.due(EVERYONE, DAY)]
            bob_only = [p.prospect_id for p in uow.plans.due(EVERYONE, on, owner="u-bob")]
            assert uow.plans.get("p-000004") is not None
        assert everyone == ["p-000003", "p-000002", "p-000001"]
        assert east == ["p-000002", "p-000001"]
        assert alice == ["p-000001"]
        assert early == ["p-000003", "p-000002"]
        assert bob_only == ["p-000002"]

    def test_due_items_are_the_due_plans_by_priority(self, storage: Storage) -> None:
        owners = [("u-alice", "east"), ("u-bob", "east"), ("u-carol", "west"),
                  ("u-mia", None), ("u-mia", "west"), ("u-alice", "east")]
        self._prospects(storage, *owners, *owners)
        grades = [Grade.C, Grade.A, Grade.B, Grade.A, Grade.D, Grade.B]
        plans = [plan(n, owner=owners[(n - 1) % 6][0], team=owners[(n - 1) % 6][1],
                      due=(n * 5) % 7 - 4, grade=grades[n % 6], active=n != 7)
                 for n in range(1, 13)]
        with storage.unit_of_work() as uow:
            uow.plans.add_many(plans)
            uow.commit()
        on = DAY + timedelta(days=1)
        reaches = [EVERYONE, Reach(scope=Scope.OWN, principal_id="u-alice"),
                   Reach(scope=Scope.TEAM, principal_id="u-mia", team="east"),
                   Reach(scope=Scope.TEAM, principal_id="u-mia", team="west"),
                   Reach(scope=Scope.TEAM, principal_id="u-x", team=None),
                   Reach(scope=Scope.NONE, principal_id="u-alice")]
        with storage.unit_of_work(read_only=True) as uow:
            for reach in reaches:
                for owner in (None, "u-alice", "u-mia"):
                    items = list(uow.plans.due_items(reach, on, owner))
                    expected = by_priority(due_item(p, on)
                                           for p in uow.plans.due(reach, on, owner))
                    assert items == expected, (reach, owner)
            everyone = uow.plans.due_items(EVERYONE, on)
        assert len(everyone) == 9
        assert [i.grade.value for i in everyone] == sorted(i.grade.value for i in everyone)
        assert everyone[0] == DueItem("p-000003", "u-carol", Grade.A, DAY - timedelta(days=3),
                                      4)

    def test_due_items_count_lateness_on_each_day_asked(self, storage: Storage) -> None:
        """The same plans asked on several days, back and forth, each time in the
        types and values a plan gives (an adapter may remember the dates it parsed)."""
        self._prospects(storage, *[("u-alice", "east")] * 3)
        with storage.unit_of_work() as uow:
            uow.plans.add_many([plan(1, due=-2, grade=Grade.A), plan(2, due=0),
                                plan(3, due=3, grade=Grade.D)])
            uow.commit()
        alice = Reach(scope=Scope.OWN, principal_id="u-alice")
        for shift in (0, 5, 0, 40, 3, 5, -3):
            on = DAY + timedelta(days=shift)
            with storage.unit_of_work(read_only=True) as uow:
                items = list(uow.plans.due_items(alice, on))
            with storage.unit_of_work(read_only=True) as uow:  # its statement alone
                listed = uow.plans.due_for("u-alice", alice, on)[1]
            expected = by_priority(due_item(p, on) for p in (
                plan(1, due=-2, grade=Grade.A), plan(2, due=0), plan(3, due=3, grade=Grade.D))
                if p.next_due <= on)
            assert items == list(listed) == expected, shift
            for item in items:
                assert type(item) is DueItem and type(item.next_due) is date
                assert type(item.grade) is Grade and type(item.days_late) is int
                assert item.days_late == (on - item.next_due).days

    def test_due_for_reads_the_principal_with_the_list(self, storage: Storage) -> None:
        """``due_for`` gives what ``principals.get`` and ``due_items`` give, read
        together: every field of the principal (roles, certifications with and without
        an end, team, supervisor, activity, version), None for an unknown id, and the
        principal even when the list is empty."""
        owners = [("u-alice", "east"), ("u-bob", "east"), ("u-mia", "west"), ("u-mia", None)]
        self._prospects(storage, *owners, *owners)
        with storage.unit_of_work() as uow:
            uow.plans.add_many([plan(n, owner=owners[(n - 1) % 4][0],
                                     team=owners[(n - 1) % 4][1], due=n % 5 - 2,
                                     grade=list(Grade)[n % 4]) for n in range(1, 9)])
            uow.principals.save(Principal(
                id="u-mia", roles=frozenset({"sales_manager", "salesperson"}), team="east",
                supervisor_id="u-boss", certifications=frozenset({
                    Certification("sample_receiver", DAY + timedelta(days=30)),
                    Certification("first_aid")})))
            uow.principals.save(Principal(id="u-alice", roles=frozenset({"salesperson"}),
                                          team="east", supervisor_id="u-mia"))
            uow.principals.save(Principal(id="u-gone", active=False))
            uow.commit()
        reaches = [EVERYONE, Reach(scope=Scope.OWN, principal_id="u-alice"),
                   Reach(scope=Scope.TEAM, principal_id="u-mia", team="east"),
                   Reach(scope=Scope.TEAM, principal_id="u-mia", team=None),
                   Reach(scope=Scope.NONE, principal_id="u-mia")]
        on = DAY + timedelta(days=1)
        cases = [(who, reach, owner) for who in ("u-mia", "u-alice", "u-gone", "u-nobody")
                 for reach in reaches for owner in (None, "u-alice", "u-mia")]
        with storage.unit_of_work(read_only=True) as uow:
            expected = [(uow.principals.get(who), list(uow.plans.due_items(reach, on, owner)))
                        for who, reach, owner in cases]
        for case, wanted in zip(cases, expected, strict=True):
            with storage.unit_of_work(read_only=True) as uow:  # the unit's only read
                found, items = uow.plans.due_for(*case[:2], on, case[2])
            assert (found, list(items)) == wanted, case
        with storage.unit_of_work(read_only=True) as uow:
            mia, items = uow.plans.due_for("u-mia", EVERYONE, DAY - timedelta(days=30))
        assert items == () or list(items) == []
        assert mia is not None and mia.version == 1 and mia.certifications == {
            Certification("sample_receiver", DAY + timedelta(days=30)),
            Certification("first_aid")}
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.plans.due_for("u-nobody", EVERYONE, on)[0] is None
            gone = uow.plans.due_for("u-gone", EVERYONE, on)[0]
        assert gone is not None and not gone.active

    def test_due_for_with_a_known_principal_gives_the_stored_one(
            self, storage: Storage) -> None:
        """``due_for(..., known=...)`` gives the same list and the principal as stored
        now, whatever ``known`` is: the principal an earlier call returned (unchanged,
        or changed since in roles, certifications, team or activity), one built by
        hand with the same fields, another principal's, or an unknown id's; and with
        an empty list too."""
        owners = [("u-alice", "east"), ("u-mia", "east")]
        self._prospects(storage, *owners, *owners)
        with storage.unit_of_work() as uow:
            uow.plans.add_many([plan(n, owner=owners[(n - 1) % 2][0], team="east",
                                     due=n % 3 - 1, grade=list(Grade)[n % 4])
                                for n in range(1, 5)])
            uow.principals.save(Principal(id="u-alice", roles=frozenset({"salesperson"}),
                                          team="east"))
            uow.principals.save(Principal(id="u-mia", roles=frozenset({"sales_manager"}),
                                          team="east"))
            uow.commit()
        alice = Reach(scope=Scope.OWN, principal_id="u-alice")
        team = Reach(scope=Scope.TEAM, principal_id="u-mia", team="east")
        on = DAY + timedelta(days=1)

        def read(who: str, reach: Reach, known: Principal | None, day: date = on,
                 ) -> tuple[Principal | None, list[DueItem]]:
            with storage.unit_of_work(read_only=True) as uow:
                found, items = uow.plans.due_for(who, reach, day, None, known)
                expected = list(uow.plans.due_items(reach, day))
                assert list(items) == expected
                assert found == uow.principals.get(who)
            return found, list(items)

        first, items = read("u-alice", alice, None)
        assert first is not None and items
        again, same = read("u-alice", alice, first)  # unchanged: may be ``first`` itself
        assert (again, same) == (first, items)
        with storage.unit_of_work() as uow:  # every grant changed in turn
            uow.principals.save(attrs.evolve(first, roles=frozenset({"sales_manager"})))
            uow.commit()
        changed, _ = read("u-alice", alice, first)
        assert changed is not None and changed.roles == {"sales_manager"}
        with storage.unit_of_work() as uow:
            uow.principals.save(attrs.evolve(changed, certifications=frozenset(
                {Certification("first_aid", DAY)})))
            uow.commit()
        certified, _ = read("u-alice", alice, changed)
        assert certified is not None and certified.certifications == {
            Certification("first_aid", DAY)}
        with storage.unit_of_work() as uow:
            uow.principals.save(attrs.evolve(certified, team="west", active=False))
            uow.commit()
        moved, _ = read("u-alice", alice, certified)
        assert moved is not None and (moved.team, moved.active) == ("west", False)
        # a principal built by hand, another's, an unknown id's, an empty list
        assert read("u-alice", alice, attrs.evolve(moved))[0] == moved
        mia, listed = read("u-mia", team, None)
        assert mia is not None and listed
        assert read("u-mia", team, moved) == (mia, listed)
        assert read("u-alice", alice, mia)[0] == moved
        assert read("u-nobody", alice, mia)[0] is None
        early = DAY - timedelta(days=30)
        assert read("u-mia", team, mia, early) == (mia, [])

    def test_due_lists_follow_every_change_of_a_plan(self, storage: Storage) -> None:
        """Whatever an adapter indexes due lists by, a plan moved in date, handed to
        another owner or team, stopped or restarted is listed where it now belongs —
        in the unit that changed it (nowhere else if it rolls back), and in every unit
        after its commit."""
        self._prospects(storage, ("u-alice", "east"), ("u-alice", "east"), ("u-bob", "west"))
        with storage.unit_of_work() as uow:
            uow.plans.add_many([plan(1, due=1), plan(2, due=3),
                                plan(3, owner="u-bob", team="west", due=0)])
            uow.commit()
        on = DAY + timedelta(days=3)
        east = Reach(scope=Scope.TEAM, principal_id="u-mia", team="east")
        west = Reach(scope=Scope.TEAM, principal_id="u-wes", team="west")
        alice = Reach(scope=Scope.OWN, principal_id="u-alice")
        bob = Reach(scope=Scope.OWN, principal_id="u-bob")

        def due(uow: UnitOfWork, reach: Reach, day: date = on) -> list[str]:
            return [p.prospect_id for p in uow.plans.due(reach, day)]

        def lists(uow: UnitOfWork) -> tuple[list[str], ...]:
            return (due(uow, EVERYONE), due(uow, east), due(uow, west), due(uow, alice),
                    due(uow, bob))

        before = (["p-000003", "p-000001", "p-000002"], ["p-000001", "p-000002"],
                  ["p-000003"], ["p-000001", "p-000002"], ["p-000003"])
        after: tuple[list[str], ...] = (["p-000001"], [], ["p-000001"], [], ["p-000001"])
        for keep in (False, True):
            with storage.unit_of_work() as uow:
                one, two = uow.plans.get("p-000001"), uow.plans.get("p-000002")
                three = uow.plans.get("p-000003")
                assert one is not None and two is not None and three is not None
                assert lists(uow) == before
                # a plan is handed over with its prospect
                first = uow.prospects.get(ProspectId("p-000001"))
                uow.prospects.update(attrs.evolve(first, owner_id="u-bob", owner_team="west"))
                uow.plans.save(attrs.evolve(one, owner_id="u-bob", owner_team="west"))
                uow.plans.save(attrs.evolve(two, next_due=DAY + timedelta(days=9)))
                uow.plans.save(attrs.evolve(three, active=False))
                assert lists(uow) == after
                if keep:
                    uow.commit()
        with storage.unit_of_work() as uow:
            assert lists(uow) == after
            assert due(uow, alice, DAY + timedelta(days=9)) == ["p-000002"]
            three = uow.plans.get("p-000003")
            assert three is not None
            uow.plans.save(attrs.evolve(three, active=True, next_due=DAY - timedelta(days=1)))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert due(uow, EVERYONE) == ["p-000003", "p-000001"]
            assert due(uow, bob) == ["p-000003", "p-000001"]
            assert due(uow, east) == []

    def test_follow_ups_round_trip_and_filter(self, storage: Storage) -> None:
        self._prospects(storage, ("u-alice", "east"), ("u-carol", "west"))
        records = [follow_up(1, day=0), follow_up(2, day=3, channel=Channel.PHONE),
                   follow_up(3, prospect=2, owner="u-carol", team="west", day=1)]
        with storage.unit_of_work() as uow:
            for record in records:
                uow.follow_ups.add(record)
            uow.commit()
        with storage.unit_of_work() as uow:
            def ids(**filters: object) -> list[str]:
                query = FollowUpQuery(**{"reach": EVERYONE, **filters})  # type: ignore[arg-type]
                return [f.id for f in uow.follow_ups.find(query)]

            assert list(uow.follow_ups.find(FollowUpQuery(reach=EVERYONE))) == [
                records[0], records[2], records[1]]
            assert ids(channel=Channel.VISIT) == ["f-000001", "f-000003"]
            assert ids(owner="u-carol") == ["f-000003"]
            assert ids(prospect_id="p-000001") == ["f-000001", "f-000002"]
            assert ids(date_from=DAY + timedelta(days=1),
                       date_to=DAY + timedelta(days=3)) == ["f-000003", "f-000002"]
            assert ids(reach=Reach(scope=Scope.TEAM, principal_id="u-x", team="west")) == [
                "f-000003"]
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.follow_ups.add(records[0])
            uow.commit()

    def test_follow_ups_filter_by_stage_and_recording_time(self, storage: Storage) -> None:
        self._prospects(storage, ("u-alice", "east"))
        records = [follow_up(1, day=0), follow_up(2, day=2, stage=Stage.PROPOSAL),
                   follow_up(3, day=4, stage=None)]
        with storage.unit_of_work() as uow:
            for record in records:
                uow.follow_ups.add(record)
            uow.commit()
        with storage.unit_of_work() as uow:
            def ids(**filters: object) -> list[str]:
                query = FollowUpQuery(**{"reach": EVERYONE, **filters})  # type: ignore[arg-type]
                return [f.id for f in uow.follow_ups.find(query)]

            assert [f.stage for f in uow.follow_ups.find(FollowUpQuery(reach=EVERYONE))] == [
                Stage.INITIAL_CONTACT, Stage.PROPOSAL, None]
            assert ids(stage=Stage.PROPOSAL) == ["f-000002"]
            assert ids(recorded_from=T0 + timedelta(days=2, minutes=5)) == [
                "f-000002", "f-000003"]
            assert ids(stage=Stage.INITIAL_CONTACT,
                       recorded_from=T0 + timedelta(days=1)) == []

    def test_follow_ups_follow_their_prospect_to_a_new_owner(self, storage: Storage) -> None:
        self._prospects(storage, ("u-alice", "east"), ("u-alice", "east"))
        with storage.unit_of_work() as uow:
            uow.follow_ups.add(follow_up(1))
            uow.follow_ups.add(follow_up(2, prospect=2))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.follow_ups.reassign("p-000001", "u-nora", "north")
            uow.follow_ups.add(follow_up(3, day=1))
            uow.rollback()
        with storage.unit_of_work() as uow:
            assert {f.owner_id for f in uow.follow_ups.find(FollowUpQuery(reach=EVERYONE))} == {
                "u-alice"}
            uow.follow_ups.reassign("p-000001", "u-nora", "north")
            assert [f.id for f in uow.follow_ups.find(FollowUpQuery(
                reach=EVERYONE, owner="u-nora"))] == ["f-000001"]
            uow.commit()
        with storage.unit_of_work() as uow:
            north = Reach(scope=Scope.TEAM, principal_id="u-ned", team="north")
            found = uow.follow_ups.find(FollowUpQuery(reach=north))
            assert [(f.id, f.owner_id, f.owner_team, f.by) for f in found] == [
                ("f-000001", "u-nora", "north", "u-alice")]
            east = Reach(scope=Scope.TEAM, principal_id="u-mia", team="east")
            assert [f.id for f in uow.follow_ups.find(FollowUpQuery(reach=east))] == [
                "f-000002"]

    def test_visit_days_count_distinct_prospects_per_person_and_day(
        self, storage: Storage
    ) -> None:
        self._prospects(storage, ("u-alice", "east"), ("u-alice", "east"), ("u-bob", "west"))
        records = [
            follow_up(1, prospect=1), follow_up(2, prospect=1),  # one prospect twice a day
            follow_up(3, prospect=2), follow_up(4, prospect=2, day=1),
            follow_up(5, prospect=3, owner="u-bob", team="west", day=1),
            follow_up(6, prospect=3, owner="u-bob", team="west", channel=Channel.PHONE),
            follow_up(7, prospect=1, day=40),  # outside the range
        ]
        with storage.unit_of_work() as uow:
            for record in records:
                uow.follow_ups.add(record)
            assert list(uow.follow_ups.visit_days(DAY, DAY + timedelta(days=30))) == [
                VisitDay("u-alice", DAY, 2), VisitDay("u-alice", DAY + timedelta(days=1), 1),
                VisitDay("u-bob", DAY + timedelta(days=1), 1)]
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.follow_ups.visit_days(DAY + timedelta(days=1),
                                                  DAY + timedelta(days=1))) == [
                VisitDay("u-alice", DAY + timedelta(days=1), 1),
                VisitDay("u-bob", DAY + timedelta(days=1), 1)]

    def test_on_time_counts_per_owner_keep_to_the_query(self, storage: Storage) -> None:
        self._prospects(storage, ("u-alice", "east"), ("u-bob", "west"))
        late = attrs.evolve(follow_up(2), id="f-000002", local_date=DAY + timedelta(days=5))
        unplanned = attrs.evolve(follow_up(3), id="f-000003", due_on=None)
        bob = follow_up(4, prospect=2, owner="u-bob", team="west")
        with storage.unit_of_work() as uow:
            for record in (follow_up(1), late, unplanned, bob):
                uow.follow_ups.add(record)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.follow_ups.on_time_counts(FollowUpQuery(reach=EVERYONE))) == [
                OnTimeCount("u-alice", 3, 2), OnTimeCount("u-bob", 1, 1)]
            west = Reach(scope=Scope.TEAM, principal_id="u-wes", team="west")
            assert list(uow.follow_ups.on_time_counts(FollowUpQuery(reach=west))) == [
                OnTimeCount("u-bob", 1, 1)]
            assert list(uow.follow_ups.on_time_counts(FollowUpQuery(
                reach=EVERYONE, date_from=DAY + timedelta(days=1)))) == [
                OnTimeCount("u-alice", 1, 0)]

    def test_closed_months_are_kept_once_per_month_and_team(self, storage: Storage) -> None:
        east = ClosedMonth(month="2026-03", team="east", closed_by="u-mia", closed_at=T0)
        everyone = ClosedMonth(month="2026-03", team=None, closed_by="u-root",
                               closed_at=T0 + timedelta(hours=1))
        with storage.unit_of_work() as uow:
            uow.closed_months.add(east)
            assert list(uow.closed_months.find("2026-03")) == [east]
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.closed_months.add(everyone)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.closed_months.find("2026-03")) == [everyone, east]
            assert list(uow.closed_months.find("2026-04")) == []
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.closed_months.add(attrs.evolve(east, closed_by="u-other"))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert [c.closed_by for c in uow.closed_months.find("2026-03")] == [
                "u-root", "u-mia"]

    def test_principals_are_found_by_role_and_team(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for pid, roles, team in [("u-b", {"salesperson"}, "east"),
                                     ("u-a", {"salesperson", "admin"}, "west"),
                                     ("u-m", {"sales_manager"}, "east")]:
                uow.principals.save(Principal(id=pid, roles=frozenset(roles), team=team))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert [p.id for p in uow.principals.find(role="salesperson")] == ["u-a", "u-b"]
            assert [p.id for p in uow.principals.find(team="east")] == ["u-b", "u-m"]
            assert [p.id for p in uow.principals.find(role="salesperson", team="east")] == [
                "u-b"]
            assert [p.id for p in uow.principals.find()] == ["u-a", "u-b", "u-m"]
            assert list(uow.principals.ids(role="salesperson")) == ["u-a", "u-b"]
            assert list(uow.principals.ids(role="salesperson", team="east")) == ["u-b"]
            assert list(uow.principals.ids(team="west")) == ["u-a"]
            found = uow.principals.find(role="salesperson")
            assert found == [uow.principals.get("u-a"), uow.principals.get("u-b")]

    def test_prospects_filter_by_registration_time(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for n in (1, 2, 3):
                add_prospect(uow, make_prospect(n, at=T0 + timedelta(days=n)))
            uow.commit()
        query = ProspectQuery(reach=EVERYONE, registered_from=T0 + timedelta(days=2),
                              registered_before=T0 + timedelta(days=3))
        with storage.unit_of_work() as uow:
            assert [p.id for p in uow.prospects.find(query)] == ["p-000002"]
