"""Bulk import speed and memory against raw driver programs, measured in one run.

    python benchmarks/import_prospects.py [--rows 10000 100000] [--batch-size N]
        [--rounds 1] [--postgresql URL | --start-postgresql] [--skip-sqlite]
        [--lane-variants] [--lane-duties]

Every measurement runs in its own process, so that its peak RSS is its own; only
the import itself is timed (not opening or migrating the database). With
``--rounds N`` the programs run N times, interleaved, and the medians are shown
(the machine's load moves between measurements; the ratio is what to read).

SQLite (a file in WAL mode with foreign keys on, as custmgmt opens it):

* ``custmgmt``: ``app.prospects.import_many``: validates each row, normalizes the
  phone, seals the identity keys, checks that no customer holds them (a prospect
  holding one is refused by the unique key indexes: looked up only then), grades, writes
  the prospect with its keys (and its registration, the history of a new prospect),
  follow-up plan and audit chain head, and for each batch one audit entry naming its
  prospects and one event.
* ``raw same rows``: a hand-written sqlite3 program writing the same rows into the
  same schema (migrated by custmgmt: same tables, indexes and constraints), in
  batches of the same size, each in one ``BEGIN IMMEDIATE`` transaction with the
  same duplicate-key ``SELECT`` (the customers' keys). It computes the same values
  (time-ordered ids, keys sealed with the same pepper, the same grades and due
  dates, the batch's audit entry's canonical SHA-256, the event's JSON) but validates
  nothing and builds no objects.
  Before timing anything the script checks this on 40 rows: both programs' tables
  must hold the same rows (but for ids, instants and hashes), and custmgmt must
  verify the raw program's audit trails and refuse its rows as duplicates.
* ``raw policy floor``: the same kind of program writing only what the policy
  requires (``FLOOR``): the prospect with its registration and owner, its identity
  keys, its follow-up plan, and one audit entry per batch naming every prospect the
  batch registered. No program that keeps those rules writes less.
* ``raw one-table floor``: less than the policy needs, as cheaply as it can be
  written: one table (``ONE_TABLE_SCHEMA``) holding each prospect with its owner,
  grade and next due date (indexed for the due list) and its phone and e-mail keys
  sealed as custmgmt keeps them at rest (HMAC-SHA-256 under the pepper: storage only
  ever sees sealed keys), unique; the values computed in the loop (time-ordered id,
  seals, grade, due date), one transaction per batch as ``import_many`` commits. No
  validation, no history, no audit entry, no duplicate-key query (the unique
  indexes refuse). It bounds from below what any schema could cost.
* ``raw import lane``: the cheapest program found that still does the policy's work
  for each row and keeps what the issue's due goal needs: the shape a redesigned
  import would take (``LANE_TABLE``, ``lane_batches``). One tight loop over the input
  checks the five fields, seals both keys from precomputed HMAC pads, grades and
  dates the plan; one table holds the prospect with its registration, plan and
  sealed unique keys (64 bits of each seal, as an integer), under a time-ordered
  integer id, with partial indexes (``WHERE active``) serving the owner's and the
  team's due lists in index order; one audit row a batch names every prospect in it;
  no history, no event, no rejected-row reporting. Timed in one transaction (``1
  commit``, its best case) and with a commit per batch. With ``--lane-variants``
  also with ids, keys and due indexes as custmgmt keeps them today (``p-<UUIDv7
  hex>`` ids, whole 32-byte seals, the covering indexes of the plans table).
* ``raw minimal``: ``sqlite3.executemany`` of the input rows into one prospect table
  with its unique keys (id primary key, unique phone, unique e-mail).
* ``raw one-table, one commit``: the one-table floor written in a single transaction,
  as the minimal insert is, so that batching is not what separates them.
* ``custmgmt on memory://``: ``import_many`` with the in-memory storage, no database
  at all: what the library's own work per row (validation, normalizing, sealing,
  grading, the objects, the audit entries) costs before any row is written.

PostgreSQL (``--postgresql URL`` of a server where the user may create databases,
or ``--start-postgresql`` for a throw-away cluster as the test suite makes): each
measurement gets a new database; ``custmgmt`` as above, the raw same-rows and
policy-floor programs with psycopg (``COPY`` per table and batch, the same key check,
the same ``ANALYZE`` rule: none for a clean import, the same event-ordering lock), the
one-table floor with ``COPY`` per batch, the import lane with ``COPY`` per batch in one
transaction, against ``psycopg executemany`` (and ``COPY``) of the minimal rows into the
same one-table schema. On a throw-away cluster each line also shows the CPU time the
server's processes for that database spent in the timed region (read from /proc), and
the PostgreSQL summary how that alone compares with ``executemany``: the server's work
bounds an import from below (roughly: autovacuum counts too), however much of the
client's work overlapped with it. With ``--lane-duties`` also the import lane with the
duties step 3 keeps (``postgresql_lane_duties``: a sealed trail head in each row, keys
unique among the active, a unique registration id, the customers' keys looked up, an
audit and an event row and a commit a batch, everyone's due list indexed), indexed two
ways (``DUTY_INDEXES``), each with integer ids and with today's text ids.
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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

import custmgmt
from custmgmt.adapters.sql.storage import SQLITE_CACHE_KIB
from custmgmt.services.prospect_import import DEFAULT_BATCH_SIZE

SAME_CACHE = f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"
"""The page cache custmgmt's connections keep, for the raw programs on SQLite (the
lane's own 64 MiB aside): a cache is configuration, not the library's work."""
WILLINGNESS = ("clear", "interested", "watching", "none")
MINIMAL_SCHEMA = (
    "CREATE TABLE minimal_prospects (id VARCHAR(100) PRIMARY KEY, name TEXT NOT NULL, "
    "phone TEXT NOT NULL UNIQUE, email TEXT UNIQUE, willingness TEXT NOT NULL, "
    "potential_value TEXT NOT NULL)")


def rows(count: int) -> Iterator[dict[str, str]]:
    for n in range(count):
        yield {
            "name": f"Person {n}",
            "phone": f"139{n:08d}",
            "email": f"person{n}@example.com",
            "willingness": WILLINGNESS[n % 4],
            "potential_value": str((n % 50) * 40_000),
        }


ONE_TABLE_SCHEMA = (
    "CREATE TABLE one_table_prospects (id VARCHAR(100) PRIMARY KEY, name TEXT NOT NULL, "
    "phone TEXT NOT NULL, email TEXT, willingness TEXT NOT NULL, "
    "potential_value TEXT NOT NULL, grade TEXT NOT NULL, owner_id TEXT NOT NULL, "
    "next_due DATE NOT NULL, phone_key {key} NOT NULL UNIQUE, email_key {key} UNIQUE)",
    "CREATE INDEX one_table_due ON one_table_prospects (owner_id, next_due, id)")


def minimal_rows(count: int) -> Iterator[tuple[str, ...]]:
    for n, row in enumerate(rows(count)):
        yield (f"p-{n:032x}", row["name"], row["phone"], row["email"], row["willingness"],
               row["potential_value"])


# -- timing -----------------------------------------------------------------------

SERVER_PID = "CUSTMGMT_BENCH_POSTMASTER"
"""Environment variable naming the throw-away cluster's postmaster (``--start-postgresql``):
a measurement then also reports the CPU time its database's server processes spent."""

