"""Bulk import speed and memory against raw driver programs, measured in one run.

    python benchmarks/import_prospects.py [--rows 10000 100000] [--batch-size 1000]
        [--rounds 1] [--postgresql URL | --start-postgresql] [--skip-sqlite]

Every measurement runs in its own process, so that its peak RSS is its own; only
the import itself is timed (not opening or migrating the database). With
``--rounds N`` the programs run N times, interleaved, and the medians are shown
(the machine's load moves between measurements; the ratio is what to read).

SQLite (a file in WAL mode with foreign keys on, as custmgmt opens it):

* ``custmgmt``: ``app.prospects.import_many``: validates each row, normalizes the
  phone with ``phonenumbers``, seals the identity keys, checks that nobody holds
  them, grades, and writes the prospect, its keys, history, follow-up plan, audit
  entry, chain head and event.
* ``raw same rows``: a hand-written sqlite3 program writing the same rows into the
  same schema (migrated by custmgmt: same tables, indexes and constraints), in
  batches of the same size, each in one ``BEGIN IMMEDIATE`` transaction with the
  same duplicate-key ``SELECT``; it computes the same kinds of values (time-ordered
  ids, HMAC-sealed keys, the audit entry's SHA-256, the event's JSON) but with no
  validation or phone parsing.
* ``raw minimal``: ``sqlite3.executemany`` of the input rows into one prospect table
  with its unique keys (id primary key, unique phone, unique e-mail).

PostgreSQL (``--postgresql URL`` of a server where the user may create databases,
or ``--start-postgresql`` for a throw-away cluster as the test suite makes): each
measurement gets a new database; ``custmgmt`` as above against ``psycopg
executemany`` of the minimal rows into the same one-table schema.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import custmgmt

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


def minimal_rows(count: int) -> Iterator[tuple[str, ...]]:
    for n, row in enumerate(rows(count)):
        yield (f"p-{n:032x}", row["name"], row["phone"], row["email"], row["willingness"],
               row["potential_value"])


# -- SQLite -----------------------------------------------------------------------

def sqlite_minimal(count: int, path: Path, batch_size: int) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
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
    return f"{prefix}-{uuid.UUID(int=value).hex}"


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


def sqlite_same_rows(count: int, path: Path, batch_size: int) -> float:
    """The rows custmgmt writes, written by hand with sqlite3 into its own schema."""
    with custmgmt.open(f"sqlite:///{path}", migrate=True) as app:
        app.principal("u-alice", roles={"salesperson"})
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA journal_mode=WAL")
    pepper = b"raw-benchmark-pepper-0123456789"
    grades = {"clear": "A", "interested": "B", "watching": "C", "none": "C"}
    columns = {
        "custmgmt_prospects": 26, "custmgmt_prospect_keys": 3,
        "custmgmt_prospect_history": 8, "custmgmt_followup_plans": 10,
        "custmgmt_audit": 10, "custmgmt_chain_heads": 5,
    }
    inserts = {table: f"INSERT INTO {table} VALUES ({_placeholders(n)})"
               for table, n in columns.items()}
    insert_event = ("INSERT INTO custmgmt_events (type, occurred_at, payload) "
                    "VALUES (?, ?, ?)")
    import_id = _new_id("imp")
    started = time.perf_counter()
    numbered = enumerate(rows(count), start=1)
    while batch := list(islice(numbered, batch_size)):
        now = datetime.now(UTC)
        at = now.replace(tzinfo=None).isoformat(" ")
        today = now.date()
        prospects, keys, history, plans, audit, heads, events = [], [], [], [], [], [], []
        phone_keys: list[str] = []
        email_keys: list[str] = []
        for line, row in batch:
            pid = _new_id("p")
            phone = hmac.new(pepper, f"phone\x00+86{row['phone']}".encode(),
                             hashlib.sha256).hexdigest()
            email = hmac.new(pepper, f"email\x00{row['email'].lower()}".encode(),
                             hashlib.sha256).hexdigest()
            phone_keys.append(phone)
            email_keys.append(email)
            grade = grades[row["willingness"]]
            prospects.append((
                pid, "individual", row["name"], row["phone"], row["email"], None, None,
                None, None, None, None, row["willingness"], row["potential_value"], "CNY",
                grade, 0, "initial_contact", "u-alice", None, f"{import_id}:{line}",
                "u-alice", at, 1, 0, 1, None))
            keys.append(("phone", phone, pid))
            keys.append(("email", email, pid))
            history.append((pid, 0, "registered", "u-alice", at, None, grade, "registered"))
            plans.append((pid, "u-alice", None, grade, 1, today.isoformat(), None,
                          (today + timedelta(days=30)).isoformat(), 1, "initial_contact"))
            after = json.dumps([["grade", grade], ["owner", "u-alice"],
                                ["stage", "initial_contact"], ["version", "1"],
                                ["willingness", row["willingness"]]])
            entry = json.dumps(["prospect", pid, 0, "u-alice", "register", at, [], after,
                                "0" * 64]).encode()
            digest = hashlib.sha256(entry).hexdigest()
            audit.append(("prospect", pid, 0, "u-alice", "register", at, "[]", after,
                          "0" * 64, digest))
            heads.append(("audit:prospect", pid, 1, digest, None))
            events.append(("ProspectRegistered", at, json.dumps({
                "actor_id": "u-alice", "grade": grade, "occurred_at": now.isoformat(),
                "owner_id": "u-alice", "prospect_id": pid, "type": "ProspectRegistered",
            }, sort_keys=True)))
        connection.execute("BEGIN IMMEDIATE")
        for kind, values in (("phone", phone_keys), ("email", email_keys)):
            values.sort()
            for start in range(0, len(values), 500):
                chunk = values[start:start + 500]
                held = connection.execute(
                    "SELECT value, prospect_id FROM custmgmt_prospect_keys WHERE kind = ? "
                    f"AND value IN ({_placeholders(len(chunk))})", (kind, *chunk)).fetchall()
                if held:
                    raise SystemExit("raw program: a key is held already")
        for table, values in (("custmgmt_prospects", prospects),
                              ("custmgmt_prospect_keys", keys),
                              ("custmgmt_prospect_history", history),
                              ("custmgmt_followup_plans", plans),
                              ("custmgmt_audit", audit), ("custmgmt_chain_heads", heads)):
            connection.executemany(inserts[table], values)
        connection.executemany(insert_event, events)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def custmgmt_import(count: int, url: str, batch_size: int) -> float:
    """Seconds spent in import_many (opening and migrating the store are not counted)."""
    with custmgmt.open(url, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        started = time.perf_counter()
        report = app.prospects.import_many(alice, rows(count), batch_size=batch_size)
        elapsed = time.perf_counter() - started
    if report.imported != count:
        raise SystemExit(f"imported {report.imported} of {count}: {report.rejected[:3]}")
    return elapsed


# -- PostgreSQL -------------------------------------------------------------------

def _libpq(url: str) -> str:
    """The libpq connection string of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

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
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO minimal_prospects VALUES (%s, %s, %s, %s, %s, %s)",
                list(minimal_rows(count)))
        connection.commit()
        return time.perf_counter() - started


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
        self._url = url
        self._count = 0

    def new(self) -> str:
        if self._cluster is not None:
            return str(self._cluster.new_empty_database())
        import psycopg  # noqa: PLC0415
        from sqlalchemy.engine import make_url  # noqa: PLC0415

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
        elif kind == "postgresql-minimal":
            assert url is not None
            elapsed = postgresql_minimal(count, url, batch_size)
        else:
            assert url is not None
            elapsed = custmgmt_import(count, url, batch_size)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{elapsed:.6f} {peak_kib}")


