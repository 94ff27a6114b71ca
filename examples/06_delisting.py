"""Delisting (客户摘牌): a five-member leadership panel decides by more than half of the
whole panel; the customer gets a written notice; sealing hides its phone.

Two votes for and three abstentions fail; three votes for pass. After sealing, the
customer's phone is no longer readable except with the sealed-read right, a reason
and an audit entry.

Run: python examples/06_delisting.py
"""

from __future__ import annotations

from datetime import UTC, datetime

import custmgmt
from custmgmt.domain.delisting import CaseState
from custmgmt.errors import CustomerRefused, PermissionDenied


def main() -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = custmgmt.open("sqlite://", clock=clock, ids=custmgmt.SequentialIds(), migrate=True)
    anna = app.principal("u-anna", roles={"account_manager"}, team="east")
    carol = app.principal("u-carol", roles={"customer_relations"})
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    lawyer = app.principal("u-lawyer", roles={"sealed_reader"})
    panel = [app.principal(f"u-lead{n}", roles={"leadership"}) for n in range(1, 6)]

    def investigated(customer_id: str) -> str:
        case = app.delisting.open_case(carol, customer_id, grounds=["breach"],
                                       trigger="complaint")
        app.delisting.add_evidence(carol, case.id, kind="document", source="finance",
                                   description="three invoices 90 days overdue")
        app.delisting.summarize(carol, case.id, summary="breach of contract confirmed")
        return app.delisting.open_vote(carol, case.id).id

    # 1. two for, three abstain: 2 of a panel of 5 is not more than half
    beta = app.customers.create(anna, name="Li Lei", organization="Beta Trading",
                                phone="13987654321")
    first = investigated(beta.id)
    for leader, choice in zip(panel, ["for", "for", "abstain", "abstain", "abstain"],
                              strict=True):
        app.delisting.vote(leader, first, choice)
    tally = app.delisting.tally(carol, first)
    rejected = app.delisting.close_vote(carol, first)
    print(f"vote 1: {tally.votes_for} for, {tally.abstain} abstain of {tally.panel_size}"
          f" -> {rejected.state.value}")
    assert rejected.state is CaseState.REJECTED

    # 2. three for: more than half of the whole panel
    acme = app.customers.create(anna, name="Wang Wei", organization="Acme Co., Ltd.",
                                phone="13912345678")
    second = investigated(acme.id)
    for leader in panel[:3]:
        app.delisting.vote(leader, second, "for")
    decided = app.delisting.close_vote(carol, second)
    print(f"vote 2: 3 for of {len(decided.panel)} -> {decided.state.value}")
    assert decided.state is CaseState.DECIDED

    notified = app.delisting.notify(carol, second, reasons="三张发票逾期九十天未付",
                                    basis="客户摘牌管理制度 二、1(4)")
    assert notified.notice is not None
    print("notice kept with the case:")
    print("   " + notified.notice.text.replace("\n", "\n   ").rstrip())
    sealed = app.delisting.seal(carol, second)
    print(f"case {sealed.id}: {sealed.state.value}")

    shown = app.customers.get(anna, acme.id)
    print(f"the account manager reads: status {shown.status.value}, phone {shown.profile.phone}")
    assert shown.profile.phone is None
    try:
        app.delisting.read_sealed(anna, acme.id, reason="I need to call them")
    except PermissionDenied:
        print("without the sealed-read right: PermissionDenied")
    else:
        raise AssertionError("a sealed read needs the right")
    stored = app.delisting.read_sealed(lawyer, acme.id, reason="court filing 2026-17")
    assert stored.profile.phone is not None
    print(f"the lawyer reads it with a reason (audited): phone {stored.profile.phone}")
    try:
        app.prospects.register(alice, name="W", phone="139 1234 5678", willingness="clear",
                               potential_value=1)
    except CustomerRefused as refused:
        print(f"registering it again: CustomerRefused ({refused.status})")
    else:
        raise AssertionError("a sealed customer cannot be registered again")


if __name__ == "__main__":
    main()
