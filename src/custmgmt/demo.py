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
from custmgmt.domain.common import Money
from custmgmt.domain.credit import Benchmark, Condition, InterestRate
from custmgmt.domain.prospects import Stage
from custmgmt.domain.surveys import Answer
from custmgmt.errors import (
    ClaimConflict,
    IntegrityError,
    InvalidTransition,
    PermissionDenied,
    RevocationNotAllowed,
    ValidationError,
)
from custmgmt.ports.auth import Certification

PROSPECTS_PER_RUN = 4
"""How many prospects one run registers: a store that has some already gets a new run."""


class RunIds:
    """``p-000001``-style ids, numbered on from the runs before on the same store."""

    def __init__(self, run: int) -> None:
        self._run = run
        self._ids = SequentialIds()

    def new_id(self, prefix: str) -> str:
        return self._ids.new_id(prefix if self._run == 0 else f"{prefix}{self._run}")


def _run_number(url: str) -> int:
    """0 for a fresh store; otherwise how many runs it has seen (the demo may run again
    on the same file: each run is a new year with its own prospects)."""
    with open(url, migrate=True) as peek:
        root = peek.principal("u-demo-root", roles={"admin"})
        return peek.prospects.counts(root).total // PROSPECTS_PER_RUN


def run(url: str, say: Callable[[str], None] = print) -> CustomerManagement:
    number = _run_number(url)
    start = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    clock = FixedClock(start.replace(year=start.year + number))
    app = open(url, clock=clock, ids=RunIds(number), migrate=True)
    say(f"custmgmt demo on {url.split('://', maxsplit=1)[0]}"
        + (f" (run {number + 1} on this store)" if number else ""))
    customer_id = prospects_story(app, clock, say, number)
    followups_story(app, clock, say, number)
    samples_story(app, clock, say, customer_id, number)
    credit_story(app, say, number)
    delisting_story(app, clock, say, number)
    marketing_story(app, clock, say, number)
    care_story(app, clock, say, number)
    return app


def _phone(base: str, run: int) -> str:
    """The story's phone numbers, distinct in each run on one store."""
    return base if run == 0 else f"{base[:-2]}{run % 100:02d}"


def prospects_story(
    app: CustomerManagement, clock: FixedClock, say: Callable[[str], None], run: int = 0
) -> str:
    """Returns the id of the customer the won prospect became."""
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    bob = app.principal("u-bob", roles={"salesperson"}, team="east")
    app.principal("u-mia", roles={"sales_manager"}, team="east")
    branch = "" if run == 0 else f" branch {run}"
    acme = app.prospects.register(
        alice, name="Wang Wei", phone=_phone("+86 138-0013-8000", run),
        organization=f"Acme Trading Co., Ltd.{branch}",
        willingness="clear", potential_value=2_500_000, source_channel="trade fair",
    )
    say(f"alice registers {acme.profile.organization.value if acme.profile.organization else ''}"
        f" as {acme.id}: grade {acme.grade.value}")
    clock.advance(minutes=5)
    try:
        app.prospects.register(
            bob, name="Wang W.", phone=_phone("138 0013 8000", run),
            organization=f"ＡＣＭＥ　Trading{branch}", willingness="interested",
            potential_value=300_000,
        )
    except ClaimConflict as conflict:
        say(f"bob registers the same company written differently: refused, "
            f"first registration {conflict.registration_id} by {conflict.owner_id} stands")
    clock.advance(days=1)
    try:
        app.prospects.advance(alice, acme.id, to=Stage.NEEDS_IDENTIFIED)
    except InvalidTransition as refused:
        say(f"alice tries to move on without a follow-up: refused ({refused.reason})")
    for stage, how in ((Stage.NEEDS_IDENTIFIED, "phone"), (Stage.NEGOTIATION, "visit"),
                       (Stage.CONTRACT_SIGNED, "visit")):
        app.followups.record(alice, acme.id, channel=how, summary=f"{how} before {stage.value}")
        clock.advance(days=1)
        acme = app.prospects.advance(alice, acme.id, to=stage)
    say(f"alice follows up at every step and wins {acme.id}: {acme.stage.value}, "
        f"{len(acme.history)} recorded steps; it is now customer {acme.customer_id}")
    plan = app.followups.plan(alice, acme.id)
    say(f"the customer is still served: next maintenance visit due "
        f"{plan.next_due if plan else None}")
    lost = app.prospects.register(
        bob, name="Li Lei", phone=_phone("139-1111-2222", run), willingness="watching",
        potential_value=50_000)
    app.prospects.mark_lost(bob, lost.id, reason="bought elsewhere")
    again = app.prospects.register(
        alice, name="Li Lei", phone=_phone("139-1111-2222", run), willingness="interested",
        potential_value=80_000)
    say(f"bob loses {lost.id}; its registration goes back to the pool and alice "
        f"registers the same person as {again.id}")
    return acme.customer_id or ""


