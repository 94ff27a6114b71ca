"""A library-shaped bulk import on the raw import lane's one-table design, measured
against the benchmark's raw minimal insert and raw import lane in the same run.

    python benchmarks/import_lane_prototype.py [--rows 10000 100000]
        [--rounds 5] [--kinds ...] [--checks-only | --no-checks] [--variants ...]

Every measurement runs in a fresh subprocess with a fresh temp file; rounds are
interleaved (the order of the kinds rotates each round); medians are reported.

What the prototype adds to the lane (``import_rows``):
  1. rejected rows reported as (line, field, reason); one boolean check a row on the
     fast path, a slow path naming the failing fields only for a failing row;
  2. conflicts reported as (line, conflict, holder id): unique key indexes are partial
     (WHERE active) and are what enforces uniqueness: INSERT ... ON CONFLICT DO
     NOTHING, the changed-row count compared with the batch, and only on a shortfall
     a look-up of which rows were refused and who holds their keys;
  3. idempotent re-runs: registration id "<import id>:<line>"; mode "index": a unique
     index on registration_id; mode "rowid": an imports table maps an import id to
     an id base once, a row's id is base + line, so the INTEGER PRIMARY KEY (rowid)
     is what makes "<import id>:<line>" unique, with no extra index;
  4. batches of <= 1000 rows, one transaction for the whole import (the
     ``fast-pre-commit5k`` and ``-commit20k`` kinds: a commit every 5,000 or 20,000 rows);
  5. one audit row per batch (SHA-256 over every id written) and one event row per
     batch ("ProspectsImported", JSON count, first and last id);
  6. on_progress(imported, rejected) after each batch;
  7. WAL, synchronous left alone, cache_size 64 MiB (as the lane).

And, as options (the ``proto-duties`` kinds), what custmgmt's other issues ask of an
import: a sealed trail head for each prospect (#10: a deleted trail is caught), here
the number of its batch's audit entry and a 128-bit HMAC in its own row; each batch's
keys looked up among the keys customers hold (#11); grade and cadence asked of policy
objects for each row (the plugin path).

``import_rows_fast`` (the ``fast-*`` kinds, a review's: every duty, done other ways,
each way a flag of ``Options``; ``--variants`` picks which the checks run on):
keyed BLAKE2b for the keys and heads, its state keyed and fed the fixed prefix once
and copied a row (``mac="blake2b", prefixed=True``; ``fast-pre-hmac`` keeps
HMAC-SHA-256); 500 rows a multi-row ``INSERT OR IGNORE`` (no statement journal; a row
refused for no key conflict still raises); the customers' keys probed inside that
INSERT (``NOT EXISTS`` a row, the refused rows named on the shortfall path:
``cust_mode="sql"``) or by one ``json_each`` statement a batch (``"json"``); a new
file's pages 16 KiB (``page_size=16384``).

The redesign measured whole (``design``, stop 43): ``fast-pre`` with due indexes shaped
as custmgmt's (``covering``: ``(owner_id, next_due, id, grade, owner_team)`` and the
team's, read in (next_due, id) order and covering what a list returns) and its
registration order's index (``registered``), each row's text id ("p-" and the integer
id in 16 hex digits) in its row and in those indexes in place of the integer
(``text_ids``: lists read the ids they hand out, as today's do), every other column of
custmgmt's prospects table (``wide``), trail heads naming their batch's entry unsealed
(``head_seals=False``: custmgmt seals them only with a chain key, which the goal's
benchmark does not set; ``design-sealed-heads`` seals one a row), and a commit every
5,000 rows as ``import_many`` commits. And what each thing it does more cheaply than
custmgmt's import would cost it if kept (``KEPT``, ``Options.kept``: the ``keep-*``
kinds, one kept, one with the HMAC, all but one, all, or the ``CONTRACTS``; timed, not
checked).

Two of those contracts kept more cheaply (stop 44), each an option of ``Options``:

* ``exact_keys``: keys still compared by 128 bits, through a 64-bit index. The first 64
  bits of a seal are the row's unique integer key, as the design's; the next 64 sit in
  the row, unindexed, and are compared whenever the first 64 match (a holder, a
  customer). Two different keys whose first 64 bits collide would go to an overflow
  table, which the prototype does not write: it raises there instead (about one in 37
  million for a million keys of a kind). ``fast-pre-exact`` runs the checks with it.
* ``joined_event``: the event naming every prospect written from a template, the same
  text as ``json.dumps(..., sort_keys=True)`` (``prospects_imported``; ``json.dumps``
  whenever an id or grade is not plain JSON text).

The kinds ``keep-exact-keys``, ``keep-hmac-and-exact-keys``,
``keep-contracts-exact-keys``, ``keep-contracts-joined-event`` and
``keep-contracts-exact-keys-joined-event`` use them; the last also with ids as wide as
an id generator's (``-id-width``: today's 34 characters; ``-ids-24``: 24, ``id_digits``).
The design's text ids are its row numbers in 16 hex digits, which no id generator makes:
a generator's time-ordered ids need about 128 bits.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import re
import resource
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_prospects as ip

BITS = ip._COUNTER_BITS  # 21: an id is base + line, base a multiple of 2**21
MAX_LINE = (1 << BITS) - 1


@dataclass
class Options:
    partial: bool = True          # unique key indexes WHERE active (else column UNIQUE)
    conflicts: bool = True        # ON CONFLICT DO NOTHING + shortfall path (else plain)
    idempotence: str = "index"    # "index" | "rowid" | "none"
    events: bool = True           # one event row a batch
    one_commit: bool = True       # else a commit per batch
    commit_rows: int = 0          # without one_commit: a commit every N input rows
                                  # (a multiple of the batch size; 0: every batch)
    heads: bool = False           # each prospect's sealed trail head, in its row
    customers: bool = False       # each batch's keys looked up among customers' keys
    policies: bool = False        # grade and cadence asked of policy objects a row
    # -- the review variant (import_rows_fast) --
    fast: bool = False            # import_rows_fast instead of import_rows
    mac: str = "hmac"             # "hmac" (HMAC-SHA-256 pads) | "blake2b" (keyed BLAKE2b)
    per_statement: int = 1        # rows a multi-row INSERT ... VALUES (1: executemany)
    page_size: int = 0            # PRAGMA page_size for a new file (0: default)
    cust_mode: str = "in"         # "in" (prototype) | "json" (1 statement) | "sql" (in insert)
    team_nn: bool = False         # team due index WHERE active AND owner_team IS NOT NULL
    prefixed: bool = False        # BLAKE2b states keyed and fed their prefix once, copied
    ignore: bool = False          # INSERT OR IGNORE (no statement journal) for DO NOTHING
    covering: bool = False        # due indexes as custmgmt's: (next_due, id) order and
                                  # what a list returns (grade, owner, team): index-only
    registered: bool = False      # and an index in registration order (registered_at)
    text_ids: bool = False        # and each row's text id ("p-" and the integer id in 16
                                  # hex digits) in its row and in those indexes in place of
                                  # the integer: lists read ids as they are handed out
    wide: bool = False            # and every other column of custmgmt's prospects table,
                                  # NULL or the batch's literal as the driver writes them
    kept: frozenset[str] = frozenset()  # which of today's contracts (KEPT) it keeps
    head_seals: bool = True       # heads sealed a row (custmgmt: only with a chain key)
    exact_keys: bool = False      # keys compared by 128 bits through a 64-bit index: the
                                  # first 64 bits of a seal unique (an integer, as the
                                  # design's), the next 64 in the row, compared on a hit
    joined_event: bool = False    # the event naming every prospect written from a
                                  # template, the same text as json.dumps(sort_keys=True)
    id_digits: int = 0            # text ids "p-" and this many hex digits (0: 16, or 32
                                  # with "id-width" kept): the width an id generator's
                                  # ids take (what they hold does not change the cost)


@dataclass
class Report:
    imported: int = 0
    already_imported: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    conflicts: list[tuple[int, str, int | str]] = field(default_factory=list)
    refused_rows: int = 0  # rows rejected or in conflict (a row may have 2 entries)


WIDE_COLUMNS = (
    "kind TEXT, address TEXT, organization TEXT, credit_code TEXT, industry TEXT, "
    "source_channel TEXT, needs TEXT, potential_currency TEXT, grade_is_manual BOOLEAN, "
    "stage TEXT, registration_from_pool BOOLEAN, version INTEGER, customer_id TEXT, "
    "organization_key BLOB, credit_code_key BLOB, plan_grade TEXT, plan_stage TEXT, "
    "plan_anchor DATE, plan_override DATE, plan_version INTEGER, trail_length INTEGER")
"""The columns of custmgmt's ``custmgmt_prospects`` the prototype's table has no other
form of (its grade, due date, active flag and head stand for the plan's and the trail's)."""
WIDE_NAMES = ("kind, potential_currency, grade_is_manual, stage, registration_from_pool, "
              "version, plan_stage, plan_anchor, plan_version, trail_length")
WIDE_VALUES = ("'individual', 'CNY', 0, 'initial_contact', 0, 1, 'initial_contact', "
               "'{today}', 1, 0")
"""What an import gives those columns for every row of a batch (the rest stay NULL; the
plan's grade is left out: it is the row's grade again, a byte a row)."""


KEPT = {
    "registration-index": "a unique index on each row's registration id",
    "id-index": "a unique index on the text id (today's text primary key's own B-tree)",
    "id-width": "text ids as wide as today's: 'p-' and 32 hex digits (a UUIDv7's)",
    "key-width": "each key its tag and whole 32-byte MAC, a blob, unique on its first "
                 "17 bytes (substr), as today's",
    "hmac": "keys sealed by HMAC-SHA-256 (its pads fed the fixed prefix once, copied)",
    "trail-columns": "the plan's grade and active flag and the trail head's 64-hex hash "
                     "in each row, as today's row holds them",
    "event-prospects": "the batch's event naming every prospect (id and grade), keys "
                       "sorted, as ProspectsImported is stored",
    "customer-keys": "the customers' keys as today's table holds them (kind, hex text; "
                     "primary key (kind, value)), asked 500 values a statement a kind "
                     "before each batch is written",
    "cache-16": "a 16 MiB page cache (custmgmt's and the minimal insert's), not 64 MiB",
}
"""What the prototype's design does more cheaply than custmgmt's import, each of which a
kind can keep as custmgmt pays for it (``Options.kept``): what keeping each costs is
what meeting the goal by changing it would buy. Kinds keeping any are timed, not
checked: the checks run on the prototype's own design."""
TAG = bytearray(b"\x01")  # a sealed key's first byte: the form of the seal (KEY_TAG);
# a bytearray, as custmgmt's driver binds blobs (the sqlite3 module binds bytes through
# its adapter look-up, 0.6-0.9 us a value)


