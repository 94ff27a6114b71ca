"""The open pool (公海), reached as ``app.pool``: lapse, release and claim.

Off unless ``Settings(ownership_lapse=True)``. A prospect nobody followed up
within its grade's protection window is released (its identity keys are freed);
the owner is warned a few days before. Any salesperson may then take it, except
its previous owner during a cool-down, and only so many per day.
"""

from __future__ import annotations

from datetime import date, timedelta

from attrs import frozen

from custmgmt.domain.common import DomainEvent, ProspectId, RegistrationId
from custmgmt.domain.followups import FollowUpPlan
from custmgmt.domain.prospects import Prospect
from custmgmt.domain.validation import require_date, require_id
from custmgmt.errors import (
    ConcurrencyError,
    InvalidTransition,
    PermissionDenied,
    ValidationError,
)
from custmgmt.ports.auth import Action, Principal, Reach, Scope
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import ProspectQuery, UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded
from custmgmt.services.followups import PlanKeeper
from custmgmt.services.inputs import page_limit
from custmgmt.services.prospects import KIND, snapshot


@frozen
class LapseReport:
    """Prospect ids warned of a coming lapse and released to the pool in one run."""

    warned: tuple[str, ...]
    released: tuple[str, ...]


@guarded
class PoolService(Described):
    """The open pool of prospects whose protection lapsed, reached as ``app.pool``."""

    def __init__(self, context: Context, keeper: PlanKeeper) -> None:
        self._ctx = context
        self._keeper = keeper

    def _require_enabled(self) -> None:
        if not self._ctx.settings.ownership_lapse:
            raise ValidationError("ownership_lapse", "is off; enable it in Settings")

    def _lapses_on(self, plan: FollowUpPlan) -> date:
        return plan.anchor + timedelta(days=self._ctx.settings.protection_days[plan.grade])

    def release_lapsed(self, actor: Principal, *, on: date | None = None) -> LapseReport:
        """Warn owners of prospects about to lapse; release those that have."""
        self._require_enabled()
        day = self._ctx.today() if on is None else require_date("on", on)
        warn_days = self._ctx.settings.lapse_warning_days
        warned: list[str] = []
        released: list[str] = []
        events: list[DomainEvent] = []
        with self._ctx.storage.unit_of_work() as uow:
            who, reach = self._ctx.reach(uow, actor, Action.POOL_RELEASE)
            for plan in uow.plans.due(reach, date.max):
                if not plan.stage.is_open:   # a won prospect is a customer: it stays
                    continue
                lapse = self._lapses_on(plan)
                if day >= lapse:
                    events.extend(self._release(uow, who, plan))
                    released.append(plan.prospect_id)
                elif day >= lapse - timedelta(days=warn_days) and uow.outbox.add(
                        self._warning(plan, lapse)):
                    warned.append(plan.prospect_id)
            self._ctx.finish(uow, events)
        return LapseReport(warned=tuple(warned), released=tuple(released))

    def _release(
        self, uow: UnitOfWork, actor: Principal, plan: FollowUpPlan
    ) -> tuple[DomainEvent, ...]:
        now = self._ctx.now()
        prospect = uow.prospects.get(plan.prospect_id)
        changed, events = prospect.release(
            reason=f"no follow-up since {plan.anchor.isoformat()}", by=actor.id, at=now)
        stored = uow.prospects.update(changed, frozenset())
        self._keeper(uow, [stored], False)
        self._ctx.audit(uow, actor, kind=KIND, resource_id=stored.id, action="release",
                        at=now, before=snapshot(prospect), after=snapshot(stored))
        return events

    def _warning(self, plan: FollowUpPlan, lapse: date) -> Notification:
        return Notification(
            id=self._ctx.ids.new_id("n"), recipient_id=plan.owner_id, kind="pool.lapse_warning",
            subject=f"Prospect {plan.prospect_id} returns to the open pool on {lapse}",
            body="Record a follow-up before then to keep it.", created_at=self._ctx.now(),
            dedupe_key=f"lapse-warning:{plan.prospect_id}:{lapse.isoformat()}",
        )

    def available(self, actor: Principal, *, limit: int = 50) -> tuple[Prospect, ...]:
        """Prospects waiting in the pool, oldest registration first."""
        self._require_enabled()
        size = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            who = self._ctx.authorize(uow, actor, Action.POOL_CLAIM)
            query = ProspectQuery(reach=Reach(scope=Scope.ANY, principal_id=who.id),
                                  registration_active=False, limit=size)
            return tuple(p for p in uow.prospects.find(query) if p.in_pool)

    def claim(self, actor: Principal, prospect_id: str) -> Prospect:
        """Take a prospect from the pool; it is registered anew to the actor.

        Of two salespeople taking the same prospect at once exactly one wins; the
        other gets ClaimConflict naming the winner.
        """
        self._require_enabled()
        pid = ProspectId(require_id("prospect_id", prospect_id))
        try:
            return self._claim(actor, pid)
        except ConcurrencyError:
            with self._ctx.storage.unit_of_work(read_only=True) as uow:
                now_held = uow.prospects.get(pid)
            if now_held.in_pool:
                raise
            raise now_held.claim_conflict() from None

    def _claim(self, actor: Principal, prospect_id: ProspectId) -> Prospect:
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.POOL_CLAIM)
            prospect = uow.prospects.get(prospect_id)
            if prospect.registration_active:
                raise prospect.claim_conflict()
            if not prospect.in_pool:
                raise InvalidTransition(prospect.stage.value, "claimed", "closed prospects "
                                        "are not in the pool")
            self._check_cooldown(who, prospect)
            self._check_daily_cap(uow, who)
            changed, events = prospect.claim(
                owner=who.id, team=who.team,
                registration_id=RegistrationId(self._ctx.ids.new_id("r")), at=now)
            stored = uow.prospects.update(changed, changed.held_keys(self._ctx.settings.key_ring))
            self._keeper(uow, [stored], False)
            self._ctx.audit(uow, who, kind=KIND, resource_id=stored.id, action="claim",
                            at=now, before=snapshot(prospect), after=snapshot(stored))
            self._ctx.finish(uow, events)
        return stored

    def _check_cooldown(self, actor: Principal, prospect: Prospect) -> None:
        released = prospect.released_at()
        if prospect.owner_id != actor.id or released is None:
            return
        local = released.astimezone(self._ctx.settings.zone).date()
        until = local + timedelta(days=self._ctx.settings.pool_cooldown_days)
        if self._ctx.today() < until:
            raise PermissionDenied(actor.id, Action.POOL_CLAIM.value,
                                   f"you let it lapse; cool-down until {until.isoformat()}")

    def _check_daily_cap(self, uow: UnitOfWork, actor: Principal) -> None:
        """Take one of today's ``pool_daily_cap`` claims from a counter the storage keeps
        (a row updated atomically in SQL), so parallel claims cannot pass the cap."""
        cap = self._ctx.settings.pool_daily_cap
        counter = f"pool-claims:{actor.id}:{self._ctx.today().isoformat()}"
        if not uow.counters.take(counter, cap):
            raise PermissionDenied(actor.id, Action.POOL_CLAIM.value,
                                   f"daily cap of {cap} prospects from the pool reached")

