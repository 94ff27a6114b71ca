"""A throwaway PostgreSQL cluster for the test session, on a unix socket in a temp folder.

initdb refuses to run as root, so as root the cluster runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import itertools
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg


def find_binaries() -> tuple[str, str] | None:
    for folder in [None, *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        initdb = shutil.which("initdb", path=folder)
        pg_ctl = shutil.which("pg_ctl", path=folder)
        if initdb and pg_ctl:
            return initdb, pg_ctl
    return None


class Cluster:
    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="custmgmt-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self._names = itertools.count(1)
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
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        name = f"custmgmt_test_{next(self._names)}"
        with psycopg.connect(f"host={self.socket_dir} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
