"""The built-in sealer: HMAC-SHA256 with ``Settings.chain_key``."""

from __future__ import annotations

import hashlib
import hmac


class HmacSealer:
    """Seals chain heads with HMAC-SHA256 under a secret key; the key never leaves it."""

    def __init__(self, key: bytes) -> None:
        self._key = bytes(key)
        # HMAC's inner and outer hashes with the key absorbed (RFC 2104): a seal then
        # costs two hash copies, not a key schedule (an import seals a head a prospect)
        block = (self._key if len(self._key) <= 64 else hashlib.sha256(self._key).digest()
                 ).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def __repr__(self) -> str:
        return "HmacSealer(key=<hidden>)"

    def seal(self, message: bytes) -> str:
        inner, outer = self._inner.copy(), self._outer.copy()
        inner.update(message)
        outer.update(inner.digest())
        return outer.hexdigest()

    def verify(self, message: bytes, seal: str) -> bool:
        return hmac.compare_digest(self.seal(message), seal)
