"""The built-in sealer is HMAC-SHA256 under its key, whatever the key's length."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.sealing import HmacSealer


@pytest.mark.parametrize("size", [1, 16, 32, 63, 64, 65, 200])
def test_a_seal_is_the_hmac_sha256_of_the_message(size: int) -> None:
    key = bytes(range(256))[:size]
    sealer = HmacSealer(key)
    for message in (b"", b"head", b"\x00" * 1000):
        expected = hmac.new(key, message, hashlib.sha256).hexdigest()
        assert sealer.seal(message) == expected
        assert sealer.verify(message, expected)
        assert not sealer.verify(message + b"!", expected)


@given(key=st.binary(min_size=1, max_size=300), message=st.binary(max_size=300))
def test_seals_match_the_standard_library_and_repeat(key: bytes, message: bytes) -> None:
    sealer = HmacSealer(key)
    first = sealer.seal(message)
    assert first == hmac.new(key, message, hashlib.sha256).hexdigest() == sealer.seal(message)


def test_the_key_never_shows() -> None:
    assert repr(HmacSealer(b"secret key 123456")) == "HmacSealer(key=<hidden>)"
