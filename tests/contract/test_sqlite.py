"""SQLite, in a file and in memory, against the shared contract suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.ports.storage import Storage
from custmgmt.testing import StorageContract


class TestSqliteFileStorage(StorageContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_storage(self) -> Storage:
        return SqlStorage(f"sqlite:///{self.folder / 'crm.db'}", migrate=True)


class TestSqliteMemoryStorage(StorageContract):
    def make_storage(self) -> Storage:
        return SqlStorage("sqlite://", migrate=True)