def schema(opts: Options) -> list[str]:
    unique = "" if opts.partial else " UNIQUE"
    listed = "text_id" if opts.text_ids else "id"
    key = "BLOB" if "key-width" in opts.kept else "INTEGER"
    trail = (", plan_active BOOLEAN, trail_hash TEXT, trail_seal TEXT"
             if "trail-columns" in opts.kept else "")
    statements = [
        "CREATE TABLE lp (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "phone TEXT NOT NULL, email TEXT, willingness TEXT NOT NULL, "
        "potential_amount TEXT NOT NULL, grade TEXT NOT NULL, owner_id TEXT NOT NULL, "
        "owner_team TEXT, registration_id TEXT NOT NULL, registered_by TEXT NOT NULL, "
        "registered_at TEXT NOT NULL, active BOOLEAN NOT NULL, next_due DATE NOT NULL, "
        f"phone_key {key} NOT NULL{unique}, email_key {key}{unique}"
        + (", head_entry INTEGER, head_seal BLOB" if opts.heads else "")
        + (", text_id TEXT" if opts.text_ids else "")
        + (f", {WIDE_COLUMNS}" if opts.wide else "") + trail
        + (", phone_rest INTEGER, email_rest INTEGER" if opts.exact_keys else "") + ")",
        "CREATE INDEX lp_owner_due ON lp (owner_id, next_due"
        + (f", {listed}, grade, owner_team" if opts.covering else "") + ") WHERE active",
        "CREATE INDEX lp_team_due ON lp (owner_team, next_due"
        + (f", {listed}, owner_id, grade" if opts.covering else "") + ") WHERE active"
        + (" AND owner_team IS NOT NULL" if opts.team_nn else ""),
        *([f"CREATE INDEX lp_registered ON lp (registered_at{', text_id' * opts.text_ids})"]
          if opts.registered else []),
        "CREATE TABLE lp_audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, "
        "actor_id TEXT NOT NULL, prospect_ids TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE TABLE lp_events (id INTEGER PRIMARY KEY, type TEXT NOT NULL, "
        "occurred_at TEXT NOT NULL, payload TEXT NOT NULL)",
        "CREATE TABLE lp_imports (import_id TEXT PRIMARY KEY, base INTEGER NOT NULL UNIQUE)",
    ]
    if opts.customers and "customer-keys" in opts.kept:  # as custmgmt_customer_keys
        statements.append("CREATE TABLE lp_customer_keys (kind TEXT NOT NULL, "
                          "value TEXT NOT NULL, customer_id TEXT NOT NULL, "
                          "PRIMARY KEY (kind, value))")
        held = random.Random(3)
        statements += [f"INSERT INTO lp_customer_keys VALUES ('{('phone', 'email')[n % 2]}', "
                       f"'01{held.getrandbits(256):064x}', 'c-{n}')" for n in range(1000)]
    elif opts.customers:  # the keys customers hold (custmgmt_customer_keys), 1,000 of them
        rest = ", rest INTEGER NOT NULL" if opts.exact_keys else ""
        statements.append("CREATE TABLE lp_customer_keys (key INTEGER PRIMARY KEY, "
                          f"customer_id TEXT NOT NULL{rest})")
        held = random.Random(3)
        statements += [f"INSERT INTO lp_customer_keys VALUES "
                       f"({held.getrandbits(64) - 2**63}, 'c-{n}'"
                       + (f", {held.getrandbits(64) - 2**63})" if rest else ")")
                       for n in range(1000)]
    if opts.partial:
        held_part = "substr({}, 1, 17)" if "key-width" in opts.kept else "{}"
        statements += [f"CREATE UNIQUE INDEX lp_{c} ON lp ({held_part.format(c)}) WHERE active"
                       for c in ("phone_key", "email_key")]
    if opts.idempotence == "index" or "registration-index" in opts.kept:
        statements.append("CREATE UNIQUE INDEX lp_registration ON lp (registration_id)")
    if "id-index" in opts.kept and opts.text_ids:
        statements.append("CREATE UNIQUE INDEX lp_text_id ON lp (text_id)")
    return statements


def connect(path: Path | str, page_size: int = 0, cache_kib: int = 65536
            ) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    if page_size:  # a new file: before WAL writes its first page
        connection.execute(f"PRAGMA page_size={page_size}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA cache_size=-{cache_kib}")
    return connection


def create(connection: sqlite3.Connection, opts: Options) -> None:
    for statement in schema(opts):
        connection.execute(statement)


# -- validation: one boolean on the fast path, names on the slow path ---------------

unprintable = ip._UNPRINTABLE.search
mobile = ip._CN_MOBILE.fullmatch
clean_email = ip._CLEAN_EMAIL.fullmatch
WILL = ip.BY_WILLINGNESS
FIELDS = ("name", "phone", "email", "willingness", "potential_value")


def reasons(row: Any) -> list[tuple[str, str]]:  # noqa: PLR0912 - one branch a field
    """The slow path: every failing field of a row the fast check refused, named."""
    out: list[tuple[str, str]] = []
    if not hasattr(row, "get"):
        return [("row", "must be a mapping of columns")]
    values = {}
    for name in FIELDS:
        value = row.get(name)
        if value is None:
            out.append((name, "is required"))
        elif not isinstance(value, str):
            out.append((name, "must be text"))
        else:
            values[name] = value
    if "name" in values:
        name = values["name"].strip()
        if not 0 < len(name) <= 200:
            out.append(("name", "must be 1 to 200 characters"))
        elif not ((name.isascii() and name.isprintable()) or not unprintable(name)):
            out.append(("name", "must not hold control characters"))
    if "phone" in values and not mobile(values["phone"].strip()):
        out.append(("phone", "must be a mainland China mobile number (11 digits)"))
    if "email" in values and not clean_email(values["email"].strip().lower()):
        out.append(("email", "must be an e-mail address"))
    if "willingness" in values and values["willingness"] not in WILL:
        out.append(("willingness", f"must be one of {', '.join(WILL)}"))
    if "potential_value" in values:
        value = values["potential_value"]
        if not (value.isascii() and value.isdigit() and len(value) <= 15):
            out.append(("potential_value", "must be a whole amount of at most 15 digits"))
    return out


def begin_import(connection: sqlite3.Connection, import_id: str, opts: Options
                 ) -> tuple[int, int, bool]:
    """In the import's transaction: the number of its first audit entry (the heads name
    their entry), its id base (time-ordered, above every id held, a multiple of
    2**21), and whether an earlier run of the same import id holds that base."""
    execute = connection.execute
    entry = execute("SELECT coalesce(max(id), 0) + 1 FROM lp_audit").fetchone()[0]
    millis = time.time_ns() // 1_000_000
    top = execute("SELECT max(id) FROM lp").fetchone()[0]
    base = max(millis << BITS, ((top >> BITS) + 1) << BITS if top is not None else 0)
    if opts.idempotence == "rowid":
        held = execute("SELECT base FROM lp_imports WHERE import_id = ?",
                       (import_id,)).fetchone()
        if held:
            return entry, held[0], True
        top = execute("SELECT max(base) FROM lp_imports").fetchone()[0]
        if top is not None and top >= base:
            base = top + (1 << BITS)
        execute("INSERT INTO lp_imports VALUES (?, ?)", (import_id, base))
    return entry, base, False


def stored_before(connection: sqlite3.Connection, batch: list[tuple[int, Any]], base: int,
                  rerun: bool, report: Report) -> set[int]:
    """The lines of ``batch`` an earlier run of this import stored (counted, not written
    again); refuses a line number past what an id base leaves room for."""
    if batch[-1][0] > MAX_LINE:
        raise ValueError(f"more than {MAX_LINE} lines in one import")
    if not rerun:
        return set()
    already = {i - base for (i,) in connection.execute(
        "SELECT id FROM lp WHERE id BETWEEN ? AND ?", (base + batch[0][0], base + batch[-1][0]))}
    report.already_imported += len(already)
    return already


# -- the importer ------------------------------------------------------------------

