"""Adopting a chain key on a store written without one: ``app.audit.seal_heads`` seals
every chain and trail that verifies, names the ones that do not, and from then on a
re-headed chain is caught."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, text

import custmgmt
from custmgmt import Certification
from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.errors import IntegrityError, PermissionDenied, ValidationError
from custmgmt.ports.settings import Settings
from tests.helpers import a_customer, register_numbered

App = custmgmt.CustomerManagement
KEY = b"a secret kept outside the database"


@pytest.fixture
def written_without_a_key(sql_url: str, clock: FixedClock) -> Iterator[str]:
    """Two samples and two prospects, written before any key was chosen."""
    with custmgmt.open(sql_url, clock=clock, ids=SequentialIds(), migrate=True) as app:
        rita = app.principal("u-rita", roles={"sample_receiver"}, certifications={
            Certification("sample_receiver", date(2026, 12, 31))})
        alice = app.principal("u-alice", roles={"salesperson"})
        app.principal("u-root", roles={"admin"})
        app.principal("u-aud", roles={"auditor", "quality_manager"})
        customer = a_customer(app)
        for name in ("resin", "pigment"):
            app.samples.receive(rita, customer_id=customer, sample_name=name, quantity=1,
                                unit="kg", description="bag", requested_work="MFI")
        for n in (1, 2):
            register_numbered(app, alice, n)
    yield sql_url


def keyed(sql_url: str, clock: FixedClock) -> App:
    return custmgmt.open(sql_url, clock=clock, settings=Settings(chain_key=KEY))


def test_a_key_chosen_later_is_adopted_by_sealing_every_head(
    written_without_a_key: str, clock: FixedClock
) -> None:
    with keyed(written_without_a_key, clock) as app:
        root, auditor = app.get_principal("u-root"), app.get_principal("u-aud")
        assert root is not None and auditor is not None
        with pytest.raises(IntegrityError, match="not sealed"):
            app.audit.verify(auditor, "prospect", "p-000002")
        with pytest.raises(PermissionDenied):
            app.audit.seal_heads(auditor)
        report = app.audit.seal_heads(root)
        assert (report.sealed, report.already_sealed, report.refused) == (5, 0, ())
        assert app.audit.verify(auditor, "prospect", "p-000002") == 1
        again = app.audit.seal_heads(root)
        assert (again.sealed, again.already_sealed) == (0, report.sealed)


def test_a_chain_that_does_not_verify_is_named_and_left_unsealed(
    written_without_a_key: str, clock: FixedClock
) -> None:
    engine = create_engine(written_without_a_key)
    with engine.begin() as db:
        db.execute(text("UPDATE custmgmt_custody_events SET custodian = 'u-mallory' "
                        "WHERE sample_id = (SELECT min(id) FROM custmgmt_samples)"))
    engine.dispose()
    with keyed(written_without_a_key, clock) as app:
        root = app.get_principal("u-root")
        assert root is not None
        report = app.audit.seal_heads(root)
        (why,) = report.refused
        assert "event 0 was edited" in why and "mallory" not in why
        assert app.audit.seal_heads(root).refused == report.refused


def test_without_a_key_there_is_nothing_to_seal_with(
    written_without_a_key: str, clock: FixedClock
) -> None:
    with custmgmt.open(written_without_a_key, clock=clock) as app:
        root = app.get_principal("u-root")
        assert root is not None
        with pytest.raises(ValidationError) as raised:
            app.audit.seal_heads(root)
        assert raised.value.field == "chain_key"


def test_imported_prospects_heads_are_sealed_though_they_have_no_entry_yet(
    sql_url: str, clock: FixedClock
) -> None:
    with custmgmt.open(sql_url, clock=clock, ids=SequentialIds(), migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        app.principal("u-root", roles={"admin"})
        app.principal("u-aud", roles={"auditor"})
        app.prospects.import_many(alice, [
            {"name": f"P{n}", "phone": f"1380000000{n}", "willingness": "clear",
             "potential_value": "5"} for n in (1, 2)], import_id="imp-1")
        pids = sorted(p.id for p in app.prospects.list(alice).items)
    with keyed(sql_url, clock) as app:
        root, auditor = app.get_principal("u-root"), app.get_principal("u-aud")
        assert root is not None and auditor is not None
        with pytest.raises(IntegrityError, match="not sealed"):
            app.audit.verify(auditor, "prospect", pids[0])
        report = app.audit.seal_heads(root)
        # the import's trail, and each prospect's head that starts from its entry
        assert (report.sealed, report.already_sealed, report.refused) == (3, 0, ())
        assert [app.audit.verify(auditor, "prospect", pid) for pid in pids] == [1, 1]
        assert app.audit.verify(auditor, "prospect_import", "imp-1") == 1


def test_a_prospects_trail_whose_prospect_is_gone_is_named_and_the_rest_sealed(
    written_without_a_key: str, clock: FixedClock
) -> None:
    """A prospect's trail's head is kept in its row: with the row deleted behind the
    library's back, there is nowhere to seal it, which the report says; every other
    chain is sealed still."""
    engine = create_engine(written_without_a_key)
    with engine.begin() as db:
        db.execute(text("DELETE FROM custmgmt_prospects WHERE id = 'p-000001'"))
    engine.dispose()
    with keyed(written_without_a_key, clock) as app:
        root = app.get_principal("u-root")
        assert root is not None
        report = app.audit.seal_heads(root)
        assert report.refused == ("audit:prospect p-000001: the prospect itself is not stored",)
        assert report.sealed == 4
