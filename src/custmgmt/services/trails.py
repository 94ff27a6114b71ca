"""Where a resource's audit trail starts: nowhere (``GENESIS``), or its import's entry.

A prospect registered by ``import_many`` has no entry of its own until it first
changes: the entry of its import batch (kind ``prospect_import``) names it, and its
trail's head (length 0) holds that entry's hash; its first own entry links to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from custmgmt.domain.audit import AuditEntry, claimed_origin, named
from custmgmt.domain.integrity import GENESIS, ChainHead
from custmgmt.errors import IntegrityError
from custmgmt.ports.storage import UnitOfWork


class ImportEntries:
    """Import batch entries found by hash, each read and checked once: a batch entry
    stands at the start of as many trails as it names (``seal_heads`` walks them all)."""

    def __init__(self) -> None:
        self._found: dict[str, tuple[AuditEntry, frozenset[str]] | None] = {}

    def naming(self, uow: UnitOfWork, entry_hash: str, resource_id: str) -> AuditEntry | None:
        """The intact import entry whose hash is ``entry_hash``, if it names
        ``resource_id``."""
        if entry_hash not in self._found:
            entry = uow.audit.import_entry(entry_hash)
            intact = entry is not None and entry.computed_hash() == entry_hash
            self._found[entry_hash] = (entry, named(entry)) if entry and intact else None
        found = self._found[entry_hash]
        return found[0] if found is not None and resource_id in found[1] else None

    def start_of(
        self, uow: UnitOfWork, resource_id: str, trail: Sequence[AuditEntry],
        head: ChainHead | None,
    ) -> AuditEntry | None:
        """The import entry ``trail`` continues (``claimed_origin``), if it is intact
        and names ``resource_id``."""
        claimed = claimed_origin(trail, head)
        return None if claimed == GENESIS else self.naming(uow, claimed, resource_id)

    def origin(
        self, uow: UnitOfWork, resource_id: str, trail: Sequence[AuditEntry],
        head: ChainHead | None, what: str,
    ) -> str:
        """The hash ``trail``'s first entry must link to: its import entry's, or
        ``GENESIS``. IntegrityError when there is no entry and the head starts from an
        import entry that is missing, edited or does not name the resource."""
        entry = self.start_of(uow, resource_id, trail, head)
        if entry is not None:
            return entry.hash
        if not trail and head is not None and head.length == 0:
            raise IntegrityError(f"{what}: the import entry its trail starts from is "
                                 "missing, edited, or does not name it")
        return GENESIS
