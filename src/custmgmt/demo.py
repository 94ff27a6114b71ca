"""The story ``custmgmt demo`` tells, one area after another."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import attrs
from sqlalchemy import text

from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.app import CustomerManagement, open
from custmgmt.domain.prospects import Stage
from custmgmt.errors import ClaimConflict, IntegrityError
from custmgmt.ports.auth import Certification


def run(url: str, say: Callable[[str], None] = print) -> CustomerManagement:
    clock = FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = open(url, clock=clock, ids=SequentialIds(), migrate=True)
    say(f"custmgmt demo on {url.split('://', maxsplit=1)[0]}")
    prospects_story(app, clock, say)
    followups_story(app, clock, say)
    samples_story(app, clock, say)
    return app


def prospects_story(app: CustomerManagement, clock: FixedClock, say: Callable[[str], None]) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    bob = app.principal("u-bob", roles={"salesperson"}, team="east")
    app.principal("u-mia", roles={"sales_manager"}, team="east")
    acme = app.prospects.register(
        alice, name="Wang Wei", phone="+86 138-0013-8000", organization="Acme Trading Co., Ltd.",
        willingness="clear", potential_value=2_500_000, source_channel="trade fair",
    )
    say(f"alice registers {acme.profile.organization.value if acme.profile.organization else ''}"
        f" as {acme.id}: grade {acme.grade.value}")
    clock.advance(minutes=5)
    try:
        app.prospects.register(
            bob, name="Wang W.", phone="138 0013 8000", organization="ＡＣＭＥ　Trading",
            willingness="interested", potential_value=300_000,
        )
    except ClaimConflict as conflict:
        say(f"bob registers the same company written differently: refused, "
            f"first registration {conflict.registration_id} by {conflict.owner_id} stands")
    clock.advance(days=3)
    acme = app.prospects.advance(alice, acme.id, to=Stage.NEEDS_IDENTIFIED)
    acme = app.prospects.advance(alice, acme.id, to=Stage.NEGOTIATION)
    acme = app.prospects.mark_won(alice, acme.id)
    say(f"alice advances {acme.id} to {acme.stage.value} in {len(acme.history)} recorded steps")


def followups_story(app: CustomerManagement, clock: FixedClock, say: Callable[[str], None]) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east", supervisor_id="u-mia")
    mia = app.principal("u-mia", roles={"sales_manager"}, team="east")
    star = app.prospects.register(
        alice, name="Zhang Min", phone="021-6000-1234", organization="上海星辰贸易有限公司",
        willingness="interested", potential_value=400_000,
    )
    plan = app.followups.plan(alice, star.id)
    due = plan.next_due if plan else None
    say(f"{star.id} is grade {star.grade.value}: first follow-up due {due}")
    for _ in range(3):
        clock.advance(days=4)
        app.followups.record(alice, star.id, channel="visit", summary="on-site visit")
    clock.advance(days=30)
    late = app.followups.overdue(mia)
    say(f"a month later {len(late)} prospect(s) overdue; "
        f"{app.followups.send_reminders(mia)} reminder(s) queued, "
        f"{app.dispatch_notifications().sent} delivered")
    month = clock.now().astimezone(app.settings.zone).date().replace(day=1)
    report = app.reports.visit_points(mia, month=month - timedelta(days=1))
    for row in report.rows:
        say(f"visit points {report.month}: {row.principal_id} {row.points}/{report.minimum}"
            + (" (flagged)" if row.flagged else ""))


def samples_story(app: CustomerManagement, clock: FixedClock, say: Callable[[str], None]) -> None:
    rita = app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                         certifications={Certification("sample_receiver", date(2099, 12, 31))})
    reg = app.principal("u-reg", roles={"sample_registry"})
    lab = app.principal("u-lab", roles={"sample_user"})
    qm = app.principal("u-qm", roles={"quality_manager"})
    sample = app.samples.receive(
        rita, customer_id="p-000003", sample_name="PP resin", quantity="10", unit="kg",
        description="white granules", requested_work="melt-flow test")
    sample = app.samples.register(reg, sample.id, classification="polymer", location="shelf A")
    use = app.samples.apply(lab, sample.id, purpose="melt-flow test", quantity="3")
    app.samples.approve(reg, sample.id, use.id)
    app.samples.check_out(reg, sample.id, use.id)
    app.samples.record_use(lab, sample.id, use.id, used="1", note="three runs")
    sample = app.samples.take_back(reg, sample.id, use.id, quantity="2")
    say(f"sample {sample.number}: 1 kg used, {sample.in_storage} kg back on {sample.location}; "
        f"chain of {app.samples.verify_chain(qm, sample.id)} custody events verified")
    _tamper(app, sample.id)
    try:
        app.samples.verify_chain(qm, sample.id)
    except IntegrityError as error:
        say(f"after a stored record was tampered with: IntegrityError: {error}")


def _tamper(app: CustomerManagement, sample_id: str) -> None:
    """Edit the stored check-out record behind custmgmt's back, as a fraudster would."""
    storage = app._storage
    if isinstance(storage, MemoryStorage):
        events = storage.state.custody[sample_id]
        events[4] = attrs.evolve(events[4], checked_out=Decimal("0.5"))
    elif isinstance(storage, SqlStorage):
        with storage.engine.begin() as connection:
            connection.execute(text(
                "UPDATE custmgmt_custody_events SET checked_out = '0.5' "
                "WHERE sample_id = :s AND sequence = 4"), {"s": sample_id})
