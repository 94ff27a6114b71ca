"""The hashes custmgmt 0.1.0 wrote, so that its chains still verify after an upgrade.

Release 0.1.0 hashed custody events and audit entries over JSON built by other
rules than ``domain.integrity``'s canonical form (Decimals by ``str``, instants
by ``isoformat`` as read, no form tag). A chain or trail it wrote is therefore
accepted in that old form, but only as a *prefix*: once a record in the
canonical form appears, every later record must be in it too, so nothing new
can be written the old way. Both forms cover every field of the record and its
link to the record before it.

A custody event written by 0.1.0 carries no record digest (``record == ""``):
for a sample whose newest event is that old, ``verify_chain`` compares the
fields the events replay to (state, quantities, custodian, location), not the
whole sample record. The first custody event written after the upgrade covers
the whole record again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the record modules ask this one: no import back at run time
    from custmgmt.domain.audit import AuditEntry
    from custmgmt.domain.samples import CustodyEvent


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def custody_event_hash(event: CustodyEvent) -> str:
    """The hash 0.1.0 gave ``event``: its converter's JSON of every field, hash empty."""
    body = {
        "sample_id": event.sample_id, "sequence": event.sequence, "kind": event.kind.value,
        "at": _at(event.at), "actor_id": event.actor_id, "custodian": event.custodian,
        "location": event.location, "in_storage": str(event.in_storage),
        "checked_out": str(event.checked_out), "consumed": str(event.consumed),
        "disposed": str(event.disposed), "details": [list(pair) for pair in event.details],
        "previous_hash": event.previous_hash, "hash": "",
    }
    data = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def audit_entry_hash(entry: AuditEntry) -> str:
    """The hash 0.1.0 gave ``entry``."""
    body = {
        "resource_kind": entry.resource_kind, "resource_id": entry.resource_id,
        "sequence": entry.sequence, "actor_id": entry.actor_id, "action": entry.action,
        "at": _at(entry.at), "before": [list(p) for p in entry.before],
        "after": [list(p) for p in entry.after], "previous_hash": entry.previous_hash,
    }
    data = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def custody_prefix(events: Sequence[CustodyEvent]) -> int:
    """How many events at the start 0.1.0 wrote (no record digest, its old hash)."""
    count = 0
    for event in events:
        if event.record != "" or custody_event_hash(event) != event.hash:
            break
        count += 1
    return count


def audit_prefix(entries: Sequence[AuditEntry]) -> int:
    """How many entries at the start of a trail 0.1.0 wrote (its old hash)."""
    count = 0
    for entry in entries:
        if audit_entry_hash(entry) != entry.hash:
            break
        count += 1
    return count
