"""Bulk import of prospects: streamed in batches, every row under the usual rules.

Each batch is one unit of work written with bulk statements. A bad row is
reported and skipped; it never costs the good rows around it. Memory stays
flat: only the current batch and the list of rejected rows are held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice

from attrs import frozen

from custmgmt.domain.audit import chain_entry
from custmgmt.domain.common import DomainEvent, Money, ProspectId, RegistrationId
from custmgmt.domain.prospects import GradingPolicy, IdentityKey, Profile, Prospect, Willingness
from custmgmt.errors import ClaimConflict, ValidationError
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.context import Context

COLUMNS = frozenset({
    "name", "phone", "email", "address", "organization", "credit_code", "industry",
    "source_channel", "needs", "willingness", "potential_value", "currency",
})


@frozen
class RejectedRow:
    """Why one input row was not imported. ``field`` is None for a conflict."""

    line: int
    field: str | None
    reason: str


@frozen
class ImportReport:
    """What a bulk import did: how many rows were imported, and each rejected row."""

    imported: int
    rejected: tuple[RejectedRow, ...]

    @property
    def total(self) -> int:
        """Rows read: imported plus rejected."""
        return self.imported + len(self.rejected)


@frozen
class Candidate:
    """A row that passed validation, waiting for its claim to be checked."""

    line: int
    profile: Profile
    willingness: Willingness
    value: Money


Progress = Callable[[int, int], None]
Parse = Callable[[Mapping[str, object]], tuple[Profile, Willingness, Money]]
Snapshot = Callable[[Prospect], dict[str, str]]
ReleaseLost = Callable[[UnitOfWork, Principal, Iterable[Prospect]], bool]
"""Releases lost prospects among the holders whose release is due; True if any was."""


def clean(row: object) -> dict[str, object]:
    """Check that ``row`` is a mapping of known columns; empty cells become None."""
    if not isinstance(row, Mapping):
        raise ValidationError("row", "must be a mapping of column name to value")
    unknown = sorted(str(k) for k in row if k not in COLUMNS)
    if unknown:
        raise ValidationError(unknown[0], "is not a known column")
    # CSV gives "" for an empty cell: that means "not given".
    return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in row.items()}


class ProspectImport:
    """One run of ``import_many``: registration ids are ``<import id>:<line>``."""

    def __init__(
        self, ctx: Context, policy: GradingPolicy, actor: Principal, parse: Parse,
        snapshot: Snapshot,
        keep_plans: Callable[[UnitOfWork, Sequence[Prospect], bool], None],
        release_lost: ReleaseLost | None = None,
    ) -> None:
        self._ctx, self._policy, self._actor = ctx, policy, actor
        self._parse, self._snapshot, self._keep_plans = parse, snapshot, keep_plans
        self._release_lost = release_lost
        self._import_id = ctx.ids.new_id("imp")
        self.imported = 0
        self.rejected: list[RejectedRow] = []

    def run(self, rows: Iterable[object], batch_size: int, first_line: int,
            on_progress: Progress | None) -> ImportReport:
        """Import ``rows`` in batches of ``batch_size``, numbering lines from ``first_line``."""
        numbered = enumerate(rows, start=first_line)
        while batch := list(islice(numbered, batch_size)):
            self._batch(batch)
            if on_progress is not None:
                on_progress(self.imported, len(self.rejected))
        return ImportReport(imported=self.imported, rejected=tuple(self.rejected))

    def _reject(self, line: int, field: str | None, reason: str) -> None:
        self.rejected.append(RejectedRow(line, field, reason))

    def _batch(self, batch: list[tuple[int, object]]) -> None:
        candidates: list[Candidate] = []
        for line, row in batch:
            try:
                profile, will, value = self._parse(clean(row))
            except ValidationError as error:
                self._reject(line, error.field, error.message)
                continue
            candidates.append(Candidate(line, profile, will, value))
        try:
            events = self._write(candidates)
        except ClaimConflict:
            # Someone registered one of these between our check and our write.
            events = [e for c in candidates for e in self._write_one(c)]
        for event in events:
            self._ctx.publish(event)

    def _conflict_reason(self, conflict: ClaimConflict) -> str:
        prefix = f"{self._import_id}:"
        if conflict.registration_id.startswith(prefix):
            line = conflict.registration_id.removeprefix(prefix)
            return f"duplicate of line {line} in this import"
        return (f"already registered by {conflict.owner_id} ({conflict.registration_id}, "
                f"{conflict.registered_at.isoformat()})")

    def _unclaimed(
        self, uow: UnitOfWork, who: Principal, candidates: list[Candidate]
    ) -> list[Candidate]:
        """Candidates whose keys nobody holds and no earlier row of the batch repeats."""
        keys = [k for c in candidates for k in c.profile.identity_keys]
        held = uow.prospects.holders_of(keys)
        if self._release_lost is not None and self._release_lost(uow, who, held.values()):
            held = uow.prospects.holders_of(keys)
        seen: dict[IdentityKey, int] = {}
        free: list[Candidate] = []
        for c in candidates:
            keys = sorted(c.profile.identity_keys, key=lambda k: (k.kind.value, k.value))
            holder = next((held[k] for k in keys if k in held), None)
            earlier = next((seen[k] for k in keys if k in seen), None)
            if holder is not None:
                self._reject(c.line, None, self._conflict_reason(holder.claim_conflict()))
            elif earlier is not None:
                self._reject(c.line, None, f"duplicate of line {earlier} in this import")
            else:
                free.append(c)
                seen.update(dict.fromkeys(keys, c.line))
        return free

    def _prospect(
        self, who: Principal, c: Candidate, now: datetime
    ) -> tuple[Prospect, tuple[DomainEvent, ...]]:
        return Prospect.register(
            id=ProspectId(self._ctx.ids.new_id("p")),
            registration_id=RegistrationId(f"{self._import_id}:{c.line}"),
            profile=c.profile, willingness=c.willingness, potential_value=c.value,
            owner_id=who.id, owner_team=who.team, policy=self._policy, at=now,
        )

    def _write(self, candidates: list[Candidate]) -> list[DomainEvent]:
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            # Grants as stored now, batch by batch: a revoke stops the rest of the import.
            who = self._ctx.authorize(uow, self._actor, Action.PROSPECT_REGISTER)
            rejected_before = len(self.rejected)
            try:
                free = self._unclaimed(uow, who, candidates)
                made = [self._prospect(who, c, now) for c in free]
                stored = uow.prospects.add_many([p for p, _ in made])
            except ClaimConflict:
                del self.rejected[rejected_before:]
                raise
            self._keep_plans(uow, stored, True)
            entries = [
                chain_entry(None, resource_kind="prospect", resource_id=p.id,
                            actor_id=who.id, action="register", at=now, before=None,
                            after=self._snapshot(p))
                for p in stored
            ]
            uow.audit.append_many(entries)
            for entry in entries:
                self._ctx.seal_audit(uow, entry)
            events = [e for _, evs in made for e in evs]
            uow.events.append_many(events)
            uow.commit()
        self.imported += len(stored)
        return events

    def _write_one(self, candidate: Candidate) -> Sequence[DomainEvent]:
        try:
            return self._write([candidate])
        except ClaimConflict as conflict:
            self._reject(candidate.line, None, self._conflict_reason(conflict))
            return ()

