"""app.samples: receipt to feedback, four eyes, illegal moves, conservation."""

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
    Light,
    Sample,
    SampleState,
    StorageCondition,
)
from custmgmt.errors import InvalidTransition, PermissionDenied, ValidationError
from tests.helpers import a_customer, dispatcher

App = custmgmt.CustomerManagement
COLD = StorageCondition(min_celsius=Decimal("2"), max_celsius=Decimal("8"), light=Light.DARK,
                        max_humidity_percent=60, segregation="away from oxidizers")


@pytest.fixture
def staff(app: App) -> dict[str, custmgmt.Principal]:
    valid = Certification("sample_receiver", date(2026, 12, 31))
    assert a_customer(app) == "c-000001"
    return {
        "rita": app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                              certifications={valid}),
        "stale": app.principal("u-stale", roles={"sample_receiver"}, supervisor_id="u-qm",
                               certifications={Certification("sample_receiver",
                                                             date(2026, 1, 31))}),
        "reg": app.principal("u-reg", roles={"sample_registry"}),
        "reg2": app.principal("u-reg2", roles={"sample_registry", "sample_user"}),
        "lab": app.principal("u-lab", roles={"sample_user"}),
        "safe": app.principal("u-safe", roles={"safety_officer"}),
        "qm": app.principal("u-qm", roles={"quality_manager"}),
    }


def receive(app: App, who: custmgmt.Principal, **overrides: Any) -> Sample:
    fields: dict[str, Any] = {
        "customer_id": "c-000001", "sample_name": "PP resin", "quantity": "10", "unit": "kg",
        "description": "white granules, sealed bag", "requested_work": "melt-flow test"}
    fields.update(overrides)
    return app.samples.receive(who, **fields)


def conserved(s: Sample) -> bool:
    return s.received == s.in_storage + s.checked_out + s.consumed + s.disposed


def test_an_ordinary_sample_from_receipt_to_feedback(
    app: App, staff: dict[str, Any], clock: FixedClock
) -> None:
    s = receive(app, staff["rita"])
    assert (s.state, s.custodian, s.received) == (SampleState.RECEIVED, "u-rita", Decimal(10))
    s = app.samples.register(staff["reg"], s.id, classification="polymer", location="shelf A",
                             storage=COLD)
    assert s.number == "S2026-000001" and s.custodian == "u-reg"
    assert s.storage is not None and "2..8 °C" in s.storage.label and "keep dark" in s.storage.label
    application = app.samples.apply(staff["lab"], s.id, purpose="melt-flow test",
                                    quantity=Decimal("4"), expected_return=date(2026, 3, 9))
    app.samples.approve(staff["reg"], s.id, application.id)
    s = app.samples.check_out(staff["reg"], s.id, application.id)
    assert (s.custodian, s.in_storage, s.checked_out) == ("u-lab", Decimal(6), Decimal(4))
    s = app.samples.record_use(staff["lab"], s.id, application.id, used="1.5",
                               note="two runs at 230 °C")
    s = app.samples.take_back(staff["reg"], s.id, application.id, quantity="2.5")
    assert (s.custodian, s.in_storage, s.checked_out, s.consumed) == (
        "u-reg", Decimal("8.5"), Decimal(0), Decimal("1.5"))
    assert s.application(application.id).status is ApplicationStatus.RETURNED
    fb = app.samples.feedback(staff["lab"], s.id, effect="MFR 12 g/10min",
                              problems="slight yellowing", suggestions="dry before use")
    s = app.samples.archive_feedback(staff["reg"], s.id, fb.id)
    kinds = [e.kind for e in app.samples.chain(staff["qm"], s.id)]
    assert kinds == [CustodyKind.RECEIVED, CustodyKind.REGISTERED, CustodyKind.APPLIED,
                     CustodyKind.APPROVED, CustodyKind.CHECKED_OUT, CustodyKind.USED,
                     CustodyKind.RETURNED, CustodyKind.FEEDBACK, CustodyKind.FEEDBACK_ARCHIVED]
    assert app.samples.verify_chain(staff["qm"], s.id) == 9
    report = [i.notification for i in app.outbox(dispatcher(app))
              if i.notification.kind == "sample.feedback"]
    assert [n.recipient_id for n in report] == ["customer:c-000001"]
    assert all(conserved(e) for e in [s])


