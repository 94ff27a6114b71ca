"""A month of follow-ups for a small team, then visit points and the funnel as tables.

Run: python examples/02_followups.py
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import custmgmt
from custmgmt import Stage


def main() -> None:
    rng = random.Random(7)
    clock = custmgmt.FixedClock(datetime(2026, 3, 1, 1, 0, tzinfo=UTC))  # 09:00 Shanghai
    app = custmgmt.open("sqlite://", clock=clock, ids=custmgmt.SequentialIds(), migrate=True)
    mia = app.principal("u-mia", roles={"sales_manager"}, team="east")
    sellers = [app.principal(f"u-{name}", roles={"salesperson"}, team="east",
                             supervisor_id="u-mia") for name in ("alice", "bob", "chen")]

    prospects = {s.id: [] for s in sellers}
    for n in range(12):
        seller = sellers[n % 3]
        p = app.prospects.register(
            seller, name=f"Contact {n}", phone=f"1390000{n:04d}",
            willingness=rng.choice(["clear", "interested", "watching"]),
            potential_value=rng.choice([50_000, 300_000, 2_000_000]))
        prospects[seller.id].append(p.id)

    # Visits per working day: Alice a bit more than one, Bob about one, Chen rarely.
    visit_rate = {"u-alice": 1.4, "u-bob": 1.05, "u-chen": 0.3}
    for day in range(31):
        clock.set(datetime(2026, 3, 1, 1, 0, tzinfo=UTC) + timedelta(days=day))
        if clock.now().weekday() == 6:
            continue
        for seller in sellers:
            rate = visit_rate[seller.id]
            for _ in range(int(rate) + (rng.random() < rate % 1)):
                pid = rng.choice(prospects[seller.id])
                prospect = app.prospects.get(seller, pid)
                if prospect.stage is not Stage.LOST:   # won ones are customers: visited too
                    app.followups.record(seller, pid, channel="visit",
                                         summary="On-site visit", outcome="interested")
                    if not prospect.stage.is_open:
                        continue
                    if rng.random() < 0.25 and prospect.stage is not Stage.NEGOTIATION:
                        app.prospects.advance(seller, pid, to=Stage(
                            ["initial_contact", "needs_identified", "proposal",
                             "negotiation"][prospect.stage.rank + 1]))
                    elif prospect.stage is Stage.NEGOTIATION and rng.random() < 0.5:
                        app.prospects.mark_won(seller, pid)

    clock.set(datetime(2026, 4, 1, 1, 0, tzinfo=UTC))
    print("Due today for the team (grade, then most late first):")
    for item in app.followups.due(mia)[:6]:
        print(f"  {item.prospect_id}  {item.owner_id:8} grade {item.grade.value}  "
              f"due {item.next_due}  {item.days_late:>2} days late")
    print(f"  reminders queued: {app.followups.send_reminders(mia)}")

    report = app.reports.visit_points(mia, month="2026-03")
    print(f"\nVisit points, {report.month} (minimum {report.minimum}):")
    print(f"  {'salesperson':12} {'points':>6} {'short':>6} {'no-visit days':>13}  flag")
    for row in report.rows:
        print(f"  {row.principal_id:12} {row.points:>6} {row.shortfall:>6} "
              f"{len(row.days_without_visit):>13}  {'FLAGGED' if row.flagged else ''}")
    closed = app.reports.close_month(mia, "2026-03")
    print(f"  {closed.month} closed for team {closed.team}: no more records for March")

    funnel = app.reports.funnel(mia, start=date(2026, 3, 1), end=date(2026, 3, 31))
    print(f"\nFunnel of the {funnel.total} prospects registered in March:")
    print(f"  {'stage':18} {'reached':>7}  to next")
    for step in funnel.steps:
        rate = "" if step.conversion_to_next is None else f"{float(step.conversion_to_next):.0%}"
        print(f"  {step.stage.value:18} {step.reached:>7}  {rate}")

    compliance = app.reports.followup_compliance(mia, start=date(2026, 3, 1),
                                                 end=date(2026, 3, 31))
    shown = "n/a" if compliance.rate is None else f"{float(compliance.rate):.0%}"
    print(f"\nFollow-ups on time: {compliance.on_time} of {compliance.follow_ups} ({shown})")


if __name__ == "__main__":
    main()
