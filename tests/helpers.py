"""Small helpers shared by service tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import custmgmt


def in_threads(work: Callable[[], object], count: int) -> None:
    """Run ``work`` in ``count`` threads at once and wait for all of them."""
    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def a_customer(app: custmgmt.CustomerManagement, n: int = 1) -> str:
    """Customer ``n`` (an existing client created by an account manager): its id."""
    manager = app.principal("u-am", roles={"account_manager"}, team="accounts")
    return app.customers.create(manager, name=f"Client {n}", organization=f"Client {n} Ltd",
                                phone=f"1390000{n:04d}").id


def register_numbered(
    app: custmgmt.CustomerManagement, who: custmgmt.Principal, n: int, **fields: Any
) -> Any:
    """Prospect ``n`` with its own phone, grade A unless told otherwise."""
    values: dict[str, Any] = {"name": f"P{n}", "phone": f"1380000{n:04d}",
                              "willingness": "clear", "potential_value": 2_000_000}
    values.update(fields)
    return app.prospects.register(who, **values)


def dispatcher(app: custmgmt.CustomerManagement) -> custmgmt.Principal:
    """A principal who may read the outbox and deliver it."""
    return app.principal("u-dispatcher", roles={"dispatcher"})


def admin(app: custmgmt.CustomerManagement) -> custmgmt.Principal:
    """A principal who may do anything, e.g. read the event log."""
    return app.principal("u-admin", roles={"admin"})
