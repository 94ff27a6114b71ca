"""A connection dropped mid-transaction leaves nothing half-saved and raises StorageError."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from custmgmt.adapters.sql import driver, prospects
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.domain.audit import chain_entry
from custmgmt.errors import StorageError
from custmgmt.ports.auth import Reach, Scope
from custmgmt.ports.storage import ProspectQuery
from custmgmt.testing import make_prospect, sample_notification
from custmgmt.testing.builders import T0, add_prospect, batch_of
from tests.pg_server import Cluster

pytestmark = pytest.mark.postgresql


def test_terminating_the_backend_mid_transaction_saves_nothing(postgres: Cluster) -> None:
    storage = SqlStorage(postgres.new_database(), migrate=True)
    database = storage.engine.url.database
    with pytest.raises(StorageError), storage.unit_of_work() as uow:
        prospect = add_prospect(uow, make_prospect(1))
        uow.audit.append(chain_entry(None, resource_kind="prospect", resource_id=prospect.id,
                                     actor_id="u-a", action="register", at=T0))
        uow.outbox.add(sample_notification(1))
        session = uow._session
        assert session is not None
        backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(f"host={postgres.socket_dir} user=postgres dbname={database}",
                             autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        uow.commit()
    everyone = Reach(scope=Scope.ANY, principal_id="u-root")
    with storage.unit_of_work() as uow:
        assert list(uow.prospects.find(ProspectQuery(reach=everyone))) == []
        assert list(uow.outbox.all()) == []
        assert list(uow.audit.trail("prospect", "p-000001")) == []
    storage.close()


def test_a_batch_losing_its_connection_raises_storage_error(postgres: Cluster) -> None:
    """The connection lost inside a batch's savepoint: undoing the batch cannot even
    open a cursor, and that too is a StorageError (an import written ahead falls back
    on it), never the driver's own error."""
    storage = SqlStorage(postgres.new_database(), migrate=True)
    database = storage.engine.url.database
    real = prospects.driver_insert_columns

    def lose_the_connection(session: Any, table: Any, columns: Any) -> None:
        backend = driver.driver_rows(session, text("SELECT pg_backend_pid()"), {})[0][0]
        with psycopg.connect(f"host={postgres.socket_dir} user=postgres dbname={database}",
                             autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        real(session, table, columns)

    prospects.driver_insert_columns = lose_the_connection  # type: ignore[assignment]
    try:
        with pytest.raises(StorageError), storage.unit_of_work() as uow:
            uow.prospects.add_batch(batch_of([make_prospect(1), make_prospect(2)]))
    finally:
        prospects.driver_insert_columns = real  # type: ignore[assignment]
    with storage.unit_of_work() as uow:
        assert list(uow.prospects.find(ProspectQuery(reach=Reach(
            scope=Scope.ANY, principal_id="u-root")))) == []
    storage.close()
