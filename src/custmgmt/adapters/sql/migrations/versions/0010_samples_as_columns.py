"""samples and stock counts as columns and child tables, no JSON documents

A sample was its queried fields as columns plus the whole aggregate as a JSON
``document``; a stock count kept its lines as JSON in ``lines``. Now every field
of a sample is a column of ``custmgmt_samples`` (info, hazard, classification,
storage condition, single use, the quantities, the pending distribution
approval), its use applications and feedback are rows of
``custmgmt_sample_applications`` and ``custmgmt_sample_feedback`` (keyed by
sample id and entry id, ``position`` keeping their order), and a count's lines
are rows of ``custmgmt_stock_count_lines``. Existing documents are read here with
plain JSON (never the current domain classes or converter: this file must do the
same thing whatever the code around it becomes), then the document columns go.

The new NOT NULL columns are added with a default so existing rows can take them;
after the move PostgreSQL drops the defaults. SQLite keeps them: removing a
column default there means copying the table, and dropping the old copy would
cascade to the custody events. For the same reason the document columns are
dropped with SQLite's own ``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35 or newer),
never a batch copy.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from custmgmt.adapters.sql.column_types import ExactDecimal, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 500

# (name, type, default for existing rows or None for a nullable column)
_SAMPLE_COLUMNS: list[tuple[str, Any, Any]] = [
    ("sample_name", sa.Text(), ""),
    ("quantity", ExactDecimal(), "0"),
    ("unit", sa.Text(), ""),
    ("description", sa.Text(), ""),
    ("requested_work", sa.Text(), ""),
    ("hazard_class", sa.String(length=100), None),
    ("handling_procedure", sa.String(length=200), None),
    ("classification", sa.String(length=100), None),
    ("storage_light", sa.String(length=10), None),
    ("storage_min_celsius", ExactDecimal(), None),
    ("storage_max_celsius", ExactDecimal(), None),
    ("storage_max_humidity_percent", sa.Integer(), None),
    ("storage_segregation", sa.String(length=200), None),
    ("single_use", sa.Boolean(), sa.false()),
    ("received", ExactDecimal(), "0"),
    ("in_storage", ExactDecimal(), "0"),
    ("checked_out", ExactDecimal(), "0"),
    ("consumed", ExactDecimal(), "0"),
    ("disposed", ExactDecimal(), "0"),
    ("distribution_to", sa.String(length=200), None),
    ("distribution_approved_by", sa.String(length=200), None),
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError("migration 0010 drops columns with ALTER TABLE ... DROP COLUMN, "
                           f"which needs SQLite 3.35 or newer (this is {sqlite3.sqlite_version})")
    for name, type_, default in _SAMPLE_COLUMNS:
        op.add_column("custmgmt_samples", sa.Column(
            name, type_, nullable=default is None, server_default=default))
    _create_child_tables()
    _move_samples(bind)
    _move_count_lines(bind)
    if bind.dialect.name != "sqlite":
        for name, _, default in _SAMPLE_COLUMNS:
            if default is not None:
                op.alter_column("custmgmt_samples", name, server_default=None)
    op.drop_column("custmgmt_samples", "document")
    op.drop_column("custmgmt_stock_counts", "lines")


def _create_child_tables() -> None:
    op.create_table(
        "custmgmt_sample_applications",
        sa.Column("sample_id", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("applicant", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("expected_return", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("hazard_approved_by", sa.String(length=200), nullable=True),
        sa.Column("taken", ExactDecimal(), nullable=False),
        sa.Column("used", ExactDecimal(), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["custmgmt_samples.id"],
            name=op.f("fk_custmgmt_sample_applications_sample_id_custmgmt_samples"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sample_id", "id",
                                name=op.f("pk_custmgmt_sample_applications")),
    )
    op.create_table(
        "custmgmt_sample_feedback",
        sa.Column("sample_id", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("filed_by", sa.String(length=200), nullable=False),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("suggestions", sa.Text(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("archived_by", sa.String(length=200), nullable=True),
        sa.Column("archived_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["custmgmt_samples.id"],
            name=op.f("fk_custmgmt_sample_feedback_sample_id_custmgmt_samples"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sample_id", "id", name=op.f("pk_custmgmt_sample_feedback")),
    )
    op.create_table(
        "custmgmt_stock_count_lines",
        sa.Column("count_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("sample_id", sa.String(length=100), nullable=True),
        sa.Column("expected", ExactDecimal(), nullable=False),
        sa.Column("counted", ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["count_id"], ["custmgmt_stock_counts.id"],
            name=op.f("fk_custmgmt_stock_count_lines_count_id_custmgmt_stock_counts"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("count_id", "position",
                                name=op.f("pk_custmgmt_stock_count_lines")),
    )


# Lightweight tables as they stand at this revision (never the current row models).
_samples = sa.table(
    "custmgmt_samples", sa.column("id", sa.String), sa.column("document", sa.Text),
    *(sa.column(name, type_) for name, type_, _ in _SAMPLE_COLUMNS))
_applications = sa.table(
    "custmgmt_sample_applications", sa.column("sample_id", sa.String),
    sa.column("id", sa.String), sa.column("position", sa.Integer),
    sa.column("applicant", sa.String), sa.column("purpose", sa.Text),
    sa.column("quantity", ExactDecimal()), sa.column("expected_return", sa.Date),
    sa.column("status", sa.String), sa.column("approved_by", sa.String),
    sa.column("hazard_approved_by", sa.String), sa.column("taken", ExactDecimal()),
    sa.column("used", ExactDecimal()), sa.column("issued_by", sa.String))
_feedback = sa.table(
    "custmgmt_sample_feedback", sa.column("sample_id", sa.String), sa.column("id", sa.String),
    sa.column("position", sa.Integer), sa.column("user_id", sa.String),
    sa.column("filed_by", sa.String), sa.column("effect", sa.Text),
    sa.column("problems", sa.Text), sa.column("suggestions", sa.Text),
    sa.column("submitted_at", UTCDateTime()), sa.column("status", sa.String),
    sa.column("archived_by", sa.String), sa.column("archived_at", UTCDateTime()),
    sa.column("review_note", sa.Text))
_counts = sa.table("custmgmt_stock_counts", sa.column("id", sa.String),
                   sa.column("lines", sa.Text))
_lines = sa.table(
    "custmgmt_stock_count_lines", sa.column("count_id", sa.String),
    sa.column("position", sa.Integer), sa.column("number", sa.String),
    sa.column("sample_id", sa.String), sa.column("expected", ExactDecimal()),
    sa.column("counted", ExactDecimal()))


def _batches(bind: Any, table: Any, column: str) -> Iterator[list[Any]]:
    """(id, JSON text) of every row, BATCH at a time in id order."""
    after = None
    while True:
        statement = sa.select(table.c.id, table.c[column]).order_by(table.c.id).limit(BATCH)
        if after is not None:
            statement = statement.where(table.c.id > after)
        rows = bind.execute(statement).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _sample_columns(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The new columns of one sample, from its document (the cattrs form of 0001-0009:
    Decimals as text, enums by value, missing keys meaning the field's default)."""
    info = doc["info"]
    hazard = doc.get("hazard")
    storage = doc.get("storage")
    approval = doc.get("distribution_approval")
    return {
        "sample_name": info["sample_name"], "quantity": _decimal(info["quantity"]),
        "unit": info["unit"], "description": info["description"],
        "requested_work": info["requested_work"],
        "hazard_class": None if hazard is None else hazard["hazard_class"],
        "handling_procedure": None if hazard is None else hazard["handling_procedure"],
        "classification": doc.get("classification"),
        "storage_light": None if storage is None else storage.get("light", "any"),
        "storage_min_celsius": None if storage is None
        else _decimal(storage.get("min_celsius")),
        "storage_max_celsius": None if storage is None
        else _decimal(storage.get("max_celsius")),
        "storage_max_humidity_percent": None if storage is None
        else storage.get("max_humidity_percent"),
        "storage_segregation": None if storage is None else storage.get("segregation"),
        "single_use": bool(doc.get("single_use", False)),
        "received": _decimal(doc["received"]), "in_storage": _decimal(doc["in_storage"]),
        "checked_out": _decimal(doc.get("checked_out", "0")),
        "consumed": _decimal(doc.get("consumed", "0")),
        "disposed": _decimal(doc.get("disposed", "0")),
        "distribution_to": None if approval is None else approval[0],
        "distribution_approved_by": None if approval is None else approval[1],
    }