def measure(kind: str, count: int, batch_size: int, url: str | None = None
            ) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one measurement in a process of its own."""
    command = [sys.executable, __file__, "--child", kind, "--rows", str(count),
               "--batch-size", str(batch_size)]
    if url is not None:
        command += ["--postgresql", url]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    elapsed, peak = result.stdout.split()
    return float(elapsed), int(peak) / 1024


def medians(kinds: list[str], count: int, batch_size: int, rounds: int,
            urls: Callable[[], str | None]) -> list[tuple[float, float]]:
    """Median seconds and median peak RSS of each kind, over ``rounds`` interleaved runs."""
    runs: list[list[tuple[float, float]]] = [[] for _ in kinds]
    for _ in range(rounds):
        for i, kind in enumerate(kinds):
            runs[i].append(measure(kind, count, batch_size, urls()))
    return [(statistics.median(s for s, _ in r), statistics.median(m for _, m in r))
            for r in runs]


def line(label: str, seconds: float, mib: float, count: int) -> str:
    return f"  {label:<26} {seconds:>9.3f} s {count / seconds:>9.0f} rows/s {mib:>7.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--postgresql", metavar="URL")
    parser.add_argument("--start-postgresql", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows[0], args.batch_size, args.postgresql)
        return
    for count in [] if args.skip_sqlite else args.rows:
        print(f"SQLite file, {count:,} rows, batches of {args.batch_size}, "
              f"median of {args.rounds}")
        minimal, same, ours = medians(
            ["sqlite-minimal", "sqlite-same-rows", "sqlite-custmgmt"], count,
            args.batch_size, args.rounds, lambda: None)
        print(line("raw minimal insert", *minimal, count))
        print(line("raw same rows, same schema", *same, count))
        print(line("custmgmt import_many", *ours, count))
        print(f"  ratio custmgmt / raw same rows: {ours[0] / same[0]:.2f}x (goal <= 1.5x); "
              f"custmgmt / raw minimal: {ours[0] / minimal[0]:.2f}x (goal <= 3x)")
    if not (args.postgresql or args.start_postgresql):
        return
    databases = Databases(args.postgresql)
    try:
        for count in args.rows:
            print(f"PostgreSQL, {count:,} rows, batches of {args.batch_size}, "
                  f"median of {args.rounds}")
            minimal, ours = medians(["postgresql-minimal", "postgresql-custmgmt"], count,
                                    args.batch_size, args.rounds, databases.new)
            print(line("psycopg executemany", *minimal, count))
            print(line("custmgmt import_many", *ours, count))
            print(f"  ratio custmgmt / psycopg executemany: {ours[0] / minimal[0]:.2f}x "
                  "(goal <= 3x)")
    finally:
        databases.close()


if __name__ == "__main__":
    main()