def _server_cpu(database: str | None) -> float | None:
    """CPU seconds used so far by the processes serving ``database`` (its backends and
    autovacuum workers: children of the postmaster named by ``SERVER_PID`` whose title
    names the database), or None: another server, or no /proc. Processes that serve
    the whole cluster (WAL writer, checkpointer) and other databases (autovacuum after
    an earlier measurement) are left out."""
    postmaster = os.environ.get(SERVER_PID)
    if not (postmaster and database):
        return None
    ticks = 0
    try:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                title = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue  # exited meanwhile
            if fields[1] == postmaster and f" {database} ".encode() in title + b" ":
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except OSError:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


class Stopwatch:
    """The wall time of the timed region and, when ``url`` names a database of the
    throw-away cluster, the CPU time its server processes spent meanwhile
    (``SERVER_SECONDS``, which the child process reports)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._database = parsed.database if parsed.drivername.startswith("postgresql") \
            else None
        self._server = _server_cpu(self._database)
        self._started = time.perf_counter()

    def stop(self) -> float:
        elapsed = time.perf_counter() - self._started
        end = _server_cpu(self._database)
        SERVER_SECONDS[0] = None if end is None or self._server is None else end - self._server
        return elapsed


SERVER_SECONDS: list[float | None] = [None]


# -- SQLite -----------------------------------------------------------------------

def sqlite_minimal(count: int, path: Path, batch_size: int) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(SAME_CACHE)
    connection.execute(MINIMAL_SCHEMA)
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("INSERT INTO minimal_prospects VALUES (?, ?, ?, ?, ?, ?)",
                           minimal_rows(count))
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def _new_id(prefix: str) -> str:
    """A UUIDv7-style id, as the library makes them."""
    millis = time.time_ns() // 1_000_000
    bits = int.from_bytes(os.urandom(10), "big")
    value = ((millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76
             | (bits >> 62 & 0xFFF) << 64 | 0b10 << 62 | bits & (1 << 62) - 1)
    return f"{prefix}-{value:032x}"  # what uuid.UUID(int=value).hex gives


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


# What custmgmt is configured with by default: the same pepper seals the same keys, the
# same zone gives the same local dates, the same thresholds and cadence grade the rows.
PEPPER = b"custmgmt identity keys: set Settings.key_pepper to your own secret"
ZONE = ZoneInfo("Asia/Shanghai")
BY_WILLINGNESS = {"clear": "A", "interested": "B", "watching": "C", "none": "D"}
CADENCE_DAYS = {"A": 7, "B": 14, "C": 30, "D": 90}
FORM = "custmgmt-canonical/1"

COLUMNS = {
    "custmgmt_prospects": (
        "id", "kind", "name", "phone", "email", "address", "organization", "credit_code",
        "industry", "source_channel", "needs", "willingness", "potential_amount",
        "potential_currency", "grade", "grade_is_manual", "stage", "owner_id", "owner_team",
        "registration_id", "registered_by", "registered_at", "registration_active",
        "registration_from_pool", "version", "customer_id", "phone_key", "email_key",
        "organization_key", "credit_code_key",
        # its follow-up plan, in its row (migration 0027)
        "plan_grade", "plan_stage", "plan_active", "plan_anchor", "plan_override",
        "plan_next_due", "plan_version",
        # the head of its audit trail, in its row (migration 0028)
        "trail_length", "trail_hash", "trail_seal"),
    "custmgmt_prospect_history": (
        "prospect_id", "position", "kind", "by", "at", "before", "after", "reason"),
    "custmgmt_audit": (
        "resource_kind", "resource_id", "sequence", "actor_id", "action", "at", "before",
        "after", "previous_hash", "hash"),
    "custmgmt_chain_heads": ("chain", "chain_id", "length", "head_hash", "seal"),
    "custmgmt_events": ("type", "occurred_at", "payload"),
}
SAME_ROWS = tuple(t for t in COLUMNS if t != "custmgmt_prospect_history")
"""Every table custmgmt writes for an imported prospect (not the history: a new
prospect's registration is kept in its row until its first change)."""
FLOOR = ("custmgmt_prospects", "custmgmt_audit")
"""What the policy itself requires: the prospect with its registration, owner, identity
keys (the duplicate check) and follow-up plan, and one audit entry per batch
naming every prospect the batch registered (who, when, which)."""
KEY_TAG = b"\x01"
"""custmgmt keeps a sealed key as this tag byte and the seal's 32 bytes."""


def _grade(willingness: str, value: int) -> str:
    """custmgmt's default grading: the lower of the willingness and the value grades."""
    by_will = BY_WILLINGNESS[willingness]
    if by_will == "D":
        return "D"
    by_value = "A" if value >= 1_000_000 else "B" if value >= 100_000 else "C"
    return max(by_will, by_value)


def _canonical_hash(record: dict[str, Any]) -> str:
    """SHA-256 of custmgmt's canonical form of an audit entry (``domain.integrity``)."""
    text = json.dumps({"form": FORM, "tag": "audit-entry", "record": record},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class RawBatch:
    """The rows of one batch, column tuples per table, built by hand."""

    def __init__(self, tables: tuple[str, ...], import_id: str, sqlite: bool,
                 previous: tuple[int, str] | None) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in tables}
        self.keys: dict[str, list[bytes]] = {"phone": [], "email": []}
        self.import_head: tuple[Any, ...] | None = None
        """The import trail's head, moved by this batch (inserted or replaced)."""
        self._import_id = import_id
        self._previous = previous
        self._named: list[tuple[str, str]] = []
        self._prospects: list[tuple[Any, ...]] = []
        """The batch's prospect rows but for their trail's head (the batch's entry)."""
        now = datetime.now(UTC)
        self.now = now
        # SQLite holds instants as naive UTC text with microseconds, dates as text
        # (as SQLAlchemy stores them); psycopg sends the objects.
        self.at: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
        self.today = now.astimezone(ZONE).date()
        self._sqlite = sqlite

    def _day(self, day: date) -> Any:
        return day.isoformat() if self._sqlite else day

    def add(self, line: int, row: dict[str, str]) -> None:
        pid, at = _new_id("p"), self.at
        phone = KEY_TAG + hmac.digest(PEPPER, f"phone\x00+86{row['phone']}".encode(),
                                      "sha256")
        email = KEY_TAG + hmac.digest(
            PEPPER, f"email\x00{row['email'].strip().lower()}".encode(), "sha256")
        self.keys["phone"].append(phone)
        self.keys["email"].append(email)
        grade = _grade(row["willingness"], int(row["potential_value"]))
        self._prospects.append((
            pid, "individual", row["name"], row["phone"], row["email"], None, None, None,
            None, None, None, row["willingness"], row["potential_value"], "CNY", grade, False,
            "initial_contact", "u-alice", None, f"{self._import_id}:{line}", "u-alice", at,
            True, False, 1, None, phone, email, None, None,
            grade, "initial_contact", True, self._day(self.today), None,
            self._day(self.today + timedelta(days=CADENCE_DAYS[grade])), 1))
        self._named.append((pid, grade))

    def finish(self) -> tuple[int, str] | None:
        """The batch's one audit entry, naming every prospect it made; with the same rows
        as custmgmt also each prospect's head in its row (no entry yet: it starts from
        the batch's), the import trail's head and the batch's event. Returns the entry's
        sequence and hash, which the next batch's entry links to."""
        if not self._named:
            return self._previous
        if "custmgmt_chain_heads" not in self.rows:  # the floor: entries not linked
            self._floor_entry()
            self.rows["custmgmt_prospects"] = [(*row, None, None, None)
                                               for row in self._prospects]
            return None
        sequence = 0 if self._previous is None else self._previous[0] + 1
        previous_hash = "0" * 64 if self._previous is None else self._previous[1]
        after = [["prospects", " ".join(pid for pid, _ in self._named)]]
        digest = _canonical_hash({
            "resource_kind": "prospect_import", "resource_id": self._import_id,
            "sequence": sequence, "actor_id": "u-alice", "action": "register",
            "at": self.now.isoformat(timespec="microseconds"), "before": [], "after": after,
            "previous_hash": previous_hash})
        self.rows["custmgmt_audit"].append((
            "prospect_import", self._import_id, sequence, "u-alice", "register", self.at,
            "[]", json.dumps(after), previous_hash, digest))
        self.rows["custmgmt_prospects"] = [(*row, 0, digest, None) for row in self._prospects]
        self.import_head = ("audit:prospect_import", self._import_id, sequence + 1, digest,
                            None)
        self.rows["custmgmt_events"].append(("ProspectsImported", self.at, json.dumps({
            "actor_id": "u-alice", "import_id": self._import_id,
            "occurred_at": self.now.isoformat(), "owner_id": "u-alice",
            "prospects": [{"grade": grade, "prospect_id": pid} for pid, grade in self._named],
            "type": "ProspectsImported"}, sort_keys=True)))
        return sequence, digest

    def _floor_entry(self) -> None:
        batch = _new_id("imb")
        named = [list(pair) for pair in self._named]
        digest = _canonical_hash({
            "resource_kind": "import", "resource_id": batch, "sequence": 0,
            "actor_id": "u-alice", "action": "register",
            "at": self.now.isoformat(timespec="microseconds"), "before": [],
            "after": named, "previous_hash": "0" * 64})
        self.rows["custmgmt_audit"].append((
            "import", batch, 0, "u-alice", "register", self.at, "[]",
            json.dumps(named), "0" * 64, digest))


def raw_batches(count: int, batch_size: int, tables: tuple[str, ...], sqlite: bool
                ) -> Iterator[RawBatch]:
    import_id = _new_id("imp")
    numbered = enumerate(rows(count), start=1)
    previous: tuple[int, str] | None = None
    while batch := list(islice(numbered, batch_size)):
        raw = RawBatch(tables, import_id, sqlite, previous)
        for line, row in batch:
            raw.add(line, row)
        previous = raw.finish()
        yield raw


MOVE_IMPORT_HEAD = (
    "INSERT INTO custmgmt_chain_heads (chain, chain_id, length, head_hash, seal) "
    "VALUES ({0}, {0}, {0}, {0}, {0}) ON CONFLICT (chain, chain_id) DO UPDATE SET "
    "length = excluded.length, head_hash = excluded.head_hash, seal = excluded.seal")
"""The import trail's head: the first batch adds it, every later one moves it."""


def sqlite_raw(count: int, path: Path, batch_size: int, tables: tuple[str, ...]) -> float:
    """The rows of ``tables`` written by hand with sqlite3 into custmgmt's schema."""
    with custmgmt.open(f"sqlite:///{path}", migrate=True) as app:
        app.principal("u-alice", roles={"salesperson"})
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(SAME_CACHE)
    inserts = {t: f"INSERT INTO {t} ({', '.join(COLUMNS[t])}) "
                  f"VALUES ({_placeholders(len(COLUMNS[t]))})" for t in tables}
    started = time.perf_counter()
    for batch in raw_batches(count, batch_size, tables, sqlite=True):
        connection.execute("BEGIN IMMEDIATE")
        # As custmgmt checks a batch: its keys against the customers' (the prospects'
        # unique key indexes refuse a held key themselves: looked up only on a refusal,
        # which clean input never meets)
        for kind, values in batch.keys.items():
            values.sort()
            for start in range(0, len(values), 500):
                chunk = [value[1:].hex() for value in values[start:start + 500]]
                held = connection.execute(
                    "SELECT value, customer_id FROM custmgmt_customer_keys WHERE kind = ? "
                    f"AND value IN ({_placeholders(len(chunk))})", (kind, *chunk)).fetchall()
                if held:
                    raise SystemExit("raw program: a key is held already")
        for table in tables:
            if batch.rows[table]:  # (the prospects' heads are in their rows: none here)
                connection.executemany(inserts[table], batch.rows[table])
        if batch.import_head is not None:
            connection.execute(MOVE_IMPORT_HEAD.format("?"), batch.import_head)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def one_table_batches(count: int, batch_size: int, sqlite: bool
                      ) -> Iterator[list[tuple[Any, ...]]]:
    """The one-table floor's rows, a batch at a time, computed as they are written."""
    today = datetime.now(UTC).astimezone(ZONE).date()
    # SQLite keeps dates as ISO text (as SQLAlchemy stores them); psycopg sends dates
    due: dict[str, Any] = {g: today + timedelta(days=days) for g, days in CADENCE_DAYS.items()}
    if sqlite:
        due = {g: day.isoformat() for g, day in due.items()}
    source = iter(rows(count))
    while batch := list(islice(source, batch_size)):
        written = []
        for row in batch:
            grade = _grade(row["willingness"], int(row["potential_value"]))
            written.append((
                _new_id("p"), row["name"], row["phone"], row["email"], row["willingness"],
                row["potential_value"], grade, "u-alice", due[grade],
                hmac.digest(PEPPER, f"phone\x00+86{row['phone']}".encode(), "sha256"),
                hmac.digest(PEPPER, f"email\x00{row['email'].strip().lower()}".encode(),
                            "sha256")))
        yield written


def sqlite_one_table(count: int, path: Path, batch_size: int) -> float:
    """The one-table floor; ``batch_size`` equal to ``count`` writes it all in one
    transaction, as the minimal insert does."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(SAME_CACHE)
    for statement in ONE_TABLE_SCHEMA:
        connection.execute(statement.format(key="BLOB"))
    insert = f"INSERT INTO one_table_prospects VALUES ({_placeholders(11)})"
    started = time.perf_counter()
    for batch in one_table_batches(count, batch_size, sqlite=True):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(insert, batch)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


# -- the import lane: what a redesigned import could cost at least -----------------

LANE_TABLE = (
    "CREATE TABLE lane_prospects (id {id} PRIMARY KEY, name TEXT NOT NULL, "
    "phone TEXT NOT NULL, email TEXT, willingness TEXT NOT NULL, "
    "potential_amount TEXT NOT NULL, grade TEXT NOT NULL, owner_id TEXT NOT NULL, "
    "owner_team TEXT, registration_id TEXT NOT NULL, registered_by TEXT NOT NULL, "
    "registered_at {instant} NOT NULL, active BOOLEAN NOT NULL, next_due DATE NOT NULL, "
    "phone_key {key} NOT NULL UNIQUE, email_key {key} UNIQUE)",
    "CREATE TABLE lane_audit (id {serial} PRIMARY KEY, at {instant} NOT NULL, "
    "actor_id TEXT NOT NULL, prospect_ids TEXT NOT NULL, hash TEXT NOT NULL)")
LANE_INDEXES = {
    # an integer id is in every index entry (SQLite: the rowid): (owner_id, next_due)
    # WHERE active serves "WHERE owner_id = ? AND active AND next_due <= ? ORDER BY
    # next_due, id" with no sort, and so does the team's
    "": ("CREATE INDEX lane_owner_due ON lane_prospects (owner_id, next_due{id}) "
         "WHERE active",
         "CREATE INDEX lane_team_due ON lane_prospects (owner_team, next_due{id}) "
         "WHERE active"),
    # the covering indexes custmgmt's plans had before migration 0027
    "-as-today": ("CREATE INDEX lane_owner_due ON lane_prospects "
                  "(owner_id, active, next_due, id, grade, owner_team)",
                  "CREATE INDEX lane_team_due ON lane_prospects "
                  "(owner_team, active, next_due, id, owner_id, grade)")}
LANE_INSERT = (
    "INSERT INTO lane_prospects (id, name, phone, email, willingness, potential_amount, "
    "grade, registration_id, next_due, phone_key, email_key, owner_id, registered_by, "
    "registered_at, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'u-alice', 'u-alice', "
    "'{at}', 1)")
"""The owner, who registered, when and the active flag are the run's for every row:
literals of the statement (on PostgreSQL column defaults), not values bound per row."""
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_CLEAN_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,64}@"
                          r"[^@\s\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,189}\.[a-z]{2,24}")
_COUNTER_BITS = 21
"""An integer id is the import's start in milliseconds, then the line number."""


def _hmac_pads(key: bytes) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """HMAC-SHA-256's inner and outer hash states for ``key`` (RFC 2104), ready to copy:
    sealing a key then costs two hash updates, not a new HMAC object."""
    key = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy,
            hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy)


