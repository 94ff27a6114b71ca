"""Every public method of the facade and of every service it holds (inherited ones
too), driven by hypothesis with hostile values, on memory and SQLite (PostgreSQL when
the server is there, as in CI).

For every call: only ``custmgmt.errors`` may escape, and a refused call (one that
raised) leaves the storage exactly as it was: every committed row, every value.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import custmgmt
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.errors import CustmgmtError, ValidationError
from tests.pii_sentinel import SENTINEL

NOT_DRIVEN = {("app", "close")}
"""Closing the storage is no call an attacker's values reach."""


def _methods() -> list[tuple[str, str]]:
    """``(area, name)`` of every public method: ``app.<name>`` and ``app.<area>.<name>``,
    a service's inherited custmgmt methods included."""
    found = []
    with custmgmt.open("memory://") as app:
        for name, member in vars(type(app)).items():
            if not name.startswith("_") and inspect.isfunction(member):
                found.append(("app", name))
        for area, service in vars(app).items():
            if area.startswith("_") or not type(service).__module__.startswith(
                    "custmgmt.services."):
                continue
            own = [cls for cls in type(service).__mro__
                   if cls.__module__.startswith("custmgmt.services.")
                   and cls.__module__ != "custmgmt.services.context"]
            found += [(area, name) for name in {
                name for cls in own for name, member in vars(cls).items()
                if not name.startswith("_") and inspect.isfunction(member)}]
    return sorted(set(found) - NOT_DRIVEN)


METHODS = _methods()

# Text no storage can keep, or that tries hard to break something.
hostile_text = st.one_of(
    st.text(st.characters(codec="utf-8", categories=("Cs", "Cc")), min_size=1, max_size=5),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=5),
              st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b", "\x7f", "\x85", "\u2028"]),
              st.text(max_size=5)),
    st.sampled_from(["", " ", "x" * 100_001, "1E+1000000", "NaN", "-Infinity", "'; DROP--",
                     "%s%s%n", "../../etc/passwd", "\ufeff", "０" * 20, "9" * 5000,
                     "u-root", "admin", "p-000001", "c-000001", "prospect"]),
    st.text(max_size=30),
)
hostile_number = st.one_of(
    st.sampled_from([10**5000, -(10**5000), 2**63, -1, 0, Decimal("1E+1000000"),
                     Decimal("1E-1000000"), Decimal("NaN"), Decimal("-Infinity"),
                     Decimal("sNaN"), float("nan"), float("inf"), 1e308, -0.0, True]),
    st.integers(), st.decimals(), st.floats(),
)
hostile_moment = st.one_of(
    st.sampled_from([date.min, date.max, date(1, 1, 1), date(9999, 12, 31),
                     datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))),
                     datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-8))),
                     datetime.min, datetime.max, datetime(2026, 3, 2)]),
    st.dates(), st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=14))])),
)
hostile_kind = st.sampled_from([None, b"bytes", bytearray(b"x"), [], {}, set(), object(),
                                ["a", 1, None], {"a": "\x00"}, ("torn",), range(10**6),
                                iter(["x"]), lambda *a: None, type, ...])
forged = st.builds(lambda pid, roles: custmgmt.Principal(id=pid, roles=frozenset(roles)),
                   st.sampled_from(["u-nobody", "u-boss", "u-root", "u-gone"]),
                   st.sets(st.sampled_from(["admin", "salesperson", "auditor"]), max_size=2))
# The sentinel person (tests/pii_sentinel.py), valid and not, in the personal fields: no
# error text, log line, audit entry or event may echo it (the plugin watches the run).
personal = st.sampled_from([SENTINEL.name, SENTINEL.phone, SENTINEL.email, SENTINEL.address,
                            SENTINEL.phone + "0000000000", SENTINEL.email + "@",
                            f"{SENTINEL.name} <{SENTINEL.email}>"])
PERSONAL_PARAMS = frozenset({"phone", "email", "address", "needs"})
hostile = st.one_of(hostile_text, hostile_number, hostile_moment, hostile_kind, forged,
                    st.lists(hostile_text, max_size=3),
                    st.lists(st.dictionaries(st.sampled_from(["name", "phone", "willingness",
                                                              "potential_value", "x\x00"]),
                                             st.one_of(hostile_text, personal), max_size=5),
                             max_size=3))