def test_every_event_keeps_quantities_conserved_and_one_custodian(
    app: App, staff: dict[str, Any]
) -> None:
    s = receive(app, staff["rita"], quantity="3")
    s = app.samples.register(staff["reg"], s.id, classification="c", location="l",
                             single_use=True)
    a = app.samples.apply(staff["lab"], s.id, purpose="destructive test", quantity=3)
    app.samples.approve(staff["reg"], s.id, a.id)
    app.samples.check_out(staff["reg"], s.id, a.id)
    s = app.samples.record_use(staff["lab"], s.id, a.id, used=3, note="burnt")
    assert s.application(a.id).status is ApplicationStatus.CONSUMED
    s = app.samples.dispose(staff["reg"], s.id, method="incineration", witness="u-qm")
    for event in app.samples.chain(staff["qm"], s.id):
        assert Decimal(3) == (event.in_storage + event.checked_out + event.consumed
                              + event.disposed)
        assert event.custodian
    assert s.state is SampleState.DISPOSED
    with pytest.raises(InvalidTransition):
        app.samples.apply(staff["lab"], s.id, purpose="again", quantity=1)


def test_only_a_certified_receiver_receives(app: App, staff: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied, match="certification"):
        receive(app, staff["stale"])  # expired on 2026-01-31; today is 2026-03-02
    with pytest.raises(PermissionDenied):
        receive(app, staff["lab"])