def lane_batches(count: int, batch_size: int, sqlite: bool, as_today: bool
                 ) -> Iterator[tuple[list[tuple[Any, ...]], tuple[str, str]]]:
    """The rows of each batch and the prospect ids and hash of its one audit row, made by
    one tight loop over the input: the five fields checked (no control characters or
    lone surrogates, lengths, a CN mobile or the batch fails, an e-mail, a known
    willingness, a whole amount), both keys sealed (HMAC-SHA-256 under the pepper, from
    precomputed pads), the grade, the due date, a time-ordered id. ``as_today``: the
    ids and keys as custmgmt keeps them (``p-<UUIDv7 hex>``, the whole 32-byte seal);
    else an integer id and the seal's first 64 bits as an integer. Less than
    ``import_many`` owes its callers: no rejected rows reported, no history, no event,
    no audit entry of its own for each prospect."""
    today = datetime.now(UTC).astimezone(ZONE).date()
    due: dict[str, Any] = {g: today + timedelta(days=d) for g, d in CADENCE_DAYS.items()}
    if sqlite:
        due = {g: day.isoformat() for g, day in due.items()}
    inner, outer = _hmac_pads(PEPPER)
    millis = time.time_ns() // 1_000_000
    first_id: Any = f"p-{millis:012x}7" if as_today else millis << _COUNTER_BITS
    if count >= 1 << _COUNTER_BITS:
        raise SystemExit("more rows than an integer id's counter holds")
    registration = _new_id("imp") + ":"
    unprintable, mobile, clean_email = \
        _UNPRINTABLE.search, _CN_MOBILE.fullmatch, _CLEAN_EMAIL.fullmatch

    def seal(text: bytes) -> Any:
        mac = inner()
        mac.update(text)
        sealed = outer()
        sealed.update(mac.digest())
        return sealed.digest() if as_today \
            else int.from_bytes(sealed.digest()[:8], "big", signed=True)

    numbered = enumerate(rows(count), start=1)
    while batch := list(islice(numbered, batch_size)):
        written = []
        for line, row in batch:
            name, phone = row["name"].strip(), row["phone"].strip()
            email, will, value = row["email"].strip().lower(), row["willingness"], \
                row["potential_value"]
            if not (0 < len(name) <= 200 and mobile(phone) and clean_email(email)
                    and ((name.isascii() and name.isprintable()) or not unprintable(name))
                    and will in BY_WILLINGNESS and value.isascii() and value.isdigit()
                    and len(value) <= 15):
                raise SystemExit(f"import lane: line {line} refused")
            grade = _grade(will, int(value))
            written.append((
                f"{first_id}{line:019x}" if as_today else first_id + line, name, phone,
                email, will, value, grade, f"{registration}{line}", due[grade],
                seal(b"phone\x00+86" + phone.encode()), seal(b"email\x00" + email.encode())))
        ids = ",".join(str(r[0]) for r in written)
        yield written, (ids, hashlib.sha256(ids.encode()).hexdigest())


