"""Policy fidelity of customer samples (客户来样管理制度, issue 9), on every back end."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import custmgmt
from custmgmt import Certification
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.samples import (
    ApplicationStatus,
    CustodyKind,
    FeedbackStatus,
    Sample,
    SampleState,
    StorageCondition,
)
from custmgmt.errors import InvalidTransition, PermissionDenied, ValidationError
from tests.helpers import a_customer, dispatcher

App = custmgmt.CustomerManagement
CABINET = StorageCondition(segregation="flammables cabinet")


@pytest.fixture
def staff(app: App) -> dict[str, custmgmt.Principal]:
    valid = {Certification("sample_receiver", date(2026, 12, 31))}
    assert a_customer(app) == "c-000001"  # every sample names a customer that exists
    return {
        "rita": app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-boss",
                              certifications=valid),
        "solo": app.principal("u-solo", roles={"sample_receiver"}, certifications=valid),
        "reg": app.principal("u-reg", roles={"sample_registry"}),
        "reg2": app.principal("u-reg2", roles={"sample_registry"}),
        "lab": app.principal("u-lab", roles={"sample_user"}),
        "lab2": app.principal("u-lab2", roles={"sample_user"}),
        "safe": app.principal("u-safe", roles={"safety_officer"}),
        "safe_reg": app.principal("u-safe-reg", roles={"safety_officer", "sample_registry"}),
        "qm": app.principal("u-qm", roles={"quality_manager"}),
        "qm2": app.principal("u-qm2", roles={"quality_manager"}),
    }


def registered(app: App, staff: dict[str, Any], *, single_use: bool = False,
               hazardous: bool = False, location: str = "shelf A",
               quantity: str = "10") -> Sample:
    hazard: dict[str, Any] = {"hazard_class": "3 flammable liquid",
                              "handling_procedure": "HSE-07"} if hazardous else {}
    s = app.samples.receive(staff["rita"], customer_id="c-000001", sample_name="solvent",
                            quantity=quantity, unit="L", description="sealed drum",
                            requested_work="GC purity", **hazard)
    return app.samples.register(staff["reg"], s.id, classification="c", location=location,
                                single_use=single_use, storage=CABINET if hazardous else None)


def checked_out(app: App, staff: dict[str, Any], s: Sample, quantity: str = "4",
                expected_return: date | None = None) -> str:
    a = app.samples.apply(staff["lab"], s.id, purpose="test", quantity=quantity,
                          expected_return=expected_return)
    app.samples.approve(staff["reg"], s.id, a.id)
    if s.is_hazardous:
        app.samples.approve_hazard(staff["safe"], s.id, a.id)
    app.samples.check_out(staff["reg"], s.id, a.id)
    return a.id


def outbox(app: App, kind: str) -> list[tuple[str, str]]:
    return [(i.notification.recipient_id, i.notification.body) for i in app.outbox(dispatcher(app))
            if i.notification.kind == kind]


# -- Single-use samples ----------------------------------------------------------------

def test_a_single_use_sample_never_goes_back_into_stock(app: App, staff: dict[str, Any]) -> None:
    s = registered(app, staff, single_use=True)
    a = checked_out(app, staff, s)
    app.samples.record_use(staff["lab"], s.id, a, used="3", note="one destructive run")
    chain_before = app.samples.chain(staff["qm"], s.id)
    with pytest.raises(InvalidTransition, match="single-use"):
        app.samples.take_back(staff["reg"], s.id, a, quantity="1")
    assert app.samples.chain(staff["qm"], s.id) == chain_before
    with pytest.raises(ValidationError) as raised:
        app.samples.dispose(staff["reg"], s.id, application_id=a, method="x", witness="u-reg")
    assert raised.value.field == "witness"
    s = app.samples.dispose(staff["reg"], s.id, application_id=a, method="incineration",
                            witness="u-qm")
    assert s.application(a).status is ApplicationStatus.DISPOSED
    assert (s.in_storage, s.checked_out, s.consumed, s.disposed) == (
        Decimal(6), Decimal(0), Decimal(3), Decimal(1))
    assert (s.state, s.custodian) == (SampleState.REGISTERED, "u-reg")
    assert app.samples.verify_chain(staff["qm"], s.id) == len(chain_before) + 1
    # An ordinary sample's remainder still comes back.
    t = registered(app, staff)
    b = checked_out(app, staff, t)
    assert app.samples.take_back(staff["reg"], t.id, b, quantity="4").in_storage == 10


# -- Hazardous samples are distributed under control -----------------------------------

def test_hazardous_distribution_needs_the_safety_officers_approval(
    app: App, staff: dict[str, Any]
) -> None:
    app.samples.add_department(staff["reg"], "dept-analytics", name="Analytics lab")
    s = registered(app, staff, hazardous=True)
    with pytest.raises(InvalidTransition, match="safety officer"):
        app.samples.distribute(staff["reg"], s.id, to="dept-analytics")
    with pytest.raises(PermissionDenied):
        app.samples.approve_distribution(staff["reg"], s.id, to="dept-analytics")
    app.samples.approve_distribution(staff["safe"], s.id, to="dept-analytics")
    with pytest.raises(InvalidTransition):       # approved for another recipient
        app.samples.distribute(staff["reg"], s.id, to="u-lab")
    s = app.samples.distribute(staff["reg"], s.id, to="dept-analytics", location="lab 3")
    assert (s.custodian, s.location, s.distribution_approval) == (
        "dept-analytics", "lab 3", None)
    kinds = [e.kind for e in app.samples.chain(staff["qm"], s.id)][-2:]
    assert kinds == [CustodyKind.DISTRIBUTION_APPROVED, CustodyKind.DISTRIBUTED]
    with pytest.raises(InvalidTransition):       # the approval was used up
        app.samples.distribute(staff["reg"], s.id, to="dept-analytics")
    app.samples.approve_distribution(staff["safe_reg"], s.id, to="u-lab")
    with pytest.raises(PermissionDenied, match="never hands out"):
        app.samples.distribute(staff["safe_reg"], s.id, to="u-lab")
    assert app.samples.distribute(staff["reg"], s.id, to="u-lab").custodian == "u-lab"


def test_recipients_are_known_principals_or_registered_departments(
    app: App, staff: dict[str, Any]
) -> None:
    s = registered(app, staff)
    for nobody in ("dept:nowhere", "someone on the 3rd floor"):
        with pytest.raises(ValidationError) as raised:
            app.samples.distribute(staff["reg"], s.id, to=nobody)
        assert raised.value.field == "to"
    with pytest.raises(PermissionDenied):
        app.samples.add_department(staff["lab"], "dept-qc", name="QC")
    with pytest.raises(ValidationError):
        app.samples.add_department(staff["reg"], "u-lab", name="a principal's id")
    qc = app.samples.add_department(staff["reg"], "dept-qc", name="Quality control")
    with pytest.raises(InvalidTransition):
        app.samples.add_department(staff["reg"], "dept-qc", name="again")
    assert app.samples.departments(staff["qm"]) == (qc,)
    assert app.samples.distribute(staff["reg"], s.id, to="dept-qc").custodian == "dept-qc"
    assert app.samples.distribute(staff["reg"], s.id, to="u-lab2").custodian == "u-lab2"


# -- The registry collates, archives and reports ---------------------------------------

def test_feedback_is_submitted_then_archived_and_only_then_reported(
    app: App, staff: dict[str, Any]
) -> None:
    s = registered(app, staff)
    a = checked_out(app, staff, s)
    app.samples.record_use(staff["lab"], s.id, a, used="4", note="all used")
    with pytest.raises(ValidationError) as raised:
        app.samples.feedback(staff["lab"], s.id, effect="purity 99.2 %")
    assert [e.path for e in raised.value.errors] == ["problems", "suggestions"]
    with pytest.raises(InvalidTransition):       # lab2 never used it
        app.samples.feedback(staff["lab2"], s.id, effect="?", problems="none",
                             suggestions="none")
    fb = app.samples.feedback(staff["lab"], s.id, effect="purity 99.2 %", problems="None",
                              suggestions="store under nitrogen")
    assert (fb.user, fb.filed_by, fb.problems, fb.status) == (
        "u-lab", "u-lab", "none", FeedbackStatus.SUBMITTED)
    assert outbox(app, "sample.feedback") == []
    with pytest.raises(PermissionDenied):
        app.samples.archive_feedback(staff["lab"], s.id, fb.id)
    s = app.samples.archive_feedback(staff["reg"], s.id, fb.id, note="checked against run log")
    entry = s.feedback_entry(fb.id)
    assert (entry.status, entry.archived_by, entry.review_note) == (
        FeedbackStatus.ARCHIVED, "u-reg", "checked against run log")
    [(recipient, body)] = outbox(app, "sample.feedback")
    assert recipient == "customer:c-000001" and "purity 99.2 %" in body
    with pytest.raises(InvalidTransition):
        app.samples.archive_feedback(staff["reg"], s.id, fb.id)
    assert len(outbox(app, "sample.feedback")) == 1


def test_the_registry_may_file_feedback_for_the_user(app: App, staff: dict[str, Any]) -> None:
    s = registered(app, staff)
    a = checked_out(app, staff, s)
    app.samples.take_back(staff["reg"], s.id, a, quantity="4")
    with pytest.raises(PermissionDenied):
        app.samples.feedback(staff["lab2"], s.id, effect="x", problems="none",
                             suggestions="none", on_behalf_of="u-lab")
    with pytest.raises(InvalidTransition):
        app.samples.feedback(staff["reg"], s.id, effect="x", problems="none",
                             suggestions="none", on_behalf_of="u-lab2")
    fb = app.samples.feedback(staff["reg"], s.id, effect="no change after 4 weeks",
                              problems="none", suggestions="无", on_behalf_of="u-lab")
    assert (fb.user, fb.filed_by, fb.suggestions) == ("u-lab", "u-reg", "none")
    event = app.samples.chain(staff["qm"], s.id)[-1]
    assert (event.kind, event.actor_id) == (CustodyKind.FEEDBACK, "u-reg")


# -- Returns are tracked ---------------------------------------------------------------

def test_overdue_returns_are_listed_and_reminded(
    app: App, staff: dict[str, Any], clock: FixedClock
) -> None:
    s = registered(app, staff)
    a = checked_out(app, staff, s, quantity="4", expected_return=date(2026, 3, 5))
    t = registered(app, staff, location="shelf B")
    b = checked_out(app, staff, t, quantity="1", expected_return=date(2026, 3, 20))
    assert app.samples.overdue_returns(staff["reg"], on=date(2026, 3, 5)) == ()
    clock.advance(days=5)                                   # 03-07
    app.samples.record_use(staff["lab"], s.id, a, used="1", note="one run")
    late = app.samples.overdue_returns(staff["reg"])
    assert [(o.application_id, o.applicant, o.quantity, o.days_late) for o in late] == [
        (a, "u-lab", Decimal(3), 2)]
    assert app.samples.overdue_returns(staff["lab"]) == late
    assert app.samples.overdue_returns(staff["lab2"]) == ()
    with pytest.raises(PermissionDenied):
        app.samples.send_return_reminders(staff["lab"])
    assert app.samples.send_return_reminders(staff["reg"]) == 1
    assert app.samples.send_return_reminders(staff["reg"]) == 0
    assert [r for r, _ in outbox(app, "sample.return_overdue")] == ["u-lab"]
    app.samples.take_back(staff["reg"], s.id, a, quantity="3")
    assert app.samples.overdue_returns(staff["reg"]) == ()
    assert [o.application_id for o in app.samples.overdue_returns(
        staff["reg"], on=date(2026, 3, 21))] == [b]


# -- Anomalies reach someone -----------------------------------------------------------

def test_anomalies_of_a_receiver_without_supervisor_go_to_the_quality_role(
    app: App, staff: dict[str, Any]
) -> None:
    s = app.samples.receive(staff["solo"], customer_id="c-000001", sample_name="resin",
                            quantity="1", unit="kg", description="bag",
                            requested_work="MFR", anomalies=["seal broken"])
    assert [e.kind for e in app.samples.chain(staff["qm"], s.id)] == [
        CustodyKind.RECEIVED, CustodyKind.ANOMALY]
    assert outbox(app, "sample.anomaly") == [("u-qm", "seal broken"), ("u-qm2", "seal broken")]
    app.samples.receive(staff["rita"], customer_id="c-000001", sample_name="resin",
                        quantity="1", unit="kg", description="bag", requested_work="MFR",
                        anomalies=["wet label"])
    assert outbox(app, "sample.anomaly")[-1] == ("u-boss", "wet label")


# -- Custody after full use ------------------------------------------------------------

def test_after_full_use_the_registry_holds_the_rest_and_acts_on_the_record(
    app: App, staff: dict[str, Any]
) -> None:
    s = registered(app, staff)
    a = checked_out(app, staff, s, quantity="4")
    s = app.samples.record_use(staff["lab"], s.id, a, used="4", note="all of it")
    assert (s.custodian, s.checked_out, s.in_storage) == ("u-reg", Decimal(0), Decimal(6))
    assert app.samples.chain(staff["qm"], s.id)[-1].custodian == "u-reg"
    b = app.samples.apply(staff["lab"], s.id, purpose="second run", quantity="2")
    app.samples.approve(staff["reg2"], s.id, b.id)
    app.samples.check_out(staff["reg2"], s.id, b.id)
    s = app.samples.take_back(staff["reg2"], s.id, b.id, quantity="2")
    last = app.samples.chain(staff["qm"], s.id)[-1]
    assert (last.kind, last.actor_id, last.custodian) == (CustodyKind.RETURNED, "u-reg2",
                                                          "u-reg2")


# -- Stocktake records the count -------------------------------------------------------

def test_a_physical_count_is_stored_compared_and_escalated(
    app: App, staff: dict[str, Any], clock: FixedClock
) -> None:
    one = registered(app, staff, quantity="10")
    two = registered(app, staff, quantity="5")
    three = registered(app, staff, quantity="2")
    elsewhere = registered(app, staff, location="shelf B")
    with pytest.raises(PermissionDenied):
        app.samples.record_count(staff["lab"], "shelf A", {})
    with pytest.raises(ValidationError) as raised:
        app.samples.record_count(staff["reg"], "shelf A", {one.number: "-1"})
    assert raised.value.field == f"counts.{one.number}"
    assert app.samples.stock_counts(staff["qm"]) == ()
    exact = app.samples.record_count(staff["reg"], "shelf A", {
        one.number: "10", two.number: Decimal("5"), three.number: 2})
    assert exact == () and outbox(app, "sample.count_discrepancy") == []
    clock.advance(days=1)
    found = app.samples.record_count(staff["reg"], "shelf A", {
        one.number: "10", two.number: "4.5", elsewhere.number: "10", "S2026-999999": 1})
    assert [(d.number, d.sample_id, d.expected, d.counted) for d in found] == [
        (two.number, two.id, Decimal(5), Decimal("4.5")),
        (three.number, three.id, Decimal(2), Decimal(0)),
        (elsewhere.number, None, Decimal(0), Decimal(10)),
        ("S2026-999999", None, Decimal(0), Decimal(1))]
    assert [d.difference for d in found] == [Decimal("-0.5"), Decimal(-2), Decimal(10),
                                             Decimal(1)]
    escalated = outbox(app, "sample.count_discrepancy")
    assert [r for r, _ in escalated] == ["u-qm", "u-qm2"]
    assert two.number in escalated[0][1]
    counts = app.samples.stock_counts(staff["qm"], location="shelf A")
    assert [len(c.discrepancies) for c in counts] == [0, 4]
    assert counts[1].counted_by == "u-reg" and len(counts[1].lines) == 5
    assert app.samples.stock_counts(staff["qm"], location="shelf B") == ()
