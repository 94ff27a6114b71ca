"""Upgrading a database written at schema 0008, where a sample was a JSON document and a
stock count's lines another (as still at 0009), to the head (0010: columns and child
tables).

tests/data/schema-0008.sqlite was written by that code (tests/data/fill_schema_0008.py):
a hazardous sample with a storage condition, two use applications, two feedback entries
and a pending distribution approval; a single-use sample disposed of after use; a plain
received one; and a stock count with lines. PostgreSQL gets the same rows copied into a
0008 schema.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.domain.samples import ApplicationStatus, FeedbackStatus, Light, record_digest
from custmgmt.serialization import make_converter
from tests.integration.released import (
    SCHEMA_0008,
    documented_count_lines,
    documented_samples,
    documents,
    postgresql_copy,
    sqlite_copy,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def written_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_copy(SCHEMA_0008, tmp_path)
    return postgresql_copy(request.getfixturevalue("postgres"), SCHEMA_0008, "0008")


def test_the_written_database_is_at_0008_with_documents(written_url: str) -> None:
    engine = create_engine(written_url)
    assert migrate.current(engine) == "0008"
    columns = {c["name"] for c in inspect(engine).get_columns("custmgmt_samples")}
    engine.dispose()
    assert "document" in columns


def test_samples_read_back_as_written_and_their_chains_verify(written_url: str) -> None:
    written = documented_samples(SCHEMA_0008)
    counted = documented_count_lines(SCHEMA_0008)
    with custmgmt.open(written_url, migrate=True) as app:
        qm = app.principal("u-qm", roles={"quality_manager"})
        for sample_id, before in written.items():
            after = app.samples.get(qm, sample_id)
            assert after == before
            assert record_digest(after) == record_digest(before)
            assert app.samples.verify_chain(qm, sample_id) == before.chain_length
        if written_url.startswith("sqlite"):
            # SQLite keeps each quantity's text: identical down to "12.50" and "1.000".
            converter = make_converter()
            for sample_id, before in written.items():
                assert (converter.unstructure(app.samples.get(qm, sample_id))
                        == converter.unstructure(before))

        solvent = app.samples.get(qm, "s-000001")
        assert (solvent.received, solvent.in_storage, solvent.consumed) == (
            Decimal("12.50"), Decimal("11.50"), Decimal(1))
        assert solvent.hazard is not None
        assert solvent.hazard.hazard_class == "3 flammable liquid"
        assert solvent.storage is not None
        assert (solvent.storage.min_celsius, solvent.storage.light,
                solvent.storage.max_humidity_percent) == (Decimal(2), Light.DARK, 60)
        assert [(a.id, a.status) for a in solvent.applications] == [
            ("a-000001", ApplicationStatus.RETURNED), ("a-000002", ApplicationStatus.PENDING)]
        assert [(f.id, f.status) for f in solvent.feedback] == [
            ("fb-000001", FeedbackStatus.ARCHIVED), ("fb-000002", FeedbackStatus.SUBMITTED)]
        assert solvent.distribution_approval == ("dept-qc", "u-safe")
        resin = app.samples.get(qm, "s-000002")
        assert resin.single_use and resin.disposed == 1 and resin.applications[0].used == 2

        (count,) = app.samples.stock_counts(qm)
        assert count.lines == counted[count.id] and len(count.lines) == 2

        # The moved rows take further changes, and the chain still verifies.
        reg = app.get_principal("u-reg")
        safety = app.get_principal("u-safe")
        assert reg is not None and safety is not None
        app.samples.approve(reg, "s-000001", "a-000002")
        app.samples.approve_hazard(safety, "s-000001", "a-000002")
        app.samples.archive_feedback(reg, "s-000001", "fb-000002", note="filed late")
        changed = app.samples.get(qm, "s-000001")
        assert changed.application("a-000002").hazard_approved_by == "u-safe"
        assert changed.application("a-000001") == solvent.application("a-000001")
        assert [f.status for f in changed.feedback] == [FeedbackStatus.ARCHIVED] * 2
        assert app.samples.verify_chain(qm, "s-000001") == solvent.chain_length + 3

    engine = create_engine(written_url)
    assert migrate.current(engine) == migrate.head()
    schema = inspect(engine)
    assert "document" not in {c["name"] for c in schema.get_columns("custmgmt_samples")}
    assert "lines" not in {c["name"] for c in schema.get_columns("custmgmt_stock_counts")}
    engine.dispose()


def test_a_downgrade_writes_the_documents_back(written_url: str) -> None:
    engine = create_engine(written_url)
    migrate.upgrade(engine)
    command.downgrade(migrate.config(engine), "0009")
    assert migrate.current(engine) == "0009"
    engine.dispose()
    assert documented_samples(written_url) == documented_samples(SCHEMA_0008)
    assert documented_count_lines(written_url) == documented_count_lines(SCHEMA_0008)
    if written_url.startswith("sqlite"):  # the very same documents, decimal text and all
        assert documents(written_url) == documents(SCHEMA_0008)
    with custmgmt.open(written_url, migrate=True) as app:  # and up again
        qm = app.principal("u-qm", roles={"quality_manager"})
        assert app.samples.verify_chain(qm, "s-000001") == 14
