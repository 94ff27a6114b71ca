"""``driver.Readers`` keeps at most ``keep`` connections, whatever the threads do."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from custmgmt.adapters.sql.driver import Readers
from tests.helpers import in_threads


class FakePooled:
    """A pooled connection that only counts how often it went back to the pool."""

    driver_connection = None

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class SlowToCount(list[Any]):
    """A list that lets other threads run while it is being counted: the window
    between checking how many are kept and keeping one more is wide open."""

    def __len__(self) -> int:
        counted = super().__len__()
        time.sleep(0.0002)  # others keep or take meanwhile: the count is stale
        return counted


def test_threads_taking_and_giving_back_never_keep_more_than_keep() -> None:
    engine: Any = SimpleNamespace(dialect=SimpleNamespace(name="sqlite"),
                                  raw_connection=FakePooled)
    readers = Readers(engine, None, keep=2)
    readers._idle = SlowToCount()
    most: list[int] = []

    def work() -> None:
        seen = 0
        for _ in range(100):
            pooled, driver = readers.take()
            readers.give(pooled, driver)
            seen = max(seen, list.__len__(readers._idle))
        most.append(seen)

    in_threads(work, 6)
    assert max(most) <= 2
    assert list.__len__(readers._idle) <= 2


def test_closing_gives_back_what_was_kept_and_keeps_nothing_after() -> None:
    engine: Any = SimpleNamespace(dialect=SimpleNamespace(name="sqlite"),
                                  raw_connection=FakePooled)
    readers = Readers(engine, None, keep=2)
    taken = [readers.take() for _ in range(3)]
    for pooled, driver in taken:
        readers.give(pooled, driver)
    assert [p.closed for p, _ in taken] == [0, 0, 1]  # two kept, the third back
    readers.close()
    assert [p.closed for p, _ in taken] == [1, 1, 1]
    pooled, driver = readers.take()
    readers.give(pooled, driver)
    assert pooled.closed == 1 and not readers._idle
