"""Follow-up use cases, reached as ``app.followups``: record, what is due, reminders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from attrs import frozen

from custmgmt.domain.common import ProspectId
from custmgmt.domain.followups import (
    CadencePolicy,
    Channel,
    FollowUp,
    FollowUpPlan,
    FollowUpRecorded,
    after_follow_up,
    check_can_follow_up,
    derive_plan,
)
from custmgmt.domain.prospects import Grade, Prospect
from custmgmt.domain.validation import (
    require_aware,
    require_date,
    require_enum,
    require_id,
    require_text,
)
from custmgmt.errors import ValidationError
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import FollowUpQuery, UnitOfWork
from custmgmt.services.context import Context
from custmgmt.services.inputs import optional_text
from custmgmt.services.prospects import KIND, resource_of


@frozen
class DueItem:
    """One prospect waiting for a follow-up. No personal data: look the prospect up."""

    prospect_id: str
    owner_id: str
    grade: Grade
    next_due: date
    days_late: int


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


class FollowUpService:
    def __init__(self, context: Context, keeper: PlanKeeper) -> None:
        self._ctx = context
        self._keeper = keeper

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
    ) -> FollowUp:
        """Record a follow-up (跟进记录) and move the prospect's plan forward.

        ``at`` defaults to now and may not be in the future; ``next_due`` sets the
        next follow-up date by hand (not before this one).
        """
        now = self._ctx.now()
        kind = require_enum("channel", Channel, channel)
        text = require_text("summary", summary, 4000)
        when = now if at is None else require_aware("at", at)
        if when > now:
            raise ValidationError("at", "is in the future")
        local = self._local(when)
        override = None if next_due is None else require_date("next_due", next_due)
        details = {name: optional_text(name, value, 4000) for name, value in (
            ("needs", needs), ("problems", problems), ("outcome", outcome),
            ("next_step", next_step))}
        pid = ProspectId(require_id("prospect_id", prospect_id))
        with self._ctx.storage.unit_of_work() as uow:
            prospect = uow.prospects.get(pid)
            self._ctx.authorizer.check(actor, Action.FOLLOWUP_RECORD, resource_of(prospect))
            check_can_follow_up(prospect)
            plan = uow.plans.get(prospect.id) or derive_plan(
                prospect, None, self._keeper.policy, local)
            moved = uow.plans.save(after_follow_up(plan, local, override, self._keeper.policy))
            record = FollowUp(
                id=self._ctx.ids.new_id("f"), prospect_id=prospect.id,
                owner_id=prospect.owner_id, owner_team=prospect.owner_team, by=actor.id,
                channel=kind, at=when, local_date=local, summary=text, next_due=override,
                due_on=plan.next_due, recorded_at=now, **details,
            )
            uow.follow_ups.add(record)
            self._ctx.audit(uow, actor, kind=KIND, resource_id=prospect.id,
                            action="follow_up", at=now,
                            before={"next_due": plan.next_due.isoformat()},
                            after={"next_due": moved.next_due.isoformat(),
                                   "channel": kind.value})
            self._ctx.finish(uow, [FollowUpRecorded(
                actor_id=actor.id, occurred_at=now, prospect_id=prospect.id,
                follow_up_id=record.id, channel=kind, next_due=moved.next_due)])
        return record

    def plan(self, actor: Principal, prospect_id: str) -> FollowUpPlan | None:
        """The prospect's current plan (None if it never had one)."""
        pid = ProspectId(require_id("prospect_id", prospect_id))
        with self._ctx.storage.unit_of_work() as uow:
            prospect = uow.prospects.get(pid)
            self._ctx.authorizer.check(actor, Action.FOLLOWUP_READ, resource_of(prospect))
            return uow.plans.get(pid)

    def history(
        self, actor: Principal, *, prospect_id: str | None = None, owner: str | None = None,
        date_from: date | None = None, date_to: date | None = None,
    ) -> tuple[FollowUp, ...]:
        """Follow-up records the actor may read, oldest first."""
        reach = self._ctx.reach(actor, Action.FOLLOWUP_READ)
        query = FollowUpQuery(reach=reach, owner=owner, prospect_id=prospect_id,
                              date_from=date_from, date_to=date_to)
        with self._ctx.storage.unit_of_work() as uow:
            return tuple(uow.follow_ups.find(query))

    def due(
        self, actor: Principal, *, on: date | None = None, owner: str | None = None
    ) -> tuple[DueItem, ...]:
        """Prospects due for a follow-up on or before ``on`` (default: local today), for
        the actor (a manager: the team), by priority: grade, then how late."""
        day = self._ctx.today() if on is None else require_date("on", on)
        reach = self._ctx.reach(actor, Action.FOLLOWUP_READ)
        with self._ctx.storage.unit_of_work() as uow:
            plans = uow.plans.due(reach, day, owner)
        items = [DueItem(prospect_id=p.prospect_id, owner_id=p.owner_id, grade=p.grade,
                         next_due=p.next_due, days_late=p.days_late(day)) for p in plans]
        return tuple(sorted(items, key=lambda i: (i.grade.value, -i.days_late, i.prospect_id)))

    def overdue(
        self, actor: Principal, *, on: date | None = None, owner: str | None = None
    ) -> tuple[DueItem, ...]:
        """Like ``due`` but only those already late on ``on``."""
        return tuple(i for i in self.due(actor, on=on, owner=owner) if i.days_late > 0)

    def send_reminders(self, actor: Principal, *, on: date | None = None) -> int:
        """Queue overdue reminders: to the owner, and after the grace period to the
        owner's supervisor. Each (prospect, due date, recipient) is queued once."""
        reach = self._ctx.reach(actor, Action.FOLLOWUP_REMIND)
        day = self._ctx.today() if on is None else require_date("on", on)
        grace = self._ctx.settings.manager_reminder_grace_days
        queued = 0
        with self._ctx.storage.unit_of_work() as uow:
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
