"""One contender in a registration race, run in its own thread or process."""

from __future__ import annotations

from typing import Any

import custmgmt
from custmgmt.errors import ClaimConflict, PermissionDenied

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


POOL: dict[str, Any] = {"ownership_lapse": True, "pool_daily_cap": 5,
                        "protection_days": {"A": 10, "B": 10, "C": 10, "D": 10}}


def claim_from_pool(url: str, prospect_id: str, at: Any, start: Any, results: Any) -> None:
    """Salesperson ``u-taker`` takes ``prospect_id`` from the pool once ``start`` opens."""
    clock = custmgmt.FixedClock(at)
    with custmgmt.open(url, clock=clock, settings=custmgmt.Settings(**POOL)) as app:
        taker = app.get_principal("u-taker")
        assert taker is not None
        start.wait()
        try:
            app.pool.claim(taker, prospect_id)
            results.put(("claimed", prospect_id))
        except PermissionDenied as denied:
            results.put(("capped", denied.reason))
        except Exception as error:  # reported to the test, which fails on it
            results.put(("error", f"{type(error).__name__}: {error}"))
