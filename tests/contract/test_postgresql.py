"""PostgreSQL against the shared contract suite (a real server, started for the session)."""

from __future__ import annotations

import pytest

from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.ports.storage import Storage
from custmgmt.testing import StorageContract
from tests.pg_server import Cluster

pytestmark = pytest.mark.postgresql


class TestPostgresqlStorage(StorageContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres: Cluster) -> None:
        self.server = postgres

    def make_storage(self) -> Storage:
        return SqlStorage(self.server.new_database(), migrate=True)