_TABLES: dict[sa.Engine, list[str]] = {}
"""custmgmt's tables per engine (the schema does not change during a test)."""


def _snapshot(app: custmgmt.CustomerManagement) -> bytes:
    """Everything the storage has committed, as bytes."""
    storage = app._storage  # the test looks at what is stored
    if isinstance(storage, MemoryStorage):
        state = {k: v for k, v in vars(storage.state).items()
                 if k not in ("lock", "_row_locks")}
        return pickle.dumps(state)
    engine: sa.Engine = storage.engine  # type: ignore[attr-defined]
    if engine not in _TABLES:
        with engine.connect() as connection:
            _TABLES[engine] = sorted(t for t in sa.inspect(connection).get_table_names()
                                     if t.startswith("custmgmt_"))
    dump: list[object] = []
    with engine.connect() as connection:
        for table in _TABLES[engine]:
            rows = connection.execute(sa.text(f'SELECT * FROM "{table}"')).all()
            dump.append((table, sorted(repr(tuple(row)) for row in rows)))
    return pickle.dumps(dump)


@pytest.fixture
def world(storage_url: str) -> Iterator[tuple[custmgmt.CustomerManagement, dict[str, Any]]]:
    """A store with one of everything, and a valid value for each id parameter."""
    clock = FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    with custmgmt.open(storage_url, clock=clock, ids=SequentialIds(), migrate=True,
                       settings=custmgmt.Settings(ownership_lapse=True)) as app:
        app.principal("u-boss", roles={"sales_manager", "sample_registry"})
        root = app.principal("u-root", roles={"admin"}, supervisor_id="u-boss",
                             certifications={custmgmt.Certification("sample_receiver")})
        prospect = app.prospects.register(root, name="Wang", phone="13800138000",
                                          willingness="clear", potential_value=1)
        customer = app.customers.create(root, name="Li", organization="Acme Co.",
                                        phone="010-6552 9988")
        sample = app.samples.receive(root, customer_id=customer.id, sample_name="n",
                                     quantity=5, unit="kg", description="d",
                                     requested_work="w")
        sample = app.samples.register(root, sample.id, classification="k", location="L1")
        application = app.samples.apply(root, sample.id, purpose="p", quantity=1)
        department = app.samples.add_department(root, "lab", name="Lab")
        other = app.customers.create(root, name="Zhao", organization="Bolt Co.",
                                     phone="021-5555 1234")
        case = app.delisting.open_case(root, other.id, grounds=["breach"], trigger="complaint")
        good = {"actor": root, "prospect_id": prospect.id, "customer_id": customer.id,
                "sample_id": sample.id, "application_id": application.id,
                "resource_id": prospect.id, "department_id": department.id,
                "principal_id": "u-boss", "case_id": case.id}
        yield app, good


# A value each parameter accepts, so that the hostile argument of a call is the one
# that reaches the rules and the storage.
GOOD: dict[str, object] = {
    "to": "proposal", "channel": "visit", "summary": "s", "reason": "r", "grade": "A",
    "willingness": "clear", "potential_value": 1, "quantity": 1, "used": 1, "name": "N",
    "month": "2026-03", "start": date(2026, 3, 1), "end": date(2026, 3, 31),
    "on": date(2026, 3, 2), "purpose": "p", "unit": "kg", "description": "d",
    "requested_work": "w", "sample_name": "n", "classification": "k", "location": "L1",
    "method": "m", "witness": "u-boss", "results": "r", "note": "n", "to_owner": "u-boss",
    "kind": "prospect", "status": "sealed", "grounds": ["breach"], "trigger": "complaint",
    "source": "s", "choice": "for", "statement": "s",
    "reasons": "r", "basis": "b", "outcome": "upheld", "roles": ["salesperson"], "team": "east",
    "supervisor_id": None, "counts": {"s-000001": 1}, "feedback_id": "f-000001",
    "rows": [{"name": "R", "phone": "13900139000", "willingness": "clear",
              "potential_value": "1"}],
}
GOOD_FOR: dict[tuple[str, str], dict[str, object]] = {
    ("principals", "certify"): {"name": "sample_receiver"},
    ("samples", "add_department"): {"department_id": "store"},
    ("samples", "approve_distribution"): {"to": "lab"},
    ("samples", "distribute"): {"to": "lab"},
    ("customers", "set_status"): {"status": "sealed"},
    ("app", "principal"): {"principal_id": "u-new"},
    ("delisting", "add_evidence"): {"kind": "document"},
    ("delisting", "cases_of"): {"customer_id": "c-000002"},
}