def _lane_schema(variant: str, sqlite: bool) -> list[str]:
    as_today = variant == "-as-today"
    key = ("BLOB" if sqlite else "BYTEA") if as_today else ("INTEGER" if sqlite else "BIGINT")
    names = {"id": "VARCHAR(100)" if as_today else ("INTEGER" if sqlite else "BIGINT"),
             "key": key, "serial": "INTEGER" if sqlite else "BIGINT GENERATED ALWAYS AS "
             "IDENTITY", "instant": "TEXT" if sqlite else "TIMESTAMPTZ"}
    # PostgreSQL has no rowid in its index entries: the id is named there
    indexed_id = "" if sqlite and not as_today else ", id"
    return [*(s.format(**names) for s in LANE_TABLE),
            *(s.format(id=indexed_id) for s in LANE_INDEXES[variant])]


def sqlite_lane(count: int, path: Path, batch_size: int, variant: str = "",
                one_commit: bool = True) -> float:
    """The import lane into SQLite: executemany per batch, the whole import in one
    transaction (its best case: a commit per batch writes the randomly placed key
    index pages again each time) with a 64 MiB page cache."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA cache_size=-65536")
    for statement in _lane_schema(variant, sqlite=True):
        connection.execute(statement)
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    insert = LANE_INSERT.format(at=at)
    audit = f"INSERT INTO lane_audit (at, actor_id, prospect_ids, hash) VALUES ('{at}', " \
            "'u-alice', ?, ?)"
    started = time.perf_counter()
    if one_commit:
        connection.execute("BEGIN IMMEDIATE")
    for written, audited in lane_batches(count, batch_size, True, variant == "-as-today"):
        if not one_commit:
            connection.execute("BEGIN IMMEDIATE")
        connection.executemany(insert, written)
        connection.execute(audit, audited)
        if not one_commit:
            connection.execute("COMMIT")
    if one_commit:
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def _lane_defaults(connection: Any) -> datetime:
    """The run's owner, registrar, instant (returned) and active flag as the PostgreSQL
    lane table's column defaults, not values sent a row; committed."""
    at = datetime.now(UTC)
    for column in ("owner_id", "registered_by"):
        connection.execute(f"ALTER TABLE lane_prospects ALTER COLUMN {column} "
                           "SET DEFAULT 'u-alice'")
    connection.execute("ALTER TABLE lane_prospects ALTER COLUMN active SET DEFAULT true")
    connection.execute("ALTER TABLE lane_prospects ALTER COLUMN registered_at "
                       f"SET DEFAULT '{at.isoformat()}'")
    connection.commit()
    return at


