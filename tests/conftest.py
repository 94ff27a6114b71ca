"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import custmgmt
from custmgmt.adapters.system import FixedClock, SequentialIds

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app(clock: FixedClock) -> Iterator[custmgmt.CustomerManagement]:
    with custmgmt.open("memory://", clock=clock, ids=SequentialIds()) as opened:
        yield opened
