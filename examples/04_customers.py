"""Customers: a won prospect becomes one, an existing client is created directly,
one company is never two customers, and a sealed customer is refused everywhere.

Run: python examples/04_customers.py
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import custmgmt
from custmgmt import Certification
from custmgmt.domain.customers import CustomerStatus
from custmgmt.errors import ClaimConflict, CustomerRefused


def main() -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = custmgmt.open("sqlite://", clock=clock, ids=custmgmt.SequentialIds(), migrate=True)
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    anna = app.principal("u-anna", roles={"account_manager"}, team="east")
    bob = app.principal("u-bob", roles={"salesperson"}, team="east")
    admin = app.principal("u-admin", roles={"admin"})
    rita = app.principal("u-rita", roles={"sample_receiver"},
                         certifications={Certification("sample_receiver", date(2026, 12, 31))})

    star = app.prospects.register(alice, name="Zhang Min", phone="138 0013 8000",
                                  organization="上海星辰贸易有限公司", willingness="clear",
                                  potential_value=800_000)
    app.followups.record(alice, star.id, channel="visit", summary="contract signed on site")
    star = app.prospects.mark_won(alice, star.id)
    print(f"alice wins {star.id}: it becomes customer {star.customer_id}")

    acme = app.customers.create(anna, name="Wang Wei", organization="Acme Co., Ltd.",
                                phone="139 1234 5678")
    print(f"anna creates the existing client {acme.id} ({acme.kind.value})")
    try:
        app.customers.create(anna, name="W. Wang", organization="ＡＣＭＥ co. ltd",
                             address="Fuzhou")
    except ClaimConflict as conflict:
        print(f"the same company written differently is refused: it is {conflict.registration_id}")

    again = app.prospects.register(bob, name="Wang", phone="+86 139-1234-5678",
                                   willingness="interested", potential_value=50_000)
    app.followups.record(bob, again.id, channel="phone", summary="order confirmed")
    again = app.prospects.mark_won(bob, again.id)
    print(f"bob wins a prospect with Acme's phone: linked to {again.customer_id}, no new customer")

    (match,) = app.customers.find(bob, organization="acme co ltd")
    print(f"bob asks who holds 'acme co ltd': {match.owner_id} (record hidden: "
          f"{match.record is None})")

    app.customers.set_status(admin, acme.id, CustomerStatus.SEALED, reason="delisted")
    try:
        app.samples.receive(rita, customer_id=acme.id, sample_name="resin", quantity=1,
                            unit="kg", description="bag", requested_work="MFI")
    except CustomerRefused as refused:
        print(f"a sample for the sealed customer is refused: {refused}")
    history = [h.kind.value for h in app.customers.history(admin, acme.id)]
    print(f"{acme.id} history: {', '.join(history)}")


if __name__ == "__main__":
    main()
