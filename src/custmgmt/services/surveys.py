"""Satisfaction surveys, part of ``app.care``: responses linked to a stay or visit,
follow-up tasks for low scores, and the report per service and period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.surveys import (
    Answer,
    CareTask,
    CareTaskOpened,
    ServiceScores,
    SurveyRecorded,
    SurveyResponse,
    TaskState,
    service_scores,
)
from custmgmt.domain.validation import require_date, require_enum, require_id, require_text
from custmgmt.errors import ValidationError
from custmgmt.ports.auth import Action, Principal, Role
from custmgmt.ports.notification import Notification
from custmgmt.services.care_base import CareBase
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import page_limit


@guarded
class SurveyCare(CareBase):
    """Satisfaction surveys (客户满意度调查) and the follow-up tasks of low scores."""

    def record_survey(
        self, actor: Principal, customer_id: str, *, visit_id: str, answers: Iterable[Answer],
    ) -> tuple[SurveyResponse, tuple[CareTask, ...]]:
        """Record a customer's answers about one stay or visit (``visit_id``, one of
        theirs). Each answer scored at or below ``Settings.survey_follow_up_score``
        (default 2) opens a task for the manager of its service (role
        ``service_manager`` whose team is the service; else the duty managers), told
        through the outbox. Returns the response and the tasks opened."""
        cid = require_id("customer_id", customer_id)
        vid = require_id("visit_id", visit_id)
        given = tuple(answers)
        if not all(isinstance(a, Answer) for a in given):
            raise ValidationError("answers", "every item must be an Answer")
        now, settings = self._ctx.now(), self._ctx.settings
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.SURVEY_RECORD)
            self._customer(uow, cid)
            visit = uow.visits.get(vid)
            if visit.customer_id != cid:
                raise ValidationError("visit_id", "is not a visit of this customer")
            response = SurveyResponse(
                id=self._ctx.ids.new_id("sv"), customer_id=cid, visit_id=vid, answers=given,
                answered_at=now, answered_day=now.astimezone(settings.zone).date(),
                recorded_by=who.id)
            uow.surveys.add(response)
            low = response.low(settings.survey_follow_up_score)
            events: list[DomainEvent] = [SurveyRecorded(
                actor_id=who.id, occurred_at=now, response_id=response.id, customer_id=cid,
                low_services=tuple(a.service for a in low))]
            tasks = []
            for answer in low:
                managers = self._holders(uow, Role.SERVICE_MANAGER, team=answer.service)
                for assignee in managers or self._duty_managers(uow):
                    task = uow.care_tasks.add(CareTask(
                        id=self._ctx.ids.new_id("tk"), customer_id=cid,
                        response_id=response.id, service=answer.service,
                        question=answer.question, score=answer.score, assignee_id=assignee,
                        created_at=now))
                    tasks.append(task)
                    events.append(CareTaskOpened(actor_id=who.id, occurred_at=now,
                                                 task_id=task.id, assignee_id=assignee))
                    uow.outbox.add(self._task_note(task, now))
            self._ctx.finish(uow, events)
        return response, tuple(tasks)

    def _task_note(self, task: CareTask, now: datetime) -> Notification:
        return Notification(
            id=self._ctx.ids.new_id("n"), recipient_id=task.assignee_id,
            kind="care.low_score",
            subject=f"Follow up: {task.service} scored {task.score} by customer "
                    f"{task.customer_id}",
            body=f"Task {task.id}, survey response {task.response_id}: \"{task.question}\".",
            created_at=now, dedupe_key=f"care.low_score:{task.id}")

    def tasks(self, actor: Principal, *, assignee: str | None = None,
              state: TaskState | str | None = TaskState.OPEN, limit: int = 100
              ) -> tuple[CareTask, ...]:
        """Follow-up tasks, oldest first: by default the open ones of everyone
        (``assignee`` narrows to one person)."""
        who_for = None if assignee is None else require_id("assignee", assignee)
        wanted = None if state is None else require_enum("state", TaskState, state)
        size = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_TASK)
            return tuple(uow.care_tasks.find(who_for, wanted, size))

    def close_task(self, actor: Principal, task_id: str, *, outcome: str) -> CareTask:
        """Close a follow-up task with what was done (its assignee, or a duty manager or
        guest relations)."""
        tid = require_id("task_id", task_id)
        done = require_text("outcome", outcome, 4000)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.CARE_TASK)
            current = uow.care_tasks.get(tid)
            changed, events = current.close(outcome=done, by=who.id, at=now)
            stored = uow.care_tasks.update(changed)
            self._ctx.finish(uow, events)
        return stored

    def survey_report(self, actor: Principal, *, start: date, end: date
                      ) -> tuple[ServiceScores, ...]:
        """Per service, of the answers given from ``start`` to ``end`` (local dates,
        inclusive): the average, the distribution of scores 1..5, and the trend against
        the period of the same length just before."""
        first, last = require_date("start", start), require_date("end", end)
        if last < first:
            raise ValidationError("end", "must not be before start")
        length = (last - first).days + 1
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_REPORT)
            current = uow.surveys.score_counts(first, last)
            previous = uow.surveys.score_counts(
                date.fromordinal(max(1, first.toordinal() - length)),
                first - timedelta(days=1))
        return service_scores(current, previous)
