"""Personal-information rights (个人信息权利): a customer asks what is held about her,
takes a copy, then asks to be forgotten.

The export is one JSON document. Her erasure waits while a credit instrument of hers is
still open (a legal hold, named in the answer); once it has expired, the same request
pseudonymizes her records, and the audit trails still verify. A request received and
not answered in time shows up as overdue.

Run: python examples/09_privacy.py
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import custmgmt
from custmgmt import Money
from custmgmt.domain.credit import Condition


def main() -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app = custmgmt.open("sqlite://", clock=clock, ids=custmgmt.SequentialIds(), migrate=True)
    dpo = app.principal("u-dpo", roles={"privacy_officer"})
    anna = app.principal("u-anna", roles={"account_manager", "relationship_manager"})
    approver = app.principal("u-appr", roles={"credit_approver"})
    auditor = app.principal("u-audit", roles={"auditor"})

    zhao = app.customers.create(anna, name="Zhao Lihua", phone="139 1122 3344",
                                address="No. 7 Qinghe Road")
    app.credit.set_limit(approver, zhao.id, Money("1000000", "CNY"))
    app.credit.draft_intent(anna, zhao.id, kind="loan_intent_letter",
                            credit_line=Money("50000", "CNY"),
                            conditions=(Condition(code="income", description="stable"),),
                            valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 31))

    document = json.loads(app.privacy.export(dpo, phone="+86 139-1122-3344"))
    print("export holds:", {k: len(v) for k, v in document.items()
                            if isinstance(v, list) and v})

    late = app.privacy.receive(dpo, "access", customer_id=zhao.id)
    print(f"access request {late.id} due on {late.due_on}")

    erasure = app.privacy.erase(dpo, customer_id=zhao.id)
    print(f"erasure {erasure.status.value}: {erasure.reason}")

    clock.advance(days=31)  # the intent expired: no hold any more
    print("overdue:", [r.id for r in app.privacy.overdue(auditor)])
    erasure = app.privacy.erase(dpo, erasure.id)
    after = app.customers.get(anna, zhao.id)
    print(f"erasure {erasure.status.value}: name now {after.profile.name.value!r}, "
          f"phone {after.profile.phone}")
    app.privacy.access(dpo, late.id)
    print("overdue after answering:", [r.id for r in app.privacy.overdue(auditor)])
    admin = app.principal("u-admin", roles={"admin"})
    print("customer audit trail verifies:", app.audit.verify(admin, "customer", zhao.id),
          "entries")
    app.close()


if __name__ == "__main__":
    main()