def _application(sample_id: str, position: int, a: Mapping[str, Any]) -> dict[str, Any]:
    back = a.get("expected_return")
    return {
        "sample_id": sample_id, "id": a["id"], "position": position,
        "applicant": a["applicant"], "purpose": a["purpose"],
        "quantity": _decimal(a["quantity"]),
        "expected_return": None if back is None else date.fromisoformat(back),
        "status": a.get("status", "pending"), "approved_by": a.get("approved_by"),
        "hazard_approved_by": a.get("hazard_approved_by"),
        "taken": _decimal(a.get("taken", "0")), "used": _decimal(a.get("used", "0")),
        "issued_by": a.get("issued_by"),
    }


def _feedback_entry(sample_id: str, position: int, f: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sample_id": sample_id, "id": f["id"], "position": position, "user_id": f["user"],
        "filed_by": f["filed_by"], "effect": f["effect"], "problems": f["problems"],
        "suggestions": f["suggestions"], "submitted_at": _moment(f["submitted_at"]),
        "status": f.get("status", "submitted"), "archived_by": f.get("archived_by"),
        "archived_at": _moment(f.get("archived_at")), "review_note": f.get("review_note"),
    }


def _move_samples(bind: Any) -> None:
    names = [name for name, _, _ in _SAMPLE_COLUMNS]
    fill = (sa.update(_samples).where(_samples.c.id == sa.bindparam("the_id"))
            .values({name: sa.bindparam(name) for name in names}))
    for rows in _batches(bind, _samples, "document"):
        updates, applications, feedback = [], [], []
        for sample_id, document in rows:
            doc = json.loads(document)
            updates.append({"the_id": sample_id, **_sample_columns(doc)})
            applications += [_application(sample_id, i, a)
                             for i, a in enumerate(doc.get("applications") or ())]
            feedback += [_feedback_entry(sample_id, i, f)
                         for i, f in enumerate(doc.get("feedback") or ())]
        bind.execute(fill, updates)
        if applications:
            bind.execute(sa.insert(_applications), applications)
        if feedback:
            bind.execute(sa.insert(_feedback), feedback)