def followups_story(
    app: CustomerManagement, clock: FixedClock, say: Callable[[str], None], run: int = 0
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east", supervisor_id="u-mia")
    mia = app.principal("u-mia", roles={"sales_manager"}, team="east")
    worker = app.principal("u-notifier", roles={"dispatcher"})
    star = app.prospects.register(
        alice, name="Zhang Min", phone=_phone("021-6000-1234", run),
        organization="上海星辰贸易有限公司" + ("" if run == 0 else f"{run}分公司"),
        willingness="interested", potential_value=400_000,
    )
    plan = app.followups.plan(alice, star.id)
    due = plan.next_due if plan else None
    say(f"{star.id} is grade {star.grade.value}: first follow-up due {due}")
    for _ in range(3):
        clock.advance(days=4)
        app.followups.record(alice, star.id, channel="visit", summary="on-site visit")
        app.followups.record(alice, star.id, channel="visit", summary="back after lunch")
    try:
        app.followups.record(alice, star.id, channel="visit", summary="from memory",
                             at=clock.now() - timedelta(days=6))
    except ValidationError as refused:
        say(f"a visit dated six days back: refused ({refused.message})")
    clock.advance(days=30)
    late = app.followups.overdue(mia)
    say(f"a month later {len(late)} prospect(s) overdue; "
        f"{app.followups.send_reminders(mia)} reminder(s) queued, "
        f"{app.notifications.dispatch(worker).sent} delivered")
    month = clock.now().astimezone(app.settings.zone).date().replace(day=1)
    report = app.reports.visit_points(mia, month=month - timedelta(days=1))
    for row in report.rows:
        say(f"visit points {report.month}: {row.principal_id} {row.points}/{report.minimum}"
            f", {len(row.days_without_visit)} working day(s) without a visit"
            + (" (flagged)" if row.flagged else ""))
    closed = app.reports.close_month(mia, report.month)
    say(f"mia closes {closed.month} for team {closed.team}: it takes no more records")


def samples_story(
    app: CustomerManagement, clock: FixedClock, say: Callable[[str], None], customer_id: str,
    run: int = 0,
) -> None:
    shelf = "shelf A" if run == 0 else f"shelf A{run}"
    rita = app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                         certifications={Certification("sample_receiver", date(2099, 12, 31))})
    reg = app.principal("u-reg", roles={"sample_registry"})
    lab = app.principal("u-lab", roles={"sample_user"})
    qm = app.principal("u-qm", roles={"quality_manager"})
    sample = app.samples.receive(
        rita, customer_id=customer_id, sample_name="PP resin", quantity="10", unit="kg",
        description="white granules", requested_work="melt-flow test")
    sample = app.samples.register(reg, sample.id, classification="polymer", location=shelf)
    use = app.samples.apply(lab, sample.id, purpose="melt-flow test", quantity="3")
    app.samples.approve(reg, sample.id, use.id)
    app.samples.check_out(reg, sample.id, use.id)
    app.samples.record_use(lab, sample.id, use.id, used="1", note="three runs")
    sample = app.samples.take_back(reg, sample.id, use.id, quantity="2")
    feedback = app.samples.feedback(lab, sample.id, effect="MFR 12 g/10 min", problems="none",
                                    suggestions="dry before use")
    sample = app.samples.archive_feedback(reg, sample.id, feedback.id)
    say(f"sample {sample.number}: 1 kg used, {sample.in_storage} kg back on {sample.location}; "
        "feedback archived and reported to the customer; "
        f"chain of {app.samples.verify_chain(qm, sample.id)} custody events verified")
    found = app.samples.record_count(reg, shelf, {sample.number or "": "8.5"})
    say(f"stock count of {shelf}: {len(found)} discrepancy(ies), escalated to quality: "
        + "; ".join(f"{d.number} expected {d.expected}, counted {d.counted}" for d in found))
    _tamper(app, sample.id)
    try:
        app.samples.verify_chain(qm, sample.id)
    except IntegrityError as error:
        say(f"after a stored record was tampered with: IntegrityError: {error}")


