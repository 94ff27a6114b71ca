"""The real clock and id generator, and fixed ones for tests and examples."""

from __future__ import annotations

import itertools
import os
import threading
import time
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
    """Opaque, time-ordered ids in the UUIDv7 layout: 48 bits of Unix milliseconds, then
    74 random bits. New rows land at the right end of every B-tree index on an id
    (random UUIDs scatter inserts over the whole index: the import benchmark wrote
    the same rows 3.5x slower with them)."""

    def new_id(self, prefix: str) -> str:
        return self.new_ids(prefix, 1)[0]

    def new_ids(self, prefix: str, count: int) -> list[str]:
        """``count`` fresh ids at once, each as ``new_id`` makes it: one clock reading
        and one read of the system's random source for them all (an import's batch;
        2.5 us an id one at a time, 1.4 us so: benchmarks/HISTORY.md, stop 34)."""
        if type(count) is not int or count < 0:
            raise ValidationError("count", "must be a whole number, 0 or more")
        head = (time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | 0b10 << 62
        low = (1 << 62) - 1
        randoms = os.urandom(10 * count)
        ids = []
        for start in range(0, 10 * count, 10):
            bits = int.from_bytes(randoms[start:start + 10], "big")
            # what uuid.UUID(int=value).hex gives
            ids.append(f"{prefix}-{head | (bits >> 62 & 0xFFF) << 64 | bits & low:032x}")
        return ids


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
