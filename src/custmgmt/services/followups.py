"""Follow-up use cases, reached as ``app.followups``: record, what is due, reminders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from custmgmt.domain.common import ProspectId
from custmgmt.domain.customers import Purpose
from custmgmt.domain.followups import (
    CadencePolicy,
    Channel,
    ClosedMonth,
    DueItem,
    FollowUp,
    FollowUpPlan,
    FollowUpRecorded,
    after_follow_up,
    check_can_follow_up,
    derive_plan,
    first_plan_dates,
    first_plans,
)
from custmgmt.domain.prospects import Grade, Prospect
from custmgmt.domain.registrations import FirstPlans, RegistrationBatch
from custmgmt.domain.validation import (
    require_aware,
    require_date,
    require_enum,
    require_id,
    require_text,
)
from custmgmt.errors import PermissionDenied, ValidationError
from custmgmt.ports.auth import Action, Principal, Reach, Resource
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import FollowUpQuery, UnitOfWork
from custmgmt.services.collector import fewer_young_collections
from custmgmt.services.consent import require_follow_up_consent
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import optional_text
from custmgmt.services.prospects import KIND, resource_of


class PlanKeeper:
    """Keeps every prospect's follow-up plan in step with the prospect, in the same
    unit of work as the change (the prospect service calls it)."""

    def __init__(self, context: Context, policy: CadencePolicy) -> None:
        self._ctx = context
        self.policy = policy

    def __call__(self, uow: UnitOfWork, prospects: Sequence[Prospect], new: bool) -> None:
        today = self._ctx.today()
        if new:
            uow.plans.add_many([derive_plan(p, None, self.policy, today) for p in prospects])
            return
        for prospect in prospects:
            previous = uow.plans.get(prospect.id)
            plan = derive_plan(prospect, previous, self.policy, today)
            if plan != previous:
                uow.plans.save(plan)
            # Records follow ownership: the new owner (and manager) read the whole
            # history, the former ones none of it. Told at every change: a plan's owner
            # is its prospect's, so the plan read cannot say whether the owner changed.
            uow.follow_ups.reassign(prospect.id, prospect.owner_id, prospect.owner_team)

    def first_plan(self, prospect: Prospect) -> FollowUpPlan | None:
        """The first plan of ``prospect`` about to be registered (what calling the keeper
        with it would store), for storage to write with its row; None from a subclass
        with a ``__call__`` of its own, which is then called instead."""
        if type(self).__call__ is not PlanKeeper.__call__:
            return None
        return derive_plan(prospect, None, self.policy, self._ctx.today())

    def plan_batch(self, uow: UnitOfWork, batch: RegistrationBatch) -> None:
        """The first plan of each prospect of a batch just registered."""
        uow.plans.add_many(first_plans(batch, self.policy, self._ctx.today()))

    def first_plans_of(self, grades: Sequence[Grade]) -> FirstPlans | None:
        """The first plans of a batch's rows of ``grades`` (what ``plan_batch`` would
        write), for the batch to carry and storage to write with its rows; None from a
        subclass with a ``plan_batch`` of its own, which is then called instead."""
        if type(self).plan_batch is not PlanKeeper.plan_batch:
            return None
        return first_plan_dates(grades, self.policy, self._ctx.today())


REMEMBERED_REACHES = 4096
"""How many actors' last reach ``FollowUpService.due`` remembers (then it starts over)."""
LONG_LIST = 500
"""A due list this long is read with fewer young garbage collections (``collector``)."""


def closed_for(closures: Sequence[ClosedMonth], month: str, team: str | None) -> bool:
    """Whether ``month`` is closed for ``team`` (or for everyone) by one of ``closures``."""
    return any(c.covers(month, team) for c in closures)