def import_rows(  # noqa: PLR0912, PLR0915 - the whole prototype importer, in one place
        connection: sqlite3.Connection, source: Any, import_id: str, opts: Options,
        batch_size: int = 1000, on_progress: Any = None, owner: str = "u-alice") -> Report:
    if opts.fast:
        return import_rows_fast(connection, source, import_id, opts, batch_size,
                                on_progress, owner)
    if not 1 <= batch_size <= 1000:
        raise ValueError("batch_size must be 1 to 1000")
    report = Report()
    today = datetime.now(UTC).astimezone(ip.ZONE).date()
    due = {g: (today + timedelta(days=d)).isoformat() for g, d in ip.CADENCE_DAYS.items()}
    grade_of = ip._grade
    inner, outer = ip._hmac_pads(ip.PEPPER)
    now = datetime.now(UTC)
    at = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    registration = f"{import_id}:"
    on_conflict = " ON CONFLICT DO NOTHING" if opts.conflicts else ""
    heads = ", head_entry, head_seal" if opts.heads else ""
    insert = (
        "INSERT INTO lp (id, name, phone, email, willingness, potential_amount, grade, "
        f"registration_id, next_due, phone_key, email_key{heads}, owner_id, registered_by, "
        f"registered_at, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
        f"{', ?, ?' if opts.heads else ''}, '{owner}', '{owner}', '{at}', 1){on_conflict}")
    policy = Policy()
    grade_by, interval = policy.grade, policy.interval
    due_after: dict[object, str] = {}  # by the cadence's answer (a few distinct days)
    previous_hash = bytes(32)
    chain_inner, chain_outer = _chain_inner, _chain_outer
    to_bytes = int.to_bytes
    audit = ("INSERT INTO lp_audit (at, actor_id, prospect_ids, hash) "
             f"VALUES ('{at}', '{owner}', ?, ?)")
    event = f"INSERT INTO lp_events (type, occurred_at, payload) VALUES " \
            f"('ProspectsImported', '{at}', ?)"
    execute, executemany = connection.execute, connection.executemany

    def seal(text: bytes) -> int:
        mac = inner()
        mac.update(text)
        sealed = outer()
        sealed.update(mac.digest())
        return int.from_bytes(sealed.digest()[:8], "big", signed=True)

    execute("BEGIN IMMEDIATE")
    try:
        entry, base, rerun = begin_import(connection, import_id, opts)
        numbered = enumerate(source, start=1)
        while batch := list(islice(numbered, batch_size)):
            already = stored_before(connection, batch, base, rerun, report)
            written = []
            for line, row in batch:
                if line in already:
                    continue
                try:
                    name, phone = row["name"].strip(), row["phone"].strip()
                    email, will, value = row["email"].strip().lower(), \
                        row["willingness"], row["potential_value"]
                    ok = (0 < len(name) <= 200 and mobile(phone) and clean_email(email)
                          and ((name.isascii() and name.isprintable())
                               or not unprintable(name))
                          and will in WILL and value.isascii() and value.isdigit()
                          and len(value) <= 15)
                except (KeyError, AttributeError, TypeError):
                    ok = False
                if not ok:
                    found = reasons(row) or [("row", "refused")]
                    report.rejected += [(line, f, r) for f, r in found]
                    report.refused_rows += 1
                    continue
                if opts.policies:  # as custmgmt asks its policies: each row
                    grade = grade_by(will, int(value))
                    days = interval(grade, STAGE)
                    next_due = due_after.get(days)
                    if next_due is None:
                        next_due = due_after[days] = (today + timedelta(days=days)).isoformat()
                else:
                    grade = grade_of(will, int(value))
                    next_due = due[grade]
                pid = base + line
                stored = (pid, name, phone, email, will, value, grade,
                          f"{registration}{line}", next_due,
                          seal(b"phone\x00+86" + phone.encode()),
                          seal(b"email\x00" + email.encode()))
                if opts.heads:  # the head: length 0 at the batch's entry, sealed
                    mac = chain_inner()
                    mac.update(HEAD + to_bytes(pid, 8, "big") + to_bytes(entry, 8, "big"))
                    sealed = chain_outer()
                    sealed.update(mac.digest())
                    stored += (entry, sealed.digest()[:16])
                written.append(stored)
            if written and opts.customers:
                written = not_customers(connection, written, base, report)
            if written:
                before = connection.total_changes
                executemany(insert, written)
                if connection.total_changes - before != len(written):
                    written = shortfall(connection, written, base, report, already,
                                        opts.idempotence == "index")
            if written:
                ids = ",".join(str(r[0]) for r in written)
                if opts.heads:  # the entry the heads name: its number, chained hashes
                    previous_hash = entry_hash(previous_hash, written)
                    execute(AUDIT_AT.format(at=at, owner=owner),
                            (entry, ids, previous_hash.hex()))
                    entry += 1
                else:
                    execute(audit, (ids, hashlib.sha256(ids.encode()).hexdigest()))
                if opts.events:
                    execute(event, (json.dumps({
                        "import_id": import_id, "count": len(written),
                        "first_id": written[0][0], "last_id": written[-1][0]}),))
                report.imported += len(written)
            if not opts.one_commit and (
                    not opts.commit_rows or batch[-1][0] % opts.commit_rows == 0):
                execute("COMMIT")
                execute("BEGIN IMMEDIATE")
            if on_progress is not None:
                on_progress(report.imported, report.refused_rows)
        execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            execute("ROLLBACK")
        raise
    return report


STAGE = "initial_contact"
CHAIN_KEY = b"custmgmt chain heads: the benchmark's own secret"
_chain_inner, _chain_outer = ip._hmac_pads(CHAIN_KEY)


class Policy:
    """What custmgmt's grading and cadence plugins answer (its defaults), asked a row."""

    def grade(self, willingness: str, value: int) -> str:
        return ip._grade(willingness, value)

    def interval(self, grade: str, stage: str) -> int:
        return ip.CADENCE_DAYS[grade]


def entry_hash(previous: bytes, written: list[tuple[Any, ...]]) -> bytes:
    """The batch's audit entry: SHA-256 over the entry before and every id it names."""
    return hashlib.sha256(previous + ",".join(str(r[0]) for r in written).encode()).digest()


HEAD = b"audit:prospect\x00"
ENTRY_ONE = (1).to_bytes(8, "big")
AUDIT_AT = ("INSERT INTO lp_audit (id, at, actor_id, prospect_ids, hash) "
            "VALUES (?, '{at}', '{owner}', ?, ?)")


def head_seal(prospect_id: int, entry: int) -> bytes:
    """HMAC-SHA-256 (chain key, the first 128 bits) of a prospect's trail head: its
    chain, its id, and the audit entry its trail starts at (length 0), whose hash the
    import's own sealed chain of entries vouches for."""
    return hmac.digest(CHAIN_KEY, HEAD + prospect_id.to_bytes(8, "big")
                       + entry.to_bytes(8, "big"), "sha256")[:16]


