"""Many threads register the same person at once on one memory store: one wins."""

from __future__ import annotations

import threading

import custmgmt
from custmgmt.errors import ClaimConflict
from tests.helpers import each_in_thread

SPELLINGS = ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "１３８００１３８０００",
             "138.0013.8000", "(+86)13800138000", "138 0013 8000", "86 13800138000"]


def test_exactly_one_of_many_simultaneous_registrations_wins() -> None:
    app = custmgmt.open("memory://")
    start = threading.Barrier(len(SPELLINGS))
    won: list[str] = []
    lost: list[ClaimConflict] = []

    def register(n: int, phone: str) -> None:
        seller = app.principal(f"u-{n}", roles={"salesperson"})
        start.wait()
        try:
            app.prospects.register(seller, name="Wang Wei", phone=phone,
                                   willingness="clear", potential_value=1)
            won.append(seller.id)
        except ClaimConflict as conflict:
            lost.append(conflict)

    each_in_thread(register, list(enumerate(SPELLINGS)))
    assert len(won) == 1 and len(lost) == len(SPELLINGS) - 1
    assert {c.owner_id for c in lost} == set(won)
    root = app.principal("u-root", roles={"admin"})
    assert app.prospects.counts(root).total == 1
