"""One ``app.prospects.register()`` on a SQLite file against raw sqlite3, in one run.

    python benchmarks/register.py [--calls 300] [--existing 5000]

Both sides write the same rows into the same schema of one database file, with the
same connection settings (WAL, foreign keys, default synchronous), one transaction
per registration:

- custmgmt: validate and normalize the input, grade, check the identity keys, write
  the prospect (its keys, its follow-up plan and its audit trail's head are columns
  of its row; a new prospect has no history row), audit entry and event, commit.
- raw sqlite3: ``BEGIN IMMEDIATE``, the same checks (the acting principal's row,
  roles and certifications; who holds the identity keys among prospects, and among
  customers), then INSERTs of the same rows (copied from the rows custmgmt wrote,
  with new ids and keys): prospect with its keys, plan and audit trail's head (one
  INSERT), audit entry, event; ``COMMIT``. Its identity keys are what
  custmgmt stores and looks up: the HMAC-SHA256 of the normalized phone (E.164) and
  e-mail under the default pepper, kept as custmgmt keeps them (a tag byte and the 32
  bytes), and its ids have the length of custmgmt's.

Calls alternate (custmgmt, raw, raw, custmgmt, ...); medians of every call. The goal
is on the wall-clock ratio; the CPU time of each call (the thread's, which leaves out
waiting for the disk and for other processes) is printed beside it, since on a busy
machine the wall clock of either side says more about the neighbours than about it.
"""

from __future__ import annotations

import argparse
import hmac
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import custmgmt
from custmgmt.adapters.sql.storage import SQLITE_CACHE_KIB

PEPPER = b"custmgmt identity keys: set Settings.key_pepper to your own secret"
"""custmgmt's default ``key_pepper`` (the benchmark configures none)."""
KEY_TAG = b"\x01"
"""custmgmt keeps a sealed key as this tag byte and the seal's 32 bytes."""

TABLES = {  # table -> the column naming the prospect
    "custmgmt_prospects": "id",
    "custmgmt_prospect_history": "prospect_id",
    "custmgmt_audit": "resource_id",
}
"""(A prospect's audit trail's head is in its row: migration 0028.)"""


def person(n: int) -> dict[str, Any]:
    return {"name": f"Person {n}", "phone": f"139{n:08d}", "email": f"person{n}@example.com",
            "willingness": ("clear", "interested", "watching")[n % 3],
            "potential_value": (n % 50) * 40_000}


