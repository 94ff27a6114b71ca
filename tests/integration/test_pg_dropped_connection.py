"""A connection dropped mid-transaction leaves nothing half-saved and raises StorageError."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.domain.audit import chain_entry
from custmgmt.errors import StorageError
from custmgmt.ports.auth import Reach, Scope
from custmgmt.ports.storage import ProspectQuery
from custmgmt.testing import make_prospect, sample_notification
from custmgmt.testing.builders import T0, add_prospect
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
