"""Migration 0028: the head of each prospect's audit trail moves into the prospect's row,
its length, hash and seal as they were; a head of no stored prospect stays in the heads
table, and every other chain's head too; a downgrade puts the heads back. The trails
verify, sealed, before and after, and an import after it starts its trails in the rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import command

import custmgmt
from custmgmt.adapters.sql import migrate
from custmgmt.adapters.system import FixedClock
from custmgmt.ports.settings import Settings
from tests.conftest import START
from tests.helpers import register_numbered

KEY = "a chain key of sixteen bytes or more"
ORPHAN = ("INSERT INTO custmgmt_chain_heads (chain, chain_id, length, head_hash, seal) "
          "VALUES ('audit:prospect', 'p-gone', 1, :h, NULL)")


def _table_heads(engine: sa.Engine) -> dict[tuple[str, str], tuple[Any, ...]]:
    with engine.connect() as connection:
        return {(row[0], row[1]): tuple(row[2:]) for row in connection.execute(sa.text(
            "SELECT chain, chain_id, length, head_hash, seal FROM custmgmt_chain_heads"))}


def _row_heads(engine: sa.Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(sa.text(
            "SELECT id, trail_length, trail_hash, trail_seal FROM custmgmt_prospects"))}


def test_trail_heads_move_into_their_prospects_rows_and_back(
        new_empty_url: Callable[[], str]) -> None:
    url = new_empty_url()
    opened = {"clock": FixedClock(START), "settings": Settings(chain_key=KEY)}
    with custmgmt.open(url, migrate=True, **opened) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        auditor = app.principal("u-audit", roles={"auditor"})
        changed, plain = (register_numbered(app, alice, n).id for n in (1, 2))
        app.followups.record(alice, changed, channel=custmgmt.Channel.PHONE, summary="call")
        app.prospects.advance(alice, changed, to="needs_identified")
    engine = sa.create_engine(url)
    try:
        command.downgrade(migrate.config(engine), "0027")
        with engine.begin() as connection:
            connection.execute(sa.text(ORPHAN), {"h": "f" * 64})
        before = _table_heads(engine)
        prospects = {key: head for key, head in before.items() if key[0] == "audit:prospect"}
        assert set(prospects) == {("audit:prospect", pid) for pid in (changed, plain, "p-gone")}
        assert prospects[("audit:prospect", changed)][0] == 3  # registered, changed twice
        assert all(head[2] for key, head in prospects.items() if key[1] != "p-gone")  # sealed

        migrate.upgrade(engine, "head")
        in_rows = _row_heads(engine)
        assert in_rows == {pid: prospects[("audit:prospect", pid)] for pid in (changed, plain)}
        # the orphan, and the heads of other chains (the principals' trails...), stay
        assert _table_heads(engine) == {key: head for key, head in before.items()
                                        if key[0] != "audit:prospect" or key[1] == "p-gone"}

        command.downgrade(migrate.config(engine), "0027")
        assert _table_heads(engine) == before
        migrate.upgrade(engine, "head")
        assert _row_heads(engine) == in_rows
    finally:
        engine.dispose()
    with custmgmt.open(url, **opened) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        assert app.audit.verify(auditor, "prospect", changed) == 3
        assert app.audit.verify(auditor, "prospect", plain) == 1
        app.followups.record(alice, plain, channel=custmgmt.Channel.PHONE, summary="call")
        app.prospects.advance(alice, plain, to="needs_identified")
        assert app.audit.verify(auditor, "prospect", plain) == 3
        report = app.prospects.import_many(alice, [
            {"name": "Li", "phone": "13800009999", "willingness": "clear",
             "potential_value": "100000"}])
        assert report.imported == 1
        (imported,) = {p.id for p in app.prospects.list(alice).items} - {changed, plain}
        assert app.audit.verify(auditor, "prospect", imported) == 1
    engine = sa.create_engine(url)
    try:
        assert _row_heads(engine)[imported][0] == 0  # its head: the batch's entry
    finally:
        engine.dispose()
