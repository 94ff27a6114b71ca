"""Values an import shares between rows are packed and kept once, by identity, and still
exactly: what reads back is what was stored."""

from __future__ import annotations

from datetime import UTC, date, datetime

from custmgmt.adapters.memory import packed
from custmgmt.adapters.memory.packed import pack, unpack
from custmgmt.adapters.memory.shared import Shared, stamped
from custmgmt.domain.common import Money
from custmgmt.domain.prospects import ChangeKind, HistoryEntry
from custmgmt.testing.builders import make_prospect

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_one_instance_packs_once_and_equal_values_still_pack_exactly() -> None:
    amount = Money("5.0", "CNY")
    first = pack(amount)
    assert packed._identical[id(amount)] == (amount, first)  # noted by identity
    assert pack(amount) is first
    assert pack(Money("5.0", "CNY")) is first  # equal and exact: the same packed form
    finer = Money("5.00", "CNY")
    assert pack(finer) is not first and str(unpack(pack(finer)).amount) == "5.00"


def test_a_shared_history_and_snapshot_pack_once_by_identity() -> None:
    history = (HistoryEntry(kind=ChangeKind.REGISTERED, by="u-1", at=AT, before=None,
                            after="A", reason="registered"),)
    assert pack(history) is pack(history)
    assert pack(history) is pack((history[0],))  # an equal tuple: found by its value
    assert unpack(pack(history)) == history
    pairs = (("grade", "A"), ("owner", "u-1"))
    assert pack(pairs) is pack(pairs) and unpack(pack(pairs)) == pairs


def test_an_unshared_tuple_is_not_noted() -> None:
    items = ([1], [2])
    one = pack(items)
    assert id(items) not in packed._identical
    assert unpack(one) == items


def test_the_identity_notes_are_bounded() -> None:
    for n in range(2 * packed.LIMIT + 10):
        pack(Money(str(n), "CNY"))
    assert len(packed._identical) <= 2 * packed.LIMIT


def test_a_plain_date_is_kept_once_and_a_datetime_is_never_merged_with_it() -> None:
    shared = Shared()
    day = date(2026, 3, 9)
    assert shared.day(day) is day
    again = date(2026, 3, 9)
    assert again is not day and shared.day(again) is day
    moment = datetime(2026, 3, 9, tzinfo=UTC)
    assert shared.day(moment) is moment  # not a plain date: kept as it is


def test_a_stamped_copy_changes_only_the_version() -> None:
    prospect = make_prospect(1)
    copy = stamped(prospect, 3)
    assert type(copy) is type(prospect) and copy.version == 3
    assert copy == stamped(prospect, prospect.version).at_version(3)
    assert all(getattr(copy, name) is getattr(prospect, name)
               for name in ("id", "profile", "history", "registration", "potential_value"))
