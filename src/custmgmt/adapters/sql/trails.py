"""The head of each prospect's audit trail, kept in the prospect's own row.

A head of chain ``PROSPECT_TRAILS`` is the prospect's ``trail_length``, ``trail_hash``
and ``trail_seal`` (all NULL while its trail has none), so that a registration writes
one row, not a prospect and a head (migration 0028). ``SqlHeads`` hands these heads
here; a prospect not stored has no row to keep one in (``NotFound``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.driver import driver_execute, driver_rows
from custmgmt.adapters.sql.tables import ProspectRow, table_of
from custmgmt.domain.integrity import ChainHead
from custmgmt.domain.registrations import PROSPECT_TRAILS, RegistrationBatch
from custmgmt.errors import ConcurrencyError, NotFound

ROWS = table_of(ProspectRow)
READ = select(ROWS.c.trail_length, ROWS.c.trail_hash, ROWS.c.trail_seal).where(
    ROWS.c.id == bindparam("id_"))
HELD = select(ROWS.c.id).where(ROWS.c.trail_length.is_not(None)).order_by(ROWS.c.id)
MOVE = update(ROWS).where(ROWS.c.id == bindparam("id_")).values(
    trail_length=bindparam("length_"), trail_hash=bindparam("hash_"),
    trail_seal=bindparam("seal_"))
START = MOVE.where(ROWS.c.trail_length.is_(None))


def trail_columns(batch: RegistrationBatch) -> dict[str, list[Any]]:
    """The trail columns of a batch's prospect rows: the heads ``batch.trails`` starts
    (length 0, each holding the batch's entry), built a column at a time; none if it
    carries no trails."""
    trails = batch.trails
    if trails is None:
        return {}
    size = len(batch)
    return {"trail_length": [0] * size, "trail_hash": [trails.origin] * size,
            "trail_seal": list(trails.seals)}


def trail_values(head: ChainHead) -> dict[str, Any]:
    """The trail columns of one prospect's row holding ``head``."""
    return {"trail_length": head.length, "trail_hash": head.head_hash,
            "trail_seal": head.seal}


class ProspectTrails:
    """``ChainHeadRepository`` for chain ``PROSPECT_TRAILS`` alone."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, prospect_id: str) -> ChainHead | None:
        rows = driver_rows(self._s, READ, {"id_": prospect_id})
        if not rows or rows[0][0] is None:
            return None
        length, head_hash, seal = rows[0]
        return ChainHead(chain=PROSPECT_TRAILS, chain_id=prospect_id, length=length,
                         head_hash=head_hash, seal=seal)

    def save(self, head: ChainHead) -> None:
        if not driver_execute(self._s, MOVE, _params(head)):
            raise NotFound("prospect", head.chain_id)

    def start(self, heads: Sequence[ChainHead]) -> None:
        """Each head of a new trail, all or none (the caller's savepoint when more than
        one): ConcurrencyError if its prospect's trail has a head already, NotFound if
        the prospect is not stored."""
        for head in heads:
            if not driver_execute(self._s, START, _params(head)):
                if not driver_rows(self._s, READ, {"id_": head.chain_id}):
                    raise NotFound("prospect", head.chain_id)
                raise ConcurrencyError("the head of a chain in the batch exists already")

    def ids(self) -> Sequence[str]:
        return [row[0] for row in driver_rows(self._s, HELD, {})]


def _params(head: ChainHead) -> dict[str, Any]:
    return {"id_": head.chain_id, "length_": head.length, "hash_": head.head_hash,
            "seal_": head.seal}
