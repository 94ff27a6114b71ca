"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

import custmgmt
from custmgmt.adapters.system import FixedClock, SequentialIds
from tests import pii_sentinel
from tests.pg_server import Cluster, find_binaries

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

# CI must be reproducible: the same examples every run, no wall-clock deadlines on a
# busy 2-core machine. Locally hypothesis keeps exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


_STARTED: list[Cluster] = []


def pytest_configure(config: pytest.Config) -> None:
    """Watch the whole run for the sentinel person's data (see tests/pii_sentinel.py)."""
    if not config.pluginmanager.has_plugin("custmgmt-pii-sentinel"):
        config.pluginmanager.register(pii_sentinel, "custmgmt-pii-sentinel")


@pytest.fixture(autouse=True)
def _reuse_postgres_databases() -> Iterator[None]:
    """After each test, the PostgreSQL databases it leased go back to the pool, emptied."""
    yield
    for cluster in _STARTED:
        cluster.release_all()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(params=["memory", "sqlite",
                        pytest.param("postgresql", marks=pytest.mark.postgresql)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every service test runs on each back end."""
    if request.param == "memory":
        return "memory://"
    return _new_database(request, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database on each SQL back end: a SQLite file, a PostgreSQL database (a
    store that outlives one app, and that several apps open at once)."""
    return _new_database(request, tmp_path)


def _new_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crm.db'}"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def app(clock: FixedClock, storage_url: str) -> Iterator[custmgmt.CustomerManagement]:
    """The app on each back end, delivering to the memory notifier (``app.notifier.sent``)."""
    settings = custmgmt.Settings(notifier="memory")
    with custmgmt.open(storage_url, settings=settings, clock=clock, ids=SequentialIds(),
                       migrate=True) as opened:
        yield opened


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A PostgreSQL server for this test session; skipped (failed under CI=true) if absent."""
    binaries = find_binaries()
    if binaries is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) are not on PATH"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires the PostgreSQL tests to run")
        pytest.skip(reason)
    cluster = Cluster(*binaries)
    cluster.start()
    _STARTED.append(cluster)
    try:
        yield cluster
    finally:
        _STARTED.remove(cluster)
        cluster.stop()
