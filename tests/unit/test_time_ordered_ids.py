"""Default ids: opaque, unique, time-ordered (UUIDv7 layout) so B-tree inserts stay sequential."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import custmgmt
from custmgmt.adapters.system import UuidIds
from custmgmt.errors import StorageError, ValidationError
from custmgmt.ports.clock import new_ids
from tests.helpers import SpoiledIds


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
    low = [uuid.UUID(i[2:]).int & (1 << 62) - 1 for i in made]
    assert sum(abs(b - a) < 2**32 for a, b in itertools.pairwise(low)) < 5
    assert ids.new_ids("p", 0) == []
    time.sleep(0.003)
    assert max(made) < min(ids.new_ids("p", 10))


@pytest.mark.parametrize("count", [1, 2, 15, 16, 17, 333])
def test_few_or_many_ids_have_one_layout(count: int) -> None:
    # a few ids are formatted one by one, more laid out a byte column at a time
    before = time.time_ns() // 1_000_000
    made = UuidIds().new_ids("s", count)
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == count
    for one in made:
        parsed = uuid.UUID(one.removeprefix("s-"))
        assert one == f"s-{parsed.hex}" and parsed.version == 7
        assert parsed.variant == uuid.RFC_4122 and before <= parsed.int >> 80 <= after
    if count > 1:  # each id's 74 random bits its own
        assert len({uuid.UUID(i[2:]).int & (1 << 76) - 1 for i in made}) == count


def test_new_ids_refuses_a_count_that_is_not_a_whole_number() -> None:
    for count in (-1, 1.5, "3", True):
        with pytest.raises(ValidationError) as raised:
            UuidIds().new_ids("p", count)  # type: ignore[arg-type]
        assert raised.value.field == "count"


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


class _Tenant(UuidIds):
    def new_id(self, prefix: str) -> str:
        return f"acme-{super().new_id(prefix)}"


class _Wrapper:
    def __init__(self) -> None:
        self.inner = UuidIds()
        self.calls = 0

    def new_id(self, prefix: str) -> str:
        self.calls += 1
        return f"w-{self.inner.new_id(prefix)}"

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_new_ids_older_than_the_new_id_beside_it_is_not_used() -> None:
    assert all(i.startswith("acme-p-") for i in new_ids(_Tenant(), "p", 3))
    wrapper = _Wrapper()
    assert all(i.startswith("w-p-") for i in new_ids(wrapper, "p", 3))
    assert wrapper.calls == 3


class _Text(str):
    pass


def test_no_count_asks_nothing_and_texts_of_a_str_subclass_are_ids() -> None:
    assert new_ids(_Broken(None), "p", 0) == []
    assert new_ids(_Broken([_Text("p-1"), _Text("p-2")]), "p", 2) == ["p-1", "p-2"]


@pytest.mark.parametrize("made", [["p-1", "p-1"], ["p-1"], ("p-1", "p-2"), ["p-1", 2], None])
def test_a_generator_whose_new_ids_gives_no_distinct_texts_is_refused(made: object) -> None:
    with pytest.raises(StorageError, match="id generator did not give 2 distinct"):
        new_ids(_Broken(made), "p", 2)


@pytest.mark.parametrize("bad", ["p-\ud800", "p-\x00", "p-\t2", "acme p-1", "p-\u3000", "",
                                 "p" * 101], ids=repr)
def test_an_id_that_is_no_plain_text_is_the_generators_fault(bad: str) -> None:
    class One:
        def new_id(self, prefix: str) -> str:
            return bad

    for made in (_Broken(["p-1", bad]), One()):
        with pytest.raises(StorageError, match="printable characters with no space"):
            new_ids(made, "p", 2 if isinstance(made, _Broken) else 1)
    assert new_ids(_Broken(["p-1", "p" * 100, "\u5ba2-3"]), "p", 3) == [
        "p-1", "p" * 100, "\u5ba2-3"]


class _Liar(str):
    def __hash__(self) -> int:
        raise RuntimeError("no hash")

    def __len__(self) -> int:
        return 1


class _Shifty(list):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")


def test_a_generators_str_and_list_subclasses_are_read_as_plain_texts() -> None:
    made = new_ids(_Broken([_Liar("p-1"), _Liar("p-2")]), "p", 2)
    assert made == ["p-1", "p-2"] and all(type(i) is str for i in made)
    assert new_ids(_Broken(_Shifty(["p-1", "p-2"])), "p", 2) == ["p-1", "p-2"]
    with pytest.raises(StorageError):
        new_ids(_Broken([_Liar("p" * 101)]), "p", 1)


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


class _Failing:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def new_id(self, prefix: str) -> str:
        raise self.error


def test_a_generator_that_fails_is_a_storage_error_naming_only_its_type() -> None:
    for error in (RuntimeError("secret detail"), KeyError("p"), ValueError()):
        with pytest.raises(StorageError, match=f"id generator failed .{type(error).__name__}") \
                as raised:
            new_ids(_Failing(error), "p", 1)
        assert "secret" not in str(raised.value)
    with pytest.raises(ValidationError):  # a custmgmt error passes as it is
        new_ids(_Failing(ValidationError("count", "no")), "p", 1)
    with pytest.raises(KeyboardInterrupt):
        new_ids(_Failing(KeyboardInterrupt()), "p", 1)


@pytest.mark.parametrize("kind", ["p", "r", "f"])
def test_an_id_the_generator_makes_for_any_call_is_checked_as_its_fault(
        storage_url: str, kind: str) -> None:
    # not a ValidationError: that would name a field the caller never gave
    with custmgmt.open(storage_url, ids=SpoiledIds(kind, " x"), migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        person = {"name": "A", "phone": "13900000001", "willingness": "clear",
                  "potential_value": 1}
        if kind == "f":
            prospect = app.prospects.register(alice, **person)  # type: ignore[arg-type]
            with pytest.raises(StorageError, match="id generator"):
                app.followups.record(alice, prospect.id, channel="phone", summary="called")
            assert app.followups.history(alice, prospect_id=prospect.id) == ()
        else:
            with pytest.raises(StorageError, match="id generator"):
                app.prospects.register(alice, **person)  # type: ignore[arg-type]
            assert app.prospects.list(alice).items == ()
