"""Prospects are found by customer through an index that leaves out the prospects with
no customer (migration 0023): every registration and import starts without one."""

from __future__ import annotations

import sqlalchemy as sa

import custmgmt

FIND = "SELECT id FROM custmgmt_prospects WHERE customer_id = :customer"


def test_a_lookup_by_customer_reads_the_partial_index(sql_url: str) -> None:
    with custmgmt.open(sql_url, migrate=True):
        pass
    engine = sa.create_engine(sql_url)
    try:
        with engine.connect() as db:
            if engine.dialect.name == "sqlite":
                plan = " ".join(str(row[-1]) for row in db.execute(
                    sa.text(f"EXPLAIN QUERY PLAN {FIND}"), {"customer": "c-1"}))
            else:
                db.execute(sa.text("SET enable_seqscan = off"))
                plan = " ".join(row[0] for row in db.execute(
                    sa.text(f"EXPLAIN {FIND}"), {"customer": "c-1"}))
            indexes = sa.inspect(db).get_indexes("custmgmt_prospects")
    finally:
        engine.dispose()
    assert "ix_custmgmt_prospects_customer_id" in plan
    (index,) = [i for i in indexes if i["name"] == "ix_custmgmt_prospects_customer_id"]
    where = index.get("dialect_options", {})
    assert "customer_id IS NOT NULL" in str(where.get("sqlite_where", where.get(
        "postgresql_where", ""))).replace("(", "").replace(")", "")
