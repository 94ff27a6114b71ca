"""Migration 0009 seals identity keys: undoing it is refused with a custmgmt error, and
the schema stays where it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine

from custmgmt.adapters.sql import migrate
from custmgmt.errors import StorageError


def test_undoing_the_sealed_keys_migration_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    migrate.upgrade(engine, "0009")
    with pytest.raises(StorageError, match="restore a backup"):
        command.downgrade(migrate.config(engine), "0008")
    assert migrate.current(engine) == "0009"
    engine.dispose()
