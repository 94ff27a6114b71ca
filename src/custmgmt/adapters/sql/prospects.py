"""The SQL prospect repository: rows, identity keys, history, and their queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.driver import (
    FEW_KEYS,
    driver_execute,
    driver_insert,
    driver_key_holders,
    insert_rows,
    key_holders,
)
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
from custmgmt.domain.identity import IdentityKey, KeyKind
from custmgmt.domain.prospects import PIPELINE, ChangeKind, Grade, Prospect, Stage, earliest_claim
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import ProspectQuery

# Statements built once: per-call construction of ORM DML dominated bulk imports.
PROSPECTS, KEYS, HISTORY = (table_of(ProspectRow), table_of(ProspectKeyRow),
                            table_of(ProspectHistoryRow))
INSERT_PROSPECT = insert(PROSPECTS)
INSERT_KEY = insert(KEYS)
INSERT_HISTORY = insert(HISTORY)
FORGET = delete(PROSPECTS).where(PROSPECTS.c.id == bindparam("id"))


def _key_rows(held: Sequence[tuple[str, frozenset[IdentityKey]]]) -> list[dict[str, str]]:
    return [
        {"kind": k.kind.value, "value": k.value, "prospect_id": prospect_id}
        for prospect_id, keys in held
        for k in sorted(keys, key=lambda k: (k.kind.value, k.value))
    ]


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

    def add(self, prospect: Prospect, keys: frozenset[IdentityKey]) -> Prospect:
        """Insert row, keys and history on the driver. A refused claim leaves no trace (so
        a bulk import can carry on with the rest of its batch) without a savepoint: rows
        that would break a unique key are skipped (ON CONFLICT DO NOTHING), which fails
        no statement, and a prospect whose keys did not all go in is deleted again."""
        stored = attrs.evolve(prospect, version=1)
        if not insert_rows(self._s, PROSPECTS, [prospect_values(stored)],
                             skip_conflicts=True):
            self._raise_conflict(stored.id, keys)
            raise ConcurrencyError(f"prospect {prospect.id!r} already exists")
        rows = _key_rows([(stored.id, keys)])
        if insert_rows(self._s, KEYS, rows, skip_conflicts=True) != len(rows):
            driver_execute(self._s, FORGET, {"id": stored.id})  # its keys go with it
            self._raise_conflict(stored.id, keys)
            raise ConcurrencyError(f"prospect {prospect.id!r} already exists")
        insert_rows(self._s, HISTORY, [history_values(stored.id, i, entry)
                                         for i, entry in enumerate(stored.history)])
        return stored

    def update(
        self, prospect: Prospect, keys: frozenset[IdentityKey] | None = None
    ) -> Prospect:
        stored = attrs.evolve(prospect, version=prospect.version + 1)
        versioned_update(self._s, ProspectRow, {"id": prospect.id}, prospect.version,
                         prospect_values(stored), "prospect")
        if keys is not None:
            self._s.execute(delete(ProspectKeyRow).where(
                ProspectKeyRow.prospect_id == prospect.id))
            self._claim(stored.id, keys)
        known = self._s.scalar(select(func.count()).select_from(ProspectHistoryRow).where(
            ProspectHistoryRow.prospect_id == prospect.id)) or 0
        self._append_history(stored, known)
        return stored

    def _insert_keys(self, held: Sequence[tuple[str, frozenset[IdentityKey]]]) -> None:
        rows = _key_rows(held)
        if rows:
            self._s.execute(INSERT_KEY, rows)

    def add_many(
        self, prospects: Sequence[Prospect], keys: Sequence[frozenset[IdentityKey]]
    ) -> Sequence[Prospect]:
        """All or nothing: if one key is held (or repeated), ClaimConflict and none stored."""
        if len(prospects) != len(keys):
            raise ValueError("one set of keys per prospect")
        stored = [p.at_version(1) for p in prospects]
        if not stored:
            return stored
        held = [(p.id, k) for p, k in zip(stored, keys, strict=True)]
        # Before this batch's inserts, so that an import waiting for another's ANALYZE
        # holds no key the other may be waiting for.
        self._refresh_statistics()
        # On the driver's cursor: one executemany (SQLite) or COPY (PostgreSQL) per table.
        try:
            with self._s.begin_nested():
                driver_insert(self._s, PROSPECTS, [prospect_values(p) for p in stored])
                driver_insert(self._s, KEYS, [
                    {"kind": k.kind.value, "value": k.value, "prospect_id": pid}
                    for pid, ks in held for k in ks])
        except IntegrityError:
            self._raise_batch_conflict(held, {p.id: p for p in stored})
            raise ConcurrencyError("a prospect in the batch already exists") from None
        driver_insert(self._s, HISTORY, [
            history_values(p.id, i, entry) for p in stored for i, entry in enumerate(p.history)
        ])
        return stored

    def _refresh_statistics(self) -> None:
        """PostgreSQL plans the duplicate-key check from table statistics. While a bulk
        import fills new tables they go stale, and the planner then reads every key of a
        kind for each batch (quadratic). ANALYZE the tables a batch writes whenever the
        key table has doubled since its statistics were taken (a few times per import)."""
        if self._s.get_bind().dialect.name != "postgresql":
            return
        pages, analyzed = self._s.execute(text(
            "SELECT pg_relation_size(oid) / 8192, relpages FROM pg_class "
            "WHERE oid = CAST(:name AS regclass)"), {"name": KEYS.name}).one()
        if pages > 2 * analyzed + 8:
            self._s.execute(text(f"ANALYZE {KEYS.name}, {PROSPECTS.name}"))

    def holders_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, Prospect]:
        wanted = set(keys)
        found: dict[IdentityKey, str] = {}
        if len(wanted) <= FEW_KEYS:  # a single registration: one statement on the driver
            if wanted:
                found = {IdentityKey(KeyKind(kind), value): holder for kind, value, holder in
                         key_holders(self._s, KEYS, "prospect_id",
                                     [(k.kind.value, k.value) for k in wanted])}
            return self._holders(found)
        by_kind: dict[KeyKind, list[str]] = {}
        for key in wanted:
            by_kind.setdefault(key.kind, []).append(key.value)
        for kind, values in by_kind.items():
            values.sort()
            # kind = ? AND value IN (...) walks the (kind, value) primary key.
            for value, prospect_id in driver_key_holders(self._s, KEYS, "prospect_id",
                                                         kind.value, values):
                found[IdentityKey(kind, value)] = prospect_id
        return self._holders(found)

    def _holders(self, found: Mapping[IdentityKey, str]) -> dict[IdentityKey, Prospect]:
        if not found:
            return {}
        rows = self._s.scalars(select(ProspectRow).where(ProspectRow.id.in_(set(found.values())))
                               .execution_options(populate_existing=True)).all()
        by_id: dict[str, Prospect] = {p.id: p for p in self._load(rows)}
        return {key: by_id[pid] for key, pid in found.items()}

    def _raise_batch_conflict(
        self, batch: Sequence[tuple[str, frozenset[IdentityKey]]],
        new: Mapping[str, Prospect] | None = None,
    ) -> None:
        """The batch was refused: name a key held outside it, or repeated inside it
        (``new``: the batch's prospects that are not stored)."""
        first_with: dict[IdentityKey, str] = {}
        for prospect_id, keys in batch:
            self._raise_conflict(prospect_id, keys)
            for key in keys:
                if key in first_with:
                    first = first_with[key]
                    holder = new[first] if new and first in new else self.get(ProspectId(first))
                    raise holder.claim_conflict(key)
                first_with[key] = prospect_id

    def _raise_conflict(self, prospect_id: str, keys: frozenset[IdentityKey]) -> None:
        """If another prospect holds one of ``keys``, raise ClaimConflict."""
        others = {key: holder for key, holder in self.holders_of(keys).items()
                  if holder.id != prospect_id}
        held = earliest_claim(others)
        if held is not None:
            raise held[0].claim_conflict(held[1])

    def _claim(self, prospect_id: str, keys: frozenset[IdentityKey]) -> None:
        """Insert the keys; the primary key refuses one someone else holds."""
        try:
            with self._s.begin_nested():
                self._insert_keys([(prospect_id, keys)])
        except IntegrityError:
            self._raise_conflict(prospect_id, keys)
            raise ConcurrencyError("identity keys changed meanwhile") from None

    def replace_keys(self, keys: Mapping[ProspectId, frozenset[IdentityKey]]) -> None:
        ids = list(keys)
        for start in range(0, len(ids), 500):
            self._s.execute(delete(ProspectKeyRow).where(
                ProspectKeyRow.prospect_id.in_(ids[start:start + 500])))
        try:
            with self._s.begin_nested():
                self._insert_keys(list(keys.items()))
        except IntegrityError:
            self._raise_batch_conflict(list(keys.items()))
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

    def furthest_stages(self, query: ProspectQuery) -> dict[tuple[Stage, bool], int]:
        ranks = {s.value: s.rank for s in PIPELINE}
        h = ProspectHistoryRow
        reached = (
            select(h.prospect_id, func.max(case(ranks, value=h.after)).label("rank"))
            .where(h.kind == ChangeKind.STAGE.value, h.after.in_(list(ranks)))
            .group_by(h.prospect_id).subquery()
        )
        now = case(ranks, value=ProspectRow.stage, else_=0)
        before = func.coalesce(reached.c.rank, 0)
        cohort = (
            select(case((now >= before, now), else_=before).label("rank"),
                   (ProspectRow.stage == Stage.LOST.value).label("lost"))
            .outerjoin(reached, reached.c.prospect_id == ProspectRow.id)
            .where(*self._where(query)).subquery()
        )
        rows = self._s.execute(
            select(cohort.c.rank, cohort.c.lost, func.count())
            .group_by(cohort.c.rank, cohort.c.lost)
        ).all()
        return {(PIPELINE[int(rank)], bool(lost)): int(n) for rank, lost, n in rows}

    def count_by_grade_and_stage(self, query: ProspectQuery) -> dict[tuple[Grade, Stage], int]:
        rows = self._s.execute(
            select(ProspectRow.grade, ProspectRow.stage, func.count())
            .where(*self._where(query))
            .group_by(ProspectRow.grade, ProspectRow.stage)
        ).all()
        return {(Grade(g), Stage(s)): n for g, s, n in rows}