def not_customers(connection: sqlite3.Connection, written: list[tuple[Any, ...]],
                  base: int, report: Report, rests: tuple[int, int] | None = None,
                  ) -> list[tuple[Any, ...]]:
    """The rows none of whose keys a customer holds; the others reported, naming the
    customer (custmgmt asks the customers' keys of each batch before it writes).
    ``rests``: where a row holds the next 64 bits of its phone's and e-mail's seals
    (``Options.exact_keys``), compared with a holder's before it counts as one."""
    keys = [row[9] for row in written] + [row[10] for row in written]
    held: dict[int, str] = {}
    rest_of: dict[int, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        if rests is None:
            held.update(connection.execute(
                f"SELECT key, customer_id FROM lp_customer_keys WHERE key IN ({marks})",
                chunk).fetchall())
            continue
        for key, holder, rest in connection.execute(
                "SELECT key, customer_id, rest FROM lp_customer_keys WHERE key IN "
                f"({marks})", chunk):
            held[key], rest_of[key] = holder, rest
    if not held:
        return written
    kept = []
    for row in written:
        pairs = ((row[9], None), (row[10], None)) if rests is None \
            else ((row[9], row[rests[0]]), (row[10], row[rests[1]]))
        holders = [held[key] for key, rest in pairs
                   if key in held and (rest is None or rest_of[key] == rest)]
        if holders:
            report.conflicts += [(row[0] - base, "customer", holder) for holder in holders]
            report.refused_rows += 1
        else:
            kept.append(row)
    return kept


def shortfall(connection: sqlite3.Connection, written: list[tuple[Any, ...]], base: int,
              report: Report, already: set[int], by_registration: bool
              ) -> list[tuple[Any, ...]]:
    """The slow path of a batch the database refused rows of: which rows are in (by
    id: a rowid range), which an earlier run of this import stored (by registration
    id), and who holds the keys of the rest. Returns the rows written."""
    ids = {i for (i,) in connection.execute(
        "SELECT id FROM lp WHERE id BETWEEN ? AND ?", (written[0][0], written[-1][0]))}
    stored = []
    for row in written:
        if row[0] in ids and row[0] - base not in already:
            stored.append(row)
            continue
        line = row[0] - base
        # mode "rowid": the pre-read counted an earlier run's rows (no index to ask)
        earlier = by_registration and connection.execute(
            "SELECT id FROM lp WHERE registration_id = ?", (row[7],)).fetchone()
        if earlier:
            report.already_imported += 1
            continue
        named = False
        for conflict, column, key in (("phone", "phone_key", row[9]),
                                      ("email", "email_key", row[10])):
            holder = connection.execute(
                f"SELECT id FROM lp WHERE {column} = ? AND active", (key,)).fetchone()
            if holder is not None:
                report.conflicts.append((line, conflict, holder[0]))
                named = True
        report.refused_rows += 1
        if not named:
            raise RuntimeError(f"line {line} refused for no reason found")
    return stored


# -- the review variant: import_rows_fast -------------------------------------------

# BLAKE2b takes a key of at most 64 bytes: a longer pepper is first hashed (as HMAC
# hashes a key longer than its block), a shorter one is used as it is.
B2_PEPPER = (hashlib.blake2b(ip.PEPPER, digest_size=64, person=b"custmgmt-pepper").digest()
             if len(ip.PEPPER) > 64 else ip.PEPPER)
ZERO8 = bytes(8)  # a head's trail length: 0


def key_seal(opts: Options, text: bytes) -> int:
    """A prospect's identity key: a keyed MAC of ``text`` under the pepper, its first
    64 bits as a signed integer (HMAC-SHA-256 or keyed BLAKE2b, as ``opts.mac``)."""
    if opts.mac == "blake2b":
        return int.from_bytes(hashlib.blake2b(text, key=B2_PEPPER, digest_size=8).digest(),
                              "big", signed=True)
    return int.from_bytes(hmac.digest(ip.PEPPER, text, "sha256")[:8], "big", signed=True)


def held_key(opts: Options, text: bytes) -> tuple[int, ...]:
    """``key_seal``, or with ``exact_keys`` a seal's first and next 64 bits (the whole-width
    MAC the import then takes them from: HMAC-SHA-256 if kept, else keyed BLAKE2b of 32
    bytes), as a customer's key or a row's key and rest hold them."""
    if not opts.exact_keys:
        return (key_seal(opts, text),)
    if "hmac" in opts.kept:
        digest = hmac.digest(ip.PEPPER, text, "sha256")
    else:
        digest = hashlib.blake2b(text, key=B2_PEPPER, digest_size=32).digest()
    first, rest = struct.unpack(">qq", digest[:16])
    return first, rest


def customer_holds(connection: sqlite3.Connection, customer: str,
                   key: tuple[int, ...]) -> None:
    """A customer holding ``key`` (a ``held_key``)."""
    connection.execute(f"INSERT INTO lp_customer_keys VALUES (?, '{customer}'"
                       + ", ?" * (len(key) - 1) + ")", key)


def head_seal_of(opts: Options, prospect_id: int, entry: int) -> bytes:
    """A prospect's sealed trail head (128-bit tag under the chain key): chain, id,
    length 0 (explicit for BLAKE2b), the audit entry its trail starts at."""
    if opts.mac == "blake2b":
        return hashlib.blake2b(HEAD + prospect_id.to_bytes(8, "big") + ZERO8
                               + entry.to_bytes(8, "big"), key=CHAIN_KEY,
                               digest_size=16).digest()
    return head_seal(prospect_id, entry)


def key_states(hmac_keys: bool, whole: bool) -> tuple[Any, Any, Any]:
    """What seals the phone's and the e-mail's keys as ``KEPT`` says, inline in the loop:
    the keyed state of each (HMAC-SHA-256's inner pad, or keyed BLAKE2b of the width
    kept) fed its fixed prefix once, to be copied a value; and HMAC's outer pad (None
    for BLAKE2b)."""
    if hmac_keys:
        inner_pad, outer_pad = ip._hmac_pads(ip.PEPPER)

        def started(prefix: bytes) -> Any:
            state = inner_pad()
            state.update(prefix)
            return state.copy
        return started(b"phone\x00+86"), started(b"email\x00"), outer_pad
    size = 32 if whole else 8
    return (hashlib.blake2b(b"phone\x00+86", key=B2_PEPPER, digest_size=size).copy,
            hashlib.blake2b(b"email\x00", key=B2_PEPPER, digest_size=size).copy, None)


def not_customers_text(connection: sqlite3.Connection, written: list[tuple[Any, ...]],
                       base: int, report: Report) -> list[tuple[Any, ...]]:
    """As not_customers, against the customers' keys as custmgmt keeps them (kind and hex
    text) and asked as it asks them: 500 values a statement, a kind at a time."""
    def text(key: Any) -> str:
        if isinstance(key, bytes | bytearray):
            return key.hex()
        return f"{key & 0xFFFF_FFFF_FFFF_FFFF:016x}"
    held: dict[tuple[str, str], str] = {}
    for kind, at in (("phone", 9), ("email", 10)):
        # custmgmt's keys are hex already (a hexdigest): made here without a call a key
        if isinstance(written[0][at], bytearray):
            values = [row[at].hex() for row in written if row[at] is not None]
        else:
            values = [f"{row[at] & 0xFFFF_FFFF_FFFF_FFFF:016x}" for row in written
                      if row[at] is not None]
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            held.update(((kind, value), holder) for value, holder in connection.execute(
                "SELECT value, customer_id FROM lp_customer_keys WHERE kind = ? AND value "
                f"IN ({', '.join('?' * len(chunk))})", (kind, *chunk)))
    if not held:
        return written
    kept = []
    for row in written:
        holders = [held[kind, text(row[at])] for kind, at in (("phone", 9), ("email", 10))
                   if row[at] is not None and (kind, text(row[at])) in held]
        if holders:
            report.conflicts += [(row[0] - base, "customer", holder) for holder in holders]
            report.refused_rows += 1
        else:
            kept.append(row)
    return kept


def not_customers_json(connection: sqlite3.Connection, written: list[tuple[Any, ...]],
                       base: int, report: Report) -> list[tuple[Any, ...]]:
    """As not_customers, in one statement a batch (the keys as one JSON array)."""
    keys = json.dumps([k for row in written for k in (row[9], row[10])])
    held = dict(connection.execute(
        "SELECT key, customer_id FROM lp_customer_keys "
        "WHERE key IN (SELECT value FROM json_each(?))", (keys,)).fetchall())
    if not held:
        return written
    kept = []
    for row in written:
        holders = [held[key] for key in (row[9], row[10]) if key in held]
        if holders:
            report.conflicts += [(row[0] - base, "customer", holder) for holder in holders]
            report.refused_rows += 1
        else:
            kept.append(row)
    return kept


PLAIN_JSON = re.compile(r'[ !#-\[\]-~]*')
"""Text ``json.dumps`` writes as it is, between quotes: printable ASCII but ``"`` and
``\\``."""


def prospects_imported(import_id: str, graded: list[tuple[str, str]]) -> str:
    """The event naming every prospect (grade, text id) as ``json.dumps(..., sort_keys=True)``
    writes it, the same text: from a template when every id and grade is plain JSON text
    (custmgmt's are; one match a batch says so), else by ``json.dumps``."""
    grades = "".join([g for g, _ in graded])
    ids = "".join([i for _, i in graded])
    if not (PLAIN_JSON.fullmatch(ids) and PLAIN_JSON.fullmatch(grades)):
        return json.dumps({"import_id": import_id, "count": len(graded),
                           "prospects": [{"grade": g, "prospect_id": i} for g, i in graded]},
                          sort_keys=True)
    listed = ", ".join([f'{{"grade": "{g}", "prospect_id": "{i}"}}' for g, i in graded])
    return (f'{{"count": {len(graded)}, "import_id": {json.dumps(import_id)}, '
            f'"prospects": [{listed}]}}')


def shortfall_fast(connection: sqlite3.Connection, written: list[tuple[Any, ...]],
                   base: int, report: Report, already: set[int], by_registration: bool,
                   customers_in_insert: bool, rests: tuple[int, int] | None = None,
                   ) -> list[tuple[Any, ...]]:
    """As shortfall; with the customers' look-up inside the INSERT, a refused row is
    first asked whether a customer holds one of its keys (and reported naming them).
    ``rests`` as ``not_customers``'s: a holder of a key's first 64 bits whose next 64
    differ is a collision, which would go to an overflow table the prototype does not
    write (about one in 37 million for a million keys): it raises."""
    ids = {i for (i,) in connection.execute(
        "SELECT id FROM lp WHERE id BETWEEN ? AND ?", (written[0][0], written[-1][0]))}
    stored = []
    for row in written:
        if row[0] in ids and row[0] - base not in already:
            stored.append(row)
            continue
        line = row[0] - base
        if customers_in_insert:
            rest = " AND rest = ?" if rests else ""
            holders = [h for (h,) in connection.execute(
                f"SELECT customer_id FROM lp_customer_keys WHERE key = ?{rest} UNION ALL "
                f"SELECT customer_id FROM lp_customer_keys WHERE key = ?{rest}",
                (row[9], row[rests[0]], row[10], row[rests[1]]) if rests
                else (row[9], row[10]))]
            if holders:
                report.conflicts += [(line, "customer", h) for h in holders]
                report.refused_rows += 1
                continue
        earlier = by_registration and connection.execute(
            "SELECT id FROM lp WHERE registration_id = ?", (row[7],)).fetchone()
        if earlier:
            report.already_imported += 1
            continue
        named = False
        for conflict, column, key in (("phone", "phone_key", row[9]),
                                      ("email", "email_key", row[10])):
            holder = connection.execute(
                f"SELECT id, {conflict}_rest FROM lp WHERE {column} = ? AND active"
                if rests else f"SELECT id FROM lp WHERE {column} = ? AND active",
                (key,)).fetchone()
            if holder is not None and rests and \
                    holder[1] != row[rests[conflict == "email"]]:
                raise NotImplementedError(f"line {line}: a {conflict} key's first 64 bits "
                                          "collide (no overflow table in the prototype)")
            if holder is not None:
                report.conflicts.append((line, conflict, holder[0]))
                named = True
        report.refused_rows += 1
        if not named:
            raise RuntimeError(f"line {line} refused for no reason found")
    return stored


def import_rows_fast(  # noqa: PLR0912, PLR0915
        connection: sqlite3.Connection, source: Any, import_id: str, opts: Options,
        batch_size: int = 1000, on_progress: Any = None, owner: str = "u-alice") -> Report:
    """import_rows with the same duties, fewer Python steps a row: keys and heads by
    keyed BLAKE2b (one call a seal), rows written by multi-row INSERT ... VALUES
    statements, the customers' keys looked up in one statement a batch or inside the
    INSERT itself (refused rows then named on the shortfall path)."""
    if not 1 <= batch_size <= 1000:
        raise ValueError("batch_size must be 1 to 1000")
    report = Report()
    today = datetime.now(UTC).astimezone(ip.ZONE).date()
    due = {g: (today + timedelta(days=d)).isoformat() for g, d in ip.CADENCE_DAYS.items()}
    grade_of = ip._grade
    now = datetime.now(UTC)
    at = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    registration = f"{import_id}:"
    heads, policies = opts.heads, opts.policies
    cust_sql = opts.customers and opts.cust_mode == "sql" and "customer-keys" not in opts.kept
    text_ids, kept = opts.text_ids, opts.kept
    trail = "trail-columns" in kept
    digits = opts.id_digits or (32 if "id-width" in kept else 16)
    if digits not in (16, 22, 32):
        raise ValueError("id_digits: 16, 22 or 32")
    exact = opts.exact_keys
    head_seals = heads and opts.head_seals
    own = 11 + heads + head_seals  # the prototype's own columns bound a row
    text_id_at = own if text_ids else 0  # the id a list hands out
    extra = text_ids or trail or exact  # columns after the prototype's own
    n_params = own + text_ids + trail + 2 * exact
    rests = (n_params - 2, n_params - 1) if exact else None  # where a row's rests are
    columns = ("id, name, phone, email, willingness, potential_amount, grade, "
               "registration_id, next_due, phone_key, email_key"
               + (", head_entry" if heads else "") + (", head_seal" if head_seals else "")
               + (", text_id" if text_ids else "") + (", plan_grade" if trail else "")
               + (", phone_rest, email_rest" if exact else "")
               + ", owner_id, registered_by, registered_at, active")
    consts = f"'{owner}', '{owner}', '{at}', 1"
    if opts.wide:  # what the prototype leaves out of a row, as literals of the statement
        columns += f", {WIDE_NAMES}"
        consts += ", " + WIDE_VALUES.format(today=today.isoformat())
    if trail:  # the plan's flag and the head's hash: one value a batch, literals
        columns += ", plan_active, trail_hash"
        consts += f", 1, '{hashlib.sha256(import_id.encode()).hexdigest()}'"
    # INSERT OR IGNORE skips a row any constraint refuses (as DO NOTHING does for the
    # unique ones) and so never aborts: no statement journal for a multi-row INSERT.
    # A row refused for no key conflict is still caught: shortfall_fast raises.
    ignore = opts.conflicts and opts.ignore
    verb = "INSERT OR IGNORE" if ignore else "INSERT"
    on_conflict = " ON CONFLICT DO NOTHING" if opts.conflicts and not ignore else ""
    statements: dict[int, str] = {}

    def insert_sql(k: int) -> str:
        sql = statements.get(k)
        if sql is None:
            marks = ", ".join("?" * n_params)
            if cust_sql:  # the customers' keys asked by the INSERT itself, row by row
                held = ("(key = column10 AND rest = column{}) OR (key = column11 AND "
                        "rest = column{})".format(*(at + 1 for at in rests)) if rests
                        else "key IN (column10, column11)")
                sql = (f"{verb} INTO lp ({columns}) SELECT *, {consts} FROM (VALUES "
                       + ", ".join([f"({marks})"] * k)
                       + f") WHERE NOT EXISTS (SELECT 1 FROM lp_customer_keys WHERE {held})"
                       + on_conflict)
            else:
                sql = (f"{verb} INTO lp ({columns}) VALUES "
                       + ", ".join([f"({marks}, {consts})"] * k) + on_conflict)
            statements[k] = sql
        return sql

    per = max(1, min(opts.per_statement, connection.getlimit(
        sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // n_params))
    policy = Policy()
    grade_by, interval = policy.grade, policy.interval
    due_after: dict[object, str] = {}
    previous_hash = bytes(32)
    event = f"INSERT INTO lp_events (type, occurred_at, payload) VALUES " \
            f"('ProspectsImported', '{at}', ?)"
    audit = AUDIT_AT.format(at=at, owner=owner)
    plain_audit = ("INSERT INTO lp_audit (at, actor_id, prospect_ids, hash) "
                   f"VALUES ('{at}', '{owner}', ?, ?)")
    execute, executemany = connection.execute, connection.executemany
    flatten = chain.from_iterable
    b2 = hashlib.blake2b
    from_bytes = int.from_bytes
    if opts.mac == "blake2b":
        pepper = B2_PEPPER

        def seal(text: bytes) -> int:
            return from_bytes(b2(text, key=pepper, digest_size=8).digest(), "big",
                              signed=True)
    else:
        inner, outer = ip._hmac_pads(ip.PEPPER)

        def seal(text: bytes) -> int:
            mac = inner()
            mac.update(text)
            sealed = outer()
            sealed.update(mac.digest())
            return from_bytes(sealed.digest()[:8], "big", signed=True)
    use_b2 = opts.mac == "blake2b"
    chain_key = CHAIN_KEY
    # keyed BLAKE2b buffers its key block until data follows: fed its fixed prefix once,
    # a copy seals a value with one compression (the same MAC as b2(prefix + value))
    prefixed = opts.prefixed and use_b2
    phone_mac = b2(b"phone\x00+86", key=B2_PEPPER, digest_size=8).copy
    email_mac = b2(b"email\x00", key=B2_PEPPER, digest_size=8).copy
    head_mac = b2(HEAD, key=CHAIN_KEY, digest_size=16).copy
    unpack_q = struct.Struct(">q").unpack
    unpack_qq = struct.Struct(">qq").unpack
    pack_head = struct.Struct(">QQQ").pack  # id, length 0, entry
    sealed_as_today = "hmac" in kept or "key-width" in kept or exact
    whole_keys = "key-width" in kept
    if exact and (whole_keys or "customer-keys" in kept or opts.cust_mode == "json"):
        raise ValueError("exact_keys stands in for the kept key width, and needs the "
                         "design's customers' keys (not customer-keys, not cust_mode json)")
    phone_state, email_state, outer_pad = key_states("hmac" in kept, whole_keys or exact)
    phone_rest = email_rest = 0

    execute("BEGIN IMMEDIATE")
    try:
        entry, base, rerun = begin_import(connection, import_id, opts)
        numbered = enumerate(source, start=1)
        while batch := list(islice(numbered, batch_size)):
            already = stored_before(connection, batch, base, rerun, report)
            tail = ZERO8 + entry.to_bytes(8, "big")  # the heads name this batch's entry
            entry_bytes = entry.to_bytes(8, "big")
            written = []
            append = written.append
            for line, row in batch:
                if line in already:
                    continue
                # import_rows' checks, inlined as there: a call a row is what is measured
                try:
                    name, phone = row["name"].strip(), row["phone"].strip()
                    email, will, value = row["email"].strip().lower(), \
                        row["willingness"], row["potential_value"]
                    ok = (0 < len(name) <= 200 and mobile(phone) and clean_email(email)
                          and ((name.isascii() and name.isprintable())
                               or not unprintable(name))
                          and will in WILL and value.isascii() and value.isdigit()
                          and len(value) <= 15)
                except (KeyError, AttributeError, TypeError):
                    ok = False
                if not ok:
                    found = reasons(row) or [("row", "refused")]
                    report.rejected += [(line, f, r) for f, r in found]
                    report.refused_rows += 1
                    continue
                if policies:
                    grade = grade_by(will, int(value))
                    days = interval(grade, STAGE)
                    next_due = due_after.get(days)
                    if next_due is None:
                        next_due = due_after[days] = (today + timedelta(days=days)).isoformat()
                else:
                    grade = grade_of(will, int(value))
                    next_due = due[grade]
                pid = base + line
                # the keys as KEPT says, written out twice as fast-pre's are: a call a key
                # (a helper or a loop over the two) costs about 0.05x (stop 43's closures)
                if sealed_as_today:
                    mac = phone_state()
                    mac.update(phone.encode())
                    digest = mac.digest()
                    if outer_pad is not None:
                        mac = outer_pad()
                        mac.update(digest)
                        digest = mac.digest()
                    if exact:
                        phone_key, phone_rest = unpack_qq(digest[:16])
                    else:
                        phone_key = TAG + digest if whole_keys else unpack_q(digest[:8])[0]
                    mac = email_state()
                    mac.update(email.encode())
                    digest = mac.digest()
                    if outer_pad is not None:
                        mac = outer_pad()
                        mac.update(digest)
                        digest = mac.digest()
                    if exact:
                        email_key, email_rest = unpack_qq(digest[:16])
                    else:
                        email_key = TAG + digest if whole_keys else unpack_q(digest[:8])[0]
                elif prefixed:  # the keyed states after their fixed prefix, copied
                    mac = phone_mac()
                    mac.update(phone.encode())
                    phone_key = unpack_q(mac.digest())[0]
                    mac = email_mac()
                    mac.update(email.encode())
                    email_key = unpack_q(mac.digest())[0]
                elif use_b2:
                    phone_key = from_bytes(b2(b"phone\x00+86" + phone.encode(), key=pepper,
                                              digest_size=8).digest(), "big", signed=True)
                    email_key = from_bytes(b2(b"email\x00" + email.encode(), key=pepper,
                                              digest_size=8).digest(), "big", signed=True)
                else:
                    phone_key = seal(b"phone\x00+86" + phone.encode())
                    email_key = seal(b"email\x00" + email.encode())
                if heads and not head_seals:  # the head names its entry, unsealed
                    out = (pid, name, phone, email, will, value, grade,
                           f"{registration}{line}", next_due,
                           phone_key, email_key, entry)
                elif heads:
                    if prefixed:
                        mac = head_mac()
                        mac.update(pack_head(pid, 0, entry))
                        head = mac.digest()
                    elif use_b2:
                        head = b2(HEAD + pid.to_bytes(8, "big") + tail, key=chain_key,
                                  digest_size=16).digest()
                    else:  # HMAC-SHA-256 from the chain key's pads (= head_seal)
                        mac = _chain_inner()
                        mac.update(HEAD + pid.to_bytes(8, "big") + entry_bytes)
                        sealed = _chain_outer()
                        sealed.update(mac.digest())
                        head = sealed.digest()[:16]
                    out = (pid, name, phone, email, will, value, grade,
                           f"{registration}{line}", next_due,
                           phone_key, email_key, entry, head)
                else:
                    out = (pid, name, phone, email, will, value, grade,
                           f"{registration}{line}", next_due,
                           phone_key, email_key)
                if extra:
                    if text_ids:
                        # literal formats: a width read a row would cost it a call
                        out += (f"p-{pid:016x}" if digits == 16 else f"p-{pid:032x}"
                                if digits == 32 else f"p-{pid:022x}",)
                    if trail:
                        out += (grade,)
                    if exact:
                        out += (phone_rest, email_rest)
                append(out)
            if written and opts.customers and not cust_sql:
                if rests:
                    written = not_customers(connection, written, base, report, rests)
                else:
                    written = (not_customers_text if "customer-keys" in kept
                               else not_customers_json if opts.cust_mode == "json"
                               else not_customers)(connection, written, base, report)
            if written:
                before = connection.total_changes
                if per == 1:
                    executemany(insert_sql(1), written)
                else:
                    flat = list(flatten(written))
                    n = len(written)
                    full = n - n % per
                    step = per * n_params
                    if full:
                        executemany(insert_sql(per), [flat[i:i + step]
                                                      for i in range(0, full * n_params, step)])
                    if n - full:
                        execute(insert_sql(n - full), flat[full * n_params:])
                if connection.total_changes - before != len(written):
                    written = shortfall_fast(connection, written, base, report, already,
                                             opts.idempotence == "index", cust_sql, rests)
            if written:
                ids = ",".join([str(r[0]) for r in written])
                if heads:  # entry_hash(previous_hash, written), the ids joined once
                    previous_hash = hashlib.sha256(previous_hash + ids.encode()).digest()
                    execute(audit, (entry, ids, previous_hash.hex()))
                    entry += 1
                else:
                    execute(plain_audit, (ids, hashlib.sha256(ids.encode()).hexdigest()))
                if opts.events and "event-prospects" in kept and opts.joined_event:
                    execute(event, (prospects_imported(
                        import_id, [(r[6], r[text_id_at]) for r in written]),))
                elif opts.events and "event-prospects" in kept:
                    execute(event, (json.dumps({
                        "import_id": import_id, "count": len(written),
                        "prospects": [{"grade": r[6], "prospect_id": r[text_id_at]}
                                      for r in written]}, sort_keys=True),))
                elif opts.events:
                    execute(event, (json.dumps({
                        "import_id": import_id, "count": len(written),
                        "first_id": written[0][0], "last_id": written[-1][0]}),))
                report.imported += len(written)
            if not opts.one_commit and (
                    not opts.commit_rows or batch[-1][0] % opts.commit_rows == 0):
                execute("COMMIT")
                execute("BEGIN IMMEDIATE")
            if on_progress is not None:
                on_progress(report.imported, report.refused_rows)
        execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            execute("ROLLBACK")
        raise
    return report


# -- correctness checks ------------------------------------------------------------

def good(n: int) -> dict[str, str]:
    return {"name": f"Person {n}", "phone": f"139{n:08d}", "email": f"person{n}@example.com",
            "willingness": ip.WILLINGNESS[n % 4], "potential_value": str((n % 50) * 40_000)}


def check(mode: str, duties: bool = False,  # noqa: PLR0915 - one check after another
          variant: dict[str, Any] | None = None) -> list[str]:
    opts = replace(DUTIES, idempotence=mode) if duties else Options(idempotence=mode)
    opts = replace(opts, **(variant or {}))
    done = []
    with tempfile.TemporaryDirectory() as folder:
        c = connect(Path(folder) / "check.db", opts.page_size)
        create(c, opts)
        # a prospect registered before the import (active), and a released one
        r0 = import_rows(c, [good(900), good(901)], "pre", opts)
        assert r0.imported == 2, r0
        held_id, released_id = [i for (i,) in c.execute("SELECT id FROM lp ORDER BY id")]
        c.execute("UPDATE lp SET active = 0 WHERE id = ?", (released_id,))
        rows = [good(n) for n in range(1, 13)]
        rows[4] = dict(rows[4], phone="12345")                  # line 5: bad phone
        rows[6] = dict(rows[6], phone=rows[2]["phone"])        # line 7: dup of line 3
        rows[7] = dict(rows[7], email="PERSON900@example.com ")  # line 8: held, active
        rows[8] = dict(rows[8], phone=good(901)["phone"])      # line 9: held, released
        rows[9] = {k: v for k, v in rows[9].items() if k != "willingness"}  # line 10
        rows[10] = dict(rows[10], name="\x00", potential_value="1.5")       # line 11
        progress = []
        report = import_rows(c, iter(rows), "imp-A", opts, batch_size=4,
                             on_progress=lambda i, r: progress.append((i, r)))
        assert sorted(report.rejected) == [
            (5, "phone", "must be a mainland China mobile number (11 digits)"),
            (10, "willingness", "is required"),
            (11, "name", "must not hold control characters"),
            (11, "potential_value", "must be a whole amount of at most 15 digits")], report
        done.append("bad rows in the middle reported with line and field, others stored")
        line3 = c.execute("SELECT id FROM lp WHERE registration_id = 'imp-A:3'").fetchone()[0]
        assert (7, "phone", line3) in report.conflicts, report
        done.append("duplicate phone within the input: conflict on the later line, "
                    "naming the earlier line's id")
        assert (8, "email", held_id) in report.conflicts, report
        done.append("key held by an active row before the import: conflict naming it")
        assert not any(c_[0] == 9 for c_ in report.conflicts), report
        assert c.execute("SELECT count(*) FROM lp WHERE registration_id = 'imp-A:9'"
                         ).fetchone()[0] == 1
        done.append("key held by an inactive row: no conflict, row stored")
        assert report.imported == 7 and len(report.conflicts) == 2, report
        stored = {r for (r,) in c.execute(
            "SELECT registration_id FROM lp WHERE registration_id LIKE 'imp-A:%'")}
        assert stored == {f"imp-A:{n}" for n in (1, 2, 3, 4, 6, 9, 12)}, stored
        assert progress == [(4, 0), (5, 3), (7, 5)], progress
        done.append("on_progress(imported, rejected) after each batch")
        # audit and event rows name exactly the ids written
        audits = c.execute("SELECT prospect_ids, hash FROM lp_audit ORDER BY id").fetchall()
        named = [int(i) for ids, _ in audits[1:] for i in ids.split(",")]
        assert sorted(named) == sorted(i for (i,) in c.execute(
            "SELECT id FROM lp WHERE registration_id LIKE 'imp-A:%'"))
        if opts.heads:  # each import's entries chain (check_duties checks the heads)
            assert all(len(h) == 64 for _, h in audits)
        else:
            assert all(hashlib.sha256(ids.encode()).hexdigest() == h for ids, h in audits)
        events = [json.loads(p) for (p,) in c.execute(
            "SELECT payload FROM lp_events WHERE type = 'ProspectsImported' ORDER BY id")]
        assert [e["count"] for e in events[1:]] == [4, 1, 2], events
        done.append("one audit row a batch (SHA-256 over its ids) and one event a batch")
        # re-running the same import id
        count_before = c.execute("SELECT count(*) FROM lp").fetchone()[0]
        changes = c.total_changes
        again = import_rows(c, iter(rows), "imp-A", opts, batch_size=4)
        assert again.imported == 0 and again.already_imported == 7, again
        assert c.execute("SELECT count(*) FROM lp").fetchone()[0] == count_before
        assert c.total_changes == changes, "a re-run wrote something"
        # (the bad rows and the conflicts are reported again, as they were)
        assert len(again.rejected) == 4 and sorted(again.conflicts) == sorted(
            report.conflicts), again
        done.append("re-run of the same import id: the stored rows counted as already "
                    "imported, nothing written (bad rows and conflicts reported again)")
        # an interrupted run: the first 5 lines only, then the whole input again
        part = import_rows(c, iter([good(n) for n in range(20, 25)]), "imp-B", opts)
        whole = import_rows(c, iter([good(n) for n in range(20, 30)]), "imp-B", opts)
        assert (part.imported, whole.imported, whole.already_imported) == (5, 5, 5), whole
        assert not whole.conflicts
        done.append("an interrupted import resumed: earlier rows already imported, the "
                    "rest written, no conflicts")
        # a commit every 8 rows (batches of 4), interrupted after 12 rows: the 8 rows
        # committed stay, the 4 after them roll back, and a re-run stores the rest
        committing = replace(opts, one_commit=False, commit_rows=8)

        def stop_at_12(imported: int, refused: int) -> None:
            if imported >= 12:
                raise KeyboardInterrupt

        people = [good(n) for n in range(40, 60)]
        try:
            import_rows(c, iter(people), "imp-K", committing, batch_size=4,
                        on_progress=stop_at_12)
            raise AssertionError("not interrupted")
        except KeyboardInterrupt:
            pass
        kept = c.execute("SELECT count(*) FROM lp WHERE registration_id LIKE 'imp-K:%'"
                         ).fetchone()[0]
        rest = import_rows(c, iter(people), "imp-K", committing, batch_size=4)
        assert (kept, rest.already_imported, rest.imported) == (8, 8, 12), (kept, rest)
        assert not rest.conflicts and not rest.rejected, rest
        done.append("a commit every 8 rows, interrupted after 12: the 8 committed stay, "
                    "a re-run stores the other 12")
        # a different import id with the same rows: conflicts, not already imported
        other = import_rows(c, iter([good(n) for n in range(20, 23)]), "imp-C", opts)
        assert other.imported == 0 and other.already_imported == 0 \
            and len(other.conflicts) == 6, other
        done.append("another import id with the same people: conflicts naming holders")
        # uniqueness is the index's, not a read: a plain insert of a held key fails
        try:
            c.execute("INSERT INTO lp (id, name, phone, email, willingness, "
                      "potential_amount, grade, registration_id, next_due, phone_key, "
                      "email_key, owner_id, registered_by, registered_at, active) "
                      "SELECT id + 1000000000, name, phone, email, willingness, "
                      "potential_amount, grade, registration_id || 'x', next_due, "
                      "phone_key, email_key + 1, owner_id, registered_by, registered_at, "
                      "active FROM lp WHERE id = ?", (held_id,))
            raise AssertionError("an active key inserted twice")
        except sqlite3.IntegrityError as e:
            assert "phone_key" in str(e), e
        done.append("the partial unique index refuses a second active key by itself")
        # the due lists use the partial indexes in order: no sort
        listed = "text_id" if opts.text_ids else "id"  # the id a list hands out
        for column in ("owner_id", "owner_team"):
            plan = " | ".join(r[3] for r in c.execute(
                f"EXPLAIN QUERY PLAN SELECT {listed} FROM lp WHERE {column} = ? AND active "
                f"AND next_due <= ? ORDER BY next_due, {listed}", ("u-alice", "2100-01-01")))
            assert "SEARCH lp USING INDEX" in plan and "TEMP B-TREE" not in plan, plan
            done.append(f"due list by {column}: {plan}")
        c.close()
    # the importer's fast check and the slow path agree on mutated rows: a row is
    # rejected (by the fast check) exactly when the slow path names a reason
    rng = random.Random(7)
    bad_values = ["", " ", "x" * 201, "\x01a", "a\ud800", "1391234567", "+8613912345678",
                  "139123456789", "a@b", "a@@b.cn", "A@B.CN", "maybe", "1e5", "-5",
                  "１２", "9" * 16, None, 5, "  Bob  ", "a b@c.de"]
    mutated: list[dict[str, Any]] = []
    for _ in range(20000):
        row: dict[str, Any] = good(rng.randrange(10**6))
        for _ in range(rng.randrange(3)):
            key = rng.choice(FIELDS)
            if rng.random() < 0.15:
                row.pop(key, None)
            else:
                row[key] = rng.choice(bad_values)
        mutated.append(row)
    with tempfile.TemporaryDirectory() as folder:
        c = connect(Path(folder) / "mutated.db", opts.page_size)
        create(c, opts)
        report = import_rows(c, iter(mutated), "imp-M", opts)
        c.close()
    refused = {line for line, _, _ in report.rejected}
    explained = {line for line, row in enumerate(mutated, start=1) if reasons(row)}
    assert refused == explained, sorted(refused ^ explained)[:5]
    assert report.imported + len({line for line, _, _ in report.conflicts}) \
        == len(mutated) - len(explained), report.imported
    done.append(f"the importer's fast check and its slow path agree on {len(mutated):,} "
                f"mutated rows ({len(explained):,} refused)")
    return done


def check_duties(mode: str, variant: dict[str, Any] | None = None) -> list[str]:
    """The duties' own checks: heads that verify, and the customers' keys refused."""
    opts = replace(replace(DUTIES, idempotence=mode), **(variant or {}))
    done = []
    with tempfile.TemporaryDirectory() as folder:
        c = connect(Path(folder) / "duties.db", opts.page_size)
        if opts.page_size:
            assert c.execute("PRAGMA page_size").fetchone()[0] == opts.page_size
        create(c, opts)
        held = good(3)
        customer_holds(c, "c-held", held_key(opts, b"email\x00" + held["email"].encode()))
        rows = [good(n) for n in range(1, 11)]
        rows[6] = dict(rows[6], phone=rows[1]["phone"])  # line 7: refused by the index
        report = import_rows(c, iter(rows), "imp-D", opts, batch_size=4)
        assert (3, "customer", "c-held") in report.conflicts, report
        assert report.imported == 8, report
        done.append("a row whose key a customer holds: refused, naming the customer")
        previous = bytes(32)
        for number, ids, digest in c.execute(
                "SELECT id, prospect_ids, hash FROM lp_audit ORDER BY id"):
            named = [int(i) for i in ids.split(",")]
            assert entry_hash(previous, [(i,) for i in named]).hex() == digest
            previous = bytes.fromhex(digest)
            for i in named:
                head, seal = c.execute("SELECT head_entry, head_seal FROM lp WHERE id = ?",
                                       (i,)).fetchone()
                assert head == number and seal == head_seal_of(opts, i, number), i
        done.append("each prospect's head is its batch's entry, sealed; the entries chain "
                    "(a batch with a refused row too)")
        c.close()
    return done


def check_variant(mode: str, variant: dict[str, Any]) -> list[str]:
    """More checks of the duties, for batches the earlier checks don't make: duplicates
    and customers' keys inside one batch (and across the statements of a batch)."""
    opts = replace(replace(DUTIES, idempotence=mode), **variant)
    done = []
    with tempfile.TemporaryDirectory() as folder:
        c = connect(Path(folder) / "variant.db", opts.page_size)
        create(c, opts)
        rows = [good(n) for n in range(1, 41)]
        rows[4] = dict(rows[4], phone=rows[1]["phone"])      # line 5 dup of line 2
        rows[30] = dict(rows[30], email=rows[2]["email"].upper())  # line 31 dup of 3
        both = good(10)                                       # line 10: both keys held
        customer_holds(c, "c-p", held_key(opts, b"phone\x00+86" + both["phone"].encode()))
        customer_holds(c, "c-e", held_key(opts, b"email\x00" + both["email"].encode()))
        rows[19] = dict(rows[19], phone=both["phone"], email="x20@example.com")  # line 20
        report = import_rows(c, iter(rows), "imp-V", opts, batch_size=1000)
        ids = dict(c.execute("SELECT registration_id, id FROM lp"))
        assert (5, "phone", ids["imp-V:2"]) in report.conflicts, report
        assert (31, "email", ids["imp-V:3"]) in report.conflicts, report
        assert sorted(x for x in report.conflicts if x[0] == 10) == [
            (10, "customer", "c-e"), (10, "customer", "c-p")], report
        assert report.conflicts.count((20, "customer", "c-p")) == 1, report
        assert len(report.conflicts) == 5 and report.imported == 36, report
        assert report.refused_rows == 4, report
        done.append("in one batch: the earlier line wins a duplicate (the later one names "
                    "it), a row both of whose keys customers hold names both")
        if opts.text_ids:  # each row's text id is its integer id, as a list hands it out
            assert c.execute("SELECT count(*) FROM lp WHERE text_id = printf('p-%016x', id)"
                             ).fetchone()[0] == report.imported, report
            done.append("each row's text id is 'p-' and its integer id in 16 hex digits")
        # the keys are keyed MACs: sealed under the pepper, not a plain hash
        phone_key, *rest = c.execute(
            "SELECT phone_key" + (", phone_rest" if opts.exact_keys else "")
            + " FROM lp WHERE id = ?", (ids["imp-V:1"],)).fetchone()
        assert (phone_key, *rest) == held_key(opts, b"phone\x00+86"
                                              + rows[0]["phone"].encode())
        plain = int.from_bytes(hashlib.blake2b(b"phone\x00+86" + rows[0]["phone"].encode(),
                                               digest_size=8).digest(), "big", signed=True)
        assert phone_key != plain
        done.append(f"identity keys are {opts.mac} MACs under the pepper")
        # a deleted prospect with its head: the chained entry still names it
        victim = ids["imp-V:7"]
        c.execute("DELETE FROM lp WHERE id = ?", (victim,))
        missing = [int(i) for (named,) in c.execute("SELECT prospect_ids FROM lp_audit")
                   for i in named.split(",")
                   if not c.execute("SELECT 1 FROM lp WHERE id = ?", (int(i),)).fetchone()]
        assert missing == [victim], missing
        done.append("a prospect deleted with its head: its batch's entry still names it")
        # a forged head (entry changed) does not verify
        row = c.execute("SELECT id, head_entry, head_seal FROM lp LIMIT 1").fetchone()
        assert head_seal_of(opts, row[0], row[1]) == row[2]
        assert head_seal_of(opts, row[0], row[1] + 1) != row[2]
        done.append("a head moved to another entry does not verify")
        c.close()
    return done


# -- timing ------------------------------------------------------------------------

def rows_with_trouble(count: int) -> Any:
    """The benchmark's rows, with 1 in 100 bad (phone) and 1 in 100 a duplicate phone
    of the row before: every batch takes the slow paths."""
    for n, row in enumerate(ip.rows(count)):
        if n % 100 == 50:
            yield dict(row, phone="12345")
        elif n % 100 == 75:
            yield dict(row, phone=f"139{n - 1:08d}")
        else:
            yield row


def noop(imported: int, rejected: int) -> None:
    pass


DUTIES = Options(heads=True, customers=True, policies=True)


def sealed_minimal(count: int, path: Path, heads: bool) -> float:
    """The minimal insert as #10 has a prospect's identity keys kept: sealed (HMAC-SHA-256,
    the first 64 bits as an integer) instead of the clear phone and e-mail, sealed as the
    rows are written; with ``heads`` also each prospect's sealed trail head. Nothing
    else: no check, no grade, no plan, no owner. What the seals alone cost."""
    inner, outer = ip._hmac_pads(ip.PEPPER)

    def seal(text: bytes) -> int:
        mac = inner()
        mac.update(text)
        sealed = outer()
        sealed.update(mac.digest())
        return int.from_bytes(sealed.digest()[:8], "big", signed=True)

    def rows() -> Any:
        for n, row in enumerate(ip.rows(count), start=1):
            keys = (seal(b"phone\x00+86" + row["phone"].encode()),
                    seal(b"email\x00" + row["email"].encode()))
            if heads:  # as the importer seals them (and head_seal checks them)
                mac = _chain_inner()
                mac.update(HEAD + n.to_bytes(8, "big") + ENTRY_ONE)
                sealed = _chain_outer()
                sealed.update(mac.digest())
                yield (n, row["name"], *keys, row["willingness"], row["potential_value"], 1,
                       sealed.digest()[:16])
            else:
                yield (n, row["name"], *keys, row["willingness"], row["potential_value"])

    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE sealed_prospects (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "phone_key INTEGER NOT NULL UNIQUE, email_key INTEGER UNIQUE, "
        "willingness TEXT NOT NULL, potential_value TEXT NOT NULL"
        + (", head_entry INTEGER NOT NULL, head_seal BLOB NOT NULL)" if heads else ")"))
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        f"INSERT INTO sealed_prospects VALUES ({', '.join('?' * (8 if heads else 6))})",
        rows())
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


KINDS: dict[str, Options | None] = {
    "minimal": None,
    "minimal-sealed": None,                                  # the keys sealed, no more
    "minimal-sealed-heads": None,                            # and a sealed head a row
    "lane": None,
    "proto": Options(),                                      # everything, mode "index"
    "proto-rowid": Options(idempotence="rowid"),             # idempotence by rowid
    "proto-no-regidx": Options(idempotence="none"),          # full minus idempotence
    "proto-no-conflicts": Options(conflicts=False),          # plain INSERT
    "proto-full-unique": Options(partial=False),             # column UNIQUE, not partial
    "proto-no-events": Options(events=False),
    "proto-bare": Options(partial=False, conflicts=False, idempotence="none",
                          events=False),                     # the lane's duties only
    "proto-batched": Options(one_commit=False),              # a commit per batch
    "proto-dirty": Options(),                                # 2% bad/conflicting rows
    "proto-rowid-dirty": Options(idempotence="rowid"),
    # with the duties custmgmt's other issues give an import (#10: a sealed trail head a
    # prospect, so that a deleted trail is caught; #11: no key a customer holds; the
    # plugin path: grade and cadence asked of the policies a row)
    "proto-duties": DUTIES,
    "proto-duties-rowid": replace(DUTIES, idempotence="rowid"),
    "proto-heads": Options(heads=True),
    "proto-customers": Options(customers=True),
    "proto-policies": Options(policies=True),
}
# the review's variants: every duty (DUTIES), other ways to do them
VARIANTS: dict[str, dict[str, Any]] = {
    "fast-b2": dict(fast=True, mac="blake2b"),
    "fast-b2-ign": dict(fast=True, mac="blake2b", ignore=True, per_statement=500),
    "fast-b2-ign-sql": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                            cust_mode="sql"),
    "fast-b2-ign-json": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                             cust_mode="json"),
    "fast-b2-ign-sql-16k": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                                cust_mode="sql", page_size=16384),
    "fast-b2-ign-sql-64k": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                                cust_mode="sql", page_size=65536),
    "fast-b2-ign-sql-16k-nn": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                                   cust_mode="sql", page_size=16384, team_nn=True),
    "fast-b2-ign-json-16k": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                                 cust_mode="json", page_size=16384),
    "fast-pre": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                     cust_mode="sql", page_size=16384, prefixed=True),
    "fast-pre-json": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                          cust_mode="json", page_size=16384, prefixed=True),
    "fast-pre-nn": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                        cust_mode="sql", page_size=16384, prefixed=True, team_nn=True),
    # fast-pre with due indexes shaped as custmgmt's (``covering``) and its registration
    # order's index, and with the text ids kept in them (``text_ids``)
    "fast-pre-covering": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                              cust_mode="sql", page_size=16384, prefixed=True,
                              covering=True, registered=True),
    "fast-pre-covering-text-ids": dict(fast=True, mac="blake2b", ignore=True,
                                       per_statement=500, cust_mode="sql", page_size=16384,
                                       prefixed=True, covering=True, registered=True,
                                       text_ids=True),
    "fast-pre-covering-text-ids-wide": dict(fast=True, mac="blake2b", ignore=True,
                                            per_statement=500, cust_mode="sql",
                                            page_size=16384, prefixed=True, covering=True,
                                            registered=True, text_ids=True, wide=True),
    # keys compared by 128 bits through a 64-bit index (the next 64 bits in the row)
    "fast-pre-exact": dict(fast=True, mac="blake2b", ignore=True, per_statement=500,
                           cust_mode="sql", page_size=16384, prefixed=True, exact_keys=True),
    "fast-pre-hmac": dict(fast=True, mac="hmac", ignore=True, per_statement=500,
                          cust_mode="sql", page_size=16384),
    "fast-hmac-ign-sql": dict(fast=True, ignore=True, per_statement=500, cust_mode="sql"),
    "fast-multi": dict(fast=True, per_statement=100),
    "fast-b2-multi": dict(fast=True, mac="blake2b", per_statement=100),
    "fast-b2-multi-json": dict(fast=True, mac="blake2b", per_statement=100, cust_mode="json"),
    "fast-b2-multi-sql": dict(fast=True, mac="blake2b", per_statement=100, cust_mode="sql"),
    "fast-b2-multi-sql-16k": dict(fast=True, mac="blake2b", per_statement=100,
                                  cust_mode="sql", page_size=16384),
    "fast-b2-multi-json-16k": dict(fast=True, mac="blake2b", per_statement=100,
                                   cust_mode="json", page_size=16384),
    "fast-b2-multi-sql-16k-nn": dict(fast=True, mac="blake2b", per_statement=100,
                                     cust_mode="sql", page_size=16384, team_nn=True),
}
for _name, _variant in VARIANTS.items():
    KINDS[_name] = replace(DUTIES, idempotence="rowid", **_variant)
    KINDS[_name + "-index"] = replace(DUTIES, **_variant)
