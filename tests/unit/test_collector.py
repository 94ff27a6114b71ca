"""A bulk import runs with fewer young garbage collections and puts the collector's
thresholds back as it found them; a collector the user tuned or disabled is left alone."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

import custmgmt
from custmgmt.services.collector import YOUNG, fewer_young_collections


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[tuple[int, int, int]]:
    found, enabled = gc.get_threshold(), gc.isenabled()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*found)
    if enabled:
        gc.enable()


def _rows(count: int) -> Iterator[dict[str, object]]:
    for n in range(count):
        yield {"name": f"P{n}", "phone": f"1390000{n:04d}", "willingness": "clear",
               "potential_value": "1"}


def test_an_import_raises_the_young_threshold_while_it_runs_and_puts_it_back(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    seen: list[tuple[int, int, int]] = []
    report = app.prospects.import_many(alice, _rows(4), batch_size=2,
                                       on_progress=lambda *_: seen.append(gc.get_threshold()))
    assert report.imported == 4
    assert seen == [(YOUNG, 10, 10)] * 2
    assert gc.get_threshold() == (700, 10, 10)


def test_a_threshold_changed_during_an_import_is_kept(app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    app.prospects.import_many(alice, _rows(2), batch_size=1,
                              on_progress=lambda *_: gc.set_threshold(5000, 20, 20))
    assert gc.get_threshold() == (5000, 20, 20)


@pytest.mark.parametrize("mine", [(0, 10, 10), (500_000, 10, 10)])
def test_a_collector_the_user_tuned_or_disabled_is_left_alone(
    app: custmgmt.CustomerManagement, mine: tuple[int, int, int]
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    gc.set_threshold(*mine)
    gc.disable()
    seen: list[tuple[tuple[int, int, int], bool]] = []
    app.prospects.import_many(alice, _rows(2), batch_size=1, on_progress=lambda *_: seen.append(
        (gc.get_threshold(), gc.isenabled())))
    assert seen == [(mine, False)] * 2
    assert gc.get_threshold() == mine and not gc.isenabled()


def test_the_thresholds_come_back_after_an_error_and_after_the_last_of_several_users() -> None:
    with pytest.raises(RuntimeError), fewer_young_collections():
        assert gc.get_threshold()[0] == YOUNG
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)
    inside, leave = threading.Barrier(2), threading.Event()
    seen: list[int] = []

    def other() -> None:
        with fewer_young_collections():
            inside.wait()
            leave.wait()
            seen.append(gc.get_threshold()[0])

    thread = threading.Thread(target=other)
    thread.start()
    with fewer_young_collections():
        inside.wait()
    assert gc.get_threshold()[0] == YOUNG  # the other thread is still inside
    leave.set()
    thread.join()
    assert seen == [YOUNG] and gc.get_threshold() == (700, 10, 10)
