"""Registry numbers stay unique and gap-free when many register at once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import custmgmt
from custmgmt import Certification
from custmgmt.adapters.system import FixedClock
from custmgmt.errors import CustmgmtError
from tests.helpers import a_customer, each_in_thread
from tests.pg_server import Cluster

COUNT = 12


def register_all_at_once(url: str) -> list[str]:
    clock = FixedClock(datetime(2026, 5, 4, 2, 0, tzinfo=UTC))
    with custmgmt.open(url, clock=clock, migrate=True) as app:
        rita = app.principal("u-rita", roles={"sample_receiver"},
                             certifications={Certification("sample_receiver", date(2026, 12, 31))})
        clerks = [app.principal(f"u-reg{n}", roles={"sample_registry"}) for n in range(COUNT)]
        client = a_customer(app)
        ids = [app.samples.receive(rita, customer_id=client, sample_name=f"s{n}", quantity=1,
                                   unit="pc", description="d", requested_work="w").id
               for n in range(COUNT)]
        start = threading.Barrier(COUNT)
        numbers: list[str] = []
        errors: list[CustmgmtError] = []

        def register(clerk: custmgmt.Principal, sample_id: str) -> None:
            start.wait()
            try:
                sample = app.samples.register(clerk, sample_id, classification="c",
                                              location="shelf")
                numbers.append(sample.number or "")
            except CustmgmtError as error:
                errors.append(error)

        each_in_thread(register, list(zip(clerks, ids, strict=True)))
        assert errors == []
        return numbers


def test_threads_in_memory_queue_instead_of_failing() -> None:
    numbers = register_all_at_once("memory://")
    assert sorted(numbers) == [f"S2026-{n:06d}" for n in range(1, COUNT + 1)]


def test_threads_on_a_sqlite_file(tmp_path: Path) -> None:
    numbers = register_all_at_once(f"sqlite:///{tmp_path / 'crm.db'}")
    assert sorted(numbers) == [f"S2026-{n:06d}" for n in range(1, COUNT + 1)]


@pytest.mark.postgresql
def test_threads_on_postgresql(postgres: Cluster) -> None:
    numbers = register_all_at_once(postgres.new_database())
    assert sorted(numbers) == [f"S2026-{n:06d}" for n in range(1, COUNT + 1)]