# the durable progress import_many documents: a commit every 5,000 rows (its batch
# today) and every 20,000 (a batch that holds SQLite's write lock about as long)
for _rows in (5000, 20000):
    KINDS[f"fast-pre-commit{_rows // 1000}k"] = replace(
        KINDS["fast-pre"], one_commit=False, commit_rows=_rows)
    for _covering in ("fast-pre-covering", "fast-pre-covering-text-ids",
                      "fast-pre-covering-text-ids-wide"):
        KINDS[f"{_covering}-commit{_rows // 1000}k"] = replace(
            KINDS[_covering], one_commit=False, commit_rows=_rows)

# What each of today's contracts costs the redesign (KEPT): the full design of the kinds
# above (every column, text ids in custmgmt's due and registration-order indexes, a
# commit every 5,000 rows) keeping one of them, all but one, or all
# The base is the goal's configuration: custmgmt seals trail heads only with a chain key
# (``Settings.chain_key``), which ``import_prospects.py`` does not set: the heads name
# their batch's entry, unsealed (``design-sealed-heads``: sealed a row, as before).
KINDS["design"] = replace(KINDS["fast-pre-covering-text-ids-wide-commit5k"], head_seals=False)
KINDS["design-sealed-heads"] = KINDS["fast-pre-covering-text-ids-wide-commit5k"]
DESIGN = "design"
for _kept in KEPT:
    KINDS[f"keep-{_kept}"] = replace(KINDS[DESIGN], kept=frozenset({_kept}))
    KINDS[f"keep-all-but-{_kept}"] = replace(KINDS[DESIGN], kept=frozenset(KEPT) - {_kept})
