"""The memory storage keeps committed records packed: tuples of plain values that the
garbage collector stops walking, read back equal, with the very same field values."""

from __future__ import annotations

import enum
import gc
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from custmgmt.adapters.memory.packed import ATOMIC, pack, position, unpack
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.domain.audit import chain_entry
from custmgmt.domain.common import FrozenMap, Money
from custmgmt.domain.identity import IdentityKey, KeyKind
from custmgmt.domain.integrity import ChainHead, audit_chain
from custmgmt.domain.prospect_events import ProspectRegistered
from custmgmt.domain.prospects import Prospect
from custmgmt.testing.builders import T0, add_prospect, make_prospect


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.frozen
class Inner:
    when: datetime
    amount: Decimal
    colour: Colour


@attrs.frozen
class Outer:
    name: str
    inner: Inner
    items: tuple[Any, ...]
    tags: frozenset[str]
    day: date | None
    extra: object = None


def _untracked(value: object) -> bool:
    """Whether ``value`` and everything packed inside it is out of the collector's sight."""
    if type(value) is tuple:
        return not gc.is_tracked(value) and all(map(_untracked, value))
    return not gc.is_tracked(value)


def test_a_record_reads_back_equal_with_the_very_same_values() -> None:
    east = timezone(timedelta(hours=8))
    inner = Inner(datetime(2026, 1, 2, 3, 4, tzinfo=east), Decimal("1.00"), Colour.BLUE)
    record = Outer("a", inner, (1, True, 1.5, b"x", ("nested", inner)), frozenset({"t"}),
                   date(2026, 1, 2))
    back = unpack(pack(record))
    assert back == record and type(back) is Outer and back is not record
    assert back.inner.when.utcoffset() == timedelta(hours=8)
    assert str(back.inner.amount) == "1.00" and back.inner.amount is inner.amount
    assert back.inner.colour is Colour.BLUE
    assert type(back.items[1]) is bool and type(back.items[2]) is float
    assert type(back.items[4]) is tuple and back.items[4][1] == inner
    assert type(back.tags) is frozenset
    assert back.name is record.name  # the same object, not a copy


def test_packed_records_leave_the_collectors_sight_and_other_values_are_kept() -> None:
    record = Outer("a", Inner(T0, Decimal(1), Colour.RED), (), frozenset(), None)
    packed = pack(record)
    for _ in range(3):  # a tuple stops being tracked when a collection sees it
        gc.collect()
    assert _untracked(packed)
    odd = FrozenMap({"k": "v"})
    mixed = pack(attrs.evolve(record, extra=odd))
    assert unpack(mixed).extra is odd  # not a packable value: kept (and tracked) as it is
    key = IdentityKey(KeyKind.PHONE, "13900000001")  # caches its hash: kept as it is
    assert pack(key) is key
    assert all(pack(value) is value for value in (None, "x", 1, Decimal(2), T0))
    assert Decimal in ATOMIC and datetime in ATOMIC


def test_equal_amounts_and_snapshots_are_packed_once_but_exactly() -> None:
    one, same, finer = Money("5", "CNY"), Money("5", "CNY"), Money("5.00", "CNY")
    assert pack(one) is pack(same)
    assert pack(finer) is not pack(one)
    assert str(unpack(pack(finer)).amount) == "5.00"
    snapshot = (("grade", "A"), ("stage", "won"))
    assert pack(snapshot) is pack(tuple(map(tuple, [list(p) for p in snapshot])))
    assert unpack(pack(snapshot)) == snapshot
    assert pack((("grade", "A"), ("stage", "lost"))) is not pack(snapshot)


def test_the_memory_storage_keeps_its_records_out_of_the_collectors_sight() -> None:
    storage = MemoryStorage()
    prospects = [make_prospect(n) for n in range(1, 4)]
    with storage.unit_of_work() as uow:
        stored = [add_prospect(uow, p) for p in prospects]
        uow.events.append(ProspectRegistered(
            prospect_id=stored[0].id, owner_id="u-alice", grade=stored[0].grade,
            actor_id="u-alice", occurred_at=T0))
        entry = chain_entry(None, resource_kind="prospect", resource_id=stored[0].id,
                            actor_id="u-alice", action="register", at=T0,
                            after={"grade": "B", "stage": "initial_contact"})
        uow.audit.append(entry)
        head = ChainHead(chain=audit_chain("prospect"), chain_id=stored[0].id, length=1,
                         head_hash=entry.hash)
        uow.heads.save(head)
        uow.commit()
    for _ in range(3):
        gc.collect()
    state = storage.state
    assert all(_untracked(state.prospects[p.id]) for p in prospects)
    assert _untracked(state.events[0])
    assert _untracked(state.audit[("prospect", stored[0].id)])
    assert _untracked(state.heads[("audit:prospect", stored[0].id)])
    assert storage.state.prospects[prospects[0].id][position(Prospect, "id")] == "p-000001"
    with storage.unit_of_work(read_only=True) as uow:
        assert [uow.prospects.get(p.id) for p in prospects] == stored
        events = uow.events.all()
        assert isinstance(events[0], ProspectRegistered) and len(events) == 1
        assert events[0].prospect_id == stored[0].id
        assert uow.audit.trail("prospect", stored[0].id) == [entry]
        assert uow.heads.get("audit:prospect", stored[0].id) == head


@pytest.mark.parametrize("field", ["version", "owner_id", "potential_value"])
def test_position_names_where_a_field_is_packed(field: str) -> None:
    prospect = make_prospect(7)
    assert unpack(pack(prospect)[position(Prospect, field)]) == getattr(prospect, field)
