"""Audit entries: an append-only, hash-chained trail per resource.

Entries hold no personal data in clear: ``before`` and ``after`` carry only
business facts (grade, stage, owner id, version), never names or contacts.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from attrs import field, frozen

from custmgmt.domain.validation import aware, text

GENESIS = "0" * 64


@frozen(kw_only=True)
class AuditEntry:
    """Who did what to which resource, when, and how it looked before and after."""

    resource_kind: str = field(validator=text(50))
    resource_id: str = field(validator=text(100))
    sequence: int
    actor_id: str = field(validator=text(200))
    action: str = field(validator=text(100))
    at: datetime = field(validator=aware)
    before: tuple[tuple[str, str], ...] = ()
    after: tuple[tuple[str, str], ...] = ()
    previous_hash: str = GENESIS
    hash: str = ""

    def canonical(self) -> bytes:
        return _canonical(self.resource_kind, self.resource_id, self.sequence, self.actor_id,
                          self.action, self.at, self.before, self.after, self.previous_hash)

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def chain_entry(
    previous: AuditEntry | None,
    *,
    resource_kind: str,
    resource_id: str,
    actor_id: str,
    action: str,
    at: datetime,
    before: dict[str, str] | None = None,
    after: dict[str, str] | None = None,
) -> AuditEntry:
    """The next entry of a resource's trail, linked to ``previous`` by its hash."""
    sequence = 0 if previous is None else previous.sequence + 1
    previous_hash = GENESIS if previous is None else previous.hash
    before_pairs = tuple(sorted((before or {}).items()))
    after_pairs = tuple(sorted((after or {}).items()))
    digest = hashlib.sha256(_canonical(resource_kind, resource_id, sequence, actor_id, action,
                                       at, before_pairs, after_pairs, previous_hash))
    return AuditEntry(
        resource_kind=resource_kind, resource_id=resource_id, sequence=sequence,
        actor_id=actor_id, action=action, at=at, before=before_pairs, after=after_pairs,
        previous_hash=previous_hash, hash=digest.hexdigest(),
    )


def _canonical(
    resource_kind: str, resource_id: str, sequence: int, actor_id: str, action: str,
    at: datetime, before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...],
    previous_hash: str,
) -> bytes:
    body = {
        "resource_kind": resource_kind,
        "resource_id": resource_id,
        "sequence": sequence,
        "actor_id": actor_id,
        "action": action,
        "at": at.isoformat(),
        "before": [list(p) for p in before],
        "after": [list(p) for p in after],
        "previous_hash": previous_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False).encode()


def broken_link(entries: list[AuditEntry]) -> int | None:
    """Index of the first entry whose hash or link does not hold, or None if all do."""
    previous_hash = GENESIS
    for index, entry in enumerate(entries):
        if (
            entry.sequence != index
            or entry.previous_hash != previous_hash
            or entry.hash != entry.computed_hash()
        ):
            return index
        previous_hash = entry.hash
    return None