def credit_story(app: CustomerManagement, say: Callable[[str], None], run: int = 0) -> None:
    year = 2026 + run
    rachel = app.principal("u-rachel", roles={"relationship_manager", "account_manager"},
                           team="corporate")
    carl = app.principal("u-carl", roles={"credit_approver"})
    rita = app.principal("u-risk", roles={"risk_officer"})
    client = app.customers.create(rachel, name="Chen Jie", phone=_phone("137-0000-1111", run),
                                  organization=f"Fuzhou Heavy Machinery {run + 1}")
    app.credit.set_limit(carl, client.id, Money("8000000", "CNY"))
    try:
        app.credit.draft_commitment_letter(
            rachel, client.id, amount=Money("5000000", "CNY"), purpose="new plant",
            rate=InterestRate.floating(Benchmark.LPR_5Y, -20), term_months=12,
            drawdown_method="in tranches", commitment_fee=Money("12500", "CNY"),
            valid_from=date(year, 3, 1), valid_until=date(year, 12, 31))
    except ValidationError as error:
        say(f"credit: a 12-month commitment letter is refused ({error.field}: medium- and "
            "long-term loans only)")
    letter = app.credit.draft_commitment_letter(
        rachel, client.id, amount=Money("5000000", "CNY"), purpose="new plant",
        rate=InterestRate.floating(Benchmark.LPR_5Y, -20), term_months=36,
        drawdown_method="in tranches", commitment_fee=Money("12500", "CNY"),
        valid_from=date(year, 3, 1), valid_until=date(year, 12, 31))
    app.credit.submit(rachel, letter.id)
    try:
        app.credit.approve(rachel, letter.id)
    except PermissionDenied:
        say(f"rachel drafts commitment letter {letter.id} ({letter.rate}, 36 months) and may "
            "not approve it herself: four eyes")
    app.credit.approve(carl, letter.id)
    app.credit.issue(rachel, letter.id)
    letter = app.credit.draw(rachel, letter.id, Money("1200000", "CNY"))
    try:
        app.credit.revoke(carl, letter.id, reason="the bank changed its mind")
    except RevocationNotAllowed:
        say(f"carl approves, it is issued, {letter.drawn} is drawn; revoking it without the "
            "customer's consent is refused: it binds the bank")
    intent = app.credit.draft_intent(
        rachel, client.id, kind="loan_intent_letter", credit_line=Money("20000000", "CNY"),
        conditions=[Condition(code="industry-policy", description="state industry policy")],
        valid_from=date(year, 3, 1), valid_until=date(year + 1, 2, 28))
    app.credit.submit(rachel, intent.id)
    app.credit.approve(carl, intent.id)
    app.credit.issue(rachel, intent.id)
    app.credit.revoke(carl, intent.id, reason="the industry is now restricted",
                      failed_conditions=["industry-policy"])
    exposure = app.credit.exposure(rita, client.id)
    say(f"intent {intent.id} is revoked citing the condition the customer failed (the "
        f"customer is notified); binding exposure {exposure.outstanding} of limit "
        f"{exposure.limit.limit if exposure.limit else None}")


