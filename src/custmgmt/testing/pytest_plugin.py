"""custmgmt's pytest plugin, loaded by pytest through the ``pytest11`` entry point.

Installing ``custmgmt[testing]`` is enough: pytest then rewrites the asserts of
the contract suite (``custmgmt.testing``), so a failing contract test shows the
values it compared, and offers these fixtures:

``custmgmt_clock``
    A ``FixedClock`` at 2026-03-02 01:30 UTC; move it with ``advance(...)``.
``custmgmt_open``
    ``custmgmt_open(url="memory://", *, plugins=(), settings=None)`` opens an app
    on that clock with sequential ids (migrating SQL storage), closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import pytest

from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.app import CustomerManagement
from custmgmt.app import open as open_app
from custmgmt.ports.settings import Settings

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

OpenApp = Callable[..., CustomerManagement]


@pytest.fixture
def custmgmt_clock() -> FixedClock:
    """A clock that stands still until moved."""
    return FixedClock(START)


@pytest.fixture
def custmgmt_open(custmgmt_clock: FixedClock) -> Iterator[OpenApp]:
    """Open apps for a test (with your plugins), closed when it ends."""
    opened: list[CustomerManagement] = []

    def open_for_test(url: str = "memory://", *, plugins: Iterable[object] = (),
                      settings: Settings | None = None) -> CustomerManagement:
        app = open_app(url, plugins=plugins, settings=settings, clock=custmgmt_clock,
                       ids=SequentialIds(), migrate=True)
        opened.append(app)
        return app

    yield open_for_test
    for app in opened:
        app.close()
