"""Quantities stay exact on every backend: no false tamper alarm from a value that comes
back in another form, no silent rounding, and what cannot be kept exactly is refused."""

from __future__ import annotations

import decimal
import weakref
from datetime import date
from decimal import Decimal

import pytest

import custmgmt
from custmgmt import Certification
from custmgmt.errors import ValidationError
from tests.helpers import a_customer

App = custmgmt.CustomerManagement


def staff(app: App) -> dict[str, custmgmt.Principal]:
    return {
        "rita": app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                              certifications={Certification("sample_receiver",
                                                            date(2026, 12, 31))}),
        "reg": app.principal("u-reg", roles={"sample_registry"}),
        "lab": app.principal("u-lab", roles={"sample_user"}),
        "qm": app.principal("u-qm", roles={"quality_manager"}),
    }


# Keyed by the app object itself: an id() is reused once an earlier app is collected.
CUSTOMERS: weakref.WeakKeyDictionary[App, str] = weakref.WeakKeyDictionary()


def receive(app: App, who: custmgmt.Principal, quantity: object) -> str:
    if app not in CUSTOMERS:
        CUSTOMERS[app] = a_customer(app)
    return app.samples.receive(who, customer_id=CUSTOMERS[app], sample_name="resin",
                               quantity=quantity, unit="kg", description="bag",
                               requested_work="test").id


@pytest.mark.parametrize("form", [Decimal("1E+1"), Decimal("10.000"), "1.0E+1",
                                  Decimal("0.5E+1")])
def test_a_quantity_in_any_form_verifies_after_a_round_trip(app: App, form: object) -> None:
    """PostgreSQL's NUMERIC hands Decimal("1E+1") back as Decimal("10"): same hash."""
    s = staff(app)
    sid = receive(app, s["rita"], form)
    app.samples.register(s["reg"], sid, classification="c", location="shelf A")
    a = app.samples.apply(s["lab"], sid, purpose="test", quantity=Decimal("0.2E+1"))
    app.samples.approve(s["reg"], sid, a.id)
    app.samples.check_out(s["reg"], sid, a.id)
    app.samples.record_use(s["lab"], sid, a.id, used=Decimal("1E+0"), note="run")
    app.samples.take_back(s["reg"], sid, a.id, quantity="1.000")
    assert app.samples.verify_chain(s["qm"], sid) == 7
    sample = app.samples.get(s["qm"], sid)
    assert sample.received == Decimal(form) and sample.consumed == 1


def test_the_callers_decimal_context_never_rounds_a_quantity(app: App) -> None:
    s = staff(app)
    with decimal.localcontext() as ctx:
        ctx.prec = 3  # a host application's own, coarse context
        sid = receive(app, s["rita"], "123456789012345.123456789")
        app.samples.register(s["reg"], sid, classification="c", location="shelf A")
        a = app.samples.apply(s["lab"], sid, purpose="test", quantity="0.000000001")
        app.samples.approve(s["reg"], sid, a.id)
        sample = app.samples.check_out(s["reg"], sid, a.id)
    assert sample.in_storage == Decimal("123456789012345.123456788")
    assert sample.checked_out == Decimal("0.000000001")
    assert app.samples.verify_chain(s["qm"], sid) == 5


@pytest.mark.parametrize(("quantity", "why"), [
    ("0.0000000001", "more than 9 decimal places"),
    (Decimal("1234567890123456"), "more than 15 digits before"),
    ("1E+1000000", "more than 15 digits before"),
    (10 ** 5000, "more than 15 digits before"),
    ("1E-1000000", "more than 9 decimal places"),
    ("NaN", "greater than zero"),
    ("-1", "greater than zero"),
    (0.1, "exact number"),
], ids=["places", "digits", "huge exponent", "5000-digit int", "tiny", "nan", "negative",
        "float"])
def test_a_quantity_that_cannot_be_kept_exactly_is_refused(
    app: App, quantity: object, why: str
) -> None:
    s = staff(app)
    with pytest.raises(ValidationError) as raised:
        receive(app, s["rita"], quantity)
    assert raised.value.field == "quantity" and why in str(raised.value)
    sid = receive(app, s["rita"], "5")
    app.samples.register(s["reg"], sid, classification="c", location="shelf A")
    with pytest.raises(ValidationError) as raised:
        app.samples.apply(s["lab"], sid, purpose="test", quantity=quantity)
    assert raised.value.field == "quantity"
    assert len(app.samples.chain(s["qm"], sid)) == 2


def test_trailing_zeros_do_not_count_as_places(app: App) -> None:
    s = staff(app)
    sid = receive(app, s["rita"], "2.500000000000000000")
    assert app.samples.get(s["qm"], sid).received == Decimal("2.5")


def test_a_count_is_exact_too_and_its_audit_trail_verifies(app: App) -> None:
    s = staff(app)
    auditor = app.principal("u-audit", roles={"auditor"})
    sid = receive(app, s["rita"], "123456789012345.123456789")
    number = app.samples.register(s["reg"], sid, classification="c", location="shelf A").number
    assert number is not None
    for bad in ("0.0000000001", "1E+1000000", "-1"):
        with pytest.raises(ValidationError) as raised:
            app.samples.record_count(s["reg"], "shelf A", {number: bad})
        assert raised.value.field == f"counts.{number}"
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        found = app.samples.record_count(s["reg"], "shelf A",
                                         {number: "123456789012345.123456788"})
        differences = [line.difference for line in found]
    assert differences == [Decimal("-0.000000001")]
    (count,) = app.samples.stock_counts(s["qm"])
    assert app.audit.verify(auditor, "stock_count", count.id) == 1