def postgresql_lane(count: int, url: str, batch_size: int, variant: str = "") -> float:
    """The import lane into PostgreSQL: COPY per batch (the run's constants as column
    defaults), one commit."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(_libpq(url)) as connection:
        for statement in _lane_schema(variant, sqlite=False):
            connection.execute(statement)
        at = _lane_defaults(connection)
        clock = Stopwatch(url)
        with connection.cursor() as cursor:
            for written, audited in lane_batches(count, batch_size, False,
                                                 variant == "-as-today"):
                with cursor.copy(
                        "COPY lane_prospects (id, name, phone, email, willingness, "
                        "potential_amount, grade, registration_id, next_due, phone_key, "
                        "email_key) FROM STDIN") as copy:
                    for row in written:
                        copy.write_row(row)
                cursor.execute("INSERT INTO lane_audit (at, actor_id, prospect_ids, hash) "
                               "VALUES (%s, 'u-alice', %s, %s)", (at, *audited))
        connection.commit()
        return clock.stop()


DUTY_TABLES = (
    "CREATE TABLE lane_customer_keys (key BIGINT PRIMARY KEY, customer_id TEXT NOT NULL)",
    "CREATE TABLE lane_events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "type TEXT NOT NULL, occurred_at TIMESTAMPTZ NOT NULL, payload TEXT NOT NULL)",
    "ALTER TABLE lane_prospects ADD COLUMN head_entry BIGINT",
    "ALTER TABLE lane_prospects ADD COLUMN head_seal BYTEA",
    # a released registration's keys no longer block: unique among the active only
    "ALTER TABLE lane_prospects DROP CONSTRAINT lane_prospects_phone_key_key",
    "ALTER TABLE lane_prospects DROP CONSTRAINT lane_prospects_email_key_key",
    "CREATE UNIQUE INDEX lane_phone_key ON lane_prospects (phone_key) WHERE active",
    "CREATE UNIQUE INDEX lane_email_key ON lane_prospects (email_key) WHERE active",
    "CREATE UNIQUE INDEX lane_registration ON lane_prospects (registration_id)",
    "CREATE INDEX lane_all_due ON lane_prospects (next_due, id) WHERE active")
DUTY_INDEXES = {
    # the prospects table's owner, team and registration-instant indexes kept as today,
    # beside the due lists' partial covering indexes (benchmarks/due_in_row.py's)
    "-duties": (
        "CREATE INDEX lane_owner ON lane_prospects (owner_id)",
        "CREATE INDEX lane_team ON lane_prospects (owner_team)",
        "CREATE INDEX lane_registered ON lane_prospects (registered_at, id)",
        "CREATE INDEX lane_owner_due ON lane_prospects "
        "(owner_id, next_due, id, grade, owner_team, active) WHERE active",
        "CREATE INDEX lane_team_due ON lane_prospects "
        "(owner_team, next_due, id, owner_id, grade, active) WHERE active"),
    # one index an owner and one a team serve both the listing and the due list (the
    # active flag second), and the time-ordered id stands for the registration instant
    "-duties-merged": (
        "CREATE INDEX lane_owner_due ON lane_prospects "
        "(owner_id, active, next_due, id, grade, owner_team)",
        "CREATE INDEX lane_team_due ON lane_prospects "
        "(owner_team, active, next_due, id, owner_id, grade)")}
TEXT_IDS = "-text-ids"
CHAIN_KEY = b"custmgmt chain heads: the benchmark's own secret"
HEAD_PREFIX = b"audit:prospect\x00"


def postgresql_lane_duties(count: int, url: str, batch_size: int, variant: str) -> float:
    """The import lane into PostgreSQL with the duties step 3 keeps (README): a sealed
    trail head in each prospect's row (a 128-bit HMAC-SHA-256 tag over its id and its
    batch's audit entry), the keys unique among active prospects only, a unique
    registration id (idempotent re-runs), each batch's keys looked up among 1,000
    keys customers hold, one chained audit row and one event row a batch, a commit a
    batch (``batch_size`` rows, as ``import_many`` commits), and everyone's due list
    indexed too. COPY a batch, the run's constants as column defaults. Not timed:
    refused rows (a COPY that fails would be written again with ``ON CONFLICT DO
    NOTHING``, and the holders looked up, only then). A variant ending in
    ``-text-ids`` keeps today's text ids (``p-`` and 32 hex digits, time-ordered)
    instead of integers."""
    import psycopg  # noqa: PLC0415

    text_ids = variant.endswith(TEXT_IDS)
    with psycopg.connect(_libpq(url)) as connection:
        for statement in (*_lane_schema("", sqlite=False)[:2], *DUTY_TABLES,
                          *DUTY_INDEXES[variant.removesuffix(TEXT_IDS)]):
            connection.execute(statement)
        if text_ids:  # (the table is empty: a new column type costs nothing)
            connection.execute("ALTER TABLE lane_prospects ALTER COLUMN id TYPE VARCHAR(100)")
        held = random.Random(3)
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO lane_customer_keys VALUES (%s, %s)", [
                (held.getrandbits(64) - 2**63, f"c-{n}") for n in range(1000)])
        at = _lane_defaults(connection)
        inner, outer = _hmac_pads(CHAIN_KEY)
        previous = bytes(32)
        clock = Stopwatch(url)
        with connection.cursor() as cursor:
            batches = lane_batches(count, batch_size, False, False)
            for entry, (written, (ids, _)) in enumerate(batches, start=1):
                keys = [key for row in written for key in (row[9], row[10])]
                cursor.execute("SELECT key, customer_id FROM lane_customer_keys "
                               "WHERE key = ANY(%s)", (keys,))
                if cursor.fetchall():
                    raise SystemExit("a customer holds a key of the input")
                tail = entry.to_bytes(8, "big")
                with cursor.copy(
                        "COPY lane_prospects (id, name, phone, email, willingness, "
                        "potential_amount, grade, registration_id, next_due, phone_key, "
                        "email_key, head_entry, head_seal) FROM STDIN") as copy:
                    for number, *fields in written:
                        pid: Any = f"p-{number:032x}" if text_ids else number
                        mac = inner()
                        mac.update(HEAD_PREFIX + (pid.encode() if text_ids
                                                  else number.to_bytes(8, "big")) + tail)
                        sealed = outer()
                        sealed.update(mac.digest())
                        copy.write_row((pid, *fields, entry, sealed.digest()[:16]))
                previous = hashlib.sha256(previous + ids.encode()).digest()
                cursor.execute("INSERT INTO lane_audit (id, at, actor_id, prospect_ids, "
                               "hash) OVERRIDING SYSTEM VALUE VALUES (%s, %s, 'u-alice', "
                               "%s, %s)", (entry, at, ids, previous.hex()))
                cursor.execute("INSERT INTO lane_events (type, occurred_at, payload) "
                               "VALUES ('ProspectsImported', %s, %s)", (at, json.dumps({
                                   "count": len(written), "first_id": written[0][0],
                                   "last_id": written[-1][0]})))
                connection.commit()
        elapsed = clock.stop()
        stored = connection.execute(
            "SELECT count(*), count(DISTINCT head_seal), count(DISTINCT registration_id), "
            "(SELECT count(*) FROM lane_audit), (SELECT count(*) FROM lane_events) "
            "FROM lane_prospects").fetchone()
        batches = -(-count // batch_size)
        if stored != (count, count, count, batches, batches):
            raise SystemExit(f"the lane with duties stored {stored}")
        return elapsed


def sqlite_same_rows(count: int, path: Path, batch_size: int) -> float:
    return sqlite_raw(count, path, batch_size, SAME_ROWS)


def sqlite_floor(count: int, path: Path, batch_size: int) -> float:
    return sqlite_raw(count, path, batch_size, FLOOR)


def _normalized(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row custmgmt's import tables hold, with ids, instants and hashes named
    by what they are (they differ between two runs), sorted."""
    connection = sqlite3.connect(path)
    names: dict[str, str] = {}
    for pid, registration in connection.execute(
            "SELECT id, registration_id FROM custmgmt_prospects"):
        names[pid] = "P" + registration.rpartition(":")[2]
    patterns = [(re.compile("|".join(map(re.escape, names))), lambda m: names[m.group(0)]),
                (re.compile(r"imp-[0-9a-f]{32}"), lambda m: "IMPORT"),
                (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\.\d{6}(\+00:00)?"),
                 lambda m: "INSTANT"),
                (re.compile(r"\b[0-9a-f]{64}\b"), lambda m: "HASH")]

    def value(v: Any) -> Any:
        if isinstance(v, str):
            for pattern, name in patterns:
                v = pattern.sub(name, v)
        return v

    tables = {}
    for table in SAME_ROWS:
        columns = ", ".join(COLUMNS[table])
        tables[table] = sorted((tuple(value(v) for v in row) for row in connection.execute(
            f"SELECT {columns} FROM {table}")), key=repr)
    connection.close()
    return tables


