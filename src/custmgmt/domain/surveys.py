"""Satisfaction surveys (客户满意度调查与评估) and the follow-up tasks a low score opens.

A survey response is linked to a stay or visit and answers questions, each about a
service (room, restaurant, front desk ...), scored 1 (very dissatisfied) to 5 (very
satisfied) with an optional comment. A score at or below
``Settings.survey_follow_up_score`` (default 2) opens a ``CareTask`` for the manager
of that service. The report gives, per service and period, the average, the
distribution of scores and the trend against the period before.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.validation import aware, non_negative_int, of_type, optional, text
from custmgmt.errors import InvalidTransition, ValidationError

__all__ = [
    "MAX_ANSWERS", "Answer", "CareTask", "CareTaskClosed", "CareTaskOpened", "ScoreCount",
    "ServiceScores", "SurveyRecorded", "SurveyResponse", "TaskState", "average",
    "service_scores",
]

MAX_ANSWERS = 50
"""A response answers at most this many questions."""


def _score(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationError(attribute.name, "must be a whole number from 1 to 5")


@frozen(kw_only=True)
class Answer:
    """One question about one service, scored 1..5, with an optional comment."""

    service: str = field(validator=text(100))
    question: str = field(validator=text(300))
    score: int = field(validator=_score)
    comment: str | None = field(default=None, validator=optional(text(2000)), repr=False)


def _answers(value: object) -> tuple[Answer, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("answers", "must be a collection of Answer")
    items = tuple(value)
    if not items or len(items) > MAX_ANSWERS:
        raise ValidationError("answers", f"must hold 1 to {MAX_ANSWERS} answers")
    if not all(isinstance(a, Answer) for a in items):
        raise ValidationError("answers", "every item must be an Answer")
    return items


@frozen(kw_only=True)
class SurveyResponse:
    """A customer's answers about one stay or visit."""

    id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    visit_id: str = field(validator=text(100))
    answers: tuple[Answer, ...] = field(converter=_answers)
    answered_at: datetime = field(validator=aware)
    answered_day: date
    """The local date, in the configured zone: reports group by it."""
    recorded_by: str = field(validator=text(200))

    def low(self, threshold: int) -> tuple[Answer, ...]:
        """The answers scored at or below ``threshold``."""
        return tuple(a for a in self.answers if a.score <= threshold)


@frozen(kw_only=True)
class SurveyRecorded(DomainEvent):
    response_id: str
    customer_id: str
    low_services: tuple[str, ...]


class TaskState(enum.Enum):
    OPEN = "open"
    DONE = "done"


@frozen(kw_only=True)
class CareTaskOpened(DomainEvent):
    task_id: str
    assignee_id: str


@frozen(kw_only=True)
class CareTaskClosed(DomainEvent):
    task_id: str


@frozen(kw_only=True)
class CareTask:
    """A follow-up for the manager of a service: a customer scored it low. Closed with
    what was done (``outcome``, kept out of ``repr``)."""

    id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    response_id: str = field(validator=text(100))
    service: str = field(validator=text(100))
    question: str = field(validator=text(300))
    score: int = field(validator=_score)
    assignee_id: str = field(validator=text(200))
    created_at: datetime = field(validator=aware)
    state: TaskState = field(default=TaskState.OPEN, validator=of_type(TaskState))
    closed_at: datetime | None = field(default=None, validator=optional(aware))
    closed_by: str | None = field(default=None, validator=optional(text(200)))
    outcome: str | None = field(default=None, validator=optional(text(4000)), repr=False)
    version: int = field(default=0, validator=non_negative_int)

    def close(self, *, outcome: str, by: str, at: datetime
              ) -> tuple[CareTask, tuple[DomainEvent, ...]]:
        if self.state is TaskState.DONE:
            raise InvalidTransition(self.state.value, TaskState.DONE.value, "already done")
        changed = attrs.evolve(self, state=TaskState.DONE, closed_at=at, closed_by=by,
                               outcome=outcome)
        return changed, (CareTaskClosed(actor_id=by, occurred_at=at, task_id=self.id),)


@frozen(kw_only=True)
class ScoreCount:
    """How many answers about ``service`` scored ``score`` (the storage counts)."""

    service: str
    score: int
    count: int


def average(distribution: tuple[int, ...]) -> Decimal | None:
    """The mean score of a distribution (counts of 1..5), to two decimal places."""
    total = sum(distribution)
    if total == 0:
        return None
    points = sum(count * (n + 1) for n, count in enumerate(distribution))
    return (Decimal(points) / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@frozen(kw_only=True)
class ServiceScores:
    """One service in one period: how many answers, the average, how many of each score
    (``distribution[0]`` counts 1s), and the change against the period before (None
    when either period has no answers)."""

    service: str
    answers: int
    average: Decimal | None
    distribution: tuple[int, int, int, int, int]
    previous_average: Decimal | None
    trend: Decimal | None


def _distribution(counts: Iterable[ScoreCount], service: str) -> tuple[int, int, int, int, int]:
    cells = [0, 0, 0, 0, 0]
    for c in counts:
        if c.service == service and 1 <= c.score <= 5:
            cells[c.score - 1] += c.count
    return (cells[0], cells[1], cells[2], cells[3], cells[4])


def service_scores(current: Iterable[ScoreCount], previous: Iterable[ScoreCount]
                   ) -> tuple[ServiceScores, ...]:
    """The report lines of every service answered in either period, by service name."""
    now, before = tuple(current), tuple(previous)
    out = []
    for service in sorted({c.service for c in (*now, *before)}):
        dist = _distribution(now, service)
        mean, prior = average(dist), average(_distribution(before, service))
        out.append(ServiceScores(
            service=service, answers=sum(dist), average=mean, distribution=dist,
            previous_average=prior,
            trend=None if mean is None or prior is None else mean - prior))
    return tuple(out)
