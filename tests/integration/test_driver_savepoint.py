"""A refused batch undoes only itself, whether its unit of work reached the database
through the driver alone (its savepoint sent on the driver's connection) or had
already made its ORM Session (the savepoint is then the Session's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from custmgmt.adapters.sql.driver import driver_savepoint
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.domain.integrity import ChainHead
from custmgmt.errors import ClaimConflict
from custmgmt.ports.storage import ProspectQuery
from custmgmt.testing.builders import batch_of, make_prospect, same_person_as
from custmgmt.testing.storage_contract import EVERYONE

HELD = make_prospect(1, owner="u-bob")
BOTH_WAYS = pytest.mark.parametrize("orm_first", [False, True],
                                    ids=["driver alone", "ORM made first"])


@pytest.fixture
def storage(sql_url: str) -> Iterator[SqlStorage]:
    """A SQL storage holding ``HELD``, u-bob's."""
    opened = SqlStorage(sql_url, migrate=True)
    try:
        with opened.unit_of_work() as uow:
            uow.prospects.add_batch(batch_of([HELD]))
            uow.commit()
        yield opened
    finally:
        opened.close()


def _stored(storage: SqlStorage) -> list[str]:
    with storage.unit_of_work(read_only=True) as uow:
        return sorted(p.id for p in uow.prospects.find(ProspectQuery(reach=EVERYONE)))


@BOTH_WAYS
def test_a_refused_batch_leaves_the_rest_of_its_unit_of_work(
        storage: SqlStorage, orm_first: bool) -> None:
    refused = batch_of([make_prospect(2), same_person_as(HELD, 3)])
    kept = batch_of([make_prospect(4), make_prospect(5)])
    with storage.unit_of_work() as uow:
        if orm_first:
            uow.orm_session()  # type: ignore[attr-defined]
        with pytest.raises(ClaimConflict) as raised:
            uow.prospects.add_batch(refused)
        assert raised.value.owner_id == "u-bob"
        uow.prospects.add_batch(kept)  # on PostgreSQL: not an aborted transaction
        uow.commit()
    assert _stored(storage) == sorted([HELD.id, *kept.ids])


@BOTH_WAYS
def test_a_savepoint_undoes_the_driver_statements_inside_it(
        storage: SqlStorage, orm_first: bool) -> None:
    """Whichever way the savepoint is taken, it is sent before the block's first
    statement: a head saved on the driver inside it is undone with the batch refused
    after it (a Session's own savepoint is otherwise sent only with the first statement
    through the Session's connection)."""
    head = ChainHead(chain="audit:sample", chain_id="s-1", length=1,
                     head_hash="a" * 64, seal="s" * 64)
    with storage.unit_of_work() as uow:
        assert uow.heads.get("audit:sample", "s-1") is None  # begun on the driver
        if orm_first:
            uow.orm_session()  # type: ignore[attr-defined]
        with pytest.raises(ClaimConflict), driver_savepoint(
                uow._session):  # type: ignore[attr-defined]
            uow.heads.save(head)
            uow.prospects.add_batch(batch_of([same_person_as(HELD, 2)]))
        assert uow.heads.get("audit:sample", "s-1") is None
        uow.prospects.add_batch(batch_of([make_prospect(3)]))
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.heads.get("audit:sample", "s-1") is None
    assert _stored(storage) == sorted([HELD.id, make_prospect(3).id])