def delisting_story(
    app: CustomerManagement, clock: FixedClock, say: Callable[[str], None], run: int = 0
) -> None:
    anna = app.principal("u-anna", roles={"account_manager"}, team="east")
    carol = app.principal("u-carol", roles={"customer_relations"})
    lawyer = app.principal("u-lawyer", roles={"sealed_reader"})
    panel = [app.principal(f"u-lead{n}", roles={"leadership"}) for n in range(1, 6)]
    branch = "" if run == 0 else f" branch {run}"
    delta = app.customers.create(anna, name="Zhou Qiang", organization=f"Delta Trading{branch}",
                                 phone=_phone("139-5555-6600", run))
    case = app.delisting.open_case(carol, delta.id, grounds=["unauthorized_use"],
                                   trigger="complaint", trigger_note="brand used on flyers")
    app.delisting.add_evidence(carol, case.id, kind="document", source="marketing",
                               description="flyers printed with the company's logo")
    app.delisting.summarize(carol, case.id, summary="unauthorized use of the brand confirmed")
    case = app.delisting.open_vote(carol, case.id)
    for leader, choice in zip(panel, ["for", "for", "abstain", "abstain", "against"],
                              strict=True):
        app.delisting.vote(leader, case.id, choice)
    tally = app.delisting.tally(carol, case.id)
    say(f"delisting {delta.id}: {tally.votes_for} for, {tally.abstain} abstain, "
        f"{tally.against} against of a panel of {tally.panel_size}: "
        + ("passes" if tally.passes else "not more than half of the whole panel"))
    app.delisting.vote(panel[2], case.id, "for")
    case = app.delisting.close_vote(carol, case.id)
    clock.advance(hours=1)
    case = app.delisting.notify(carol, case.id, reasons="logo printed on flyers without leave",
                                basis="客户摘牌管理制度 二、1(2)")
    case = app.delisting.seal(carol, case.id)
    shown = app.customers.get(anna, delta.id)
    stored = app.delisting.read_sealed(lawyer, delta.id, reason="cease-and-desist letter")
    say(f"one vote changed: 3 of 5, {case.state.value}; written notice queued "
        f"({len(case.notice.text) if case.notice else 0} characters kept with the case); "
        f"the account manager now reads phone {shown.profile.phone}, the lawyer (with a "
        f"reason, audited) {stored.profile.phone}")


