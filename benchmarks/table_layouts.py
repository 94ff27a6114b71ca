"""Other layouts of the SQLite prospects table, for ``paired_import.py --layout``: what a
layout would buy ``import_many`` itself, end to end, before anyone writes its migration.

A layout rebuilds the empty tables of a newly migrated database with raw SQL; the
library then imports into them unchanged (its INSERT names the columns it writes).
Only an import of new prospects with no conflicts is valid in such a table (what the
benchmarks import): the library's key look-ups and id look-ups still name today's
indexes, which a layout may have changed or dropped. Nothing here is a design that
custmgmt supports.

- ``integer-id``: the prospect row under an integer rowid (``pk INTEGER PRIMARY
  KEY``, given by SQLite in insertion order), its text id an unindexed column; the
  prospect history and follow-ups lose their foreign key to the text id (it would
  need a unique index). Every other index as today: the due lists' and the
  registration order's still hold the text id.
- ``integer-id-narrow``: and the text id out of those three indexes (the rowid ends
  every entry), as step 3 of benchmarks/README.md would have them; the due lists
  would then have to render each id from its rowid.
- ``key64``: the identity keys' unique indexes hold the tag byte and the first 64 bits
  of each seal (9 bytes) instead of 128 bits (17 bytes); the width step 3's integer keys
  would give the entries (``docs/plugins.md`` asks for at least 128 bits).
- ``integer-id-narrow-key64``: both.
- ``without-rowid``: today's table ``WITHOUT ROWID``, clustered on its text id (no
  rowid B-tree beside the primary key's); every secondary index then ends in the text
  id instead of a rowid.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

PROSPECTS = "custmgmt_prospects"
REFERRING = ("custmgmt_prospect_history", "custmgmt_followups")
LAYOUTS = ("integer-id", "integer-id-narrow", "key64", "integer-id-narrow-key64",
           "without-rowid")
NARROWED = ("ix_custmgmt_prospects_registered", "ix_custmgmt_prospects_owner_due",
            "ix_custmgmt_prospects_team_due")
"""The indexes that hold the text id, which the narrow layouts take it out of."""
_FOREIGN_KEY = re.compile(
    r",\s*CONSTRAINT \w+ FOREIGN KEY\(prospect_id\) REFERENCES custmgmt_prospects \(id\)"
    r"(?: ON DELETE CASCADE)?")


def _replaced(sql: str, old: str, new: str) -> str:
    if sql.count(old) != 1:
        raise SystemExit(f"today's schema has changed: {old!r} not found once in {sql!r}")
    return sql.replace(old, new)


def _table(sql: str, layout: str) -> str:
    if layout == "without-rowid":
        if not sql.rstrip().endswith(")"):
            raise SystemExit("today's schema has changed: the prospects' table not found")
        return f"{sql.rstrip()} WITHOUT ROWID"
    if not layout.startswith("integer-id"):
        return sql
    sql = _replaced(sql, "\n\tid VARCHAR(100) NOT NULL,",
                    "\n\tpk INTEGER PRIMARY KEY,\n\tid VARCHAR(100) NOT NULL,")
    sql, found = re.subn(r"CONSTRAINT pk_custmgmt_prospects PRIMARY KEY \(id\),\s*", "", sql)
    if found != 1:
        raise SystemExit("today's schema has changed: the prospects' primary key not found")
    return sql


def _name(index_sql: str) -> str:
    return index_sql.split(" ON ", maxsplit=1)[0].rsplit(" ", 1)[-1]


def _index(sql: str, layout: str) -> str:
    if "-narrow" in layout and _name(sql) in NARROWED:
        old = ", id)" if sql.endswith(", id)") else ", id,"
        sql = _replaced(sql, old, old.replace(", id", ""))
    if "key64" in layout and "substr(" in sql:
        sql = _replaced(sql, ", 1, 17)", ", 1, 9)")
    return sql


def rebuild(path: Path, layout: str) -> None:
    """Rebuild the empty prospects table of the SQLite file at ``path`` (migrated by
    custmgmt, nothing stored yet) in ``layout``."""
    if layout not in LAYOUTS:
        raise SystemExit(f"no layout {layout!r}: one of {', '.join(LAYOUTS)}")
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute("BEGIN IMMEDIATE")
        tables = [PROSPECTS, *REFERRING] if layout.startswith("integer-id") else [PROSPECTS]
        for table in tables:
            if db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
                raise SystemExit(f"{table} is not empty")
            (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                                "name = ?", (table,)).fetchone()
            indexes = [index for (index,) in db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL", (table,))]
            if table == PROSPECTS:
                sql, indexes = _table(sql, layout), [_index(i, layout) for i in indexes]
                if "-narrow" in layout and not set(NARROWED) <= set(map(_name, indexes)):
                    raise SystemExit("today's schema has changed: an index to narrow is gone")
            else:
                sql = _FOREIGN_KEY.sub("", sql)
                if "REFERENCES custmgmt_prospects" in sql:
                    raise SystemExit(f"{table}: its foreign key was not found")
            db.execute(f"DROP TABLE {table}")
            db.execute(sql)
            for index in indexes:
                db.execute(index)
        db.execute("COMMIT")
    finally:
        db.close()