class Raw:
    """The same writes by hand, from the rows custmgmt wrote for one prospect."""

    def __init__(self, path: Path, template_id: str) -> None:
        # (a table with no row for the template, as the history of a new prospect, is
        # one the raw program does not write either)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # as custmgmt's connections
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.db.row_factory = sqlite3.Row
        for table, column in TABLES.items():
            found = self.db.execute(f"SELECT * FROM {table} WHERE {column} = ?",
                                    (template_id,)).fetchall()
            self.rows[table] = [dict(row) for row in found]
        event = self.db.execute("SELECT type, occurred_at, payload FROM custmgmt_events "
                                "ORDER BY position DESC LIMIT 1").fetchone()
        self.event = dict(event)
        self.db.row_factory = None
        self.inserts = {table: "INSERT INTO {t} ({c}) VALUES ({v})".format(
            t=table, c=", ".join(f'"{k}"' for k in rows[0]),
            v=", ".join("?" for _ in rows[0])) for table, rows in self.rows.items() if rows}

    @staticmethod
    def sealed(phone: str, email: str) -> dict[str, bytes]:
        """The identity keys custmgmt stores for this phone and e-mail, as it stores them
        in the prospect's row (``column_types.pack_key``: a tag byte, the 32 bytes)."""
        return {kind: KEY_TAG + hmac.digest(PEPPER, f"{kind}\x00{value}".encode(), "sha256")
                for kind, value in (("phone", f"+86{phone}"), ("email", email))}

    def register(self, n: int) -> None:
        # ids as long as custmgmt's ("p-" and 32 hex digits); the sealed keys it stores
        pid, phone, email = f"p-{n:032x}", f"139{n:08d}", f"person{n}@example.com"
        sealed = self.sealed(phone, email)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        # who is acting: the principal's row, roles and certifications
        if not db.execute("SELECT team, supervisor_id, active, version FROM custmgmt_principals "
                          "WHERE id = ?", ("u-alice",)).fetchall():
            raise SystemExit("raw: no principal")
        db.execute("SELECT role FROM custmgmt_principal_roles WHERE principal_id = ?",
                   ("u-alice",)).fetchall()
        db.execute("SELECT name, valid_until FROM custmgmt_certifications "
                   "WHERE principal_id = ?", ("u-alice",)).fetchall()
        # by the key indexes' expression (their first 17 bytes), as custmgmt looks them up
        held = db.execute("SELECT * FROM custmgmt_prospects WHERE (phone_key IS NOT NULL AND "
                          "substr(phone_key, 1, 17) = ?) OR (email_key IS NOT NULL AND "
                          "substr(email_key, 1, 17) = ?)",
                          (sealed["phone"][:17], sealed["email"][:17])).fetchall()
        keys = ("phone", sealed["phone"].hex()[2:], "email", sealed["email"].hex()[2:])
        held += db.execute("SELECT kind, value, customer_id FROM custmgmt_customer_keys WHERE "
                           "(kind = ? AND value = ?) OR (kind = ? AND value = ?)",
                           keys).fetchall()
        if held:
            db.execute("ROLLBACK")
            raise SystemExit("raw: key already held")
        prospect = {**self.rows["custmgmt_prospects"][0], "id": pid,
                    "registration_id": f"r-{n:032x}", "phone": phone, "email": email,
                    "phone_key": sealed["phone"], "email_key": sealed["email"]}
        db.execute(self.inserts["custmgmt_prospects"], tuple(prospect.values()))
        for table in ("custmgmt_prospect_history",):  # (none: a new prospect has none)
            for row in self.rows[table]:
                db.execute(self.inserts[table], tuple({**row, "prospect_id": pid}.values()))
        for row in self.rows["custmgmt_audit"]:
            db.execute(self.inserts["custmgmt_audit"], tuple({**row, "resource_id": pid}.values()))
        db.execute("INSERT INTO custmgmt_events (type, occurred_at, payload) VALUES (?, ?, ?)",
                   tuple(self.event.values()))
        db.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="registrations per side")
    parser.add_argument("--existing", type=int, default=5000,
                        help="prospects registered before timing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="custmgmt-bench-") as folder:
        path = Path(folder) / "register.db"
        with custmgmt.open(f"sqlite:///{path}", migrate=True) as app:
            alice = app.principal("u-alice", roles={"salesperson"}, team="east")
            app.prospects.import_many(alice, (person(n) for n in range(args.existing)))
            template = app.prospects.register(alice, **person(10_000_000))
            raw = Raw(path, template.id)
            first = person(10_000_000)
            stored = raw.rows["custmgmt_prospects"][0]
            if raw.sealed(first["phone"], first["email"]) != {
                    "phone": stored["phone_key"], "email": stored["email_key"]}:
                raise SystemExit("raw: its identity keys are not the ones custmgmt stores")
            times: dict[str, list[int]] = {"custmgmt": [], "raw": []}
            cpu: dict[str, list[int]] = {"custmgmt": [], "raw": []}
            for i in range(args.calls):
                order = ("custmgmt", "raw") if i % 2 else ("raw", "custmgmt")
                for side in order:
                    n = 20_000_000 + 2 * i + (side == "raw")
                    started, used = time.perf_counter_ns(), time.thread_time_ns()
                    if side == "custmgmt":
                        app.prospects.register(alice, **person(n))
                    else:
                        raw.register(n)
                    times[side].append(time.perf_counter_ns() - started)
                    cpu[side].append(time.thread_time_ns() - used)
            raw.db.close()
    print(f"SQLite file, {args.existing:,} prospects before, {args.calls} registrations "
          "per side, interleaved")
    for side, values in times.items():
        print(f"  {side:<9} median {statistics.median(values) / 1e6:7.3f} ms   "
              f"p90 {sorted(values)[len(values) * 9 // 10] / 1e6:7.3f} ms   "
              f"CPU median {statistics.median(cpu[side]) / 1e6:7.3f} ms")
    ratio = statistics.median(times["custmgmt"]) / statistics.median(times["raw"])
    cpu_ratio = statistics.median(cpu["custmgmt"]) / statistics.median(cpu["raw"])
    print(f"  ratio custmgmt / raw: {ratio:.2f}x  (goal <= 2x); CPU time: {cpu_ratio:.2f}x")


if __name__ == "__main__":
    main()
