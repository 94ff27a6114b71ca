"""Column types that keep instants, money and identity keys exact on every engine."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, LargeBinary, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC; read back aware (UTC) on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        moment = value.astimezone(UTC)
        # SQLite has no time zones: store naive UTC text.
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC on PostgreSQL; text on SQLite, whose NUMERIC would round through floats."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


_SEALED, _OTHER = b"\x01", b"\x00"

KEY_PREFIX = 17
"""How many leading bytes of a stored key its unique index holds: the tag byte and
128 bits, of the seal itself (an HMAC-SHA256 truncated to half its length, as RFC 2104
allows) or of a SHA-256 digest of any other value. A third of the whole seal's width in
every index entry: an import's keys land on random pages of that index, and fewer
pages to write back per transaction is most of what a smaller entry buys."""


def pack_key(value: str) -> bytes:
    """An identity key's value as stored: a seal (64 hex digits) as its 32 bytes, any
    other value (the keys are opaque to storage) as 16 bytes of its SHA-256 digest and
    its UTF-8, each behind its own tag byte so that the two can never be equal. Either
    way the first ``KEY_PREFIX`` bytes stand for the whole value."""
    if len(value) == 64:
        try:
            sealed = bytes.fromhex(value)
        except ValueError:
            sealed = b""
        if sealed.hex() == value:  # lower-case hex digits only, as a seal is written
            return _SEALED + sealed
    text = value.encode("utf-8", "surrogatepass")
    return _OTHER + hashlib.sha256(text).digest()[:KEY_PREFIX - 1] + text


def unpack_key(stored: bytes) -> str:
    """The value ``pack_key`` was given."""
    if stored[:1] == _SEALED:
        return stored[1:].hex()
    return stored[KEY_PREFIX:].decode("utf-8", "surrogatepass")


def key_prefix(value: str) -> bytes:
    """What the unique index of a key column holds of ``value``."""
    return pack_key(value)[:KEY_PREFIX]


class SealedKey(TypeDecorator[str]):
    """An identity key's value, stored by ``pack_key`` (bytes on every engine)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return _pack_optional_key(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[str | None], bytes | None]:
        """``process_bind_param`` alone: both drivers take the packed bytes as they are,
        and the impl's processor would wrap each again (a bulk insert binds thousands)."""
        return _pack_optional_key

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unpack_key(bytes(value))


def _pack_optional_key(value: str | None) -> bytes | None:
    return None if value is None else pack_key(value)


def pack_keys(values: Sequence[str | None]) -> list[bytearray | None]:
    """``pack_key`` of each of ``values`` (None kept), as ``bytearray`` (which the sqlite3
    module binds without its adapter look-up, and psycopg as bytea): a column of seals,
    what an import's keys are, in a few C calls (the hex digits of them all read at
    once, the tag byte among them), 0.3 us a key against 1.1 us one by one (benchmarks/
    HISTORY.md, stop 38). Any other value is packed one by one."""
    given = [value for value in values if value is not None]
    if not given:
        return [None] * len(values)
    if set(map(type, given)) == {str} and set(map(len, given)) == {64}:
        digits = "01" + "01".join(given)  # _SEALED before each seal
        try:
            packed = bytearray.fromhex(digits)
        except ValueError:  # not hex: packed one by one
            packed = bytearray()
        if packed.hex() == digits:  # lower-case hex digits only, as a seal is written
            keys: list[bytearray | None] = [packed[at:at + 33]
                                            for at in range(0, len(packed), 33)]
            if len(keys) == len(values):
                return keys
            each = iter(keys)
            return [None if value is None else next(each) for value in values]
    return [None if value is None else bytearray(pack_key(value)) for value in values]


COLUMN_PACKERS: dict[Callable[[Any], Any], Callable[[Sequence[Any]], list[Any]]] = {
    _pack_optional_key: pack_keys}
"""A bind processor with the function that processes a whole column as it processes
each value (a bulk insert's)."""