KINDS["keep-all"] = replace(KINDS[DESIGN], kept=frozenset(KEPT))
CONTRACTS = frozenset({"registration-index", "id-index", "key-width", "hmac",
                       "event-prospects"})
"""Those of ``KEPT`` that callers, plugin authors or stored data rely on: the storage port
refuses a registration id held already, and an id generator makes prospects' ids (so a
text id is not its row's number); ``docs/storage.md`` and the port promise keys compared
by at least 128 bits; stored keys are HMAC-SHA-256 seals under the pepper (the request
log keeps phones and e-mails only so); ``ProspectsImported`` names every prospect. The
others are the schema's: the ids' width, the customers' keys table's shape, the page
cache, and how a row holds its plan and trail head (a head naming its entry by number
or by hash says the same)."""
KINDS["keep-contracts"] = replace(KINDS[DESIGN], kept=CONTRACTS)
# and with only the keys' width changed of those contracts (the rest of it being the
# schema's: a key's index entry, as the customers' keys table's shape)
KINDS["keep-contracts-but-key-width"] = replace(KINDS[DESIGN], kept=CONTRACTS - {"key-width"})
# the keys compared by 128 bits another way (Options.exact_keys: a 64-bit index, the next
# 64 bits in the row), the event written from a template (Options.joined_event), or both
KINDS["keep-exact-keys"] = replace(KINDS[DESIGN], exact_keys=True)
KINDS["keep-hmac-and-exact-keys"] = replace(KINDS[DESIGN], kept=frozenset({"hmac"}),
                                            exact_keys=True)
