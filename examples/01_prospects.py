"""Two salespeople race for one company written two ways; grading; a signed contract.

Run: python examples/01_prospects.py
"""

from __future__ import annotations

from datetime import UTC, datetime

import custmgmt
from custmgmt import Stage
from custmgmt.errors import ClaimConflict


def main() -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    app = custmgmt.open("memory://", clock=clock, ids=custmgmt.SequentialIds())
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    bob = app.principal("u-bob", roles={"salesperson"}, team="east")

    star = app.prospects.register(
        alice, name="Zhang Min", phone="021-6000-1234", organization="上海星辰贸易有限公司",
        willingness="interested", potential_value=800_000, source_channel="exhibition",
    )
    local = app.settings.zone
    print(f"{clock.now().astimezone(local):%H:%M} alice registers 上海星辰贸易有限公司 "
          f"-> {star.id}, grade {star.grade.value}")

    clock.advance(minutes=7)
    try:
        app.prospects.register(
            bob, name="Zhang M.", phone="+86 21 6000 1234",
            organization="上海星辰贸易（股份有限公司）",
            willingness="clear", potential_value=1_500_000,
        )
    except ClaimConflict as conflict:
        print(f"{clock.now().astimezone(local):%H:%M} bob registers the same company "
              f"written differently -> refused: {conflict.owner_id} registered it first "
              f"({conflict.registration_id} at {conflict.registered_at.astimezone(local):%H:%M})")

    clock.advance(days=2)
    star = app.prospects.reassess(alice, star.id, willingness="clear",
                                  potential_value=1_200_000)
    print(f"alice learns they are committed and bigger -> grade {star.grade.value}")

    # Every stage is followed up before the prospect moves on (确保每个环节的有效跟进).
    for stage in (Stage.NEEDS_IDENTIFIED, Stage.PROPOSAL, Stage.NEGOTIATION):
        clock.advance(days=3)
        app.followups.record(alice, star.id, channel="visit", summary=f"towards {stage.value}")
        star = app.prospects.advance(alice, star.id, to=stage)
        print(f"  {clock.now().astimezone(local):%m-%d} {stage.value}")
    clock.advance(days=5)
    app.followups.record(alice, star.id, channel="phone", summary="terms agreed")
    star = app.prospects.mark_won(alice, star.id)
    print(f"  {clock.now().astimezone(local):%m-%d} {star.stage.value}: won")

    print("history:")
    for entry in star.history:
        why = f" ({entry.reason})" if entry.reason else ""
        print(f"  {entry.at.astimezone(local):%m-%d %H:%M} {entry.by:8} {entry.kind.value:10} "
              f"{entry.before or '-'} -> {entry.after}{why}")


if __name__ == "__main__":
    main()
