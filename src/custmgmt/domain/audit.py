"""Audit entries: an append-only, hash-chained trail per resource.

Entries hold no personal data in clear: ``before`` and ``after`` carry only
business facts (grade, stage, owner id, version), never names or contacts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote
from typing import Any

from attrs import field, frozen

from custmgmt.domain import legacy_hashes
from custmgmt.domain.integrity import AUDIT_ENTRY, FORM, GENESIS, canonical_json, sha256_hex
from custmgmt.domain.validation import aware, plain_text, text, unchecked, utc_instant

__all__ = ["GENESIS", "AuditEntry", "broken_link", "chain_entry", "first_entries"]


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

    def computed_hash(self) -> str:
        """SHA-256 of the entry's canonical bytes (``domain.integrity``), its hash aside.

        The canonical form written out for this one record type (what
        ``integrity.record_hash`` builds generically; a test checks they agree byte for
        byte): a bulk import hashes one entry per row."""
        text = _canonical_text(self)
        if text is None:  # a field of an unusual type: the generic form decides
            record = {
                "resource_kind": self.resource_kind, "resource_id": self.resource_id,
                "sequence": self.sequence, "actor_id": self.actor_id, "action": self.action,
                "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
                "before": [list(pair) for pair in self.before],
                "after": [list(pair) for pair in self.after],
                "previous_hash": self.previous_hash,
            }
            text = canonical_json({"form": FORM, "tag": AUDIT_ENTRY, "record": record})
        return sha256_hex(text.encode("utf-8"))


_PREFIX = '{"form":' + _quote(FORM) + ',"record":{"action":'
_SUFFIX = '},"tag":' + _quote(AUDIT_ENTRY) + "}"


def _pairs(pairs: object) -> str | None:
    """``[["name","value"],...]`` as ``canonical_json`` writes it, or None unless every
    item is a pair of plain strings."""
    if type(pairs) is not tuple or not text_pairs(pairs):
        return None
    known = _written_pairs.get(pairs)  # an import's snapshots repeat: each written once
    if known is not None:
        return known
    text = "[" + ",".join([f"[{_quote(name)},{_quote(value)}]" for name, value in pairs]) + "]"
    if len(_written_pairs) >= _PAIRS_KEPT:
        _written_pairs.clear()
    _written_pairs[pairs] = text
    return text


def text_pairs(items: tuple[object, ...]) -> bool:
    """Whether every item is a (name, value) pair of exact ``str``, as a snapshot is:
    such pairs are equal exactly when their text is."""
    for pair in items:
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str \
                or type(pair[1]) is not str:
            return False
    return True


_PAIRS_KEPT = 1024
_written_pairs: dict[tuple[tuple[str, str], ...], str] = {}
"""Pairs of exact ``str`` already written, by value (bounded: cleared when full); equal
pairs of exact strings are written the same."""


_last_instant: tuple[datetime | None, str] = (None, "")
"""The instant last written and its text (an import writes one instant per batch)."""


def _instant(at: datetime) -> str:
    global _last_instant  # noqa: PLW0603 (a one-entry cache: swapped whole, thread-safe)
    last = _last_instant
    if last[0] is at:
        return last[1]
    text = _quote(at.astimezone(UTC).isoformat(timespec="microseconds"))
    _last_instant = (at, text)
    return text


def _canonical_text(entry: AuditEntry) -> str | None:
    """The canonical JSON of ``entry`` (keys sorted, compact, not ASCII-escaped), written
    directly for plain field values; None for anything else (a bool sequence, a str
    subclass...), which ``canonical_json`` then writes."""
    action, actor, previous = entry.action, entry.actor_id, entry.previous_hash
    rid, kind, sequence, at = entry.resource_id, entry.resource_kind, entry.sequence, entry.at
    if not (type(action) is str and type(actor) is str and type(previous) is str
            and type(rid) is str and type(kind) is str and type(sequence) is int
            and type(at) is datetime):
        return None
    before, after = _pairs(entry.before), _pairs(entry.after)
    if before is None or after is None:
        return None
    return (f"{_PREFIX}{_quote(action)},\"actor_id\":{_quote(actor)},"
            f"\"after\":{after},\"at\":{_instant(at)},\"before\":{before},"
            f"\"previous_hash\":{_quote(previous)},\"resource_id\":{_quote(rid)},"
            f"\"resource_kind\":{_quote(kind)},\"sequence\":{int.__repr__(sequence)}"
            f"{_SUFFIX}")


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
    draft = AuditEntry(
        resource_kind=resource_kind, resource_id=resource_id,
        sequence=0 if previous is None else previous.sequence + 1,
        actor_id=actor_id, action=action, at=at,
        before=tuple(sorted((before or {}).items())),
        after=tuple(sorted((after or {}).items())),
        previous_hash=GENESIS if previous is None else previous.hash,
    )
    # The draft is ours alone until returned: set its hash in place rather than build
    # and validate a second entry (an import makes one per row).
    object.__setattr__(draft, "hash", draft.computed_hash())
    return draft


_new_entry = unchecked(AuditEntry)


def first_entries(
    *,
    resource_kind: str,
    resource_ids: Sequence[str],
    actor_id: str,
    action: str,
    at: datetime,
    afters: Sequence[dict[str, str]],
) -> list[AuditEntry]:
    """The first entry of each of many new trails, by one actor at one instant:
    ``[chain_entry(None, resource_kind=resource_kind, resource_id=i, actor_id=actor_id,
    action=action, at=at, before=None, after=a) for i, a in zip(resource_ids, afters)]``,
    equal entry for entry, made for a bulk import.

    The fields all entries share are checked once, each snapshot written once (the same
    mapping given for many rows is sorted and written once), and each entry's canonical
    text is that shared text with its resource id put in, hashed; an entry any part of
    which is unusual is made by ``chain_entry`` itself."""
    afters = list(afters)  # held while ids stand for them (a Sequence may make them anew)
    if len(resource_ids) != len(afters):
        raise ValueError("one snapshot per resource id")
    if not (plain_text(resource_kind, 50) and plain_text(actor_id, 200)
            and plain_text(action, 100) and utc_instant(at)):
        return [chain_entry(None, resource_kind=resource_kind, resource_id=rid,
                            actor_id=actor_id, action=action, at=at, before=None, after=after)
                for rid, after in zip(resource_ids, afters, strict=True)]
    # By the snapshot mapping's identity (the list keeps each alive meanwhile): its
    # sorted pairs, and a SHA-256 that has read the canonical text up to the resource id.
    started: dict[int, tuple[tuple[tuple[str, str], ...], Any] | None] = {}
    head = f"{_PREFIX}{_quote(action)},\"actor_id\":{_quote(actor_id)},\"after\":"
    middle = (f",\"at\":{_instant(at)},\"before\":[],\"previous_hash\":{_quote(GENESIS)},"
              "\"resource_id\":")
    tail = f",\"resource_kind\":{_quote(resource_kind)},\"sequence\":0{_SUFFIX}"
    make = _new_entry
    entries: list[AuditEntry] = []
    for rid, after in zip(resource_ids, afters, strict=True):
        if id(after) in started:
            known = started[id(after)]
        else:
            pairs = tuple(sorted(after.items())) if type(after) is dict else None
            text = None if pairs is None else _pairs(pairs)
            known = started[id(after)] = None if pairs is None or text is None else (
                pairs, hashlib.sha256(f"{head}{text}{middle}".encode()))
        if known is None or not plain_text(rid, 100):
            entries.append(chain_entry(None, resource_kind=resource_kind, resource_id=rid,
                                       actor_id=actor_id, action=action, at=at,
                                       before=None, after=after))
            continue
        digest = known[1].copy()
        digest.update(f"{_quote(rid)}{tail}".encode())
        entries.append(make(
            resource_kind=resource_kind, resource_id=rid, sequence=0, actor_id=actor_id,
            action=action, at=at, before=(), after=known[0], previous_hash=GENESIS,
            hash=digest.hexdigest()))
    return entries


def broken_link(entries: list[AuditEntry]) -> int | None:
    """Index of the first entry whose hash or link does not hold, or None if all do."""
    previous_hash = GENESIS
    written_by_0_1 = legacy_hashes.audit_prefix(entries)
    for index, entry in enumerate(entries):
        if (
            entry.sequence != index
            or entry.previous_hash != previous_hash
            or (index >= written_by_0_1 and entry.hash != entry.computed_hash())
        ):
            return index
        previous_hash = entry.hash
    return None
