"""Audit entries: an append-only, hash-chained trail per resource.

Entries hold no personal data in clear: ``before`` and ``after`` carry only
business facts (grade, stage, owner id, version), never names or contacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote

from attrs import field, frozen

from custmgmt.domain import legacy_hashes
from custmgmt.domain.integrity import (
    AUDIT_ENTRY,
    FORM,
    GENESIS,
    ChainHead,
    canonical_json,
    sha256_hex,
)
from custmgmt.domain.validation import aware, text

__all__ = ["GENESIS", "IMPORT_KIND", "AuditEntry", "broken_link", "chain_entry",
           "claimed_origin", "import_entry", "named"]


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
        byte): a verify hashes every entry of a trail."""
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
    return "[" + ",".join([f"[{_quote(name)},{_quote(value)}]" for name, value in pairs]) + "]"


def text_pairs(items: tuple[object, ...]) -> bool:
    """Whether every item is a (name, value) pair of exact ``str``, as a snapshot is:
    such pairs are equal exactly when their text is."""
    for pair in items:
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str \
                or type(pair[1]) is not str:
            return False
    return True


_last_instant: tuple[datetime | None, str] = (None, "")
"""The instant last written and its text (a verify reads many entries of one instant)."""


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
    origin: str = GENESIS,
) -> AuditEntry:
    """The next entry of a resource's trail, linked to ``previous`` by its hash; the
    first links to ``origin``: ``GENESIS``, or the import entry the trail continues."""
    return _linked(
        0 if previous is None else previous.sequence + 1,
        origin if previous is None else previous.hash,
        resource_kind=resource_kind, resource_id=resource_id, actor_id=actor_id,
        action=action, at=at, before=before, after=after)


def _linked(
    sequence: int, previous_hash: str, *, resource_kind: str, resource_id: str,
    actor_id: str, action: str, at: datetime, before: dict[str, str] | None,
    after: dict[str, str] | None,
) -> AuditEntry:
    draft = AuditEntry(
        resource_kind=resource_kind, resource_id=resource_id, sequence=sequence,
        actor_id=actor_id, action=action, at=at,
        before=tuple(sorted((before or {}).items())),
        after=tuple(sorted((after or {}).items())),
        previous_hash=previous_hash,
    )
    # The draft is ours alone until returned: set its hash in place rather than build
    # and validate a second entry.
    object.__setattr__(draft, "hash", draft.computed_hash())
    return draft


IMPORT_KIND = "prospect_import"
"""The resource kind of an import's trail: one entry a batch, naming its prospects."""

_NAMED = "prospects"


def import_entry(
    head: ChainHead | None, *, import_id: str, prospect_ids: Sequence[str],
    actor_id: str, at: datetime,
) -> AuditEntry:
    """The entry of one import batch: who registered ``prospect_ids``, and when; the
    next of the import's trail, whose ``head`` (None: no batch yet) it links to.

    Each prospect's own trail starts from this entry's hash (its first change links to
    it), so one entry stands for the first entry of a thousand trails."""
    return _linked(
        0 if head is None else head.length, GENESIS if head is None else head.head_hash,
        resource_kind=IMPORT_KIND, resource_id=import_id, actor_id=actor_id,
        action="register", at=at, before=None, after={_NAMED: " ".join(prospect_ids)})


def claimed_origin(trail: Sequence[AuditEntry], head: ChainHead | None) -> str:
    """The hash a trail says it starts from: its first entry's link, or with no entry
    the hash its head (of length 0) holds; ``GENESIS`` for a trail of its own. Only an
    imported prospect's trail claims another: its import batch's entry."""
    if trail:
        return trail[0].previous_hash
    if head is not None and head.length == 0:
        return head.head_hash
    return GENESIS


def named(entry: AuditEntry) -> frozenset[str]:
    """The ids an import batch's entry names (none for an entry of another kind)."""
    if entry.resource_kind != IMPORT_KIND:
        return frozenset()
    return frozenset(dict(entry.after).get(_NAMED, "").split(" ")) - {""}


def broken_link(entries: list[AuditEntry], origin: str = GENESIS) -> int | None:
    """Index of the first entry whose hash or link does not hold, or None if all do;
    the first entry links to ``origin``."""
    previous_hash = origin
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
