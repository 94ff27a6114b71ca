"""One contender in a registration race, run in its own thread or process."""

from __future__ import annotations

from typing import Any

import custmgmt
from custmgmt.errors import ClaimConflict

# The same person, written the ways people write a phone number.
SPELLINGS = ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "１３８００１３８０００",
             "138.0013.8000", "(+86)13800138000", "138 0013 8000", "86 13800138000"]


def contend(url: str, n: int, start: Any, results: Any) -> None:
    """Register the person as salesperson ``u-n`` once ``start`` lets everyone go."""
    with custmgmt.open(url) as app:
        seller = app.principal(f"u-{n}", roles={"salesperson"})
        start.wait()
        try:
            p = app.prospects.register(seller, name="Wang Wei", phone=SPELLINGS[n],
                                       willingness="clear", potential_value=1)
            results.put(("won", seller.id, p.registration.id))
        except ClaimConflict as conflict:
            results.put(("lost", conflict.owner_id, conflict.registration_id))
        except Exception as error:  # reported to the test, which fails on it
            results.put(("error", type(error).__name__, str(error)))


def contend_for_customer(url: str, n: int, start: Any, results: Any) -> None:
    """Create the company as account manager ``u-n`` once ``start`` lets everyone go."""
    with custmgmt.open(url) as app:
        manager = app.principal(f"u-{n}", roles={"account_manager"})
        start.wait()
        try:
            c = app.customers.create(manager, name="Wang Wei", organization="Acme Co., Ltd.",
                                     phone=SPELLINGS[n])
            results.put(("won", manager.id, c.id))
        except ClaimConflict as conflict:
            results.put(("lost", conflict.owner_id, conflict.registration_id))
        except Exception as error:  # reported to the test, which fails on it
            results.put(("error", type(error).__name__, str(error)))
