"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import custmgmt
from custmgmt.adapters.system import FixedClock, SequentialIds
from tests.pg_server import Cluster, find_binaries

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app(clock: FixedClock) -> Iterator[custmgmt.CustomerManagement]:
    with custmgmt.open("memory://", clock=clock, ids=SequentialIds()) as opened:
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
    try:
        yield cluster
    finally:
        cluster.stop()
