"""An ordinary and a hazardous sample from receipt to feedback; then a tampered record.

Run: python examples/03_samples.py
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import text

import custmgmt
from custmgmt import Certification
from custmgmt.domain.customers import Customer
from custmgmt.domain.samples import Light, StorageCondition
from custmgmt.errors import IntegrityError


def customers(app: custmgmt.CustomerManagement) -> tuple[Customer, Customer]:
    """Every sample names a customer that exists (app.customers; see 04_customers.py)."""
    anna = app.principal("u-anna", roles={"account_manager"})
    polymers = app.customers.create(anna, name="Zhao Lei", organization="Polymer Works Ltd",
                                    phone="021-5555-0101")
    paints = app.customers.create(anna, name="Qian Yu", organization="Bright Paints Ltd",
                                  email="lab@brightpaints.example")
    return polymers, paints


def main() -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = custmgmt.open("sqlite://", clock=clock, ids=custmgmt.SequentialIds(), migrate=True)
    rita = app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                         certifications={Certification("sample_receiver", date(2026, 12, 31))})
    reg = app.principal("u-reg", roles={"sample_registry"})
    lab = app.principal("u-lab", roles={"sample_user"})
    safety = app.principal("u-safe", roles={"safety_officer"})
    qm = app.principal("u-qm", roles={"quality_manager"})
    polymers, paints = customers(app)
    worker = app.principal("u-worker", roles={"dispatcher"})

    resin = app.samples.receive(
        rita, customer_id=polymers.id, sample_name="PP resin", quantity="10", unit="kg",
        description="white granules", requested_work="melt-flow index")
    resin = app.samples.register(reg, resin.id, classification="polymer", location="shelf A")
    print(f"{resin.number}: PP resin, {resin.in_storage} kg on {resin.location}")

    solvent = app.samples.receive(
        rita, customer_id=paints.id, sample_name="solvent blend", quantity="2", unit="L",
        description="amber bottle", requested_work="GC purity",
        hazard_class="3 flammable liquid", handling_procedure="HSE-07",
        anomalies=["cap seal broken"])
    cabinet = StorageCondition(min_celsius=Decimal("5"), max_celsius=Decimal("25"),
                               light=Light.DARK, segregation="flammables cabinet")
    solvent = app.samples.register(reg, solvent.id, classification="solvent",
                                   location="cabinet F1", storage=cabinet, single_use=True)
    print(f"{solvent.number}: solvent blend (hazardous) label: {solvent.storage.label}"
          if solvent.storage else "")

    clock.advance(days=1)
    use = app.samples.apply(lab, resin.id, purpose="MFI at 230 °C", quantity="3",
                            expected_return=date(2026, 3, 4))
    app.samples.approve(reg, resin.id, use.id)
    app.samples.check_out(reg, resin.id, use.id)
    app.samples.record_use(lab, resin.id, use.id, used="1", note="three runs")
    clock.advance(days=2)
    late = app.samples.overdue_returns(reg)
    print(f"{resin.number}: {late[0].quantity} kg overdue since "
          f"{late[0].expected_return}; reminders queued: {app.samples.send_return_reminders(reg)}")
    resin = app.samples.take_back(reg, resin.id, use.id, quantity="2")
    print(f"{resin.number}: used 1 kg, {resin.in_storage} kg back with {resin.custodian}")
    # The user gives feedback; the registry archives it; only then the customer hears.
    fb = app.samples.feedback(lab, resin.id, effect="MFI 12 g/10 min", problems="none",
                              suggestions="dry before use")
    app.samples.archive_feedback(reg, resin.id, fb.id, note="matches the run log")

    gc = app.samples.apply(lab, solvent.id, purpose="GC purity", quantity="1.5")
    app.samples.approve(reg, solvent.id, gc.id)
    app.samples.approve_hazard(safety, solvent.id, gc.id)
    app.samples.check_out(reg, solvent.id, gc.id)
    app.samples.record_use(lab, solvent.id, gc.id, used="1", note="two injections")
    # Single-use: what is left after use is disposed of, never taken back into stock.
    solvent = app.samples.dispose(reg, solvent.id, application_id=gc.id,
                                  method="licensed waste contractor", witness="u-qm")
    print(f"{solvent.number}: 1 L used, 0.5 L disposed of, {solvent.in_storage} L in stock")
    app.samples.feedback(reg, solvent.id, effect="purity 99.2 %", problems="none",
                         suggestions="none", on_behalf_of="u-lab")
    # A hazardous sample is distributed only with the safety officer's approval.
    app.samples.add_department(reg, "dept-qc", name="Quality control lab")
    app.samples.approve_distribution(safety, solvent.id, to="dept-qc")
    solvent = app.samples.distribute(reg, solvent.id, to="dept-qc", location="QC cabinet")
    print(f"{solvent.number}: distributed to {solvent.custodian} at {solvent.location}")

    found = app.samples.record_count(reg, "shelf A", {resin.number or "": "8.5"})
    print("count of shelf A: " + "; ".join(
        f"{d.number} expected {d.expected}, counted {d.counted}" for d in found))

    for sample in (resin, solvent):
        print(f"{sample.number}: chain of {app.samples.verify_chain(qm, sample.id)} events "
              "verified")
    print(f"notifications queued: {[i.notification.kind for i in app.outbox(worker)]}")

    # Someone edits the stored record of the check-out to hide how much was taken.
    with app._storage.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(text(
            "UPDATE custmgmt_custody_events SET checked_out = '0.5' "
            "WHERE sample_id = :s AND kind = 'checked_out'"), {"s": resin.id})
    try:
        app.samples.verify_chain(qm, resin.id)
    except IntegrityError as error:
        print(f"after tampering: {error}")


if __name__ == "__main__":
    main()
