"""The built-in sealer: HMAC-SHA256 with ``Settings.chain_key``."""

from __future__ import annotations

import hashlib
import hmac


class HmacSealer:
    """Seals chain heads with HMAC-SHA256 under a secret key; the key never leaves it."""

    def __init__(self, key: bytes) -> None:
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "HmacSealer(key=<hidden>)"

    def seal(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, seal: str) -> bool:
        return hmac.compare_digest(self.seal(message), seal)