def check_same_rows(count: int = 40) -> str:
    """Run the raw same-rows program and custmgmt on ``count`` rows and compare what
    they stored, table by table; then open the raw program's file with custmgmt and
    verify its audit trails. SystemExit if anything differs."""
    with tempfile.TemporaryDirectory() as folder:
        raw, ours = Path(folder) / "raw.db", Path(folder) / "ours.db"
        sqlite_same_rows(count, raw, 16)
        custmgmt_import(count, f"sqlite:///{ours}", 16)
        written, expected = _normalized(raw), _normalized(ours)
        for table in SAME_ROWS:
            if written[table] != expected[table]:
                raise SystemExit(f"raw same rows differs from custmgmt in {table}:\n"
                                 f"  raw  {written[table][:2]}\n  ours {expected[table][:2]}")
        with custmgmt.open(f"sqlite:///{raw}") as app:
            alice = app.principal("u-alice", roles={"salesperson"})
            auditor = app.principal("u-audit", roles={"auditor"})
            listed = app.prospects.list(alice, limit=1000).items
            verified = sum(app.audit.verify(auditor, "prospect", p.id) for p in listed)
            again = app.prospects.import_many(alice, rows(count))
        if verified != count or again.imported or len(again.rejected) != count:
            raise SystemExit("custmgmt does not read the raw program's rows as its own")
        total = sum(len(v) for v in written.values())
    return (f"checked on {count} rows: the raw program stores what custmgmt stores "
            f"({total} rows in {len(SAME_ROWS)} tables, equal but for ids, instants and "
            "hashes); custmgmt verifies its audit trails and refuses its rows as duplicates")


