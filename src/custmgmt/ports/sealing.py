"""The seal on a chain's head: a keyed MAC, or a notary / KMS that a plugin offers.

custmgmt asks for a seal each time a chain grows (a custody event, an audit
entry) and checks it in ``verify_chain`` and ``app.audit.verify``. The secret
must live outside the database: whoever can write the database but does not
hold it cannot cut a chain short or re-hash it without the seal failing.
"""

from __future__ import annotations

from typing import Protocol


class Sealer(Protocol):
    """Seals chain heads. ``message`` is the canonical head (chain, id, length, hash)."""

    def seal(self, message: bytes) -> str:
        """A seal over ``message`` (1 to 200 printable characters), e.g. a hex HMAC. A seal
        vouches for the message, not for its being stored: the heads of an import
        batch are sealed before its rows are written, and a batch refused for a held
        key is sealed again when it is written without that row."""
        ...

    def verify(self, message: bytes, seal: str) -> bool:
        """True if ``seal`` was made over ``message`` with this sealer's secret."""
        ...