def _move_count_lines(bind: Any) -> None:
    for rows in _batches(bind, _counts, "lines"):
        lines = [{"count_id": count_id, "position": i, "number": number,
                  "sample_id": sample_id, "expected": _decimal(expected),
                  "counted": _decimal(counted)}
                 for count_id, text in rows
                 for i, (number, sample_id, expected, counted) in enumerate(json.loads(text))]
        if lines:
            bind.execute(sa.insert(_lines), lines)


def downgrade() -> None:
    """Back to one JSON document per sample (the cattrs form of 0009, keys sorted) and
    JSON lines per stock count."""
    bind = op.get_bind()
    op.add_column("custmgmt_samples",
                  sa.Column("document", sa.Text(), nullable=False, server_default=""))
    op.add_column("custmgmt_stock_counts",
                  sa.Column("lines", sa.Text(), nullable=False, server_default=""))
    _write_documents(bind)
    _write_count_lines(bind)
    if bind.dialect.name != "sqlite":
        op.alter_column("custmgmt_samples", "document", server_default=None)
        op.alter_column("custmgmt_stock_counts", "lines", server_default=None)
    op.drop_table("custmgmt_stock_count_lines")
    op.drop_table("custmgmt_sample_feedback")
    op.drop_table("custmgmt_sample_applications")
    for name, _, _ in reversed(_SAMPLE_COLUMNS):
        op.drop_column("custmgmt_samples", name)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _document(row: Any, applications: list[Any], feedback: list[Any]) -> str:
    storage = None if row.storage_light is None else {
        "light": row.storage_light, "min_celsius": _text(row.storage_min_celsius),
        "max_celsius": _text(row.storage_max_celsius),
        "max_humidity_percent": row.storage_max_humidity_percent,
        "segregation": row.storage_segregation}
    doc = {
        "id": row.id, "number": row.number, "state": row.state, "custodian": row.custodian,
        "location": row.location, "head_hash": row.head_hash,
        "chain_length": row.chain_length, "version": row.version,
        "info": {"customer_id": row.customer_id, "sample_name": row.sample_name,
                 "quantity": _text(row.quantity), "unit": row.unit,
                 "description": row.description, "requested_work": row.requested_work},
        "hazard": None if row.hazard_class is None else {
            "hazard_class": row.hazard_class, "handling_procedure": row.handling_procedure},
        "classification": row.classification, "storage": storage,
        "single_use": bool(row.single_use),
        **{name: _text(getattr(row, name))
           for name in ("received", "in_storage", "checked_out", "consumed", "disposed")},
        "distribution_approval": None if row.distribution_to is None
        else [row.distribution_to, row.distribution_approved_by],
        "applications": [{
            "id": a.id, "applicant": a.applicant, "purpose": a.purpose,
            "quantity": _text(a.quantity), "expected_return": _iso(a.expected_return),
            "status": a.status, "approved_by": a.approved_by,
            "hazard_approved_by": a.hazard_approved_by, "taken": _text(a.taken),
            "used": _text(a.used), "issued_by": a.issued_by} for a in applications],
        "feedback": [{
            "id": f.id, "user": f.user_id, "filed_by": f.filed_by, "effect": f.effect,
            "problems": f.problems, "suggestions": f.suggestions,
            "submitted_at": _iso(f.submitted_at), "status": f.status,
            "archived_by": f.archived_by, "archived_at": _iso(f.archived_at),
            "review_note": f.review_note} for f in feedback],
    }
    return json.dumps(doc, sort_keys=True)


