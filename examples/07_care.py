"""Customer care (酒店客户管理): a complaint escalated when late, a low survey score
opening a task, a tier upgrade.

A guest complains at the front desk; nobody acknowledges it within the four hours a
high-severity complaint allows, so the worker's sweep tells the duty manager (once).
After the stay the guest scores the room 2 of 5: the rooms manager gets a follow-up
task. Five stays within twelve months make the guest a silver member, with the rule
kept in the membership history; the brief at the front desk shows it, with the
contacts masked.

Run: python examples/07_care.py
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import custmgmt
from custmgmt import Money
from custmgmt.domain.care import StayPattern
from custmgmt.domain.surveys import Answer


def main() -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))  # 09:30 Shanghai
    app = custmgmt.open("sqlite://", clock=clock, ids=custmgmt.SequentialIds(), migrate=True,
                        settings=custmgmt.Settings(notifier="memory"))
    root = app.principal("u-root", roles={"admin"})
    desk = app.principal("u-desk", roles={"front_desk"})
    gr = app.principal("u-gr", roles={"guest_relations"})
    app.principal("u-duty", roles={"duty_manager"})
    rooms = app.principal("u-rooms", roles={"service_manager"}, team="room")
    worker = app.principal("u-worker", roles={"dispatcher"})
    guest = app.customers.create(root, name="Wang Wei", organization="Acme Co.",
                                 phone="139 1234 5678")
    app.care.record_preferences(desk, guest.id, room_type="king", floor="high",
                                language="粤语", tags=["quiet room"])
    app.care.record_usual_periods(desk, guest.id, [StayPattern(weekdays=[0, 1, 2],
                                                               note="mid-week trips")])

    # 1. a complaint nobody acknowledges in time is escalated to the duty manager, once
    complaint = app.care.receive_complaint(desk, guest.id, channel="in_person",
                                           severity="high", summary="noise from the bar")
    print(f"complaint {complaint.id} ({complaint.severity.value}) to be acknowledged by "
          f"{complaint.acknowledge_due.astimezone(app.settings.zone):%H:%M} local time")
    clock.set(complaint.acknowledge_due)
    print(f"at the deadline: {app.care.escalate_overdue(worker)} escalated (still in time)")
    clock.advance(microseconds=1)
    print(f"one microsecond later: {app.care.escalate_overdue(worker)} escalated; "
          f"again: {app.care.escalate_overdue(worker)}")
    delivered = app.notifications.dispatch(worker)
    told = [n for n in app.notifier.sent if n.kind == "complaint.overdue"]  # type: ignore[attr-defined]
    print(f"delivered {delivered.sent}: {told[0].recipient_id} reads '{told[0].subject}'")
    app.care.acknowledge_complaint(gr, complaint.id, note="moved to a quiet floor")
    app.care.resolve_complaint(gr, complaint.id, resolution="room change and a late checkout")
    app.care.confirm_complaint(gr, complaint.id)

    # 2. a low survey score opens a task for the manager of that service
    visits = [app.care.record_visit(desk, guest.id, kind="stay",
                                    started_on=date(2025, 6, 2) + timedelta(days=40 * n),
                                    ended_on=date(2025, 6, 4) + timedelta(days=40 * n),
                                    spend=Money("1200", "CNY"), service="room")
              for n in range(5)]
    _, tasks = app.care.record_survey(desk, guest.id, visit_id=visits[-1].id, answers=[
        Answer(service="room", question="How quiet was your room?", score=2,
               comment="the bar again"),
        Answer(service="restaurant", question="How was breakfast?", score=5)])
    print(f"survey: room scored 2 -> task {tasks[0].id} for {tasks[0].assignee_id}")
    app.care.close_task(rooms, tasks[0].id, outcome="soundproofing ordered; guest called")

    # 3. five stays in twelve months: a tier upgrade, with the rule that caused it
    member = app.care.evaluate_membership(gr, guest.id, on=date(2026, 3, 2))
    print(f"membership: {member.tier} ({member.history[-1].rule})")
    brief = app.care.brief(desk, guest.id)
    print(f"front desk brief: {brief.name}, phone {brief.phone}, "
          f"room {brief.preferences.room_type}, tier {brief.tier} "
          f"({', '.join(brief.benefits)})")


if __name__ == "__main__":
    main()