def test_incomplete_information_names_every_missing_field(
    app: App, staff: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as raised:
        receive(app, staff["rita"], sample_name=" ", quantity=None, unit="")
    assert [e.path for e in raised.value.errors] == ["sample_name", "unit", "quantity"]
    with pytest.raises(ValidationError) as raised:
        receive(app, staff["rita"], quantity=-1)
    assert raised.value.field == "quantity"
    with pytest.raises(ValidationError):
        receive(app, staff["rita"], quantity=1.5)
    assert app.samples.stocktake(staff["reg"]) == ()


def test_a_hazardous_chemical_takes_the_hazardous_path(app: App, staff: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        receive(app, staff["rita"], hazardous=True)
    assert [e.path for e in raised.value.errors] == ["hazard_class", "handling_procedure"]
    s = receive(app, staff["rita"], hazard_class="3 flammable liquid",
                handling_procedure="HSE-07")
    with pytest.raises(ValidationError) as no_storage:
        app.samples.register(staff["reg"], s.id, classification="solvent", location="cabinet")
    assert no_storage.value.field == "storage"
    s = app.samples.register(staff["reg"], s.id, classification="solvent",
                             location="flammables cabinet", storage=COLD)
    a = app.samples.apply(staff["lab"], s.id, purpose="GC", quantity=1)
    app.samples.approve(staff["reg"], s.id, a.id)
    with pytest.raises(InvalidTransition, match="hazard approval"):
        app.samples.check_out(staff["reg"], s.id, a.id)
    with pytest.raises(PermissionDenied):
        app.samples.approve_hazard(staff["reg"], s.id, a.id)
    app.samples.approve_hazard(staff["safe"], s.id, a.id)
    assert app.samples.check_out(staff["reg"], s.id, a.id).custodian == "u-lab"


def test_anomalies_are_recorded_and_escalated(app: App, staff: dict[str, Any]) -> None:
    s = receive(app, staff["rita"], anomalies=["outer bag torn", "label says 12 kg"])
    kinds = [e.kind for e in app.samples.chain(staff["qm"], s.id)]
    assert kinds == [CustodyKind.RECEIVED, CustodyKind.ANOMALY, CustodyKind.ANOMALY]
    notes = [i.notification for i in app.outbox(dispatcher(app))]
    assert [(n.recipient_id, n.kind) for n in notes] == [("u-qm", "sample.anomaly")] * 2
    assert "outer bag torn" in notes[0].body


def test_whoever_asks_never_approves(app: App, staff: dict[str, Any]) -> None:
    s = receive(app, staff["rita"])
    s = app.samples.register(staff["reg"], s.id, classification="c", location="l")
    a = app.samples.apply(staff["reg2"], s.id, purpose="own test", quantity=1)
    with pytest.raises(PermissionDenied, match="never approves"):
        app.samples.approve(staff["reg2"], s.id, a.id)
    app.samples.approve(staff["reg"], s.id, a.id)


def test_illegal_moves_change_nothing(app: App, staff: dict[str, Any]) -> None:
    s = receive(app, staff["rita"])
    s = app.samples.register(staff["reg"], s.id, classification="c", location="l")
    a = app.samples.apply(staff["lab"], s.id, purpose="t", quantity=4)
    b = app.samples.apply(staff["reg2"], s.id, purpose="t", quantity=2)
    before = app.samples.chain(staff["qm"], s.id)
    with pytest.raises(InvalidTransition, match="not approved"):
        app.samples.check_out(staff["reg"], s.id, a.id)
    app.samples.approve(staff["reg"], s.id, a.id)
    app.samples.approve(staff["reg"], s.id, b.id)
    app.samples.check_out(staff["reg"], s.id, a.id)
    with pytest.raises(InvalidTransition, match="one custodian"):
        app.samples.check_out(staff["reg"], s.id, b.id)
    with pytest.raises(InvalidTransition, match="more than was taken"):
        app.samples.take_back(staff["reg"], s.id, a.id, quantity=5)
    with pytest.raises(PermissionDenied):
        app.samples.record_use(staff["reg2"], s.id, a.id, used=1, note="not mine")
    with pytest.raises(InvalidTransition):
        app.samples.dispose(staff["reg"], s.id, method="x", witness="u-qm")
    after = app.samples.get(staff["qm"], s.id)
    assert len(app.samples.chain(staff["qm"], s.id)) == len(before) + 3
    assert (after.in_storage, after.checked_out) == (Decimal(6), Decimal(4))
    assert app.samples.verify_chain(staff["qm"], s.id) == len(before) + 3
    with pytest.raises(ValidationError):
        app.samples.dispose(staff["reg"], s.id, method="x", witness="u-reg")


def test_distribution_and_stocktake(app: App, staff: dict[str, Any], clock: FixedClock) -> None:
    first = receive(app, staff["rita"])
    second = receive(app, staff["rita"], quantity="2.5")
    app.samples.register(staff["reg"], first.id, classification="c", location="shelf A")
    clock.advance(days=1)
    app.samples.register(staff["reg"], second.id, classification="c", location="fridge 2")
    app.samples.add_department(staff["reg"], "dept:analytics", name="Analytics lab")
    s = app.samples.distribute(staff["reg"], second.id, to="dept:analytics",
                               location="lab 3 fridge")
    assert s.custodian == "dept:analytics"
    lines = app.samples.stocktake(staff["reg"])
    assert [(x.number, x.location, x.expected, x.custodian) for x in lines] == [
        ("S2026-000001", "shelf A", Decimal(10), "u-reg"),
        ("S2026-000002", "lab 3 fridge", Decimal("2.5"), "dept:analytics")]
    assert [x.number for x in app.samples.stocktake(staff["reg"], location="shelf A")] == [
        "S2026-000001"]
    clock.advance(days=300)   # 2026-12-27, still within rita's certification
    third = receive(app, staff["rita"])
    clock.advance(days=10)    # 2027
    with pytest.raises(PermissionDenied):
        app.samples.register(staff["lab"], third.id, classification="c", location="l")
    assert app.samples.register(staff["reg"], third.id, classification="c",
                                location="l").number == "S2027-000001"


def test_feedback_comes_after_use(app: App, staff: dict[str, Any]) -> None:
    s = receive(app, staff["rita"])
    s = app.samples.register(staff["reg"], s.id, classification="c", location="l")
    with pytest.raises(InvalidTransition):
        app.samples.feedback(staff["lab"], s.id, effect="nothing yet", problems="none",
                             suggestions="none")


def test_storage_conditions_check_their_types() -> None:
    for fields, name in (({"min_celsius": 2.5}, "min_celsius"), ({"light": "dark"}, "light"),
                         ({"max_humidity_percent": "60"}, "max_humidity_percent")):
        with pytest.raises(ValidationError) as raised:
            StorageCondition(**fields)  # type: ignore[arg-type]
        assert raised.value.field == name
