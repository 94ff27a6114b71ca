"""How a prospect's identity keys are kept in its row: a seal as its 32 bytes, any
other (opaque) value exactly, and never one mistaken for the other."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.sql.column_types import SealedKey, pack_key, pack_keys, unpack_key
from custmgmt.domain.identity import KeyKind, KeyRing

seals = st.binary(min_size=32, max_size=32).map(bytes.hex)


@given(seals)
def test_a_seal_is_kept_as_its_32_bytes_behind_a_tag(seal: str) -> None:
    packed = pack_key(seal)
    assert len(packed) == 33 and packed[1:] == bytes.fromhex(seal)
    assert unpack_key(packed) == seal


@given(st.text())  # lone surrogates, NUL and control characters included
def test_any_other_value_comes_back_exactly(value: str) -> None:
    assert unpack_key(pack_key(value)) == value


near_seals = st.one_of(
    seals.map(str.upper),  # upper-case hex is not how a seal is written
    st.text("0123456789abcdefABCDEF \t\n", min_size=62, max_size=66),
    st.builds(lambda seal, at, extra: seal[:at] + extra + seal[at:], seals,
              st.integers(0, 64), st.sampled_from([" ", "\n", "g", "0"])),
)


@given(seals, st.one_of(near_seals, st.text()))
def test_a_seal_and_another_value_never_pack_alike(seal: str, value: str) -> None:
    assert unpack_key(pack_key(value)) == value
    if value != seal:
        assert pack_key(value) != pack_key(seal)


@given(st.lists(st.one_of(st.none(), seals, seals, near_seals, st.text())))
def test_a_column_packs_as_each_value_does(column: list[str | None]) -> None:
    # a bulk insert packs a column at a time: seals alone, or any mix with other values
    packed = pack_keys(column)
    assert packed == [None if v is None else pack_key(v) for v in column]
    assert all(p is None or type(p) is bytearray for p in packed)


@given(st.lists(st.one_of(st.none(), seals), min_size=1))
def test_a_column_of_seals_packs_as_each_seal_does(column: list[str | None]) -> None:
    assert pack_keys(column) == [None if v is None else pack_key(v) for v in column]


def test_upper_case_hex_is_not_a_seal_and_stays_as_written() -> None:
    seal = KeyRing().seal(KeyKind.PHONE, "+8613900000001").value
    assert unpack_key(pack_key(seal.upper())) == seal.upper()
    assert pack_key(seal.upper()) != pack_key(seal)


def test_the_column_type_reads_back_what_it_was_given() -> None:
    """Through the ``SealedKey`` type both ways (a prospect loaded by the ORM reads its
    key columns so): a seal, another value, and none."""
    table = sa.Table("keys", sa.MetaData(), sa.Column("n", sa.Integer, primary_key=True),
                     sa.Column("key", SealedKey))
    seal = KeyRing().seal(KeyKind.PHONE, "+8613900000001").value
    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            table.create(connection)
            connection.execute(table.insert(), [{"n": 1, "key": seal},
                                                {"n": 2, "key": "not a seal\x00"},
                                                {"n": 3, "key": None}])
            read = connection.execute(sa.select(table.c.key).order_by(table.c.n)).scalars()
            assert list(read) == [seal, "not a seal\x00", None]
            stored = connection.execute(sa.text("SELECT key FROM keys WHERE n = 1")).scalar()
            assert stored == pack_key(seal)
    finally:
        engine.dispose()