def custmgmt_import(count: int, url: str, batch_size: int) -> float:
    """Seconds spent in import_many (opening and migrating the store are not counted)."""
    with custmgmt.open(url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        clock = Stopwatch(url)
        report = app.prospects.import_many(alice, rows(count), batch_size=batch_size)
        elapsed = clock.stop()
    if report.imported != count:
        raise SystemExit(f"imported {report.imported} of {count}: {report.rejected[:3]}")
    return elapsed


# -- PostgreSQL -------------------------------------------------------------------

def _libpq(url: str) -> str:
    """The libpq connection string of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    parsed = make_url(url)
    parts = {"host": parsed.host, "port": parsed.port, "user": parsed.username,
             "password": parsed.password, "dbname": parsed.database,
             **{k: v for k, v in parsed.query.items() if isinstance(v, str)}}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def postgresql_minimal(count: int, url: str, batch_size: int) -> float:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(_libpq(url)) as connection:
        connection.execute(MINIMAL_SCHEMA)
        connection.commit()
        clock = Stopwatch(url)
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO minimal_prospects VALUES (%s, %s, %s, %s, %s, %s)",
                list(minimal_rows(count)))
        connection.commit()
        return clock.stop()


def postgresql_minimal_copy(count: int, url: str, batch_size: int) -> float:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(_libpq(url)) as connection:
        connection.execute(MINIMAL_SCHEMA)
        connection.commit()
        clock = Stopwatch(url)
        with connection.cursor() as cursor, cursor.copy(
                "COPY minimal_prospects FROM STDIN") as copy:
            for row in minimal_rows(count):
                copy.write_row(row)
        connection.commit()
        return clock.stop()


def postgresql_one_table(count: int, url: str, batch_size: int) -> float:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(_libpq(url)) as connection:
        for statement in ONE_TABLE_SCHEMA:
            connection.execute(statement.format(key="BYTEA"))
        connection.commit()
        clock = Stopwatch(url)
        for batch in one_table_batches(count, batch_size, sqlite=False):
            with connection.cursor() as cursor, cursor.copy(
                    "COPY one_table_prospects FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
            connection.commit()
        return clock.stop()


EVENT_ORDER_LOCK = 0x637573746D676D74
"""custmgmt orders event inserts on PostgreSQL under this advisory lock."""


def postgresql_raw(count: int, url: str, batch_size: int, tables: tuple[str, ...]) -> float:
    """The rows of ``tables`` written by hand with psycopg (COPY per table and batch) into
    custmgmt's schema, with the same duplicate-key check and the same ANALYZE rule (none,
    for a clean import)."""
    import psycopg  # noqa: PLC0415

    with custmgmt.open(url, migrate=True) as app:
        app.principal("u-alice", roles={"salesperson"})
    copies = {t: f"COPY {t} ({', '.join(COLUMNS[t])}) FROM STDIN" for t in tables}
    with psycopg.connect(_libpq(url)) as connection:
        clock = Stopwatch(url)
        for batch in raw_batches(count, batch_size, tables, sqlite=False):
            with connection.cursor() as cursor:
                for kind, values in batch.keys.items():  # as the SQLite program does
                    values.sort()
                    for start in range(0, len(values), 500):
                        cursor.execute(
                            "SELECT value, customer_id FROM custmgmt_customer_keys "
                            "WHERE kind = %s AND value = ANY(%s)",
                            (kind, [v[1:].hex() for v in values[start:start + 500]]))
                        if cursor.fetchall():
                            raise SystemExit("raw program: a key is held already")
                # No ANALYZE: custmgmt refreshes the prospects' statistics only before
                # it looks their keys up, which a clean import never does.
                if "custmgmt_events" in tables:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (EVENT_ORDER_LOCK,))
                for table in tables:
                    if not batch.rows[table]:  # (the prospects' heads: in their rows)
                        continue
                    with cursor.copy(copies[table]) as copy:
                        for row in batch.rows[table]:
                            copy.write_row(row)
                if batch.import_head is not None:
                    cursor.execute(MOVE_IMPORT_HEAD.format("%s"), batch.import_head)
            connection.commit()
        return clock.stop()


class Databases:
    """A new PostgreSQL database per measurement, on a given server or a throw-away one."""

    def __init__(self, url: str | None) -> None:
        self._cluster: Any = None
        if url is None:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from tests.pg_server import Cluster, find_binaries  # noqa: PLC0415

            binaries = find_binaries()
            if binaries is None:
                raise SystemExit("initdb/pg_ctl not found")
            self._cluster = Cluster(*binaries)
            self._cluster.start()
            # the measurements (child processes) report what this server spent
            postmaster = (self._cluster.data / "postmaster.pid").read_text().split()[0]
            os.environ[SERVER_PID] = postmaster
        self._url = url
        self._count = 0

    def new(self) -> str:
        if self._cluster is not None:
            return str(self._cluster.new_empty_database())
        import psycopg  # noqa: PLC0415

        assert self._url is not None
        self._count += 1
        name = f"custmgmt_bench_{os.getpid()}_{self._count}"
        with psycopg.connect(_libpq(self._url), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return make_url(self._url).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()


# -- driver -----------------------------------------------------------------------

def child(kind: str, count: int, batch_size: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        if kind == "sqlite-minimal":
            elapsed = sqlite_minimal(count, path, batch_size)
        elif kind == "sqlite-same-rows":
            elapsed = sqlite_same_rows(count, path, batch_size)
        elif kind == "sqlite-custmgmt":
            elapsed = custmgmt_import(count, f"sqlite:///{path}", batch_size)
        elif kind == "sqlite-floor":
            elapsed = sqlite_floor(count, path, batch_size)
        elif kind == "sqlite-one-table":
            elapsed = sqlite_one_table(count, path, batch_size)
        elif kind == "sqlite-one-table-single":
            elapsed = sqlite_one_table(count, path, count)
        elif kind == "memory-custmgmt":
            elapsed = custmgmt_import(count, "memory://", batch_size)
        elif kind == "sqlite-lane-batched":
            elapsed = sqlite_lane(count, path, batch_size, one_commit=False)
        elif kind.startswith("sqlite-lane"):
            elapsed = sqlite_lane(count, path, batch_size, kind.removeprefix("sqlite-lane"))
        elif kind.startswith("postgresql-lane-duties"):
            assert url is not None
            elapsed = postgresql_lane_duties(count, url, batch_size,
                                             kind.removeprefix("postgresql-lane"))
        elif kind.startswith("postgresql-lane"):
            assert url is not None
            elapsed = postgresql_lane(count, url, batch_size,
                                      kind.removeprefix("postgresql-lane"))
        else:
            assert url is not None
            programs: dict[str, Callable[[int, str, int], float]] = {
                "postgresql-minimal": postgresql_minimal,
                "postgresql-minimal-copy": postgresql_minimal_copy,
                "postgresql-one-table": postgresql_one_table,
                "postgresql-floor": lambda n, u, b: postgresql_raw(n, u, b, FLOOR),
                "postgresql-same-rows": lambda n, u, b: postgresql_raw(n, u, b, SAME_ROWS),
                "postgresql-custmgmt": custmgmt_import,
            }
            elapsed = programs[kind](count, url, batch_size)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    server = SERVER_SECONDS[0]
    print(f"{elapsed:.6f} {peak_kib} {'-' if server is None else f'{server:.2f}'}")


Measured = tuple[float, float, float | None]
"""Seconds, peak RSS (MiB), and the server's CPU seconds meanwhile (or None)."""


def measure(kind: str, count: int, batch_size: int, url: str | None = None) -> Measured:
    """Seconds, peak RSS (MiB) and server CPU seconds of one measurement in a process of
    its own."""
    command = [sys.executable, __file__, "--child", kind, "--rows", str(count),
               "--batch-size", str(batch_size)]
    if url is not None:
        command += ["--postgresql", url]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    elapsed, peak, server = result.stdout.split()
    return float(elapsed), int(peak) / 1024, None if server == "-" else float(server)


