"""Default ids: opaque, unique, time-ordered (UUIDv7 layout) so B-tree inserts stay sequential."""

from __future__ import annotations

import itertools
import time
import uuid

from custmgmt.adapters.system import UuidIds


def test_ids_are_uuid7_with_the_prefix_and_unique() -> None:
    ids = UuidIds()
    made = [ids.new_id("p") for _ in range(2000)]
    assert len(set(made)) == 2000
    for one in made[:50]:
        prefix, _, rest = one.partition("-")
        parsed = uuid.UUID(rest)
        assert prefix == "p" and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert abs((parsed.int >> 80) - time.time_ns() // 1_000_000) < 60_000


def test_later_ids_sort_after_earlier_ones() -> None:
    ids = UuidIds()
    batches = []
    for _ in range(5):
        batches.append([ids.new_id("f") for _ in range(20)])
        time.sleep(0.003)
    for earlier, later in itertools.pairwise(batches):
        assert max(earlier) < min(later)
