"""A ValidationError lists every bad field of a call, not only the first."""

from __future__ import annotations

import pytest

import custmgmt
from custmgmt.errors import ValidationError


def test_register_names_every_bad_field_and_saves_nothing(
        app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    with pytest.raises(ValidationError) as refused:
        app.prospects.register(alice, name="", phone="12", email="not-mail",
                               organization="   x" * 100, willingness="maybe",
                               potential_value="-5")
    assert [e.path for e in refused.value.errors] == [
        "organization", "name", "phone", "email", "willingness", "potential_value"]
    assert refused.value.field == "organization"
    assert app.prospects.list(alice).items == ()


def test_one_bad_field_is_still_one_error(app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    with pytest.raises(ValidationError) as refused:
        app.prospects.register(alice, name="Wang Wei", phone="13800138000",
                               willingness="clear", potential_value=-1)
    assert [e.path for e in refused.value.errors] == ["potential_value"]
