"""A throwaway PostgreSQL cluster for the test session, on a unix socket in a temp folder.

initdb refuses to run as root, so as root the cluster runs as the ``postgres`` user.

Creating and migrating a database costs about half a second (``CREATE DATABASE`` copies
the template's files; the migration is another ~0.2 s), which made the PostgreSQL tests
most of the suite's time. So the schema is migrated once per session into a template
database, and tests lease migrated databases from a pool: a database is created from
the template the first time, and after each test emptied with ``DELETE`` (a few
milliseconds; ``TRUNCATE`` is ~0.2 s for the dozen small tables) and its sequences
restarted, so the next test sees exactly what a freshly migrated database holds.
A database whose schema a test changed, or that cannot be emptied, is never reused.
"""

from __future__ import annotations

import glob
import itertools
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

import custmgmt

TEMPLATE = "custmgmt_template"


def find_binaries() -> tuple[str, str] | None:
    for folder in [None, *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        initdb = shutil.which("initdb", path=folder)
        pg_ctl = shutil.which("pg_ctl", path=folder)
        if initdb and pg_ctl:
            return initdb, pg_ctl
    return None


_SEEDED = {
    "custmgmt_alembic_version": None,
    "custmgmt_grants_generation": "UPDATE custmgmt_grants_generation SET generation = 0",
}
"""Tables whose rows the migrations write, kept (and reset) when a database is emptied."""


class Cluster:
    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="custmgmt-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self._names = itertools.count(1)
        self._free: list[str] = []
        self._leased: list[str] = []
        self._schema: tuple[tuple[str, ...], str] | None = None
        self._keepers: dict[str, psycopg.Connection[tuple[object, ...]]] = {}
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, user="postgres", group="postgres")

    def _run(self, *command: str) -> None:
        full = list(command)
        if self._as_root:
            full = (["runuser", "-u", "postgres", "--", *command] if shutil.which("runuser")
                    else ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)])
        result = subprocess.run(full, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.root / "server.log"
            server = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{command[0]} failed ({result.returncode}): "
                               f"{result.stderr[-2000:]}\n{server}")

    def start(self) -> None:
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        options = f"-k {self.socket_dir} -c listen_addresses='' -F -c max_connections=100"
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        for connection in self._keepers.values():
            connection.close()
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def _connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(f"host={self.socket_dir} user=postgres dbname={database}",
                               autocommit=True)

    def new_empty_database(self) -> str:
        """A fresh database with no schema at all; returns its SQLAlchemy URL."""
        name = f"custmgmt_test_{next(self._names)}"
        with self._connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def new_database(self) -> str:
        """A migrated database holding no rows, leased until :meth:`release_all`."""
        if self._schema is None:
            with self._connect() as connection:
                connection.execute(f'CREATE DATABASE "{TEMPLATE}"')
            custmgmt.open(self.url(TEMPLATE), migrate=True).close()
            with self._connect(TEMPLATE) as connection:
                self._schema = self._schema_of(connection)
        if self._free:
            name = self._free.pop()
        else:
            name = f"custmgmt_test_{next(self._names)}"
            with self._connect() as connection:
                connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        self._leased.append(name)
        return self.url(name)

    def _schema_of(self, connection: psycopg.Connection[tuple[object, ...]]
                   ) -> tuple[tuple[str, ...], str]:
        """The tables and the migration revision of the connected database."""
        tables = tuple(str(row[0]) for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
        revision = connection.execute(
            "SELECT string_agg(version_num, ',') FROM custmgmt_alembic_version").fetchone()
        return tables, str(revision[0] if revision else None)

    def release_all(self) -> None:
        """Empty the databases leased since the last call and put them back in the pool."""
        leased, self._leased = self._leased, []
        for name in leased:
            try:
                connection = self._keepers.get(name)
                if connection is None or connection.closed:
                    # one connection per pooled database, kept open: a new one costs a fork
                    connection = self._keepers[name] = self._connect(name)
                    connection.execute("SET lock_timeout = '2s'")
                    # no foreign-key triggers while emptying: every table is emptied anyway
                    connection.execute("SET session_replication_role = replica")
                if self._schema_of(connection) == self._schema:
                    self._empty(connection)
                    self._free.append(name)
            except psycopg.Error:
                pass  # a schema the test changed, or rows still locked: never reused

    def _empty(self, connection: psycopg.Connection[tuple[object, ...]]) -> None:
        assert self._schema is not None
        tables = [t for t in self._schema[0] if t not in _SEEDED]
        with connection.transaction():
            for table in tables:
                connection.execute(f'DELETE FROM "{table}"')
            for reset in _SEEDED.values():
                if reset is not None:
                    connection.execute(reset)
            sequences = [row[0] for row in connection.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]
            for sequence in sequences:
                connection.execute(f'ALTER SEQUENCE "{sequence}" RESTART')


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started throw-away cluster, stopped after (the benchmarks' ``--start-postgresql``);
    SystemExit if initdb and pg_ctl are not on PATH."""
    binaries = find_binaries()
    if binaries is None:
        raise SystemExit("--start-postgresql: initdb and pg_ctl are not on PATH")
    cluster = Cluster(*binaries)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
