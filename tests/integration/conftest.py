"""Fixtures shared by the migration tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pg_server import Cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def new_empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A maker of the URL of a database with no schema at all: a SQLite file in the
    test's folder (the same file each call), or a new PostgreSQL database."""
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path / 'crm.db'}"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_empty_database
