"""Default ids: opaque, unique, time-ordered (UUIDv7 layout) so B-tree inserts stay sequential."""

from __future__ import annotations

import itertools
import time
import uuid
from pathlib import Path

import pytest

import custmgmt
from custmgmt.adapters.system import UuidIds
from custmgmt.errors import StorageError
from custmgmt.ports.clock import new_ids


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


def test_ids_made_together_are_made_as_one_at_a_time() -> None:
    ids = UuidIds()
    made = ids.new_ids("p", 5000)
    assert len(made) == 5000 and len(set(made)) == 5000
    now = time.time_ns() // 1_000_000
    for one in made:
        prefix, _, rest = one.partition("-")
        parsed = uuid.UUID(rest)
        assert prefix == "p" and len(rest) == 32 and rest == parsed.hex
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert abs((parsed.int >> 80) - now) < 60_000
    # random bits of their own: not a counter from one random start
    assert len({uuid.UUID(i[2:]).int & 0xFFFF for i in made}) > 4000
    assert ids.new_ids("p", 0) == []
    time.sleep(0.003)
    assert max(made) < min(ids.new_ids("p", 10))


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def new_id(self, prefix: str) -> str:
        self.calls += 1
        return f"{prefix}-{self.calls}"


class _Broken(_Counting):
    def __init__(self, made: object) -> None:
        super().__init__()
        self.made = made

    def new_ids(self, prefix: str, count: int) -> object:
        return self.made


def test_a_generator_without_new_ids_is_asked_one_id_at_a_time() -> None:
    plain = _Counting()
    assert new_ids(plain, "p", 3) == ["p-1", "p-2", "p-3"] and plain.calls == 3


@pytest.mark.parametrize("made", [["p-1", "p-1"], ["p-1"], ("p-1", "p-2"), ["p-1", 2], None])
def test_a_generator_whose_new_ids_gives_no_distinct_texts_is_refused(made: object) -> None:
    with pytest.raises(StorageError, match="new_ids"):
        new_ids(_Broken(made), "p", 2)


def test_an_import_takes_its_ids_from_new_ids(tmp_path: Path) -> None:
    plain = _Counting()
    with custmgmt.open(f"sqlite:///{tmp_path}/ids.db", ids=plain, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        rows = [{"name": f"P{n}", "phone": f"1390000{n:04d}", "willingness": "clear",
                 "potential_value": "5"} for n in range(4)]
        assert app.prospects.import_many(alice, rows).imported == 4
        assert sorted(p.id for p in app.prospects.list(alice).items) == [
            "p-2", "p-3", "p-4", "p-5"]  # p-1: the import's own id came first
    broken = _Broken(["p-1", "p-1", "p-2", "p-3"])
    with custmgmt.open("memory://", ids=broken) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        with pytest.raises(StorageError):
            app.prospects.import_many(alice, rows)
        assert app.prospects.list(alice).items == ()