@guarded
class FollowUpService(Described):
    """Follow-up plans, records, due lists and reminders, reached as ``app.followups``."""

    def __init__(self, context: Context, keeper: PlanKeeper) -> None:
        self._ctx = context
        self._keeper = keeper
        self._reaches: dict[str, tuple[Reach, bool, Principal | None]] = {}
        """The reach each actor's grants gave at their last due list (a guess only),
        whether that list was long, and the actor's principal as storage had it then
        (storage checks it is unchanged, see ``PlanRepository.due_for``)."""

    def _local(self, moment: datetime) -> date:
        return moment.astimezone(self._ctx.settings.zone).date()

    def record(
        self,
        actor: Principal,
        prospect_id: str,
        *,
        channel: Channel | str,
        summary: str,
        at: datetime | None = None,
        needs: str | None = None,
        problems: str | None = None,
        outcome: str | None = None,
        next_step: str | None = None,
        next_due: date | None = None,
        reason: str | None = None,
        on_behalf_of: str | None = None,
        purpose: Purpose | str = Purpose.SALES,
    ) -> FollowUp:
        """Record a follow-up (跟进记录) and move the prospect's plan forward.

        Open and won prospects (customers) are followed up; lost ones are not.
        Only genuine records count ("以真实的拜访记录为准"): ``at`` defaults to now,
        may not be in the future, before the prospect's registration, in a closed
        month, or more than ``Settings.record_window_days`` local days back — a
        sales manager may record an older one with a ``reason``, kept on the record.
        ``next_due`` sets the next follow-up by hand: earlier than the cadence
        freely; later only by a sales manager with a ``reason``. A sales manager may
        record the contact ``on_behalf_of`` the salesperson who made it (the visit
        point is theirs; the record keeps who entered it). ``purpose`` is ``sales``
        (default) or ``marketing``: a marketing contact by phone, e-mail or post needs
        the person's marketing consent on that channel (``ConsentRequired``).
        """
        now = self._ctx.now()
        wanted = require_enum("purpose", Purpose, purpose)
        if wanted not in (Purpose.SALES, Purpose.MARKETING):
            raise ValidationError("purpose", "must be one of: sales, marketing")
        kind = require_enum("channel", Channel, channel)
        text = require_text("summary", summary, 4000)
        when = now if at is None else require_aware("at", at)
        if when > now:
            raise ValidationError("at", "is in the future")
        local = self._local(when)
        override = None if next_due is None else require_date("next_due", next_due)
        why = optional_text("reason", reason, 2000)
        made_by = None if on_behalf_of is None else require_id("on_behalf_of", on_behalf_of)
        details = {name: optional_text(name, value, 4000) for name, value in (
            ("needs", needs), ("problems", problems), ("outcome", outcome),
            ("next_step", next_step))}
        pid = ProspectId(require_id("prospect_id", prospect_id))
        with self._ctx.storage.unit_of_work() as uow:
            who, prospect = self._load(uow, actor, Action.FOLLOWUP_RECORD, pid)
            resource = resource_of(prospect)
            check_can_follow_up(prospect)
            keys = self._ctx.settings.key_ring.keys_of(prospect.profile)
            self._ctx.guard.check_prospect(uow, keys, prospect.customer_id, Purpose.SALES, now)
            if wanted is Purpose.MARKETING:
                require_follow_up_consent(uow, self._ctx, prospect.customer_id, keys, kind,
                                          when)
            if made_by is not None:
                self._for_someone_else(uow, who, resource, made_by)
            self._check_genuine(uow, who, prospect, resource, when, local, why)
            plan = uow.plans.get(prospect.id) or derive_plan(
                prospect, None, self._keeper.policy, local)
            if override is not None and override > plan.by_cadence(
                    self._keeper.policy, max(plan.anchor, local)):
                self._exception(who, resource, why, "next_due",
                                "is later than the cadence allows")
            moved = uow.plans.save(after_follow_up(plan, local, override, self._keeper.policy))
            record = FollowUp(
                id=self._ctx.ids.new_id("f"), prospect_id=prospect.id,
                owner_id=prospect.owner_id, owner_team=prospect.owner_team,
                by=made_by or who.id, recorded_by=None if made_by is None else who.id,
                channel=kind, at=when, local_date=local, summary=text, next_due=override,
                due_on=plan.next_due, recorded_at=now, stage=prospect.stage, reason=why,
                **details,
            )
            uow.follow_ups.add(record)
            self._ctx.audit(uow, who, kind=KIND, resource_id=prospect.id,
                            action="follow_up", at=now,
                            before={"next_due": plan.next_due.isoformat()},
                            after={"next_due": moved.next_due.isoformat(),
                                   "channel": kind.value})
            self._ctx.finish(uow, [FollowUpRecorded(
                actor_id=who.id, occurred_at=now, prospect_id=prospect.id,
                follow_up_id=record.id, channel=kind, next_due=moved.next_due)])
        return record

    def _for_someone_else(
        self, uow: UnitOfWork, actor: Principal, resource: Resource, made_by: str
    ) -> None:
        """Only a sales manager enters a contact someone else made, and only a known one's."""
        try:
            self._ctx.authorizer.check(actor, Action.FOLLOWUP_OVERRIDE, resource)
        except PermissionDenied:
            raise PermissionDenied(actor.id, Action.FOLLOWUP_OVERRIDE.value, "only a sales "
                                   "manager records a contact someone else made") from None
        if self._ctx.known(uow, made_by) is None:
            raise ValidationError("on_behalf_of", "is not a known, active principal")

    def _exception(
        self, actor: Principal, resource: Resource, reason: str | None, field: str, what: str
    ) -> None:
        """An exception to the follow-up rules: a sales manager's, with a reason."""
        if reason is None:
            raise ValidationError(field, f"{what}; a sales manager may allow it with a reason")
        try:
            self._ctx.authorizer.check(actor, Action.FOLLOWUP_OVERRIDE, resource)
        except PermissionDenied:
            raise PermissionDenied(actor.id, Action.FOLLOWUP_OVERRIDE.value,
                                   f"{field} {what}: only a sales manager may allow it") from None

    def _check_genuine(
        self, uow: UnitOfWork, actor: Principal, prospect: Prospect, resource: Resource,
        when: datetime, local: date, reason: str | None,
    ) -> None:
        """Only genuine records: not before registration, not in a closed month, not
        older than the record window unless a manager records it late with a reason."""
        if when < prospect.first_registered_at:
            raise ValidationError("at", "is before the prospect was registered")
        month = f"{local.year:04d}-{local.month:02d}"
        if closed_for(uow.closed_months.find(month), month, prospect.owner_team):
            raise ValidationError("at", f"falls in {month}, a month whose report is closed")
        window = self._ctx.settings.record_window_days
        if (self._ctx.today() - local).days > window:
            self._exception(actor, resource, reason, "at",
                            f"is more than {window} day(s) in the past")

    def _load(
        self, uow: UnitOfWork, actor: Principal, action: Action, prospect_id: ProspectId
    ) -> tuple[Principal, Prospect]:
        return self._ctx.load(uow, actor, action, KIND, prospect_id,
                              lambda i: uow.prospects.get(ProspectId(i)), resource_of)

    def plan(self, actor: Principal, prospect_id: str) -> FollowUpPlan | None:
        """The prospect's current plan (None if it never had one)."""
        pid = ProspectId(require_id("prospect_id", prospect_id))
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._load(uow, actor, Action.FOLLOWUP_READ, pid)
            return uow.plans.get(pid)

    def history(
        self, actor: Principal, *, prospect_id: str | None = None, owner: str | None = None,
        date_from: date | None = None, date_to: date | None = None,
    ) -> tuple[FollowUp, ...]:
        """Follow-up records the actor may read, oldest first."""
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            reach = self._ctx.reach(uow, actor, Action.FOLLOWUP_READ)[1]
            query = FollowUpQuery(reach=reach, owner=owner, prospect_id=prospect_id,
                                  date_from=date_from, date_to=date_to)
            return tuple(uow.follow_ups.find(query))

    def due(
        self, actor: Principal, *, on: date | None = None, owner: str | None = None
    ) -> tuple[DueItem, ...]:
        """Prospects due for a follow-up on or before ``on`` (default: local today), for
        the actor (a manager: the team), by priority: grade, then how late."""
        # the edge checked ``actor`` (a Principal) and ``on`` (a date in range)
        day = self._ctx.today() if on is None else on
        claimed = actor
        action = Action.FOLLOWUP_READ
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            # The actor's grants are read with the list, in one statement: the list is
            # read for the reach their grants gave last time, and kept only if the
            # grants just read give the same (a changed right takes effect at once).
            guess, long, known = self._reaches.get(claimed.id, (None, False, None))
            if guess is None:  # first time: the grants first, then both together
                guess = self._ctx.reach(uow, claimed, action)[1]
            for _ in range(3):
                # the principal as last read: storage may check it is unchanged instead
                # of reading it again
                if long:
                    # a long list (the actor's last one was) is thousands of new
                    # objects, which die with the list or live on with it: the young
                    # collections every 700 of them would walk them for nothing
                    with fewer_young_collections():
                        stored, items = uow.plans.due_for(claimed.id, guess, day, owner,
                                                          known)
                else:
                    stored, items = uow.plans.due_for(claimed.id, guess, day, owner, known)
                reach = self._ctx.reach_from(claimed, stored, action)
                if reach == guess:
                    if len(self._reaches) >= REMEMBERED_REACHES:
                        self._reaches.clear()
                    self._reaches[claimed.id] = (reach, len(items) >= LONG_LIST, stored)
                    return tuple(items)
                guess, known = reach, None
            # the grants changed at every read: the list of the last ones read
            return tuple(uow.plans.due_items(reach, day, owner))

    def overdue(
        self, actor: Principal, *, on: date | None = None, owner: str | None = None
    ) -> tuple[DueItem, ...]:
        """Like ``due`` but only those already late on ``on``."""
        return tuple(i for i in self.due(actor, on=on, owner=owner) if i.days_late > 0)

    def send_reminders(self, actor: Principal, *, on: date | None = None) -> int:
        """Queue overdue reminders: to the owner, and after the grace period to the
        owner's supervisor. Each (prospect, due date, recipient) is queued once."""
        day = self._ctx.today() if on is None else require_date("on", on)
        grace = self._ctx.settings.manager_reminder_grace_days
        queued = 0
        with self._ctx.storage.unit_of_work() as uow:
            reach = self._ctx.reach(uow, actor, Action.FOLLOWUP_REMIND)[1]
            for plan in uow.plans.due(reach, day):
                late = plan.days_late(day)
                if late == 0:
                    continue
                recipients = [plan.owner_id]
                owner = uow.principals.get(plan.owner_id)
                if late >= grace and owner is not None and owner.supervisor_id:
                    recipients.append(owner.supervisor_id)
                for recipient in recipients:
                    queued += uow.outbox.add(self._reminder(plan, recipient, late))
            uow.commit()
        return queued

    def _reminder(self, plan: FollowUpPlan, recipient: str, late: int) -> Notification:
        return Notification(
            id=self._ctx.ids.new_id("n"), recipient_id=recipient, kind="followup.overdue",
            subject=f"Follow-up overdue: prospect {plan.prospect_id} (grade {plan.grade.value})",
            body=f"Due {plan.next_due.isoformat()}, {late} day(s) late; owner {plan.owner_id}.",
            created_at=self._ctx.now(),
            dedupe_key=f"overdue:{plan.prospect_id}:{plan.next_due.isoformat()}:{recipient}",
        )