def marketing_story(
    app: CustomerManagement, clock: FixedClock, say: Callable[[str], None], run: int = 0
) -> None:
    """Consent and a campaign: suitability and consent decide who is reached; a
    withdrawal between two sends stops the second."""
    anna = app.principal("u-anna", roles={"account_manager"}, team="east")
    mei = app.principal("u-mei", roles={"marketer"}, team="retail")
    rex = app.principal("u-rex", roles={"compliance_reviewer"})
    max_ = app.principal("u-max", roles={"marketing_manager"})
    worker = app.principal("u-notifier", roles={"dispatcher"})
    wang = app.customers.create(anna, name="Wang Fang", phone=_phone("135-7000-8800", run)).id
    li = app.customers.create(anna, name="Li Ming", phone=_phone("135-7000-9900", run)).id
    for who, tolerance in ((wang, 4), (li, 2)):
        app.consent.give(anna, who, purpose="marketing", channel="sms", source="form",
                         notice_version="2026.1")
        app.marketing.assess_risk(anna, who, tolerance=tolerance)
    fund = app.marketing.add_product(max_, name=f"Balanced fund {run + 1}", risk_level=3)
    campaign = app.marketing.draft(
        mei, name="Spring fund", product_id=fund.id, segments={"savers": [wang, li]},
        channels=["sms"], subject="A balanced fund",
        body="Risk level R3. Past returns do not promise future ones.")
    app.marketing.submit(mei, campaign.id)
    try:
        app.marketing.review(app.principal("u-mei", roles={"marketer", "compliance_reviewer"},
                                           team="retail"), campaign.id, passed=True, note="ok")
    except PermissionDenied:
        say(f"campaign {campaign.id}: mei wrote the material and may not review it herself")
    app.marketing.review(rex, campaign.id, passed=True, note="advertising law: ok")
    app.marketing.approve(max_, campaign.id)
    app.marketing.start(mei, campaign.id)
    first = app.marketing.send(mei, campaign.id)
    app.notifications.dispatch(worker)
    left_out = ", ".join(f"{n} {r.value}" for r, n in first.excluded)
    say(f"rex reviews, max approves; send 1 reaches {first.queued} customer(s) "
        f"(left out: {left_out}: the R3 fund does not suit an R2 tolerance)")
    app.marketing.send(mei, campaign.id)
    clock.advance(minutes=10)
    app.consent.withdraw(anna, wang, purpose="marketing", channel="sms", source="unsubscribe")
    report = app.notifications.dispatch(worker)
    say(f"{wang} withdraws consent before send 2 goes out: {report.refused} message refused "
        "at send time (ConsentRequired)")
    app.marketing.record_outcome(mei, campaign.id, wang, "product_taken")
    app.marketing.close(mei, campaign.id)
    evaluation = app.marketing.evaluate(mei, campaign.id)
    say(f"evaluation: {evaluation.touches} touch(es), conversion by SMS "
        f"{evaluation.by_channel[0].conversion:.0%}")
def care_story(
    app: CustomerManagement, clock: FixedClock, say: Callable[[str], None], run: int = 0
) -> None:
    """Customer care: a late complaint escalated, a low score opening a task, a tier
    upgrade (its own principals, customer and dates: self-contained)."""
    admin = app.principal("u-care-admin", roles={"admin"})
    desk = app.principal("u-desk", roles={"front_desk"})
    gr = app.principal("u-guest-relations", roles={"guest_relations"})
    worker = app.principal("u-care-worker", roles={"dispatcher"})
    app.principal("u-duty", roles={"duty_manager"})
    app.principal("u-rooms", roles={"service_manager"}, team="room")
    branch = "" if run == 0 else f" {run + 1}"
    guest = app.customers.create(admin, name="Huang Min", organization=f"Lotus Travel{branch}",
                                 phone=_phone("136-7777-8800", run))
    app.care.record_preferences(desk, guest.id, room_type="twin", diet="no seafood",
                                language="English")
    complaint = app.care.receive_complaint(desk, guest.id, channel="phone", severity="high",
                                           summary="air conditioning broken")
    clock.set(complaint.acknowledge_due + timedelta(microseconds=1))
    escalated = app.care.escalate_overdue(worker)
    again = app.care.escalate_overdue(worker)
    say(f"care: complaint {complaint.id} not acknowledged within 4 hours: the sweep "
        f"escalates {escalated} deadline(s) to the duty manager, the next sweep {again} "
        "(once per deadline)")
    year = clock.now().year
    visits = [app.care.record_visit(desk, guest.id, kind="stay",
                                    started_on=date(year - 1, 5, 1) + timedelta(days=50 * n),
                                    ended_on=date(year - 1, 5, 3) + timedelta(days=50 * n),
                                    spend=Money("1500", "CNY"), service="room")
              for n in range(5)]
    _, tasks = app.care.record_survey(desk, guest.id, visit_id=visits[-1].id, answers=[
        Answer(service="room", question="How comfortable was your room?", score=1)])
    member = app.care.evaluate_membership(gr, guest.id, on=clock.now().date())
    brief = app.care.brief(desk, guest.id)
    say(f"care: room scored 1 -> task for {tasks[0].assignee_id}; five stays make a "
        f"{member.tier} member; the front desk reads phone {brief.phone}, tier {brief.tier}")


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