def _write_documents(bind: Any) -> None:
    samples = sa.table("custmgmt_samples", sa.column("id", sa.String),
                       sa.column("customer_id", sa.String), sa.column("number", sa.String),
                       sa.column("state", sa.String), sa.column("custodian", sa.String),
                       sa.column("location", sa.String), sa.column("head_hash", sa.String),
                       sa.column("chain_length", sa.Integer), sa.column("version", sa.Integer),
                       *(sa.column(name, type_) for name, type_, _ in _SAMPLE_COLUMNS))
    columns = list(samples.c)
    fill = (sa.update(_samples).where(_samples.c.id == sa.bindparam("the_id"))
            .values(document=sa.bindparam("the_document")))
    after = None
    while True:
        statement = sa.select(*columns).order_by(samples.c.id).limit(BATCH)
        if after is not None:
            statement = statement.where(samples.c.id > after)
        rows = bind.execute(statement).all()
        if not rows:
            return
        ids = [row.id for row in rows]
        apps: dict[str, list[Any]] = {i: [] for i in ids}
        for a in bind.execute(sa.select(_applications)
                              .where(_applications.c.sample_id.in_(ids))
                              .order_by(_applications.c.sample_id, _applications.c.position)):
            apps[a.sample_id].append(a)
        notes: dict[str, list[Any]] = {i: [] for i in ids}
        for f in bind.execute(sa.select(_feedback).where(_feedback.c.sample_id.in_(ids))
                              .order_by(_feedback.c.sample_id, _feedback.c.position)):
            notes[f.sample_id].append(f)
        bind.execute(fill, [{"the_id": row.id,
                             "the_document": _document(row, apps[row.id], notes[row.id])}
                            for row in rows])
        after = ids[-1]


def _write_count_lines(bind: Any) -> None:
    lines: dict[str, list[list[str | None]]] = {}
    for line in bind.execute(sa.select(_lines).order_by(_lines.c.count_id,
                                                        _lines.c.position)):
        lines.setdefault(line.count_id, []).append(
            [line.number, line.sample_id, _text(line.expected), _text(line.counted)])
    fill = (sa.update(_counts).where(_counts.c.id == sa.bindparam("the_id"))
            .values(lines=sa.bindparam("the_lines")))
    every = [{"the_id": count_id, "the_lines": json.dumps(lines.get(count_id, []))}
             for (count_id,) in bind.execute(sa.select(_counts.c.id))]
    if every:
        bind.execute(fill, every)
