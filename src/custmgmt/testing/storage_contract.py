"""The contract a storage adapter must pass: transactions, versions, claims, queries."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.audit import AuditEntry, chain_entry, import_entry
from custmgmt.domain.common import ProspectId, RegistrationId
from custmgmt.domain.followups import FollowUpPlan
from custmgmt.domain.identity import KeyKind, KeyRing
from custmgmt.domain.integrity import ChainHead
from custmgmt.domain.prospects import (
    DefaultGradingPolicy,
    Grade,
    GradeChanged,
    Prospect,
    Stage,
    Willingness,
    earliest_claim,
    registration_entry,
)
from custmgmt.domain.registrations import PROSPECT_TRAILS, FirstPlans, TrailStart
from custmgmt.errors import (
    ClaimConflict,
    ConcurrencyError,
    NotFound,
    StorageError,
    ValidationError,
)
from custmgmt.ports.auth import Certification, Principal, Reach, Scope
from custmgmt.ports.roster import ROSTER
from custmgmt.ports.storage import ProspectQuery, Storage, UnitOfWork
from custmgmt.testing.builders import (
    RING,
    T0,
    add_prospect,
    batch_of,
    keys_of,
    make_prospect,
    same_person_as,
    sample_notification,
)
from custmgmt.testing.care_contract import CareStorageContract
from custmgmt.testing.care_records_contract import CareRecordsStorageContract
from custmgmt.testing.consent_contract import ConsentStorageContract
from custmgmt.testing.credit_contract import CreditStorageContract
from custmgmt.testing.customer_contract import CustomerStorageContract
from custmgmt.testing.delisting_contract import DelistingStorageContract
from custmgmt.testing.delivery_contract import DeliveryStorageContract
from custmgmt.testing.followup_contract import FollowUpStorageContract
from custmgmt.testing.marketing_contract import MarketingStorageContract
from custmgmt.testing.privacy_contract import PrivacyStorageContract
from custmgmt.testing.sample_contract import SampleStorageContract

EVERYONE = Reach(scope=Scope.ANY, principal_id="u-admin")


class StorageContract(
    CustomerStorageContract, CreditStorageContract, DelistingStorageContract,
    ConsentStorageContract, MarketingStorageContract,
    FollowUpStorageContract, SampleStorageContract, DeliveryStorageContract,
    PrivacyStorageContract, CareStorageContract, CareRecordsStorageContract, ABC
):
    """Every storage back end behaves like a transactional database."""

    covers: ClassVar[tuple[str, ...]] = ("prospects", "principals", "audit", "heads", "events",
                                         "outbox", "counters")

    @abstractmethod
    def make_storage(self) -> Storage:
        """A fresh, empty, migrated storage under test."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        storage = self.make_storage()
        yield storage
        storage.close()

    # -- the roster -----------------------------------------------------------------

    def test_the_unit_of_work_offers_every_repository_of_the_roster(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            for entry in ROSTER:
                repository = getattr(uow, entry.name)
                for name, member in vars(entry.port).items():
                    if callable(member) and not name.startswith("_"):
                        assert callable(getattr(repository, name)), f"{entry.name}.{name}"

    # -- unit of work ---------------------------------------------------------------

    def test_added_prospect_reads_back_equal_at_version_1(self, storage: Storage) -> None:
        prospect = make_prospect(1, organization="Acme Co., Ltd.")
        with storage.unit_of_work() as uow:
            stored = add_prospect(uow, prospect)
            uow.commit()
        with storage.unit_of_work() as uow:
            loaded = uow.prospects.get(prospect.id)
        assert stored.version == 1
        assert loaded == stored == attrs.evolve(prospect, version=1)

    def test_a_prospect_stored_with_no_history_reads_back_with_its_registration(
            self, storage: Storage) -> None:
        bare = attrs.evolve(make_prospect(1), history=())
        with storage.unit_of_work() as uow:
            stored = add_prospect(uow, bare)
            uow.commit()
        registered = registration_entry(bare.registration.by, bare.registration.at,
                                        bare.grade)
        with storage.unit_of_work() as uow:
            loaded = uow.prospects.get(bare.id)
            assert loaded == stored and loaded.history == (registered,)
            moved, _ = loaded.advance(Stage.PROPOSAL, by="u-alice", at=T0)
            uow.prospects.update(attrs.evolve(moved, history=()))
            uow.commit()
        with storage.unit_of_work() as uow:  # updated with no history: the same rule
            assert uow.prospects.get(bare.id).history == (registered,)

    def test_a_changed_prospect_keeps_the_grade_it_was_registered_at(
            self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = add_prospect(uow, make_prospect(1))
            uow.commit()
        regraded, _ = stored.override_grade(Grade.D, reason="no budget", by="u-mia", at=T0)
        with storage.unit_of_work() as uow:
            uow.prospects.update(regraded)
            uow.commit()
        with storage.unit_of_work() as uow:
            history = uow.prospects.get(stored.id).history
        assert history == regraded.history
        assert history[0] == stored.history[0] and history[0].after != Grade.D.value

    def test_missing_prospect_is_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.prospects.get(ProspectId("p-none"))

    def test_leaving_without_commit_keeps_nothing(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            self._write_everything(uow, 1)
        self._assert_empty(storage)

    def test_an_exception_keeps_nothing(self, storage: Storage) -> None:
        with pytest.raises(RuntimeError), storage.unit_of_work() as uow:
            self._write_everything(uow, 1)
            raise RuntimeError("boom")
        self._assert_empty(storage)

    def test_commit_keeps_everything_together(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            self._write_everything(uow, 1)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert len(uow.prospects.find(ProspectQuery(reach=EVERYONE))) == 1
            assert len(uow.audit.trail("prospect", "p-000001")) == 1
            assert len(uow.events.all()) == 1
            assert len(uow.outbox.all()) == 1

    def test_a_unit_sees_its_own_uncommitted_writes(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            self._write_everything(uow, 1)
            assert uow.prospects.get(ProspectId("p-000001")).version == 1
            assert len(uow.outbox.all()) == 1

    def test_a_read_only_unit_reads_committed_data_and_cannot_commit(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            self._write_everything(uow, 1)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.prospects.get(ProspectId("p-000001")).version == 1
            assert len(uow.outbox.all()) == 1
            uow.outbox.add(sample_notification(2))
            with pytest.raises(StorageError):
                uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert [item.notification.id for item in uow.outbox.all()] == ["n-000001"]

    def _write_everything(self, uow: UnitOfWork, n: int) -> None:
        prospect = make_prospect(n)
        add_prospect(uow, prospect)
        uow.audit.append(chain_entry(
            None, resource_kind="prospect", resource_id=prospect.id, actor_id="u-alice",
            action="register", at=T0, after={"grade": prospect.grade.value},
        ))
        uow.events.append(GradeChanged(
            actor_id="u-alice", occurred_at=T0, prospect_id=prospect.id, before=Grade.B,
            after=Grade.A, reason="test", manual=True,
        ))
        uow.outbox.add(sample_notification(n))

    def _assert_empty(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert list(uow.prospects.find(ProspectQuery(reach=EVERYONE))) == []
            assert list(uow.audit.trail("prospect", "p-000001")) == []
            assert list(uow.events.all()) == []
            assert list(uow.outbox.all()) == []

    # -- versions -------------------------------------------------------------------

    def test_update_bumps_the_version(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = add_prospect(uow, make_prospect(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            moved, _ = stored.advance(Stage.PROPOSAL, by="u-alice", at=T0)
            updated = uow.prospects.update(moved)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.get(stored.id) == updated
        assert updated.version == 2 and updated.stage is Stage.PROPOSAL

    def test_a_stale_write_raises_concurrency_error_and_keeps_the_first(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            stored = add_prospect(uow, make_prospect(1))
            uow.commit()
        first, _ = stored.advance(Stage.PROPOSAL, by="u-alice", at=T0)
        second, _ = stored.mark_lost(reason="went elsewhere", by="u-bob", at=T0)
        with storage.unit_of_work() as uow_a, storage.unit_of_work() as uow_b:
            uow_a.prospects.update(first)
            uow_a.commit()
            with pytest.raises(ConcurrencyError):
                uow_b.prospects.update(second)
                uow_b.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.get(stored.id).stage is Stage.PROPOSAL

    def test_updating_an_old_copy_in_a_new_unit_is_stale(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = add_prospect(uow, make_prospect(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.prospects.update(stored.advance(Stage.PROPOSAL, by="u-a", at=T0)[0])
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.prospects.update(stored.advance(Stage.NEGOTIATION, by="u-a", at=T0)[0])
            uow.commit()

    # -- first registration stands -------------------------------------------------

    def test_first_registration_stands_within_one_unit(self, storage: Storage) -> None:
        first = make_prospect(1)
        with storage.unit_of_work() as uow:
            add_prospect(uow, first)
            with pytest.raises(ClaimConflict) as raised:
                add_prospect(uow, same_person_as(first, 2))
        assert raised.value.owner_id == first.owner_id
        assert raised.value.registration_id == first.registration.id

    def test_first_registration_stands_across_concurrent_units(self, storage: Storage) -> None:
        first = make_prospect(1, owner="u-alice")
        rivals = [first] + [
            attrs.evolve(same_person_as(first, n), owner_id=f"u-rival-{n}") for n in range(2, 6)
        ]
        won, lost = self._race(storage, rivals)
        assert len(won) == 1 and len(lost) == len(rivals) - 1
        (winner,) = won
        assert {c.owner_id for c in lost} == {winner.owner_id}
        assert {c.registration_id for c in lost} == {winner.registration.id}
        assert {c.registered_at for c in lost} == {winner.registration.at}
        with storage.unit_of_work() as uow:
            assert [p.id for p in uow.prospects.find(ProspectQuery(reach=EVERYONE))] == [
                winner.id]

    def test_holders_of_finds_each_kind_of_key(self, storage: Storage) -> None:
        prospect = make_prospect(1, organization="Acme Co., Ltd.")
        with storage.unit_of_work() as uow:
            add_prospect(uow, prospect)
            uow.commit()
        with storage.unit_of_work() as uow:
            for key in keys_of(prospect):
                held = earliest_claim(uow.prospects.holders_of([key]))
                assert held is not None and held[0].id == prospect.id and held[1] == key
            assert earliest_claim(uow.prospects.holders_of(keys_of(make_prospect(2)))) is None
            everything = uow.prospects.holders_of([*keys_of(prospect),
                                                   *keys_of(make_prospect(2))])
            assert set(everything) == set(keys_of(prospect))
            assert {p.id for p in everything.values()} == {prospect.id}

    def test_add_batch_is_all_or_nothing_on_a_held_or_repeated_key(
        self, storage: Storage
    ) -> None:
        (held,) = self._stored(storage, make_prospect(1, owner="u-bob"))
        repeated = [make_prospect(2), same_person_as(make_prospect(2), 3)]
        clashing = [make_prospect(4), same_person_as(held, 5)]
        for batch, owner in ((repeated, "u-alice"), (clashing, "u-bob")):
            with storage.unit_of_work() as uow:
                with pytest.raises(ClaimConflict) as raised:
                    uow.prospects.add_batch(batch_of(batch))
                assert raised.value.owner_id == owner
                uow.commit()
        with storage.unit_of_work() as uow:
            assert [p.id for p in uow.prospects.find(ProspectQuery(reach=EVERYONE))] == [
                held.id]
            fresh = batch_of([make_prospect(6), make_prospect(7)])
            uow.prospects.add_batch(fresh)
            uow.commit()
        with storage.unit_of_work() as uow:
            stored = [uow.prospects.get(row.id) for row in fresh.rows]
        assert stored == [p.at_version(1) for p in fresh.prospects()]
        assert [p.version for p in stored] == [1, 1]

    # -- one prospect a registration id (what a re-run of an import relies on) -----

    def test_a_registration_id_is_held_by_one_prospect(self, storage: Storage) -> None:
        (first,) = self._stored(storage, make_prospect(1, owner="u-bob"))
        taken = attrs.evolve(make_prospect(2), registration=first.registration)
        repeated = [make_prospect(3), attrs.evolve(make_prospect(4),
                                                   registration=make_prospect(3).registration)]
        refusals: list[tuple[Callable[[UnitOfWork], object], str]] = [
            (lambda uow: add_prospect(uow, taken), "u-bob"),
            (lambda uow: uow.prospects.add_batch(batch_of([make_prospect(5), taken])),
             "u-bob"),
            (lambda uow: uow.prospects.add_batch(batch_of(repeated)), "u-alice")]
        for write, owner in refusals:
            with storage.unit_of_work() as uow:
                with pytest.raises(ClaimConflict) as raised:
                    write(uow)
                uow.commit()
            conflict = raised.value
            assert (conflict.owner_id, conflict.key_kind) == (owner, "")
            assert conflict.registration_id in {first.registration.id, "r-000003"}
        with storage.unit_of_work() as uow:
            assert [p.id for p in uow.prospects.find(ProspectQuery(reach=EVERYONE))] == [
                first.id]

    def test_registered_tells_which_registration_ids_are_held(self, storage: Storage) -> None:
        (first,) = self._stored(storage, make_prospect(1))
        asked = [f"r-{n:06d}" for n in range(600)]  # more than one statement's worth
        with storage.unit_of_work() as uow:
            assert uow.prospects.registered(asked) == {"r-000001"}
            uow.prospects.add_batch(batch_of([make_prospect(2), make_prospect(700)]))
            assert uow.prospects.registered(iter(asked)) == {"r-000001", "r-000002"}
            assert uow.prospects.registered([]) == frozenset()
        with storage.unit_of_work() as uow:  # the batch was not committed
            assert uow.prospects.registered(["r-000002", first.registration.id]) == {
                first.registration.id}

    def test_an_update_to_a_registration_id_another_holds_is_refused(
        self, storage: Storage
    ) -> None:
        first, second = self._stored(storage, make_prospect(1, owner="u-bob"),
                                     make_prospect(2))
        with storage.unit_of_work() as uow:
            with pytest.raises(ClaimConflict) as raised:
                uow.prospects.update(attrs.evolve(second, registration=first.registration))
            assert (raised.value.owner_id, raised.value.registration_id) == (
                "u-bob", first.registration.id)
            with pytest.raises(ClaimConflict) as raised:  # a held key is named first
                uow.prospects.update(attrs.evolve(second, registration=first.registration),
                                     keys_of(first))
            assert raised.value.key_kind in {"phone", "email"}
            # the unit goes on (no aborted transaction): the refused update changed nothing
            assert uow.prospects.registered([first.registration.id]) == {
                first.registration.id}
            assert uow.prospects.get(second.id) == second
            uow.prospects.update(second.advance(Stage.PROPOSAL, by="u-alice", at=T0)[0])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.get(second.id).registration == second.registration

    def test_a_registration_id_taken_by_a_concurrent_unit_is_refused_at_commit(
        self, storage: Storage
    ) -> None:
        rivals = [attrs.evolve(make_prospect(n, owner=f"u-rival-{n}"),
                               registration=make_prospect(1).registration)
                  for n in range(1, 5)]
        won, lost = self._race(storage, rivals)
        assert len(won) == 1 and len(lost) == len(rivals) - 1
        assert {c.owner_id for c in lost} == {won[0].owner_id}
        with storage.unit_of_work() as uow:
            assert [p.id for p in uow.prospects.find(ProspectQuery(reach=EVERYONE))] == [
                won[0].id]

    def test_a_prospect_claimed_again_frees_its_old_registration_id(
        self, storage: Storage
    ) -> None:
        (first,) = self._stored(storage, make_prospect(1))
        released, _ = first.release(reason="no answer", by="u-alice", at=T0)
        with storage.unit_of_work() as uow:
            uow.prospects.update(released, frozenset())
            uow.commit()
        reusing = attrs.evolve(make_prospect(2), registration=first.registration)
        with storage.unit_of_work() as uow:
            stored = uow.prospects.update(uow.prospects.get(first.id).claim(
                owner="u-bob", team=None, registration_id=RegistrationId("r-again"),
                at=T0)[0])
            add_prospect(uow, reusing)  # the old id is free in the same unit
            assert uow.prospects.registered(["r-000001", "r-000002", "r-again"]) == {
                "r-000001", "r-again"}
            uow.commit()
        assert (stored.owner_id, stored.registration.id) == ("u-bob", "r-again")
        with storage.unit_of_work() as uow:
            for taken, owner in ((stored, "u-bob"), (reusing, "u-alice")):
                with pytest.raises(ClaimConflict) as raised:
                    add_prospect(uow, attrs.evolve(make_prospect(3),
                                                   registration=taken.registration))
                assert (raised.value.owner_id, raised.value.registration_id) == (
                    owner, taken.registration.id)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert {p.id for p in uow.prospects.find(ProspectQuery(reach=EVERYONE))} == {
                first.id, reusing.id}

    def test_add_batch_writes_the_first_plans_and_trail_heads_it_carries(
        self, storage: Storage
    ) -> None:
        (held,) = self._stored(storage, make_prospect(1, owner="u-bob"))
        day, origin = T0.date(), "ab" * 32
        due = (day + timedelta(days=14), day + timedelta(days=7))
        rows = batch_of([make_prospect(2), make_prospect(3, willingness=Willingness.NONE)])
        batch = attrs.evolve(rows, plans=FirstPlans(anchor=day, next_due=due),
                             trails=TrailStart(origin=origin, seals=("sealed by a key", None)))
        refused = attrs.evolve(batch_of([make_prospect(4), same_person_as(held, 5)]),
                               plans=FirstPlans(anchor=day, next_due=(day, day)),
                               trails=TrailStart(origin=origin, seals=(None, None)))
        with storage.unit_of_work() as uow:
            with pytest.raises(ClaimConflict):
                uow.prospects.add_batch(refused)
            uow.prospects.add_batch(batch)
            uow.commit()
        with storage.unit_of_work() as uow:
            plans = [uow.plans.get(pid) for pid in (*batch.ids, *refused.ids)]
            heads = [uow.heads.get(PROSPECT_TRAILS, pid) for pid in (*batch.ids, *refused.ids)]
        assert plans == [
            FollowUpPlan(prospect_id=pid, owner_id="u-alice", owner_team="east", grade=grade,
                         stage=Stage.INITIAL_CONTACT, active=True, anchor=day, override=None,
                         next_due=due, version=1)
            for pid, grade, due in zip(batch.ids, batch.grades, due, strict=True)
        ] + [None, None]
        assert len(set(batch.grades)) == 2  # each plan has its own row's grade
        assert heads == [
            ChainHead(chain=PROSPECT_TRAILS, chain_id=pid, length=0, head_hash=origin,
                      seal=seal)
            for pid, seal in zip(batch.ids, ("sealed by a key", None), strict=True)
        ] + [None, None]

    def test_a_released_registration_frees_its_keys(self, storage: Storage) -> None:
        first = make_prospect(1)
        with storage.unit_of_work() as uow:
            stored = add_prospect(uow, first)
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.prospects.update(attrs.evolve(stored, registration_active=False), frozenset())
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.holders_of(RING.keys_of(first.profile)) == {}
            add_prospect(uow, same_person_as(first, 2))
            uow.commit()

    def test_an_update_may_not_take_a_key_someone_holds(self, storage: Storage) -> None:
        one, two = make_prospect(1), make_prospect(2)
        with storage.unit_of_work() as uow:
            add_prospect(uow, one)
            stored_two = add_prospect(uow, two)
            uow.commit()
        stolen = attrs.evolve(stored_two, profile=attrs.evolve(two.profile,
                                                               email=one.profile.email))
        with storage.unit_of_work() as uow, pytest.raises(ClaimConflict):
            uow.prospects.update(stolen, keys_of(stolen))
            uow.commit()

    def test_update_without_keys_keeps_the_held_keys(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = add_prospect(uow, make_prospect(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.prospects.update(stored.advance(Stage.PROPOSAL, by="u-a", at=T0)[0])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert {p.id for p in uow.prospects.holders_of(keys_of(stored)).values()} == {
                stored.id}

    def test_replace_keys_swaps_the_keys_and_refuses_a_shared_one(
        self, storage: Storage
    ) -> None:
        """Re-keying (a new pepper): the old sealed values go, the new ones are held,
        the prospects themselves stay as they were."""
        other = KeyRing(b"another pepper for the contract suite")
        one, two = make_prospect(1), make_prospect(2)
        with storage.unit_of_work() as uow:
            stored = [add_prospect(uow, one), add_prospect(uow, two)]
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.prospects.replace_keys({p.id: p.held_keys(other) for p in stored})
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.holders_of([*keys_of(one), *keys_of(two)]) == {}
            assert {p.id for p in uow.prospects.holders_of(one.held_keys(other)).values()} == {
                one.id}
            assert uow.prospects.get(one.id) == stored[0]
        with storage.unit_of_work() as uow, pytest.raises(ClaimConflict):
            uow.prospects.replace_keys({two.id: one.held_keys(other)})
            uow.commit()
        with storage.unit_of_work() as uow:
            assert {p.id for p in uow.prospects.holders_of(two.held_keys(other)).values()} == {
                two.id}

    def _race(
        self, storage: Storage, rivals: list[Prospect]
    ) -> tuple[list[Prospect], list[ClaimConflict]]:
        """Each of ``rivals`` added in its own unit of work, all at once on threads: those
        stored, and the conflicts the others met."""
        start = threading.Barrier(len(rivals))
        won: list[Prospect] = []
        lost: list[ClaimConflict] = []

        def register(prospect: Prospect) -> None:
            start.wait()
            try:
                with storage.unit_of_work() as uow:
                    add_prospect(uow, prospect)
                    uow.commit()
                won.append(prospect)
            except ClaimConflict as conflict:
                lost.append(conflict)

        threads = [threading.Thread(target=register, args=(p,)) for p in rivals]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return won, lost

    def _stored(self, storage: Storage, *prospects: Prospect) -> list[Prospect]:
        """``prospects`` added with their keys in one committed unit, as stored."""
        with storage.unit_of_work() as uow:
            stored = [add_prospect(uow, p) for p in prospects]
            uow.commit()
        return stored

    def test_keys_may_trade_places_between_prospects_in_one_replace(
        self, storage: Storage
    ) -> None:
        one, two = make_prospect(1), make_prospect(2)
        self._stored(storage, one, two)
        with storage.unit_of_work() as uow:
            uow.prospects.replace_keys({one.id: keys_of(two), two.id: keys_of(one)})
            uow.commit()
        with storage.unit_of_work() as uow:
            assert {p.id for p in uow.prospects.holders_of(keys_of(one)).values()} == {two.id}
            assert {p.id for p in uow.prospects.holders_of(keys_of(two)).values()} == {one.id}

    def test_a_refused_replace_names_the_holder_outside_the_batch(
        self, storage: Storage
    ) -> None:
        """B gives its keys up to A and takes C's: C, who keeps them, is named."""
        one, two, three = make_prospect(1), make_prospect(2), make_prospect(3)
        self._stored(storage, one, two, three)
        with pytest.raises(ClaimConflict) as raised, storage.unit_of_work() as uow:
            uow.prospects.replace_keys({one.id: keys_of(two), two.id: keys_of(three)})
            uow.commit()
        assert raised.value.registration_id == three.registration.id
        with storage.unit_of_work() as uow:
            for p in (one, two, three):
                assert {h.id for h in uow.prospects.holders_of(keys_of(p)).values()} == {p.id}

    def test_replacing_the_keys_of_an_unknown_prospect_is_not_found_and_changes_nothing(
        self, storage: Storage
    ) -> None:
        one = make_prospect(1)
        self._stored(storage, one)
        with storage.unit_of_work() as uow:
            with pytest.raises(NotFound):
                uow.prospects.replace_keys({one.id: keys_of(make_prospect(2)),
                                            ProspectId("p-unknown"): keys_of(make_prospect(3))})
            uow.commit()
        with storage.unit_of_work() as uow:
            assert {h.id for h in uow.prospects.holders_of(keys_of(one)).values()} == {one.id}
            assert uow.prospects.holders_of(keys_of(make_prospect(2))) == {}

    def test_an_update_refused_for_its_keys_leaves_the_prospect_as_it_was(
        self, storage: Storage
    ) -> None:
        one, two = make_prospect(1), make_prospect(2)
        stored = self._stored(storage, one, two)[1]
        with storage.unit_of_work() as uow:
            with pytest.raises(ClaimConflict):
                uow.prospects.update(stored.advance(Stage.PROPOSAL, by="u-a", at=T0)[0],
                                     keys_of(one))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.get(two.id) == stored
            assert {h.id for h in uow.prospects.holders_of(keys_of(two)).values()} == {two.id}

    def test_a_prospect_holds_one_key_of_each_kind_and_a_second_changes_nothing(
        self, storage: Storage
    ) -> None:
        one, two = make_prospect(1), make_prospect(2)
        phones = frozenset(k for p in (one, two) for k in keys_of(p)
                           if k.kind is KeyKind.PHONE)
        stored = self._stored(storage, one)[0]
        refused: dict[str, Callable[[UnitOfWork], object]] = {
            "add": lambda uow: uow.prospects.add(two, phones),
            "add_batch": lambda uow: uow.prospects.add_batch(batch_of([two], [phones])),
            "update": lambda uow: uow.prospects.update(
                stored.advance(Stage.PROPOSAL, by="u-a", at=T0)[0], phones),
            "replace_keys": lambda uow: uow.prospects.replace_keys({one.id: phones}),
        }
        for name, call in refused.items():
            with storage.unit_of_work() as uow:
                with pytest.raises(ValidationError) as raised:
                    call(uow)
                # (a batch refuses such a row itself, before any storage sees it)
                assert raised.value.field == (
                    "rows[0].keys" if name == "add_batch" else "keys"), name
                uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.get(one.id) == stored
            assert [p.id for p in uow.prospects.find(ProspectQuery(reach=EVERYONE))] == [one.id]
            assert {p.id for p in uow.prospects.holders_of(phones).values()} == {one.id}

    def test_counters_stop_at_their_limit_and_count_only_committed_takes(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            assert [uow.counters.take("c", 3) for _ in range(2)] == [True, True]
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.counters.take("c", 3)
            # not committed: the take goes back
        with storage.unit_of_work() as uow:
            assert uow.counters.take("c", 3)
            assert not uow.counters.take("c", 3)
            assert uow.counters.take("other", 1)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert not uow.counters.take("c", 3)
            assert uow.counters.take("c", 4)

    def test_concurrent_takes_queue_and_never_pass_the_limit(self, storage: Storage) -> None:
        """Six units take from a counter of limit 3 at once: exactly three get one."""
        outcomes: list[bool] = []
        errors: list[BaseException] = []
        start = threading.Barrier(6)

        def take() -> None:
            try:
                with storage.unit_of_work() as uow:
                    start.wait()
                    took = uow.counters.take("daily", 3)
                    time.sleep(0.02)
                    uow.commit()
                outcomes.append(took)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=take) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert sorted(outcomes) == [False, False, False, True, True, True]
        with storage.unit_of_work() as uow:
            assert not uow.counters.take("daily", 3)

    # -- queries --------------------------------------------------------------------

    def _populate(self, storage: Storage) -> None:
        rows = [
            make_prospect(1, owner="u-alice", team="east", willingness=Willingness.CLEAR,
                          value="5000000"),
            make_prospect(2, owner="u-bob", team="east"),
            make_prospect(3, owner="u-carol", team="west"),
            make_prospect(4, owner="u-alice", team="east", willingness=Willingness.NONE),
            make_prospect(5, owner="u-dan", team=None),
        ]
        with storage.unit_of_work() as uow:
            for row in rows:
                add_prospect(uow, row)
            uow.commit()

    def _ids(self, storage: Storage, query: ProspectQuery) -> list[str]:
        with storage.unit_of_work() as uow:
            return [p.id for p in uow.prospects.find(query)]

    def test_find_orders_by_registration_time_then_id(self, storage: Storage) -> None:
        late = make_prospect(1, at=T0 + timedelta(hours=1))
        early = make_prospect(2, at=T0.astimezone(timezone(timedelta(hours=8))))
        tie = make_prospect(3, at=T0)
        with storage.unit_of_work() as uow:
            for row in (late, early, tie):
                add_prospect(uow, row)
            uow.commit()
        assert self._ids(storage, ProspectQuery(reach=EVERYONE)) == [
            "p-000002", "p-000003", "p-000001"]

    def test_find_pages_with_a_keyset_cursor(self, storage: Storage) -> None:
        self._populate(storage)
        first = self._ids(storage, ProspectQuery(reach=EVERYONE, limit=2))
        with storage.unit_of_work() as uow:
            last = uow.prospects.get(ProspectId(first[-1]))
        rest = self._ids(storage, ProspectQuery(
            reach=EVERYONE, after=(last.registration.at, last.id)))
        assert first == ["p-000001", "p-000002"]
        assert rest == ["p-000003", "p-000004", "p-000005"]

    @pytest.mark.parametrize(
        ("reach", "expected"),
        [
            (Reach(scope=Scope.OWN, principal_id="u-alice", team="east"),
             ["p-000001", "p-000004"]),
            (Reach(scope=Scope.TEAM, principal_id="u-mia", team="east"),
             ["p-000001", "p-000002", "p-000004"]),
            (Reach(scope=Scope.TEAM, principal_id="u-dan", team="west"),
             ["p-000003", "p-000005"]),
            (Reach(scope=Scope.NONE, principal_id="u-alice", team="east"), []),
            (EVERYONE, ["p-000001", "p-000002", "p-000003", "p-000004", "p-000005"]),
        ],
    )
    def test_find_keeps_to_the_reach(
        self, storage: Storage, reach: Reach, expected: list[str]
    ) -> None:
        self._populate(storage)
        assert self._ids(storage, ProspectQuery(reach=reach)) == expected

    def test_find_filters_by_owner_team_grade_and_stage(self, storage: Storage) -> None:
        self._populate(storage)
        assert self._ids(storage, ProspectQuery(reach=EVERYONE, owner="u-bob")) == ["p-000002"]
        assert self._ids(storage, ProspectQuery(reach=EVERYONE, team="west")) == ["p-000003"]
        assert self._ids(storage, ProspectQuery(reach=EVERYONE, grade=Grade.A)) == ["p-000001"]
        assert self._ids(storage, ProspectQuery(reach=EVERYONE, grade=Grade.D)) == ["p-000004"]
        assert self._ids(storage, ProspectQuery(reach=EVERYONE, stage=Stage.LOST)) == []

    def test_counts_by_grade_and_stage(self, storage: Storage) -> None:
        self._populate(storage)
        with storage.unit_of_work() as uow:
            counts = uow.prospects.count_by_grade_and_stage(ProspectQuery(reach=EVERYONE))
            east = uow.prospects.count_by_grade_and_stage(
                ProspectQuery(reach=EVERYONE, team="east"))
        assert counts == {
            (Grade.A, Stage.INITIAL_CONTACT): 1,
            (Grade.B, Stage.INITIAL_CONTACT): 3,
            (Grade.D, Stage.INITIAL_CONTACT): 1,
        }
        assert sum(east.values()) == 3

    def test_furthest_stages_count_the_history_and_the_lost(self, storage: Storage) -> None:
        self._populate(storage)
        with storage.unit_of_work() as uow:
            p1 = uow.prospects.get(ProspectId("p-000001"))
            for stage in (Stage.NEEDS_IDENTIFIED, Stage.PROPOSAL):
                p1 = uow.prospects.update(p1.advance(stage, by="u-alice", at=T0)[0])
            p2 = uow.prospects.get(ProspectId("p-000002"))
            p2 = uow.prospects.update(p2.advance(Stage.NEEDS_IDENTIFIED, by="u-bob",
                                                 at=T0)[0])
            uow.prospects.update(p2.mark_lost(reason="price", by="u-bob", at=T0)[0])
            p3 = uow.prospects.get(ProspectId("p-000003"))
            uow.prospects.update(p3.mark_lost(reason="gone", by="u-carol", at=T0)[0])
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            everyone = uow.prospects.furthest_stages(ProspectQuery(reach=EVERYONE))
            east = uow.prospects.furthest_stages(ProspectQuery(reach=EVERYONE, team="east",
                                                               limit=1))
        assert everyone == {
            (Stage.PROPOSAL, False): 1, (Stage.NEEDS_IDENTIFIED, True): 1,
            (Stage.INITIAL_CONTACT, True): 1, (Stage.INITIAL_CONTACT, False): 2}
        assert east == {(Stage.PROPOSAL, False): 1, (Stage.NEEDS_IDENTIFIED, True): 1,
                        (Stage.INITIAL_CONTACT, False): 1}

    def test_aware_datetimes_read_back_as_the_same_instant(self, storage: Storage) -> None:
        at = datetime(2026, 6, 30, 23, 59, 59, 123456, tzinfo=timezone(timedelta(hours=8)))
        with storage.unit_of_work() as uow:
            add_prospect(uow, make_prospect(1, at=at))
            uow.commit()
        with storage.unit_of_work() as uow:
            loaded = uow.prospects.get(ProspectId("p-000001")).registration.at
        assert loaded == at and loaded.utcoffset() is not None
        assert loaded.astimezone(UTC) == at.astimezone(UTC)

    def test_money_reads_back_exactly(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            add_prospect(uow, make_prospect(1, value="1234567.89"))
            uow.commit()
        with storage.unit_of_work() as uow:
            value = uow.prospects.get(ProspectId("p-000001")).potential_value
        assert str(value.amount) == "1234567.89" and value.currency == "CNY"

    def test_grade_history_reads_back_in_order(self, storage: Storage) -> None:
        policy = DefaultGradingPolicy()
        prospect = make_prospect(1)
        changed, _ = prospect.reassess(willingness=Willingness.CLEAR, potential_value=None,
                                       policy=policy, by="u-alice", at=T0)
        changed, _ = changed.override_grade(Grade.A, reason="board approved", by="u-mia", at=T0)
        with storage.unit_of_work() as uow:
            add_prospect(uow, changed)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.prospects.get(prospect.id).history == changed.history

    # -- principals, audit, events, outbox ----------------------------------------

    def test_principals_round_trip_and_replace(self, storage: Storage) -> None:
        alice = Principal(
            id="u-alice", roles=frozenset({"salesperson", "sample_receiver"}), team="east",
            supervisor_id="u-mia",
            certifications=frozenset({Certification("sample_receiver", T0.date())}),
        )
        with storage.unit_of_work() as uow:
            stored = uow.principals.save(alice)
            uow.commit()
        assert stored == attrs.evolve(alice, version=1)
        with storage.unit_of_work() as uow:
            assert uow.principals.get("u-alice") == stored
            assert uow.principals.get("u-nobody") is None
            again = uow.principals.save(attrs.evolve(
                stored, roles=frozenset({"sales_manager"}), certifications=frozenset(),
                active=False))
            uow.commit()
        with storage.unit_of_work() as uow:
            loaded = uow.principals.get("u-alice")
        assert loaded == again
        assert loaded is not None and loaded.roles == frozenset({"sales_manager"})
        assert not loaded.active and loaded.version == 2 and not loaded.certifications

    def test_a_stale_principal_is_not_saved(self, storage: Storage) -> None:
        """Grants are compare-and-set: a revoke is never lost to a concurrent grant."""
        with storage.unit_of_work() as uow:
            first = uow.principals.save(Principal(id="u-alice", roles=frozenset({"admin"})))
            uow.commit()
        with storage.unit_of_work() as granting:
            seen = granting.principals.get("u-alice")
        assert seen == first
        with storage.unit_of_work() as revoking:
            revoking.principals.save(attrs.evolve(first, roles=frozenset()))
            revoking.commit()
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as granting:
            granting.principals.save(attrs.evolve(seen, team="east"))
            granting.commit()
        with storage.unit_of_work() as uow:
            assert uow.principals.get("u-alice") == attrs.evolve(first, roles=frozenset(),
                                                                  version=2)
            with pytest.raises(ConcurrencyError):
                uow.principals.save(Principal(id="u-alice"))  # version 0: a new one
                uow.commit()

    def test_audit_trail_is_kept_in_sequence_and_refuses_a_taken_slot(
        self, storage: Storage
    ) -> None:
        first = chain_entry(None, resource_kind="prospect", resource_id="p-1",
                            actor_id="u-a", action="register", at=T0, after={"grade": "A"})
        second = chain_entry(first, resource_kind="prospect", resource_id="p-1",
                             actor_id="u-a", action="advance", at=T0, before={"stage": "x"})
        with storage.unit_of_work() as uow:
            uow.audit.append(first)
            uow.audit.append(second)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.audit.trail("prospect", "p-1")) == [first, second]
            assert list(uow.audit.trail("prospect", "p-2")) == []
            uow.audit.append(chain_entry(None, resource_kind="customer", resource_id="c-9",
                                         actor_id="u-a", action="create", at=T0))
            assert list(uow.audit.trails()) == [("customer", "c-9"), ("prospect", "p-1")]
        with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
            uow.audit.append(second)
            uow.commit()

    def test_append_many_keeps_all_or_none_of_its_entries(self, storage: Storage) -> None:
        def entry(resource_id: str, previous: AuditEntry | None = None) -> AuditEntry:
            return chain_entry(previous, resource_kind="prospect", resource_id=resource_id,
                               actor_id="u-a", action="register", at=T0)

        one, two = entry("p-1"), entry("p-2")
        with storage.unit_of_work() as uow:
            uow.audit.append(one)
            with pytest.raises(ConcurrencyError):
                uow.audit.append_many([two, entry("p-1", one), entry("p-3"), one, entry("p-4")])
            assert list(uow.audit.trail("prospect", "p-1")) == [one]
            assert list(uow.audit.trails()) == [("prospect", "p-1")]
            uow.audit.append_many([two, entry("p-1", one)])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.audit.trail("prospect", "p-1")) == [one, entry("p-1", one)]
            assert list(uow.audit.trail("prospect", "p-2")) == [two]

    def test_chain_heads_are_replaced_and_kept_only_on_commit(self, storage: Storage) -> None:
        head = ChainHead(chain="audit:sample", chain_id="s-1", length=1, head_hash="a" * 64,
                         seal="s" * 64)
        other = ChainHead(chain="custody", chain_id="s-1", length=3, head_hash="b" * 64)
        with storage.unit_of_work() as uow:
            uow.heads.save(head)
            uow.heads.save(other)
            assert uow.heads.get("audit:sample", "s-1") == head
            uow.commit()
        moved = attrs.evolve(head, length=2, head_hash="c" * 64, seal="t" * 200)
        with storage.unit_of_work() as uow:
            assert uow.heads.get("audit:sample", "s-1") == head
            assert uow.heads.get("custody", "s-1") == other
            assert uow.heads.get("custody", "s-2") is None
            uow.heads.save(moved)
            uow.heads.save(attrs.evolve(other, length=9))
            uow.rollback()
        with storage.unit_of_work() as uow:
            assert uow.heads.get("custody", "s-1") == other
            uow.heads.save(moved)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.heads.get("audit:sample", "s-1") == moved

    def test_chain_heads_of_new_chains_are_added_in_bulk_all_or_nothing(
        self, storage: Storage
    ) -> None:
        heads = [ChainHead(chain="audit:sample", chain_id=f"s-{i}", length=1,
                           head_hash=f"{i:x}" * 64, seal=None if i % 2 else "s" * 64)
                 for i in range(3)]
        with storage.unit_of_work() as uow:
            uow.heads.add_many(heads)
            uow.heads.add_many([])
            assert uow.heads.get("audit:sample", "s-1") == heads[1]
            uow.commit()
        with storage.unit_of_work() as uow:
            assert [uow.heads.get("audit:sample", f"s-{i}") for i in range(3)] == heads
        new = ChainHead(chain="audit:sample", chain_id="s-9", length=1, head_hash="9" * 64)
        for batch in ([new, attrs.evolve(heads[0], length=2)], [new, new]):
            with pytest.raises(ConcurrencyError), storage.unit_of_work() as uow:
                uow.heads.add_many(batch)
                uow.commit()
            with storage.unit_of_work() as uow:
                assert uow.heads.get("audit:sample", "s-9") is None
                assert uow.heads.get("audit:sample", "s-0") == heads[0]

    def test_chain_head_ids_are_listed_by_chain_staged_ones_too(self, storage: Storage) -> None:
        def head(chain: str, chain_id: str) -> ChainHead:
            return ChainHead(chain=chain, chain_id=chain_id, length=0, head_hash="e" * 64)

        with storage.unit_of_work() as uow:
            uow.heads.add_many([head("audit:sample", "s-2"), head("custody", "c-1")])
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.heads.save(head("audit:sample", "s-1"))
            assert list(uow.heads.ids("audit:sample")) == ["s-1", "s-2"]
            assert list(uow.heads.ids("custody")) == ["c-1"]
            assert list(uow.heads.ids("audit:customer")) == []
        with storage.unit_of_work() as uow:  # rolled back
            assert list(uow.heads.ids("audit:sample")) == ["s-2"]

    def test_a_prospects_trail_head_is_kept_only_for_a_stored_prospect(
        self, storage: Storage
    ) -> None:
        """The head of a prospect's audit trail is its prospect's (the SQL storage keeps
        it in the prospect's row): none for a prospect not stored, and a refused call
        changes nothing."""
        one, two = make_prospect(1), make_prospect(2)

        def head(prospect: Prospect, length: int = 1) -> ChainHead:
            return ChainHead(chain=PROSPECT_TRAILS, chain_id=prospect.id, length=length,
                             head_hash=f"{length:x}" * 64, seal="s" * 200)

        with storage.unit_of_work() as uow:
            add_prospect(uow, one)
            refused: list[Callable[[], None]] = [
                lambda: uow.heads.save(head(two)),
                lambda: uow.heads.add_many([head(two)]),
                lambda: uow.heads.add_many([head(one), head(two)])]
            for write in refused:
                with pytest.raises(NotFound):
                    write()
            assert uow.heads.get(PROSPECT_TRAILS, one.id) is None
            assert list(uow.heads.ids(PROSPECT_TRAILS)) == []
            uow.heads.add_many([head(one)])
            assert uow.heads.get(PROSPECT_TRAILS, one.id) == head(one)
            uow.commit()
        with storage.unit_of_work() as uow:
            add_prospect(uow, two)
            with pytest.raises(ConcurrencyError):
                uow.heads.add_many([head(two), head(one)])
            assert uow.heads.get(PROSPECT_TRAILS, two.id) is None
            uow.heads.save(head(one, 2))
            uow.heads.add_many([head(two)])
            assert list(uow.heads.ids(PROSPECT_TRAILS)) == sorted((one.id, two.id))
            uow.rollback()
        with storage.unit_of_work() as uow:
            assert uow.heads.get(PROSPECT_TRAILS, one.id) == head(one)
            assert uow.heads.get(PROSPECT_TRAILS, two.id) is None
            assert list(uow.heads.ids(PROSPECT_TRAILS)) == [one.id]
            assert uow.prospects.get(ProspectId(one.id)) is not None

    def test_add_writes_the_trail_head_it_is_given_and_refuses_anothers(
        self, storage: Storage
    ) -> None:
        one, two = make_prospect(1), make_prospect(2)
        head = ChainHead(chain=PROSPECT_TRAILS, chain_id=one.id, length=1,
                         head_hash="a" * 64, seal="s" * 64)
        wrongs = [attrs.evolve(head, chain_id=two.id), attrs.evolve(head, chain="custody"),
                  attrs.evolve(head, length=2**70), attrs.evolve(head, length=-1),
                  attrs.evolve(head, length="1"),  # type: ignore[arg-type]
                  attrs.evolve(head, head_hash="A" * 64),
                  attrs.evolve(head, head_hash="a" * 63), attrs.evolve(head, seal="s" * 201),
                  attrs.evolve(head, seal="s\ud800"), attrs.evolve(head, seal="s\x00"),
                  attrs.evolve(head, seal=b"s"),  # type: ignore[arg-type]
                  attrs.evolve(head, seal="")]
        for wrong in wrongs:
            with storage.unit_of_work() as uow:
                with pytest.raises(ValidationError) as refused:
                    uow.prospects.add(one, keys_of(one), None, wrong)
                assert refused.value.field == "trail"
                assert uow.heads.get(PROSPECT_TRAILS, one.id) is None
                with pytest.raises(NotFound):
                    uow.prospects.get(one.id)
        with storage.unit_of_work() as uow:
            uow.prospects.add(one, keys_of(one), None, head)
            assert uow.heads.get(PROSPECT_TRAILS, one.id) == head
            with pytest.raises(ClaimConflict):  # the same keys: refused, no head
                uow.prospects.add(same_person_as(one, 2), keys_of(one), None,
                                  attrs.evolve(head, chain_id=make_prospect(2).id))
            assert uow.heads.get(PROSPECT_TRAILS, make_prospect(2).id) is None
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.heads.get(PROSPECT_TRAILS, one.id) == head
            assert list(uow.heads.ids(PROSPECT_TRAILS)) == [one.id]

    def test_an_update_keeps_the_prospects_trail_head(self, storage: Storage) -> None:
        """A storage that keeps the head in the prospect's row keeps it through every
        write of the row that is not the head's own."""
        one = make_prospect(1)
        head = ChainHead(chain=PROSPECT_TRAILS, chain_id=one.id, length=1,
                         head_hash="a" * 64, seal="s" * 64)
        with storage.unit_of_work() as uow:
            stored = uow.prospects.add(one, keys_of(one), None, head)
            uow.commit()
        regraded, _ = stored.override_grade(Grade.A, reason="met", by="u-mia", at=T0)
        with storage.unit_of_work() as uow:
            changed = uow.prospects.update(regraded)
            released = uow.prospects.update(changed, frozenset())
            uow.prospects.update(released, keys_of(one))
            uow.prospects.replace_keys({one.id: keys_of(same_person_as(one, 3))})
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.heads.get(PROSPECT_TRAILS, one.id) == head
            assert uow.prospects.get(one.id).grade is Grade.A

    def test_a_head_no_storage_keeps_is_refused_and_changes_nothing(
        self, storage: Storage
    ) -> None:
        kept = ChainHead(chain="audit:sample", chain_id="s-1", length=1, head_hash="a" * 64)
        wrongs: list[ChainHead] = [attrs.evolve(kept, length=-1), attrs.evolve(kept, length=2**70),
                  attrs.evolve(kept, length="1"),  # type: ignore[arg-type]
                  attrs.evolve(kept, head_hash=""), attrs.evolve(kept, head_hash="A" * 64),
                  attrs.evolve(kept, head_hash="a" * 65), attrs.evolve(kept, seal="s\nt"),
                  attrs.evolve(kept, seal="s\x00"), attrs.evolve(kept, seal="s" * 201),
                  attrs.evolve(kept, seal=""), attrs.evolve(kept, chain_id="s\ud800"),
                  attrs.evolve(kept, chain_id="s\x00"), attrs.evolve(kept, chain_id=" "),
                  attrs.evolve(kept, chain="c" * 61),
                  "audit:sample s-1"]  # type: ignore[list-item]  # not a head at all
        with storage.unit_of_work() as uow:
            uow.heads.save(kept)
            uow.commit()
        fine = ChainHead(chain="audit:sample", chain_id="s-2", length=0, head_hash="b" * 64)
        for wrong in wrongs:
            with storage.unit_of_work() as uow:
                with pytest.raises(ValidationError) as refused:
                    uow.heads.save(wrong)
                assert refused.value.field == "head"
                with pytest.raises(ValidationError) as refused:
                    uow.heads.add_many([fine, wrong])
                assert refused.value.field == "head"
                uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.heads.get("audit:sample", "s-1") == kept
            assert list(uow.heads.ids("audit:sample")) == ["s-1"]
        longest = attrs.evolve(kept, chain="c" * 60, chain_id="i" * 200, length=2**31 - 1,
                               seal="\u5370" * 200)
        with storage.unit_of_work() as uow:
            uow.heads.save(longest)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.heads.get("c" * 60, "i" * 200) == longest

    def test_an_import_entry_is_found_by_its_hash(self, storage: Storage) -> None:
        first = import_entry(None, import_id="imp-1", prospect_ids=["p-1", "p-2"],
                             actor_id="u-a", at=T0)
        moved = ChainHead(chain="audit:prospect_import", chain_id="imp-1", length=1,
                          head_hash=first.hash)
        second = import_entry(moved, import_id="imp-1", prospect_ids=["p-3"],
                              actor_id="u-a", at=T0)
        other = chain_entry(None, resource_kind="prospect", resource_id="p-1",
                            actor_id="u-a", action="register", at=T0, origin=first.hash)
        with storage.unit_of_work() as uow:
            uow.audit.append_many([first, other])
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.audit.append(second)
            assert (second.sequence, second.previous_hash) == (1, first.hash)
            assert uow.audit.import_entry(second.hash) == second  # staged
            assert uow.audit.import_entry(first.hash) == first
            assert uow.audit.import_entry(other.hash) is None  # another kind
            assert uow.audit.import_entry("0" * 64) is None

    def test_events_read_back_equal_in_order(self, storage: Storage) -> None:
        events = [
            GradeChanged(actor_id="u-a", occurred_at=T0 + timedelta(seconds=i),
                         prospect_id=ProspectId(f"p-{i}"), before=Grade.C, after=Grade.B,
                         reason="r", manual=False)
            for i in range(3)
        ]
        with storage.unit_of_work() as uow:
            for event in events:
                uow.events.append(event)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.events.all()) == events
