"""The versioned writes of the SQL storage: compare-and-set on ``version``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.exc import IntegrityError
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
    guard: ColumnElement[bool] | None = None,
) -> None:
    """``UPDATE row SET values WHERE <where> AND version = <version>``: the aggregate
    as read at ``version`` becomes ``values`` (which carry version + 1). No row updated
    means NotFound if the aggregate is gone, else ConcurrencyError (someone wrote first,
    or ``guard``, a condition the update also needs, does not hold)."""
    key: list[ColumnElement[bool]] = [getattr(row, name) == value
                                      for name, value in where.items()]
    guards = [] if guard is None else [guard]
    result = session.execute(
        update(row).where(*key, getattr(row, "version") == version, *guards)  # noqa: B009
        .values(dict(values))
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    ident = ", ".join(str(v) for v in where.values())
    if not session.scalar(select(func.count()).select_from(row).where(*key)):
        raise NotFound(kind, ident)
    raise ConcurrencyError(f"{kind} {ident!r} changed since it was read")


def save_versioned(
    session: Session,
    row: type[Base],
    key: Mapping[str, object],
    version: int,
    values: Mapping[str, Any],
    kind: str,
) -> None:
    """Write the aggregate read at ``version`` (0: not stored yet) as ``values`` (which
    carry version + 1): an insert at version 0, else a compare-and-set update. Of two
    concurrent writers one gets ConcurrencyError, also when both insert."""
    ident = ", ".join(str(v) for v in key.values())
    stale = ConcurrencyError(f"{kind} {ident!r} changed since it was read")
    if version == 0:
        try:
            with session.begin_nested():
                session.execute(insert(row).values({**key, **values}))
        except IntegrityError:
            raise stale from None
        return
    done = session.execute(
        update(row).where(*[getattr(row, name) == value for name, value in key.items()],
                          getattr(row, "version") == version)  # noqa: B009
        .values(dict(values)).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise stale
