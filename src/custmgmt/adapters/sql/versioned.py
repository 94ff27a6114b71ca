"""The one versioned-update helper of the SQL storage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.tables import Base
from custmgmt.errors import ConcurrencyError, NotFound


def versioned_update(
    session: Session,
    row: type[Base],
    where: Mapping[str, object],
    version: int,
    values: Mapping[str, Any],
    kind: str,
) -> None:
    """``UPDATE row SET values WHERE <where> AND version = <version>``: the aggregate
    as read at ``version`` becomes ``values`` (which carry version + 1). No row updated
    means NotFound if the aggregate is gone, else ConcurrencyError (someone wrote first)."""
    key: list[ColumnElement[bool]] = [getattr(row, name) == value
                                      for name, value in where.items()]
    result = session.execute(
        update(row).where(*key, getattr(row, "version") == version)  # noqa: B009
        .values(dict(values))
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    ident = ", ".join(str(v) for v in where.values())
    if not session.scalar(select(func.count()).select_from(row).where(*key)):
        raise NotFound(kind, ident)
    raise ConcurrencyError(f"{kind} {ident!r} changed since it was read")
