"""Fill a database with the code whose schema is 0008 (commit 65f66e3), where a sample
was one JSON ``document`` column and a stock count's lines another.

Kept for the record: tests/data/schema-0008.sqlite was made by running this script
on that commit (``git worktree add /tmp/r 65f66e3``, then
``python tests/data/fill_schema_0008.py schema-0008.sqlite``). The upgrade test
copies the file (SQLite) or its rows (PostgreSQL), migrates it to the head and reads
every sample back as that code stored it. The samples cover every part of the old
document: a hazardous one with a storage condition, two use applications (one
returned, one pending, quantities in odd forms), two feedback entries (one archived)
and a pending distribution approval; a single-use one disposed of after use; a plain
received one. Plus a department and a stock count with lines.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import custmgmt
from custmgmt import Certification
from custmgmt.domain.samples import Light, StorageCondition


def main(path: str) -> None:
    clock = custmgmt.FixedClock(datetime(2026, 6, 2, 1, 30, tzinfo=UTC))
    with custmgmt.open(f"sqlite:///{path}", clock=clock, ids=custmgmt.SequentialIds(),
                       migrate=True) as app:
        rita = app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                             certifications={Certification("sample_receiver",
                                                           date(2026, 12, 31))})
        reg = app.principal("u-reg", roles={"sample_registry"})
        lab = app.principal("u-lab", roles={"sample_user"})
        lab2 = app.principal("u-lab2", roles={"sample_user"})
        safety = app.principal("u-safe", roles={"safety_officer"})
        app.principal("u-qm", roles={"quality_manager"})
        anna = app.principal("u-anna", roles={"account_manager"})
        client = app.customers.create(anna, name="Zhao Lei", organization="Polymer Works",
                                      phone="021-5555-0101")
        app.samples.add_department(reg, "dept-qc", name="Quality control")

        solvent = app.samples.receive(
            rita, customer_id=client.id, sample_name="Solvent X", quantity="12.50",
            unit="L", description="two drums", requested_work="flash point",
            hazardous=True, hazard_class="3 flammable liquid", handling_procedure="HSE-07",
            anomalies=["drum dented"])
        cold = StorageCondition(min_celsius=Decimal("2.0"), max_celsius=Decimal("8"),
                                light=Light.DARK, max_humidity_percent=60,
                                segregation="away from oxidizers")
        app.samples.register(reg, solvent.id, classification="solvent", location="cabinet 1",
                             storage=cold)
        first = app.samples.apply(lab, solvent.id, purpose="flash point",
                                  quantity=Decimal("0.25E+1"), expected_return=date(2026, 6, 9))
        app.samples.approve(reg, solvent.id, first.id)
        app.samples.approve_hazard(safety, solvent.id, first.id)
        app.samples.check_out(reg, solvent.id, first.id)
        app.samples.record_use(lab, solvent.id, first.id, used="1.000", note="two runs")
        app.samples.take_back(reg, solvent.id, first.id, quantity="1.5")
        app.samples.apply(lab2, solvent.id, purpose="viscosity", quantity="1")
        done = app.samples.feedback(lab, solvent.id, effect="flash point 23 °C",
                                    problems="none", suggestions="keep it cold")
        app.samples.archive_feedback(reg, solvent.id, done.id, note="matches the log")
        app.samples.feedback(reg, solvent.id, effect="no result", problems="drum leaked",
                             suggestions="none", on_behalf_of="u-lab")
        app.samples.approve_distribution(safety, solvent.id, to="dept-qc")

        resin = app.samples.receive(
            rita, customer_id=client.id, sample_name="PP resin", quantity="3", unit="kg",
            description="white granules", requested_work="melt-flow test")
        app.samples.register(reg, resin.id, classification="polymer", location="shelf A",
                             single_use=True)
        use = app.samples.apply(lab, resin.id, purpose="melt flow", quantity="3")
        app.samples.approve(reg, resin.id, use.id)
        app.samples.check_out(reg, resin.id, use.id)
        app.samples.record_use(lab, resin.id, use.id, used="2", note="one run")
        app.samples.dispose(reg, resin.id, application_id=use.id, method="incinerated",
                            witness="u-safe")

        app.samples.receive(rita, customer_id=client.id, sample_name="water", quantity="1",
                            unit="L", description="bottle", requested_work="pH")

        number = app.samples.get(reg, solvent.id).number
        assert number is not None
        app.samples.record_count(reg, "cabinet 1", {number: "11.5", "S2026-000099": "1"})


if __name__ == "__main__":
    main(sys.argv[1])
