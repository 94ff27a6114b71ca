"""A library-shaped bulk import on the raw import lane's one-table design, measured
against the benchmark's raw minimal insert and raw import lane in the same run.

    python benchmarks/import_lane_prototype.py [--rows 10000 100000]
        [--rounds 5] [--kinds ...] [--checks-only]

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
  4. batches of <= 1000 rows, one transaction for the whole import;
  5. one audit row per batch (SHA-256 over every id written) and one event row per
     batch ("ProspectsImported", JSON count, first and last id);
  6. on_progress(imported, rejected) after each batch;
  7. WAL, synchronous left alone, cache_size 64 MiB (as the lane).

And, as options (the ``proto-duties`` kinds), what custmgmt's other issues ask of an
import: a sealed trail head for each prospect (#10: a deleted trail is caught), here
the number of its batch's audit entry and a 128-bit HMAC in its own row; each batch's
keys looked up among the keys customers hold (#11); grade and cadence asked of policy
objects for each row (the plugin path).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
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
    heads: bool = False           # each prospect's sealed trail head, in its row
    customers: bool = False       # each batch's keys looked up among customers' keys
    policies: bool = False        # grade and cadence asked of policy objects a row


@dataclass
class Report:
    imported: int = 0
    already_imported: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    conflicts: list[tuple[int, str, int | str]] = field(default_factory=list)
    refused_rows: int = 0  # rows rejected or in conflict (a row may have 2 entries)


def schema(opts: Options) -> list[str]:
    unique = "" if opts.partial else " UNIQUE"
    statements = [
        "CREATE TABLE lp (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "phone TEXT NOT NULL, email TEXT, willingness TEXT NOT NULL, "
        "potential_amount TEXT NOT NULL, grade TEXT NOT NULL, owner_id TEXT NOT NULL, "
        "owner_team TEXT, registration_id TEXT NOT NULL, registered_by TEXT NOT NULL, "
        "registered_at TEXT NOT NULL, active BOOLEAN NOT NULL, next_due DATE NOT NULL, "
        f"phone_key INTEGER NOT NULL{unique}, email_key INTEGER{unique}"
        + (", head_entry INTEGER, head_seal BLOB" if opts.heads else "") + ")",
        "CREATE INDEX lp_owner_due ON lp (owner_id, next_due) WHERE active",
        "CREATE INDEX lp_team_due ON lp (owner_team, next_due) WHERE active",
        "CREATE TABLE lp_audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, "
        "actor_id TEXT NOT NULL, prospect_ids TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE TABLE lp_events (id INTEGER PRIMARY KEY, type TEXT NOT NULL, "
        "occurred_at TEXT NOT NULL, payload TEXT NOT NULL)",
        "CREATE TABLE lp_imports (import_id TEXT PRIMARY KEY, base INTEGER NOT NULL UNIQUE)",
    ]
    if opts.customers:  # the keys customers hold (custmgmt_customer_keys), 1,000 of them
        statements.append("CREATE TABLE lp_customer_keys (key INTEGER PRIMARY KEY, "
                          "customer_id TEXT NOT NULL)")
        held = random.Random(3)
        statements += [f"INSERT INTO lp_customer_keys VALUES "
                       f"({held.getrandbits(64) - 2**63}, 'c-{n}')" for n in range(1000)]
    if opts.partial:
        statements += ["CREATE UNIQUE INDEX lp_phone_key ON lp (phone_key) WHERE active",
                       "CREATE UNIQUE INDEX lp_email_key ON lp (email_key) WHERE active"]
    if opts.idempotence == "index":
        statements.append("CREATE UNIQUE INDEX lp_registration ON lp (registration_id)")
    return statements


def connect(path: Path | str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA cache_size=-65536")
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


# -- the importer ------------------------------------------------------------------

def import_rows(  # noqa: PLR0912, PLR0915 - the whole prototype importer, in one place
        connection: sqlite3.Connection, source: Any, import_id: str, opts: Options,
        batch_size: int = 1000, on_progress: Any = None, owner: str = "u-alice") -> Report:
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
        # the number of the import's first audit entry (the heads name their entry)
        entry = execute("SELECT coalesce(max(id), 0) + 1 FROM lp_audit").fetchone()[0]
        # the id base: time-ordered, above every id held, a multiple of 2**21
        millis = time.time_ns() // 1_000_000
        top = execute("SELECT max(id) FROM lp").fetchone()[0]
        base = max(millis << BITS, ((top >> BITS) + 1) << BITS if top is not None else 0)
        rerun = False
        if opts.idempotence == "rowid":
            held = execute("SELECT base FROM lp_imports WHERE import_id = ?",
                           (import_id,)).fetchone()
            if held:
                base, rerun = held[0], True
            else:
                top = execute("SELECT max(base) FROM lp_imports").fetchone()[0]
                if top is not None and top >= base:
                    base = top + (1 << BITS)
                execute("INSERT INTO lp_imports VALUES (?, ?)", (import_id, base))
        numbered = enumerate(source, start=1)
        while batch := list(islice(numbered, batch_size)):
            if batch[-1][0] > MAX_LINE:
                raise ValueError(f"more than {MAX_LINE} lines in one import")
            first_line = batch[0][0]
            already: set[int] = set()
            if rerun:  # rows an earlier run of this import stored: count, don't write
                already = {i - base for (i,) in execute(
                    "SELECT id FROM lp WHERE id BETWEEN ? AND ?",
                    (base + first_line, base + batch[-1][0]))}
                report.already_imported += len(already)
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
            if not opts.one_commit:
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
                  base: int, report: Report) -> list[tuple[Any, ...]]:
    """The rows none of whose keys a customer holds; the others reported, naming the
    customer (custmgmt asks the customers' keys of each batch before it writes)."""
    keys = [row[9] for row in written] + [row[10] for row in written]
    held: dict[int, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        held.update(connection.execute(
            "SELECT key, customer_id FROM lp_customer_keys WHERE key IN "
            f"({', '.join('?' * len(chunk))})", chunk).fetchall())
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


# -- correctness checks ------------------------------------------------------------

def good(n: int) -> dict[str, str]:
    return {"name": f"Person {n}", "phone": f"139{n:08d}", "email": f"person{n}@example.com",
            "willingness": ip.WILLINGNESS[n % 4], "potential_value": str((n % 50) * 40_000)}


def check(mode: str, duties: bool = False) -> list[str]:  # noqa: PLR0915
    opts = replace(DUTIES, idempotence=mode) if duties else Options(idempotence=mode)
    done = []
    with tempfile.TemporaryDirectory() as folder:
        c = connect(Path(folder) / "check.db")
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
        for column in ("owner_id", "owner_team"):
            plan = " | ".join(r[3] for r in c.execute(
                f"EXPLAIN QUERY PLAN SELECT id FROM lp WHERE {column} = ? AND active "
                "AND next_due <= ? ORDER BY next_due, id", ("u-alice", "2100-01-01")))
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
        c = connect(Path(folder) / "mutated.db")
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


def check_duties(mode: str) -> list[str]:
    """The duties' own checks: heads that verify, and the customers' keys refused."""
    opts = replace(DUTIES, idempotence=mode)
    done = []
    with tempfile.TemporaryDirectory() as folder:
        c = connect(Path(folder) / "duties.db")
        create(c, opts)
        inner, outer = ip._hmac_pads(ip.PEPPER)

        def key(text: bytes) -> int:
            mac = inner()
            mac.update(text)
            sealed = outer()
            sealed.update(mac.digest())
            return int.from_bytes(sealed.digest()[:8], "big", signed=True)

        held = good(3)
        c.execute("INSERT INTO lp_customer_keys VALUES (?, 'c-held')",
                  (key(b"email\x00" + held["email"].encode()),))
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
                assert head == number and seal == head_seal(i, number), i
        done.append("each prospect's head is its batch's entry, sealed; the entries chain "
                    "(a batch with a refused row too)")
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
            connection = connect(path)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS))
    parser.add_argument("--checks-only", action="store_true")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows[0])
        return
    for mode in ("index", "rowid"):
        for passed in check(mode):
            print(f"check [{mode}] ok: {passed}")
        for passed in check(mode, duties=True) + check_duties(mode):
            print(f"check [{mode}, duties] ok: {passed}")
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
        lane = statistics.median(s for s, _ in runs["lane"])
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
            print(f"  {k:<20} {s:8.3f} {s / count * 1e6:8.2f} {s / minimal:8.2f}x "
                  f"{statistics.median(ratios[k]):9.2f}x {s / lane:6.2f}x {mib:7.1f} {paired}")
        print(flush=True)


if __name__ == "__main__":
    main()
