"""A principal's reach (own / team / any) as SQL conditions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from custmgmt.ports.auth import Reach, Scope


def reach_clause(
    reach: Reach,
    owner: InstrumentedAttribute[str] | ColumnElement[Any],
    team: InstrumentedAttribute[str | None] | ColumnElement[Any],
) -> list[ColumnElement[bool]]:
    if reach.scope is Scope.ANY:
        return []
    if reach.scope is Scope.NONE:
        return [false()]
    if reach.scope is Scope.TEAM and reach.team is not None:
        return [or_(owner == reach.principal_id, team == reach.team)]
    return [owner == reach.principal_id]