def _arguments(
    area: str, name: str, function: Callable[..., object], good: dict[str, Any],
    data: st.DataObject,
) -> tuple[list[object], dict[str, object]]:
    signature = inspect.signature(function)
    params = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    named = [p.name for p in params]
    chosen = data.draw(st.lists(st.sampled_from(named), min_size=1, max_size=2, unique=True)
                       if named else st.just([]), label="hostile parameters")
    fitting = {**GOOD, **good, **GOOD_FOR.get((area, name), {})}
    values: dict[str, object] = {}
    for param in params:
        if param.name in chosen:
            values[param.name] = data.draw(
                st.one_of(personal, hostile) if param.name in PERSONAL_PARAMS else hostile,
                label=param.name)
        elif param.name in fitting:
            values[param.name] = fitting[param.name]
        elif param.default is inspect.Parameter.empty:
            values[param.name] = "x"
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        values.update(data.draw(st.dictionaries(
            st.sampled_from(["name", "phone", "email", "needs", "fax"]),
            st.one_of(hostile_text, hostile_kind, personal), max_size=2), label="fields"))
    positional = [values.pop(p.name) for p in params
                  if p.kind is p.POSITIONAL_OR_KEYWORD and p.name in values]
    return positional, values


AREAS = sorted({area for area, _ in METHODS})
EXAMPLES_PER_METHOD = 8
"""Hostile calls per method and back end (the methods of an area share one store)."""


@pytest.mark.parametrize("area", AREAS)
def test_hostile_calls_raise_only_custmgmt_errors_and_refused_calls_change_nothing(
    world: tuple[custmgmt.CustomerManagement, dict[str, Any]], area: str
) -> None:
    app, good = world
    methods = [method for method in METHODS if method[0] == area]

    @settings(max_examples=EXAMPLES_PER_METHOD * len(methods), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def hostile_call(data: st.DataObject) -> None:
        _, name = data.draw(st.sampled_from(methods), label="method")
        function = getattr(app if area == "app" else getattr(app, area), name)
        positional, keywords = _arguments(area, name, function, good, data)
        before = _snapshot(app)
        try:
            function(*positional, **keywords)
        except CustmgmtError:
            assert _snapshot(app) == before, f"{area}.{name} was refused but changed storage"

    hostile_call()


def test_the_suite_covers_every_public_method() -> None:
    for method in [("samples", "stocktake"), ("samples", "receive"), ("customers", "create"),
                   ("customers", "update_profile"), ("principals", "grant"),
                   ("principals", "revoke"), ("audit", "verify"), ("app", "events"),
                   ("app", "outbox"), ("notifications", "dispatch"),
                   ("notifications", "retry"), ("notifications", "dead"),
                   ("app", "principal"), ("app", "rekey_identity_keys")]:
        assert method in METHODS
    areas = {area for area, _ in METHODS}
    assert areas >= {"app", "prospects", "customers", "followups", "pool", "reports",
                     "samples", "audit", "principals", "delisting", "notifications"}
    assert len(METHODS) >= 100


@pytest.mark.parametrize("roles", [[{}], [["admin"]], [b"admin"], [None]], ids=repr)
def test_roles_that_cannot_be_role_names_are_a_validation_error(roles: object) -> None:
    """Found by the suite on PostgreSQL: ``roles=[{}]`` raised TypeError (unhashable)."""
    with custmgmt.open("memory://") as app:
        before = _snapshot(app)
        with pytest.raises(ValidationError, match="roles"):
            app.principal("u-new", roles=roles)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="roles"):
            custmgmt.Principal(id="u-new", roles=roles)
        assert _snapshot(app) == before


def test_the_snapshot_sees_a_change(tmp_path: Path) -> None:
    for url in ("memory://", f"sqlite:///{tmp_path / 'crm.db'}"):
        with custmgmt.open(url, migrate=True) as app:
            before = _snapshot(app)
            app.principal("u-x", roles={"salesperson"})
            assert _snapshot(app) != before
