"""Upgrading a database filled by the release at schema 0001 to 0002 (customers).

tests/data/release-0001.sqlite was written by that release (see
tests/data/fill_release_0001.py): two prospects, and four samples whose customer
references name a prospect ("p-000001"), an id nothing knows twice ("ACME-001")
and once ("walk-in"). PostgreSQL gets the same rows copied into a 0001 schema.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

import custmgmt
from custmgmt import Certification
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.sql.tables import Base
from custmgmt.domain.customers import CustomerStatus
from custmgmt.errors import IntegrityError
from tests.helpers import expression_index_drift
from tests.integration.released import (
    RELEASE_0001,
    documented_samples,
    postgresql_copy,
    sqlite_copy,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def released_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_copy(RELEASE_0001, tmp_path)
    return postgresql_copy(request.getfixturevalue("postgres"), RELEASE_0001, "0001")


def test_the_release_database_is_at_0001(released_url: str) -> None:
    engine = create_engine(released_url)
    assert migrate.current(engine) == "0001"
    engine.dispose()
    with pytest.raises(custmgmt.errors.StorageError, match="migrate"):
        custmgmt.open(released_url)


def test_upgrading_links_every_sample_to_a_customer(released_url: str) -> None:
    clock = custmgmt.FixedClock(datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    with custmgmt.open(released_url, migrate=True, clock=clock) as app:
        admin = app.principal("u-admin", roles={"admin"})
        alice = app.get_principal("u-alice")
        assert alice is not None
        flagged = app.customers.list(admin, needs_review=True).items
        assert sorted(c.id for c in flagged) == ["ACME-001", "p-000001", "walk-in"]
        assert app.customers.list(admin, needs_review=False).items == ()

        # The reference that named a prospect: a customer built from its profile.
        built = app.customers.get(alice, "p-000001")
        prospect = app.prospects.get(alice, "p-000001")
        assert (built.profile, built.owner_id, built.owner_team) == (
            prospect.profile, "u-alice", "east")
        assert prospect.customer_id == "p-000001"
        (match,) = app.customers.find(alice, phone="138 0013 8000")
        assert match.holder_id == "p-000001"
        assert built.created_at == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

        # References nothing matched: a customer each, nobody's yet, saying why.
        orphan = app.customers.get(admin, "ACME-001")
        assert (orphan.owner_id, orphan.status, orphan.needs_review) == (
            "unassigned", CustomerStatus.ACTIVE, True)
        assert "s-000002, s-000003" in (orphan.review_note or "")
        assert orphan.history[0].by == "custmgmt-migration-0002"

        # Samples keep their chains and now reference customers that exist.
        qm = app.principal("u-qm", roles={"quality_manager"})
        # ... and read back as 0.1.0 stored them, now from columns instead of a document.
        written = documented_samples(RELEASE_0001)
        for n, customer in enumerate(["p-000001", "ACME-001", "ACME-001", "walk-in"], 1):
            sample = app.samples.get(qm, f"s-{n:06d}")
            assert sample.info.customer_id == customer
            assert sample == written[sample.id]
            # Chains written by 0.1.0 hash in its older form: they still verify.
            assert app.samples.verify_chain(qm, sample.id) == 1
        rita = app.principal("u-rita", roles={"sample_receiver"}, certifications={
            Certification("sample_receiver", date(2026, 12, 31))})
        app.samples.receive(rita, customer_id="walk-in", sample_name="more water", quantity=1,
                            unit="L", description="bottle", requested_work="pH")

        reviewed = app.customers.review(admin, "walk-in", note="a walk-in lab client, fine")
        assert not reviewed.needs_review
        names = [e.name for e in app.events(admin)][:2]
        assert names == ["ProspectRegistered", "ProspectRegistered"]

    with custmgmt.open(released_url) as app:  # at the head now: opens without migrating
        assert app.customers.get(app.principal("u-admin", roles={"admin"}),
                                 "walk-in").needs_review is False


def test_the_upgraded_schema_matches_a_fresh_one(released_url: str) -> None:
    custmgmt.open(released_url, migrate=True).close()
    engine = create_engine(released_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "version_table": migrate.VERSION_TABLE,
            "include_name": lambda name, type_, parent: type_ != "table"
            or name.startswith("custmgmt_"),
        })
        assert compare_metadata(context, Base.metadata) == []
    assert expression_index_drift(engine) == []
    engine.dispose()


def test_chains_and_trails_the_release_wrote_still_verify_and_catch_edits(
    released_url: str,
) -> None:
    engine = create_engine(released_url)
    clock = custmgmt.FixedClock(datetime(2026, 4, 1, 2, 0, tzinfo=UTC))
    with custmgmt.open(released_url, migrate=True, clock=clock) as app:
        auditor = app.principal("u-aud", roles={"auditor", "quality_manager"})
        registrar = app.principal("u-reg", roles={"sample_registry"})
        assert app.audit.verify(auditor, "prospect", "p-000002") == 1
        # A chain the release began, continued in the canonical form, verifies whole.
        app.samples.register(registrar, "s-000001", classification="polymer",
                             location="shelf A")
        assert app.samples.verify_chain(auditor, "s-000001") == 2
        with engine.begin() as db:
            db.execute(text("UPDATE custmgmt_custody_events SET custodian = 'u-mallory' "
                            "WHERE sample_id = 's-000002'"))
            db.execute(text("UPDATE custmgmt_audit SET actor_id = 'u-mallory' "
                            "WHERE resource_id = 'p-000002'"))
            db.execute(text("UPDATE custmgmt_samples SET state = 'disposed' "
                            "WHERE id = 's-000003'"))
        with pytest.raises(IntegrityError, match="event 0 was edited"):
            app.samples.verify_chain(auditor, "s-000002")
        with pytest.raises(IntegrityError, match="entry 0"):
            app.audit.verify(auditor, "prospect", "p-000002")
        with pytest.raises(IntegrityError, match="state"):
            app.samples.verify_chain(auditor, "s-000003")
        # Once the canonical form takes over, an old-form record after it is refused.
        with engine.begin() as db:
            db.execute(text("UPDATE custmgmt_custody_events SET record = '' "
                            "WHERE sample_id = 's-000001' AND sequence = 1"))
        with pytest.raises(IntegrityError, match="event 1 was edited"):
            app.samples.verify_chain(auditor, "s-000001")
    engine.dispose()
