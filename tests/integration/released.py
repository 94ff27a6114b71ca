"""Databases written by earlier code (tests/data), copied for an upgrade test, and what
that code read from them.

A SQLite file is copied as it is; PostgreSQL gets the same rows copied into a schema
migrated to the revision the file is at. ``documented_samples`` reads each sample the
way the code of revisions 0001-0009 did: the JSON ``document`` structured with the
library's converter, the columns authoritative where they exist.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import attrs
from sqlalchemy import DateTime, MetaData, Numeric, create_engine, insert, select, text

from custmgmt.adapters.sql import migrate
from custmgmt.domain.samples import Sample, SampleState
from custmgmt.domain.stock import CountLine
from custmgmt.serialization import make_converter, structure
from tests.pg_server import Cluster

DATA = Path(__file__).resolve().parents[1] / "data"
RELEASE_0001 = DATA / "release-0001.sqlite"
SCHEMA_0008 = DATA / "schema-0008.sqlite"


def sqlite_copy(source: Path, tmp_path: Path) -> str:
    target = tmp_path / "crm.db"
    shutil.copy(source, target)
    return f"sqlite:///{target}"


def postgresql_copy(cluster: Cluster, source_file: Path, revision: str) -> str:
    url = cluster.new_empty_database()
    engine = create_engine(url)
    migrate.upgrade(engine, revision)
    source = create_engine(f"sqlite:///{source_file}")
    released, target = MetaData(), MetaData()
    released.reflect(source)
    target.reflect(engine)
    with source.connect() as read, engine.begin() as write:
        for table in target.sorted_tables:
            if not table.name.startswith("custmgmt_") or table.name == migrate.VERSION_TABLE:
                continue
            rows = [dict(r._mapping) for r in read.execute(select(released.tables[table.name]))]
            for row in rows:
                for column in table.columns:
                    value = row[column.name]
                    if isinstance(column.type, DateTime) and isinstance(value, datetime):
                        row[column.name] = value.replace(tzinfo=UTC)
                    elif isinstance(column.type, Numeric) and isinstance(value, str):
                        row[column.name] = Decimal(value)
            if rows:
                write.execute(insert(table), rows)
        write.execute(text("SELECT setval(pg_get_serial_sequence('custmgmt_events', "
                           "'position'), (SELECT max(position) FROM custmgmt_events))"))
    source.dispose()
    engine.dispose()
    return url


def _url(source: Path | str) -> str:
    return source if isinstance(source, str) else f"sqlite:///{source}"


def documents(source: Path | str) -> dict[str, object]:
    """Every sample's JSON document (a file or URL at a revision from 0001 to 0009)."""
    engine = create_engine(_url(source))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, document FROM custmgmt_samples")).all()
    engine.dispose()
    return {row.id: json.loads(row.document) for row in rows}


def documented_samples(source: Path | str) -> dict[str, Sample]:
    """Every sample of ``source`` (a file or URL) as the code that wrote it read it back."""
    converter = make_converter()
    engine = create_engine(_url(source))
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, number, state, custodian, location, head_hash, chain_length, "
            "version, document FROM custmgmt_samples ORDER BY id")).all()
    engine.dispose()
    return {
        row.id: attrs.evolve(
            structure(converter, json.loads(row.document), Sample), number=row.number,
            state=SampleState(row.state), custodian=row.custodian, location=row.location,
            head_hash=row.head_hash, chain_length=row.chain_length, version=row.version)
        for row in rows
    }


def documented_count_lines(source: Path | str) -> dict[str, tuple[CountLine, ...]]:
    """Every stock count's lines as the code of revisions 0004-0009 read them back."""
    engine = create_engine(_url(source))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, lines FROM custmgmt_stock_counts")).all()
    engine.dispose()
    return {row.id: tuple(CountLine(number=n, sample_id=sid, expected=Decimal(e),
                                    counted=Decimal(c))
                          for n, sid, e, c in json.loads(row.lines))
            for row in rows}
