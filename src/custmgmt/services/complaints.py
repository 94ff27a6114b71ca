"""Complaints, part of ``app.care``: receive, acknowledge, resolve, confirm or reopen,
the escalation sweep, and the complaint reports.

Every step on a complaint asks the one guard for ``Purpose.CARE``: nothing is done
for a sealed customer. The sweep (``escalate_overdue``) tells the duty manager through
the outbox about every deadline passed, once per deadline: the complaint records the
escalation in the same unit of work, and the outbox's dedupe key holds even if two
workers sweep at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.complaints import (
    AGE_BUCKETS,
    AgeBucket,
    Complaint,
    ComplaintChannel,
    ComplaintState,
    Deadline,
    Severity,
    TimingLine,
    average_minutes,
)
from custmgmt.domain.validation import require_date, require_enum, require_id, require_text
from custmgmt.errors import ValidationError
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.care import ComplaintQuery, RepeatComplainer
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import Page
from custmgmt.services.care_base import CareBase
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import optional_text, page_cursor, page_limit

KIND = "complaint"
Step = Callable[[Complaint, str, datetime], tuple[Complaint, tuple[DomainEvent, ...]]]


def snapshot(complaint: Complaint) -> dict[str, str]:
    """The audit view of a complaint: business facts only (never what was said)."""
    return {"customer": complaint.customer_id, "severity": complaint.severity.value,
            "state": complaint.state.value, "version": str(complaint.version)}


def _period(start: date, end: date) -> tuple[date, date]:
    first, last = require_date("start", start), require_date("end", end)
    if last < first:
        raise ValidationError("end", "must not be before start")
    return first, last


@guarded
class ComplaintCare(CareBase):
    """Complaints (投诉处理): received -> acknowledged -> resolved -> confirmed, or
    reopened; deadlines per severity; escalation; reports."""

    def receive_complaint(
        self,
        actor: Principal,
        customer_id: str,
        *,
        channel: ComplaintChannel | str,
        severity: Severity | str,
        summary: str,
        service: str | None = None,
        visit_id: str | None = None,
    ) -> Complaint:
        """Record a complaint: how it came (``channel``), what happened (``summary``),
        how serious it is. Its deadlines to be acknowledged and resolved follow from the
        severity (``Settings.complaint_acknowledge`` / ``complaint_resolve``)."""
        cid = require_id("customer_id", customer_id)
        how = require_enum("channel", ComplaintChannel, channel)
        level = require_enum("severity", Severity, severity)
        what = require_text("summary", summary, 4000)
        about = optional_text("service", service, 100)
        visit = None if visit_id is None else require_id("visit_id", visit_id)
        now, settings = self._ctx.now(), self._ctx.settings
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.COMPLAINT_RECEIVE)
            customer = self._customer(uow, cid)
            complaint, events = Complaint.receive(
                id=self._ctx.ids.new_id("cm"), customer_id=customer.id, channel=how,
                severity=level, summary=what, service=about, visit_id=visit, by=who.id,
                at=now, zone=settings.zone,
                acknowledge_within=settings.complaint_acknowledge[level],
                resolve_within=settings.complaint_resolve[level])
            stored = uow.complaints.add(complaint)
            self._audit(uow, who, kind=KIND, resource_id=stored.id, action="receive", at=now,
                        before=None, after=snapshot(stored))
            self._ctx.finish(uow, events)
        return stored

    def _step(self, actor: Principal, complaint_id: str, action: str, step: Step) -> Complaint:
        cid = require_id("complaint_id", complaint_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.COMPLAINT_HANDLE)
            current = uow.complaints.get(cid)
            self._customer(uow, current.customer_id)
            changed, events = step(current, who.id, now)
            stored = uow.complaints.update(changed)
            self._audit(uow, who, kind=KIND, resource_id=stored.id, action=action, at=now,
                        before=snapshot(current), after=snapshot(stored))
            self._ctx.finish(uow, events)
        return stored

    def acknowledge_complaint(
        self, actor: Principal, complaint_id: str, *, note: str | None = None
    ) -> Complaint:
        """Tell the customer it is being handled; late if after ``acknowledge_due``."""
        said = optional_text("note", note, 4000)
        return self._step(actor, complaint_id, "acknowledge",
                          lambda c, by, at: c.acknowledge(by=by, at=at, note=said))

    def resolve_complaint(
        self, actor: Principal, complaint_id: str, *, resolution: str
    ) -> Complaint:
        """What was done about it; then the customer confirms or reopens it."""
        done = require_text("resolution", resolution, 4000)
        return self._step(actor, complaint_id, "resolve",
                          lambda c, by, at: c.resolve(resolution=done, by=by, at=at))

    def confirm_complaint(
        self, actor: Principal, complaint_id: str, *, note: str | None = None
    ) -> Complaint:
        """The customer confirmed the resolution: the complaint is closed."""
        said = optional_text("note", note, 4000)
        return self._step(actor, complaint_id, "confirm",
                          lambda c, by, at: c.confirm(by=by, at=at, note=said))

    def reopen_complaint(self, actor: Principal, complaint_id: str, *, reason: str) -> Complaint:
        """The customer is not satisfied: to be resolved again, by a new deadline counted
        from now for its severity."""
        why = require_text("reason", reason, 4000)
        settings = self._ctx.settings
        return self._step(
            actor, complaint_id, "reopen",
            lambda c, by, at: c.reopen(reason=why, by=by, at=at, zone=settings.zone,
                                       resolve_within=settings.complaint_resolve[c.severity]))

    def complaint(self, actor: Principal, complaint_id: str) -> Complaint:
        """One complaint with its history (``complaint.read``)."""
        cid = require_id("complaint_id", complaint_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.COMPLAINT_READ)
            return uow.complaints.get(cid)

    def complaints(
        self,
        actor: Principal,
        *,
        customer_id: str | None = None,
        state: ComplaintState | str | None = None,
        open_only: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Complaint]:
        """Complaints, oldest first, a page at a time (``open_only``: those waiting for
        staff)."""
        if customer_id is not None:
            require_id("customer_id", customer_id)
        wanted = None if state is None else require_enum("state", ComplaintState, state)
        size, after = page_limit(limit) + 1, page_cursor(cursor)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.COMPLAINT_READ)
            rows = list(uow.complaints.find(ComplaintQuery(
                customer_id=customer_id, state=wanted, open_only=open_only, limit=size,
                after=after)))
        page, more = rows[:limit], len(rows) > limit
        last = page[-1] if page else None
        next_cursor = f"{last.received_at.isoformat()}|{last.id}" if more and last else None
        return Page(items=tuple(page), next_cursor=next_cursor)

    # -- the sweep ------------------------------------------------------------------------

    def escalate_overdue(self, actor: Principal, *, limit: int = 500) -> int:
        """Escalate every complaint past a deadline (strictly after it) to the duty
        manager through the outbox, once per deadline; returns how many deadlines were
        escalated. Idempotent: run it from the worker as often as you like."""
        size = page_limit(limit)
        now = self._ctx.now()
        escalated = 0
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.COMPLAINT_ESCALATE)
            recipients = self._duty_managers(uow)
            events: list[DomainEvent] = []
            for complaint in uow.complaints.overdue(now, size):
                current = complaint
                for deadline in complaint.overdue(now):
                    changed, raised = current.escalated(deadline, by=who.id, at=now)
                    events.extend(raised)
                    for recipient in recipients:
                        uow.outbox.add(self._escalation(current, deadline, recipient, now))
                    current = changed
                    escalated += 1
                uow.complaints.update(current)
            self._ctx.finish(uow, events)
        return escalated

    def _escalation(self, complaint: Complaint, deadline: Deadline, recipient: str,
                    now: datetime) -> Notification:
        due = (complaint.acknowledge_due if deadline is Deadline.ACKNOWLEDGE
               else complaint.resolve_due)
        local = due.astimezone(self._ctx.settings.zone)
        verb = "acknowledged" if deadline is Deadline.ACKNOWLEDGE else "resolved"
        return Notification(
            id=self._ctx.ids.new_id("n"), recipient_id=recipient, kind="complaint.overdue",
            subject=f"Complaint {complaint.id} ({complaint.severity.value}) not {verb} in time",
            body=f"Customer {complaint.customer_id}: to be {verb} by "
                 f"{local.isoformat(timespec='minutes')}; it is {complaint.state.value}.",
            created_at=now,
            dedupe_key=f"complaint.overdue:{complaint.id}:{deadline.value}:"
                       f"{due.isoformat()}:{recipient}")

    # -- reports --------------------------------------------------------------------------

    def open_complaints_by_age(self, actor: Principal) -> tuple[AgeBucket, ...]:
        """How many complaints are open now, by how long ago they were received."""
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_REPORT)
            out = []
            for label, low, high in AGE_BUCKETS:
                newest = now - timedelta(hours=low)
                oldest = None if high is None else now - timedelta(hours=high)
                # received after "oldest" and at or before "newest"
                count = uow.complaints.count_open(
                    None if oldest is None else oldest + timedelta(microseconds=1),
                    newest + timedelta(microseconds=1))
                out.append(AgeBucket(label=label, min_hours=low, max_hours=high, count=count))
        return tuple(out)

    def complaint_timing(self, actor: Principal, *, start: date, end: date
                         ) -> tuple[TimingLine, ...]:
        """Per local month of receipt from ``start`` to ``end`` (inclusive): how many
        complaints, the average minutes to acknowledge and to resolve, how many late."""
        first, last = _period(start, end)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_REPORT)
            lines = uow.complaints.timing(first, last)
        return tuple(TimingLine(
            month=t.month, received=t.received, acknowledged=t.acknowledged,
            average_acknowledge_minutes=average_minutes(t.acknowledge_seconds, t.acknowledged),
            acknowledged_late=t.acknowledged_late, resolved=t.resolved,
            average_resolve_minutes=average_minutes(t.resolve_seconds, t.resolved),
            resolved_late=t.resolved_late) for t in lines)

    def repeat_complainers(
        self, actor: Principal, *, start: date, end: date, at_least: int = 2,
        limit: int = 50,
    ) -> tuple[RepeatComplainer, ...]:
        """Customers with ``at_least`` complaints received from ``start`` to ``end``
        (local dates, inclusive), most first."""
        first, last = _period(start, end)
        if isinstance(at_least, bool) or not isinstance(at_least, int) \
                or not 1 <= at_least <= 1000:
            raise ValidationError("at_least", "must be a whole number from 1 to 1000")
        size = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_REPORT)
            return tuple(uow.complaints.repeat_complainers(first, last, at_least, size))