def medians(kinds: list[str], count: int, batch_size: int, rounds: int,
            urls: Callable[[], str | None]) -> list[Measured]:
    """The median of each of ``measure``'s figures for each kind, over ``rounds``
    interleaved runs."""
    runs: list[list[Measured]] = [[] for _ in kinds]
    for _ in range(rounds):
        for i, kind in enumerate(kinds):
            runs[i].append(measure(kind, count, batch_size, urls()))
    return [(statistics.median(s for s, _, _ in r), statistics.median(m for _, m, _ in r),
             _median_or_none([c for _, _, c in r])) for r in runs]


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def line(label: str, measured: Measured, count: int) -> str:
    seconds, mib, server = measured
    text = f"  {label:<26} {seconds:>9.3f} s {count / seconds:>9.0f} rows/s {mib:>7.1f} MiB"
    if server is not None:  # what the database server's processes spent meanwhile
        text += f" {server / count * 1e6:>7.1f} us/row server CPU"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="rows a transaction (custmgmt's default unless given): "
                             "custmgmt and the raw programs commit alike")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--postgresql", metavar="URL")
    parser.add_argument("--start-postgresql", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--lane-variants", action="store_true",
                        help="also time the import lane with ids, keys and due indexes "
                             "shaped as custmgmt keeps them today")
    parser.add_argument("--lane-duties", action="store_true",
                        help="PostgreSQL: also time the import lane with the duties step 3 "
                             "keeps (README), two ways of indexing it, each with integer "
                             "and with text ids")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows[0], args.batch_size, args.postgresql)
        return
    if not args.skip_sqlite:
        print(check_same_rows())
    for count in [] if args.skip_sqlite else args.rows:
        sqlite_section(count, args)
    if not (args.postgresql or args.start_postgresql):
        return
    databases = Databases(args.postgresql)
    try:
        for count in args.rows:
            postgresql_section(count, args, databases.new)
    finally:
        databases.close()


def measured(labelled: list[tuple[str, str]], count: int, args: argparse.Namespace,
             urls: Callable[[], str | None]) -> dict[str, Measured]:
    """Each (label, kind)'s medians, printed a line each in that order."""
    results = medians([kind for _, kind in labelled], count, args.batch_size, args.rounds,
                      urls)
    for (label, _), result in zip(labelled, results, strict=True):
        print(line(label, result, count))
    return {kind: result for (_, kind), result in zip(labelled, results, strict=True)}


def sqlite_section(count: int, args: argparse.Namespace) -> None:
    print(f"SQLite file, {count:,} rows, batches of {args.batch_size}, "
          f"median of {args.rounds}")
    variants = [f"sqlite-lane{v}" for v in LANE_INDEXES if v] if args.lane_variants else []
    got = measured([
        ("raw minimal insert", "sqlite-minimal"),
        ("raw one-table, one commit", "sqlite-one-table-single"),
        ("raw one-table floor", "sqlite-one-table"),
        ("raw import lane, 1 commit", "sqlite-lane"),
        ("raw import lane", "sqlite-lane-batched"),
        ("raw policy floor", "sqlite-floor"),
        ("raw same rows, same schema", "sqlite-same-rows"),
        ("custmgmt import_many", "sqlite-custmgmt"),
        ("custmgmt on memory://", "memory-custmgmt"),
        *((f"raw import lane, {v.removeprefix('sqlite-lane-')}", v) for v in variants),
    ], count, args, lambda: None)
    minimal, ours = got["sqlite-minimal"][0], got["sqlite-custmgmt"][0]

    def to_minimal(kind: str) -> str:
        return f"{got[kind][0] / minimal:.2f}x"

    print(f"  custmgmt / raw same rows: {ours / got['sqlite-same-rows'][0]:.2f}x "
          "(goal <= 1.5x)")
    print(f"  custmgmt / raw minimal: {to_minimal('sqlite-custmgmt')} (goal <= 3x); "
          f"raw one-table floor / raw minimal: {to_minimal('sqlite-one-table')} "
          f"(in one commit: {to_minimal('sqlite-one-table-single')}); "
          f"raw policy floor / raw minimal: {to_minimal('sqlite-floor')}; "
          f"raw same rows / raw minimal: {to_minimal('sqlite-same-rows')}; "
          f"custmgmt on memory:// (no database) / raw minimal: "
          f"{to_minimal('memory-custmgmt')}")
    print(f"  raw import lane / raw minimal: {to_minimal('sqlite-lane')} in one commit, "
          f"{to_minimal('sqlite-lane-batched')} with a commit per batch"
          + "".join(f"; {v.removeprefix('sqlite-lane-')}, one commit: {to_minimal(v)}"
                    for v in variants))


def postgresql_section(count: int, args: argparse.Namespace,
                       urls: Callable[[], str | None]) -> None:
    print(f"PostgreSQL, {count:,} rows, batches of {args.batch_size}, "
          f"median of {args.rounds}")
    variants = ([f"postgresql-lane{v}" for v in LANE_INDEXES if v]
                if args.lane_variants else [])
    variants += [f"postgresql-lane{v}{ids}" for v in DUTY_INDEXES for ids in ("", TEXT_IDS)
                 ] if args.lane_duties else []
    got = measured([
        ("psycopg executemany", "postgresql-minimal"),
        ("psycopg COPY", "postgresql-minimal-copy"),
        ("raw one-table floor (COPY)", "postgresql-one-table"),
        ("raw import lane (COPY)", "postgresql-lane"),
        ("raw policy floor (COPY)", "postgresql-floor"),
        ("raw same rows (COPY)", "postgresql-same-rows"),
        ("custmgmt import_many", "postgresql-custmgmt"),
        ("custmgmt on memory://", "memory-custmgmt"),
        *((f"raw import lane, {v.removeprefix('postgresql-lane-')}", v) for v in variants),
    ], count, args, urls)
    minimal, ours = got["postgresql-minimal"][0], got["postgresql-custmgmt"][0]

    def to_minimal(kind: str) -> str:
        return f"{got[kind][0] / minimal:.2f}x"

    print(f"  custmgmt / psycopg executemany: {to_minimal('postgresql-custmgmt')} "
          f"(goal <= 3x); raw one-table floor / executemany: "
          f"{to_minimal('postgresql-one-table')}; raw policy floor / executemany: "
          f"{to_minimal('postgresql-floor')}; raw same rows / executemany: "
          f"{to_minimal('postgresql-same-rows')}")
    print(f"  custmgmt / raw same rows: {ours / got['postgresql-same-rows'][0]:.2f}x; "
          f"custmgmt on memory:// (no database) / executemany: "
          f"{to_minimal('memory-custmgmt')}")
    print(f"  raw import lane / executemany: {to_minimal('postgresql-lane')}"
          + "".join(f"; {v.removeprefix('postgresql-lane-')}: {to_minimal(v)}"
                    for v in variants))
    server = {kind: seconds for kind in ("postgresql-custmgmt", "postgresql-same-rows",
                                         "postgresql-floor")
              if (seconds := got[kind][2]) is not None}
    if len(server) == 3:
        # The server's own work bounds the import from below, however much of the
        # client's work were overlapped with it.
        print("  server CPU alone / executemany: "
              + "; ".join(f"{label} {server[kind] / minimal:.2f}x" for label, kind in (
                  ("custmgmt", "postgresql-custmgmt"),
                  ("raw same rows", "postgresql-same-rows"),
                  ("raw policy floor", "postgresql-floor"))))

if __name__ == "__main__":
    main()