KINDS["keep-contracts-exact-keys"] = replace(KINDS["keep-contracts-but-key-width"],
                                             exact_keys=True)
KINDS["keep-contracts-joined-event"] = replace(KINDS["keep-contracts"], joined_event=True)
KINDS["keep-contracts-exact-keys-joined-event"] = replace(
    KINDS["keep-contracts-exact-keys"], joined_event=True)
# and with ids as wide as an id generator's: today's (a UUIDv7 in 32 hex digits) or the
# same 128 bits in 22 digits of an order-keeping base 64 (the width of "p-" and 22 hex)
KINDS["keep-contracts-exact-keys-joined-event-id-width"] = replace(
    KINDS["keep-contracts-exact-keys-joined-event"],
    kept=KINDS["keep-contracts-exact-keys-joined-event"].kept | {"id-width"})
KINDS["keep-contracts-exact-keys-joined-event-ids-24"] = replace(
    KINDS["keep-contracts-exact-keys-joined-event"], id_digits=22)
# the HMAC, which stored data fixes, with each other one
for _kept in sorted(set(KEPT) - {"hmac"}):
    KINDS[f"keep-hmac-and-{_kept}"] = replace(KINDS[DESIGN], kept=frozenset({"hmac", _kept}))


def child(kind: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        if kind == "minimal":
            elapsed = ip.sqlite_minimal(count, path, 1000)
        elif kind == "lane":
            elapsed = ip.sqlite_lane(count, path, 1000)
        elif kind.startswith("minimal-sealed"):
            elapsed = sealed_minimal(count, path, heads=kind.endswith("heads"))
        else:
            opts = KINDS[kind]
            assert opts is not None
            connection = connect(path, opts.page_size,
                                 16384 if "cache-16" in opts.kept else 65536)
            create(connection, opts)
            source = rows_with_trouble(count) if kind.endswith("dirty") else ip.rows(count)
            started = time.perf_counter()
            report = import_rows(connection, source, f"imp-{os.getpid()}", opts, 1000,
                                 noop)
            elapsed = time.perf_counter() - started
            connection.close()
            expected = count - 2 * (count // 100) if kind.endswith("dirty") else count
            if report.imported != expected:
                raise SystemExit(f"{kind}: imported {report.imported} of {expected}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{elapsed:.6f} {peak}")


def measure(kind: str, count: int) -> tuple[float, float]:
    result = subprocess.run([sys.executable, __file__, "--child", kind, "--rows",
                             str(count)], check=True, capture_output=True, text=True)
    elapsed, peak = result.stdout.split()
    return float(elapsed), int(peak) / 1024


def main() -> None:  # noqa: PLR0912 - options, checks, then the timing table
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS))
    parser.add_argument("--checks-only", action="store_true")
    parser.add_argument("--variants", nargs="*", default=None,
                        help="the variants to check (default: all)")
    parser.add_argument("--no-checks", action="store_true")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows[0])
        return
    for mode in ("index", "rowid") if not args.no_checks else ():
        for passed in check(mode):
            print(f"check [{mode}] ok: {passed}")
        for passed in check(mode, duties=True) + check_duties(mode):
            print(f"check [{mode}, duties] ok: {passed}")
        for name, variant in VARIANTS.items():
            if args.variants and name not in args.variants:
                continue
            for passed in (check(mode, False, variant) + check(mode, True, variant)
                           + check_duties(mode, variant) + check_variant(mode, variant)):
                print(f"check [{mode}, {name}] ok: {passed}")
    if args.checks_only:
        return
    for count in args.rows:
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in args.kinds}
        ratios: dict[str, list[float]] = {k: [] for k in args.kinds}
        for r in range(args.rounds):
            order = args.kinds[r % len(args.kinds):] + args.kinds[:r % len(args.kinds)]
            got = {k: measure(k, count) for k in order}
            for k in args.kinds:
                runs[k].append(got[k])
                ratios[k].append(got[k][0] / got["minimal"][0])
            print(f"  round {r + 1} at {count}: " + ", ".join(
                f"{k} {got[k][0] / got['minimal'][0]:.2f}x" for k in args.kinds),
                flush=True)
        minimal = statistics.median(s for s, _ in runs["minimal"])
        lane = statistics.median(s for s, _ in runs["lane"]) if "lane" in runs else None
        print(f"SQLite file, {count:,} rows, median of {args.rounds} interleaved rounds")
        print(f"  {'kind':<20} {'s':>8} {'us/row':>8} {'/minimal':>9} {'med ratio':>10} "
              f"{'/lane':>7} {'MiB':>7} {'paired vs proto':>16}")
        for k in args.kinds:
            s = statistics.median(x for x, _ in runs[k])
            mib = statistics.median(m for _, m in runs[k])
            paired = ""
            if "proto" in runs:  # median over rounds of (this - proto) / minimal
                gap = statistics.median((a[0] - b[0]) / m[0] for a, b, m in zip(
                    runs[k], runs["proto"], runs["minimal"], strict=True))
                paired = f"{gap:+15.3f}x"
            to_lane = f"{s / lane:6.2f}x" if lane else "      -"
            print(f"  {k:<20} {s:8.3f} {s / count * 1e6:8.2f} {s / minimal:8.2f}x "
                  f"{statistics.median(ratios[k]):9.2f}x {to_lane} {mib:7.1f} {paired}")
        print(flush=True)


if __name__ == "__main__":
    main()
