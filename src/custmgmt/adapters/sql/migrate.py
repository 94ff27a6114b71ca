"""Alembic migrations shipped in the package, with their own version table."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from custmgmt.errors import StorageError

VERSION_TABLE = "custmgmt_alembic_version"
SCRIPTS = Path(__file__).parent / "migrations"


def config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["engine"] = engine
    return cfg


@cache
def head() -> str | None:
    """The newest revision shipped (read once: the scripts do not change while running)."""
    return ScriptDirectory(str(SCRIPTS)).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and current(engine) == head():
        return  # already current: skip loading alembic's environment (most opens)
    command.upgrade(config(engine), revision)


def require_current(engine: Engine) -> None:
    at, wanted = current(engine), head()
    if at != wanted:
        state = "empty" if at is None else f"at revision {at}"
        raise StorageError(
            f"the custmgmt schema is {state}, not {wanted}: run `custmgmt db upgrade URL`, "
            "call app.migrate(), or open(url, migrate=True)"
        )
