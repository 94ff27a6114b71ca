"""The SQL prospect repository: rows, identity keys, history, and their queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.reach import reach_clause
from custmgmt.adapters.sql.tables import (
    ProspectHistoryRow,
    ProspectKeyRow,
    ProspectRow,
    table_of,
)
from custmgmt.adapters.sql.translate import (
    history_values,
    prospect_values,
    to_prospect,
)
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.common import ProspectId
from custmgmt.domain.prospects import (
    Grade,
    IdentityKey,
    KeyKind,
    Prospect,
    Stage,
    earliest_claim,
)
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import ProspectQuery

# Statements built once: per-call construction of ORM DML dominated bulk imports.
INSERT_PROSPECT = insert(table_of(ProspectRow))
INSERT_KEY = insert(table_of(ProspectKeyRow))
INSERT_HISTORY = insert(table_of(ProspectHistoryRow))


class SqlProspects:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _load(self, rows: Sequence[ProspectRow]) -> list[Prospect]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        history: dict[str, list[ProspectHistoryRow]] = {pid: [] for pid in ids}
        for h in self._s.scalars(
            select(ProspectHistoryRow).where(ProspectHistoryRow.prospect_id.in_(ids))
            .execution_options(populate_existing=True)
        ):
            history[h.prospect_id].append(h)
        return [to_prospect(r, history[r.id]) for r in rows]

    def _row(self, prospect_id: str) -> ProspectRow | None:
        return self._s.scalars(
            select(ProspectRow).where(ProspectRow.id == prospect_id)
            .execution_options(populate_existing=True)
        ).one_or_none()

    def get(self, prospect_id: ProspectId) -> Prospect:
        row = self._row(prospect_id)
        if row is None:
            raise NotFound("prospect", prospect_id)
        return self._load([row])[0]

    def add(self, prospect: Prospect) -> Prospect:
        """Insert row and keys under one savepoint: a refused claim leaves no trace,
        so a bulk import can carry on with the rest of its batch."""
        stored = attrs.evolve(prospect, version=1)
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_PROSPECT, [prospect_values(stored)])
                self._insert_keys([stored])
        except IntegrityError:
            self._raise_conflict(stored)
            raise ConcurrencyError(f"prospect {prospect.id!r} already exists") from None
        self._append_history(stored, 0)
        return stored

    def update(self, prospect: Prospect) -> Prospect:
        stored = attrs.evolve(prospect, version=prospect.version + 1)
        versioned_update(self._s, ProspectRow, {"id": prospect.id}, prospect.version,
                         prospect_values(stored), "prospect")
        self._s.execute(delete(ProspectKeyRow).where(ProspectKeyRow.prospect_id == prospect.id))
        self._claim(stored)
        known = self._s.scalar(select(func.count()).select_from(ProspectHistoryRow).where(
            ProspectHistoryRow.prospect_id == prospect.id)) or 0
        self._append_history(stored, known)
        return stored

    def _insert_keys(self, prospects: Sequence[Prospect]) -> None:
        keys = [
            {"kind": k.kind.value, "value": k.value, "prospect_id": p.id}
            for p in prospects
            for k in sorted(p.active_keys, key=lambda k: (k.kind.value, k.value))
        ]
        if keys:
            self._s.execute(INSERT_KEY, keys)

    def add_many(self, prospects: Sequence[Prospect]) -> Sequence[Prospect]:
        """All or nothing: if one key is held (or repeated), ClaimConflict and none stored."""
        stored = [attrs.evolve(p, version=1) for p in prospects]
        if not stored:
            return stored
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_PROSPECT, [prospect_values(p) for p in stored])
                self._insert_keys(stored)
        except IntegrityError:
            self._raise_batch_conflict(stored)
            raise ConcurrencyError("a prospect in the batch already exists") from None
        self._s.execute(INSERT_HISTORY, [
            history_values(p.id, i, entry) for p in stored for i, entry in enumerate(p.history)
        ])
        return stored

    def holders_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, Prospect]:
        by_kind: dict[KeyKind, list[str]] = {}
        for key in set(keys):
            by_kind.setdefault(key.kind, []).append(key.value)
        found: dict[IdentityKey, str] = {}
        for kind, values in by_kind.items():
            values.sort()
            for start in range(0, len(values), 500):
                # kind = ? AND value IN (...) walks the (kind, value) primary key.
                for value, prospect_id in self._s.execute(
                    select(ProspectKeyRow.value, ProspectKeyRow.prospect_id).where(
                        ProspectKeyRow.kind == kind.value,
                        ProspectKeyRow.value.in_(values[start:start + 500]))
                ):
                    found[IdentityKey(kind, value)] = prospect_id
        if not found:
            return {}
        rows = self._s.scalars(select(ProspectRow).where(ProspectRow.id.in_(set(found.values())))
                               .execution_options(populate_existing=True)).all()
        by_id: dict[str, Prospect] = {p.id: p for p in self._load(rows)}
        return {key: by_id[pid] for key, pid in found.items()}

    def _raise_batch_conflict(self, batch: Sequence[Prospect]) -> None:
        """The batch was refused: name a key held outside it, or repeated inside it."""
        first_with: dict[IdentityKey, Prospect] = {}
        for prospect in batch:
            self._raise_conflict(prospect)
            for key in prospect.active_keys:
                if key in first_with:
                    raise first_with[key].claim_conflict(key)
                first_with[key] = prospect

    def _raise_conflict(self, prospect: Prospect) -> None:
        """If another prospect holds one of ``prospect``'s keys, raise ClaimConflict."""
        others = {key: holder for key, holder in self.holders_of(prospect.active_keys).items()
                  if holder.id != prospect.id}
        held = earliest_claim(others)
        if held is not None:
            raise held[0].claim_conflict(held[1])

    def _claim(self, prospect: Prospect) -> None:
        """Insert the active keys; the primary key refuses one someone else holds."""
        try:
            with self._s.begin_nested():
                self._insert_keys([prospect])
        except IntegrityError:
            self._raise_conflict(prospect)
            raise ConcurrencyError("identity keys changed meanwhile") from None

    def _append_history(self, prospect: Prospect, known: int) -> None:
        new = prospect.history[known:]
        if new:
            self._s.execute(INSERT_HISTORY, [
                history_values(prospect.id, known + i, entry) for i, entry in enumerate(new)
            ])

    def _where(self, query: ProspectQuery) -> list[ColumnElement[bool]]:
        clauses = reach_clause(query.reach, ProspectRow.owner_id, ProspectRow.owner_team)
        if query.registration_active is not None:
            clauses.append(ProspectRow.registration_active.is_(query.registration_active))
        if query.registered_from is not None:
            clauses.append(ProspectRow.registered_at >= query.registered_from)
        if query.registered_before is not None:
            clauses.append(ProspectRow.registered_at < query.registered_before)
        if query.owner is not None:
            clauses.append(ProspectRow.owner_id == query.owner)
        if query.team is not None:
            clauses.append(ProspectRow.owner_team == query.team)
        if query.grade is not None:
            clauses.append(ProspectRow.grade == query.grade.value)
        if query.stage is not None:
            clauses.append(ProspectRow.stage == query.stage.value)
        if query.customer_id is not None:
            clauses.append(ProspectRow.customer_id == query.customer_id)
        return clauses

    def find(self, query: ProspectQuery) -> Sequence[Prospect]:
        statement = select(ProspectRow).where(*self._where(query))
        if query.after is not None:
            at, pid = query.after
            statement = statement.where(or_(
                ProspectRow.registered_at > at,
                and_(ProspectRow.registered_at == at, ProspectRow.id > pid),
            ))
        statement = statement.order_by(ProspectRow.registered_at, ProspectRow.id)
        rows = self._s.scalars(
            statement.limit(query.limit).execution_options(populate_existing=True)).all()
        return self._load(rows)

    def count_by_grade_and_stage(self, query: ProspectQuery) -> dict[tuple[Grade, Stage], int]:
        rows = self._s.execute(
            select(ProspectRow.grade, ProspectRow.stage, func.count())
            .where(*self._where(query))
            .group_by(ProspectRow.grade, ProspectRow.stage)
        ).all()
        return {(Grade(g), Stage(s)): n for g, s, n in rows}
