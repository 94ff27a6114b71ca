"""The real clock and id generator, and fixed ones for tests and examples."""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import UTC, datetime, timedelta

from custmgmt.errors import ValidationError


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: ``clock.advance(days=1)``."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValidationError("at", "must be timezone-aware")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValidationError("at", "must be timezone-aware")
        self._at = at

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)


class UuidIds:
    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex}"


class SequentialIds:
    """``p-000001``, ``p-000002``... one sequence per prefix: predictable ids for
    examples and tests."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def new_id(self, prefix: str) -> str:
        with self._lock:
            counter = self._counters.setdefault(prefix, itertools.count(1))
            return f"{prefix}-{next(counter):06d}"
