"""Plant the sentinel person (``tests/pii_sentinel.py``) in every area on every back end.

The plugin watches the whole run (logs, error texts, audit entries, event payloads)
and fails the session at the end if the sentinel's data shows up anywhere; these
tests make sure the sentinel goes through every area, through refused calls too,
and that the watch does see a leak when there is one.
"""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

import custmgmt
from custmgmt import Money
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.domain.audit import chain_entry
from custmgmt.domain.credit import Condition
from custmgmt.domain.customers import CustomerReviewed
from custmgmt.errors import ClaimConflict, CustmgmtError, ValidationError
from custmgmt.serialization import event_to_dict, make_converter
from tests.conftest import START
from tests.helpers import admin
from tests.pii_sentinel import SENTINEL, WATCH

App = custmgmt.CustomerManagement
S = SENTINEL


def test_the_watch_sees_a_planted_leak_in_logs_errors_audit_and_events() -> None:
    storage = MemoryStorage()
    with WATCH.expecting() as seen:
        logging.getLogger("custmgmt.leaky").debug("calling %s", S.phone)
        CustmgmtError(f"no such person {S.name}")
        with storage.unit_of_work() as uow:
            uow.audit.append(chain_entry(None, resource_kind="prospect", resource_id="p-1",
                                         actor_id="u-1", action="update", at=START,
                                         after={"note": S.address}))
            uow.events.append(CustomerReviewed(actor_id=S.email, occurred_at=START,
                                               customer_id="c-1"))
            uow.commit()
    assert {sighting.split(":")[0] for sighting in seen} == {
        "log custmgmt.leaky", "error CustmgmtError", "audit entry prospect",
        "event CustomerReviewed"}
    assert WATCH.looked > 0


def _planted(app: App) -> tuple[str, str]:
    """The sentinel through every area, refused calls included: (customer, prospect)."""
    boss = admin(app)
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    am = app.principal("u-am", roles={"account_manager", "relationship_manager"})
    customer = app.customers.create(am, name=S.name, phone=S.phone, email=S.email,
                                    address=S.address, needs=S.needs)
    with pytest.raises(ClaimConflict):
        app.customers.create(am, name=S.name, phone=S.phone)
    prospect = app.prospects.register(alice, name=S.name, phone=S.phone, email=S.email,
                                      address=S.address, needs=S.needs, willingness="clear",
                                      potential_value=2_000_000, customer_id=customer.id)
    with pytest.raises(ClaimConflict):
        app.prospects.register(alice, name=S.name, phone=S.phone, willingness="clear",
                               potential_value=1)
    for bad in ({"email": S.name}, {"phone": S.name}, {"phone": S.phone + "99999999"}):
        with pytest.raises(ValidationError):
            app.prospects.register(alice, name=S.name, willingness="clear",
                                   potential_value=1, **bad)
    report = app.prospects.import_many(alice, [
        {"name": S.name, "phone": S.phone, "willingness": "clear", "potential_value": "1"},
        {"name": S.name, "email": S.email + "@", "willingness": "clear",
         "potential_value": "1"}])
    assert report.imported == 0
    app.prospects.update_profile(alice, prospect.id, address=S.address + " Room 2")
    app.customers.update_profile(am, customer.id, address=S.address + " Room 3")
    app.followups.record(alice, prospect.id, channel="visit",
                         summary=f"met {S.name} at {S.address}", needs=S.needs)
    receiver = app.principal("u-rita", roles={"sample_receiver"}, certifications={
        custmgmt.Certification("sample_receiver", date(2026, 12, 31))})
    app.samples.receive(receiver, customer_id=customer.id, sample_name="flour",
                        quantity="1", unit="kg", description=f"from {S.name}",
                        requested_work="analysis")
    approver = app.principal("u-appr", roles={"credit_approver"})
    app.credit.set_limit(approver, customer.id, Money("100000", "CNY"))
    app.credit.draft_intent(am, customer.id, kind="loan_intent_letter",
                            credit_line=Money("5000", "CNY"),
                            conditions=(Condition(code="income", description="income"),),
                            valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 20))
    cr = app.principal("u-cr", roles={"customer_relations"})
    case = app.delisting.open_case(cr, customer.id, grounds=["breach"], trigger="complaint")
    app.delisting.add_evidence(cr, case.id, kind="document", description="unpaid invoice",
                               source="finance")
    app.notifications.dispatch(boss)
    dpo = app.principal("u-dpo", roles={"privacy_officer"})
    app.privacy.access(dpo, phone=S.phone)
    assert S.name in app.privacy.export(dpo, email=S.email)  # the export is for the person
    deferred = app.privacy.erase(dpo, customer_id=customer.id)
    assert deferred.reason is not None and deferred.reason.startswith("legal hold")
    for bad in ({"phone": S.name}, {"email": S.address}):
        with pytest.raises(ValidationError):
            app.privacy.access(dpo, **bad)
    return customer.id, prospect.id


def test_the_sentinel_goes_through_every_area_and_leaks_nowhere(app: App) -> None:
    before = len(WATCH.sightings)
    customer, prospect = _planted(app)
    everyone = admin(app)
    converter = make_converter()
    texts = [json.dumps(event_to_dict(converter, e), ensure_ascii=False)
             for e in app.events(everyone)]
    texts += [repr(e) for e in app.customers.audit_trail(everyone, customer)]
    texts += [repr(e) for e in app.prospects.audit_trail(everyone, prospect)]
    texts += [repr(app.customers.get(everyone, customer)),
              repr(app.prospects.get(everyone, prospect))]
    found = [(text, needle) for text in texts for needle in S.needles()
             if needle in text.lower()]
    assert found == []
    assert WATCH.sightings[before:] == []
