"""Fill a database with the release whose schema is 0001 (commit 6e6cc26).

Kept for the record: tests/data/release-0001.sqlite was made by running this script
on that commit (``git worktree add /tmp/r 6e6cc26``, then
``python tests/data/fill_release_0001.py release-0001.sqlite``). The upgrade test
copies the file (SQLite) or its rows (PostgreSQL) and migrates it to the head.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import custmgmt
from custmgmt import Certification


def main(path: str) -> None:
    clock = custmgmt.FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    with custmgmt.open(f"sqlite:///{path}", clock=clock, ids=custmgmt.SequentialIds(),
                       migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"}, team="east")
        rita = app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                             certifications={Certification("sample_receiver",
                                                           date(2026, 12, 31))})
        won = app.prospects.register(alice, name="Wang Wei", phone="13800138000",
                                     organization="Acme Co., Ltd.", willingness="clear",
                                     potential_value=2_000_000)
        app.prospects.register(alice, name="Li Na", email="li.na@example.com",
                               willingness="interested", potential_value=50_000)
        # One sample names a prospect's id, two name a customer id nothing else knows.
        for customer_id, name in ((won.id, "PP resin"), ("ACME-001", "solvent"),
                                  ("ACME-001", "pigment"), ("walk-in", "water")):
            app.samples.receive(rita, customer_id=customer_id, sample_name=name, quantity="1",
                                unit="kg", description="bag", requested_work="test")


if __name__ == "__main__":
    main(sys.argv[1])
