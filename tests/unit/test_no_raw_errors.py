"""Every service method, given nonsense in any one argument, raises only custmgmt errors."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

import custmgmt
from custmgmt.errors import CustmgmtError

NONSENSE: list[object] = [None, 123, 1.5, True, "", "x" * 5000, [], {}, object(),
                          date(2026, 1, 1), datetime(2026, 1, 1)]


def _methods() -> Iterator[tuple[str, str]]:
    """Every public method of every service the facade holds (``app.<area>.<method>``)."""
    with custmgmt.open("memory://") as app:
        for area, service in vars(app).items():
            if area.startswith("_") or not type(service).__module__.startswith(
                    "custmgmt.services."):
                continue
            own = [cls for cls in type(service).__mro__
                   if cls.__module__.startswith("custmgmt.services.")
                   and cls.__module__ != "custmgmt.services.context"]
            names = {name for cls in own for name, member in vars(cls).items()
                     if not name.startswith("_") and inspect.isfunction(member)}
            for name in sorted(names):
                yield area, name


@pytest.mark.parametrize(("area", "method"), list(_methods()))
def test_nonsense_arguments_raise_custmgmt_errors_only(
    app: custmgmt.CustomerManagement, area: str, method: str
) -> None:
    root = app.principal("u-root", roles={"admin"},
                         certifications={custmgmt.Certification("sample_receiver")})
    prospect = app.prospects.register(root, name="A", phone="13800138000",
                                      willingness="clear", potential_value=1)
    customer = app.customers.create(root, name="C", organization="C Ltd", phone="13900139000")
    sample = app.samples.receive(root, customer_id=customer.id, sample_name="n", quantity=1,
                                 unit="kg", description="d", requested_work="w")
    function = getattr(getattr(app, area), method)
    params = list(inspect.signature(function).parameters.values())
    good: dict[str, Any] = {}
    for param in params:
        if param.name == "actor":
            good[param.name] = root
        elif param.name == "prospect_id":
            good[param.name] = prospect.id
        elif param.name == "customer_id":
            good[param.name] = customer.id
        elif param.name == "sample_id":
            good[param.name] = sample.id
        elif param.name == "kind":
            good[param.name] = "prospect"
        elif param.name == "resource_id":
            good[param.name] = prospect.id
        elif param.default is inspect.Parameter.empty:
            good[param.name] = "x"
    for param in params:
        for value in NONSENSE:
            arguments = {**good, param.name: value}
            positional = [arguments.pop(p.name) for p in params
                          if p.kind is p.POSITIONAL_OR_KEYWORD and p.name in arguments]
            with contextlib.suppress(CustmgmtError):  # anything else fails the test
                function(*positional, **arguments)


@pytest.mark.parametrize("value", NONSENSE, ids=repr)
def test_the_facade_and_settings_refuse_nonsense_with_custmgmt_errors(value: object) -> None:
    app = custmgmt.open("memory://")
    root = app.principal("u-root", roles={"admin"})
    calls = [
        lambda: app.principal(value, roles={"salesperson"}),  # type: ignore[arg-type]
        lambda: app.principal("u-x", roles=value),  # type: ignore[arg-type]
        lambda: app.principal("u-x", team=value),  # type: ignore[arg-type]
        lambda: app.principal("u-x", certifications=value),  # type: ignore[arg-type]
        lambda: app.get_principal(value),  # type: ignore[arg-type]
        lambda: app.dispatch_notifications(root, limit=value),  # type: ignore[arg-type]
        lambda: app.dispatch_notifications(value),  # type: ignore[arg-type]
        lambda: app.outbox(value),  # type: ignore[arg-type]
        lambda: app.events(value),  # type: ignore[arg-type]
        lambda: custmgmt.open(value),  # type: ignore[arg-type]
        lambda: custmgmt.open("memory://", settings=value),  # type: ignore[arg-type]
        lambda: custmgmt.open("memory://", clock=value),  # type: ignore[arg-type]
        lambda: custmgmt.open("memory://", ids=value),  # type: ignore[arg-type]
        lambda: custmgmt.open("memory://", plugins=value),  # type: ignore[arg-type]
    ]
    calls += [lambda name=name: custmgmt.Settings(**{name: value})  # type: ignore[misc]
              for name in ("grading_large", "timezone", "notifier", "cadence_days",
                           "visit_minimum", "protection_days", "pool_daily_cap",
                           "chain_key")]
    for call in calls:
        with contextlib.suppress(CustmgmtError):
            call()
