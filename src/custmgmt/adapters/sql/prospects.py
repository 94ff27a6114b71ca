"""The SQL prospect repository: rows (with their identity keys), history, and queries."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import attrs
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    LargeBinary,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from custmgmt.adapters.sql.column_types import KEY_PREFIX, key_prefix
from custmgmt.adapters.sql.driver import (
    FEW_KEYS,
    driver_insert_columns,
    driver_rows,
    driver_savepoint,
    insert_rows,
)
from custmgmt.adapters.sql.followups import first_plan_columns, plan_columns
from custmgmt.adapters.sql.reach import reach_clause
from custmgmt.adapters.sql.tables import (
    KEY_COLUMNS,
    ProspectHistoryRow,
    ProspectRow,
    key_index_expression,
    table_of,
)
from custmgmt.adapters.sql.trails import trail_columns, trail_values
from custmgmt.adapters.sql.translate import (
    batch_columns,
    history_values,
    prospect_values,
    stored_history,
    to_prospect,
)
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.common import ProspectId
from custmgmt.domain.followups import FollowUpPlan, first_plan_for
from custmgmt.domain.identity import IdentityKey, KeyKind, one_of_each_kind
from custmgmt.domain.integrity import ChainHead
from custmgmt.domain.prospects import (
    PIPELINE,
    ChangeKind,
    Grade,
    Prospect,
    Stage,
    earliest_claim,
    with_registration,
)
from custmgmt.domain.registrations import RegistrationBatch, trail_of
from custmgmt.errors import ClaimConflict, ConcurrencyError, NotFound
from custmgmt.ports.storage import ProspectQuery

# Statements built once: per-call construction of ORM DML dominated bulk imports.
PROSPECTS, HISTORY = table_of(ProspectRow), table_of(ProspectHistoryRow)
INSERT_HISTORY = insert(HISTORY)
HOLD_KEYS = update(PROSPECTS).where(PROSPECTS.c.id == bindparam("pid")).values(
    {column: bindparam(column) for column in KEY_COLUMNS.values()})
NO_KEYS = dict.fromkeys(KEY_COLUMNS.values())
KEY_KINDS = tuple(KEY_COLUMNS)
CHUNK = 512
"""Keys of a kind, or ids, per statement in bulk look-ups and changes."""
_LOOKUPS: dict[tuple[tuple[str, int], ...], Select[Any]] = {}


def _key_values(keys: frozenset[IdentityKey]) -> dict[str, str | None]:
    """The key columns of a prospect holding ``keys``: None where it holds no key."""
    return {column: values[0] for column, values in _key_columns([keys]).items()}


def _key_columns(keys: Sequence[frozenset[IdentityKey]]) -> dict[str, list[str | None]]:
    """``_key_values`` of many prospects' keys, a list per key column (ValidationError,
    before anything is written, if one holds two keys of a kind)."""
    columns: dict[str, list[str | None]] = {c: [None] * len(keys) for c in NO_KEYS}
    for row, held in enumerate(keys):
        one_of_each_kind(held)
        for key in held:
            columns[KEY_COLUMNS[key.kind]][row] = key.value
    return columns


def _holder_lookup(prefixes: Mapping[str, list[bytes]]) -> tuple[Select[Any], dict[str, bytes]]:
    """SELECT the id and keys of the prospects holding any of ``prefixes`` (key column ->
    what its unique index keeps of each key sought), and its parameters, matched by the
    index's own expression. A column's values are padded (by repeating the last) to a
    power of two, the columns in one order: a few statements serve every size, each
    compiled once."""
    shape: list[tuple[str, int]] = []
    params: dict[str, bytes] = {}
    for column in KEY_COLUMNS.values():
        given = prefixes.get(column)
        if not given:
            continue
        size = 1 << (len(given) - 1).bit_length()
        shape.append((column, size))
        padded = [*given, *[given[-1]] * (size - len(given))]
        params.update((f"{column}_{i}", value) for i, value in enumerate(padded))
    key = tuple(shape)
    statement = _LOOKUPS.get(key)
    if statement is None:
        statement = _LOOKUPS[key] = select(
            PROSPECTS.c.id, *(PROSPECTS.c[c] for c in KEY_COLUMNS.values())).where(or_(*(
                # (the IS NOT NULL matches the partial index's own condition)
                and_(PROSPECTS.c[column].is_not(None),
                     literal_column(key_index_expression(column)).in_(
                         [bindparam(f"{column}_{i}", type_=LargeBinary) for i in range(size)]))
                for column, size in shape)))
    return statement, params


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

    def add(self, prospect: Prospect, keys: frozenset[IdentityKey],
            plan: FollowUpPlan | None = None, trail: ChainHead | None = None) -> Prospect:
        """Insert the row (with its keys) and history on the driver (none if the history is
        only the registration, which the row keeps: see ``update``). A refused claim leaves
        no trace (so a bulk import can carry on with the rest of its batch) without a
        savepoint: a row that would break a unique key is skipped (ON CONFLICT DO
        NOTHING), which fails no statement."""
        stored = attrs.evolve(with_registration(prospect), version=1)
        row = {**prospect_values(stored), **_key_values(keys)}
        if plan is not None:  # written with the row: one INSERT, no UPDATE after it
            row.update(plan_columns(first_plan_for(stored, plan)))
        if trail is not None:  # as the plan
            row.update(trail_values(trail_of(stored.id, trail)))
        if not insert_rows(self._s, PROSPECTS, [row], skip_conflicts=True):
            self._raise_batch_conflict([(stored.id, keys)])
            self._raise_registered([stored.id], [stored.registration.id])
            raise ConcurrencyError(f"prospect {prospect.id!r} already exists")
        insert_rows(self._s, HISTORY, [history_values(stored.id, i, entry)
                                         for i, entry in enumerate(stored_history(stored))])
        return stored

    def update(
        self, prospect: Prospect, keys: frozenset[IdentityKey] | None = None
    ) -> Prospect:
        stored = attrs.evolve(with_registration(prospect), version=prospect.version + 1)
        if keys is None:
            self._update_row(stored)
        else:
            one_of_each_kind(keys)  # before anything is written
            with self._s.begin_nested():  # a refused key leaves the row as it was too
                self._hold({stored.id: keys})  # a held key refused first, as memory does
                self._update_row(stored)
        # a prospect never changed has no history row (its row keeps its registration):
        # its first change stores the registration entry, as loaded, with the rest
        known = self._s.scalar(select(func.count()).select_from(ProspectHistoryRow).where(
            ProspectHistoryRow.prospect_id == prospect.id)) or 0
        self._append_history(stored, known)
        return stored

    def _update_row(self, stored: Prospect) -> None:
        """The row becomes ``stored`` (at its version - 1, else ConcurrencyError), unless
        another prospect holds its registration id (ClaimConflict): checked by the
        UPDATE itself, which a unique index refusal would otherwise end on PostgreSQL."""
        registration_id = stored.registration.id
        other = aliased(ProspectRow)
        taken = exists().where(other.registration_id == registration_id,
                               other.id != stored.id)
        try:
            versioned_update(self._s, ProspectRow, {"id": stored.id}, stored.version - 1,
                             prospect_values(stored), "prospect", guard=~taken)
        except ConcurrencyError:
            self._raise_registered([stored.id], [registration_id])
            raise

    def add_batch(self, batch: RegistrationBatch) -> None:
        """All or nothing: if one key is held (or repeated), ClaimConflict and none stored."""
        if not len(batch):
            return
        prospects, history = batch_columns(batch)
        prospects.update({KEY_COLUMNS[kind]: list(column)
                          for kind, column in zip(KeyKind, batch.keys, strict=True)})
        prospects.update(first_plan_columns(batch))  # what the batch carries of its rows
        prospects.update(trail_columns(batch))
        # On the driver's cursor: one executemany (SQLite) or COPY (PostgreSQL) per table.
        try:
            with driver_savepoint(self._s):
                driver_insert_columns(self._s, PROSPECTS, prospects)
        except IntegrityError:
            self._raise_batch_refused(batch)
            raise ConcurrencyError("a prospect in the batch already exists") from None
        driver_insert_columns(self._s, HISTORY, history)

    def _raise_batch_refused(self, batch: RegistrationBatch) -> None:
        """The batch's insert was refused: raise ClaimConflict for a key held or repeated,
        then for a registration id held or given twice."""
        registrations: dict[str, str] = dict(zip(batch.ids, batch.registration_ids,
                                                 strict=True))
        self._raise_batch_conflict(
            [(pid, batch.keys.row(n)) for n, pid in enumerate(batch.ids)],
            lambda pid, key: ClaimConflict(batch.owner_id, registrations[pid], batch.at,
                                           key.kind.value))
        self._raise_registered(batch.ids, batch.registration_ids)
        seen: set[str] = set()
        for registration_id in batch.registration_ids:
            if registration_id in seen:
                raise ClaimConflict(batch.owner_id, registration_id, batch.at)
            seen.add(registration_id)

    def _refresh_statistics(self) -> None:
        """PostgreSQL plans the look-up of a batch's keys from table statistics. While a
        bulk import fills new tables they go stale, and the planner then reads every key
        of a kind for each batch (quadratic). ANALYZE the prospect table, which holds the
        keys, whenever it has doubled since its statistics were taken. Called before such
        a look-up only: an import looks its keys up only after a write of its was refused
        for a held key, so a clean one never analyzes (an ANALYZE every doubling took a
        tenth of a 50k-row import). An import's look-up precedes its batch's inserts, so
        that an import waiting for another's ANALYZE holds no key the other may be waiting
        for."""
        if self._s.get_bind().dialect.name != "postgresql":
            return
        pages, analyzed = self._s.execute(text(
            "SELECT pg_relation_size(oid) / 8192, relpages FROM pg_class "
            "WHERE oid = CAST(:name AS regclass)"), {"name": PROSPECTS.name}).one()
        if pages > 2 * analyzed + 8:
            self._s.execute(text(f"ANALYZE {PROSPECTS.name}"))

    def holders_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, Prospect]:
        """The prospect holding each of ``keys`` that anyone holds. The keys are looked
        up on the driver by their unique indexes (a registration's few keys in one
        statement, a batch's 512 of a kind a statement); holders, if any, then loaded.

        A key is held by whoever holds one alike in what the unique index keeps of it (its
        first ``KEY_PREFIX`` bytes): the index refuses the second as it would the same key,
        so that is the holder a refused registration is told of."""
        wanted: dict[tuple[KeyKind, bytes], list[IdentityKey]] = {}
        by_column: dict[str, list[bytes]] = {}
        for key in set(keys):
            prefix = key_prefix(key.value)
            alike = wanted.setdefault((key.kind, prefix), [])
            if not alike:
                by_column.setdefault(KEY_COLUMNS[key.kind], []).append(prefix)
            alike.append(key)
        if len(wanted) <= FEW_KEYS:
            lookups = [by_column] if wanted else []
        else:
            self._refresh_statistics()
            lookups = [{column: prefixes[start:start + CHUNK]}
                       for column, prefixes in by_column.items()
                       for start in range(0, len(prefixes), CHUNK)]
        found: dict[IdentityKey, str] = {}
        for lookup in lookups:
            statement, params = _holder_lookup(lookup)
            for holder_id, *held in driver_rows(self._s, statement, params):
                for kind, value in zip(KEY_KINDS, held, strict=True):
                    if value is not None:
                        for key in wanted.get((kind, bytes(value)[:KEY_PREFIX]), ()):
                            found[key] = holder_id
        return self._holders(found)

    def registered(self, registration_ids: Iterable[str]) -> frozenset[str]:
        """Read from the registration ids' unique index alone, 512 a statement."""
        return frozenset(self._by_registration(ProspectRow.registration_id, registration_ids))

    def _by_registration(self, what: Any, registration_ids: Iterable[str]) -> list[Any]:
        """``what`` (a column, or the row) of the prospects registered under the ids."""
        wanted = list(set(registration_ids))
        return [found for start in range(0, len(wanted), CHUNK)
                for found in self._s.scalars(select(what).where(
                    ProspectRow.registration_id.in_(wanted[start:start + CHUNK]))
                    .execution_options(populate_existing=True))]

    def _holders(self, found: Mapping[IdentityKey, str]) -> dict[IdentityKey, Prospect]:
        if not found:
            return {}
        rows = self._s.scalars(select(ProspectRow).where(ProspectRow.id.in_(set(found.values())))
                               .execution_options(populate_existing=True)).all()
        by_id: dict[str, Prospect] = {p.id: p for p in self._load(rows)}
        return {key: by_id[pid] for key, pid in found.items()}

    def _raise_batch_conflict(
        self, batch: Sequence[tuple[str, frozenset[IdentityKey]]],
        new: Callable[[str, IdentityKey], ClaimConflict] | None = None,
    ) -> None:
        """The batch was refused: name a key held outside it, or repeated inside it
        (``new``: the conflict with a prospect of the batch that is not stored, by its id
        and the key). The keys its stored prospects hold now are theirs to give up: they
        block nobody in the batch."""
        first_with: dict[IdentityKey, str] = {}
        giving_up = frozenset(prospect_id for prospect_id, _ in batch)
        # every key looked up at once (a statement per 512 of a kind, not one a row)
        held = {key: holder for key, holder in self.holders_of(
            {key for _, keys in batch for key in keys}).items() if holder.id not in giving_up}
        for prospect_id, keys in batch:
            claim = earliest_claim({key: held[key] for key in keys if key in held})
            if claim is not None:
                raise claim[0].claim_conflict(claim[1])
            for key in keys:
                if key in first_with:
                    first = first_with[key]
                    if new is not None:
                        raise new(first, key)
                    raise self.get(ProspectId(first)).claim_conflict(key)
                first_with[key] = prospect_id

    def _raise_registered(self, ours: Sequence[str], registration_ids: Sequence[str]) -> None:
        """A write of prospects ``ours`` under ``registration_ids`` was refused: if
        another stored prospect is registered under one of them, raise ClaimConflict
        naming that registration (the unique index keeps a registration id to one
        prospect). One of ``ours`` stored already is not a claim but the same prospect
        (the caller's ConcurrencyError)."""
        own = frozenset(ours)
        others = [row for row in self._by_registration(ProspectRow, registration_ids)
                  if row.id not in own]
        if others:
            first = min(others, key=lambda row: (row.registered_at, row.id))
            raise self._load([first])[0].claim_conflict()

    def _hold(self, keys: Mapping[ProspectId, frozenset[IdentityKey]]) -> None:
        """Give each prospect exactly its ``keys``; a unique index refuses one someone else
        holds. Every old key is let go first, so that keys may move between them.
        NotFound if one of the prospects is not stored."""
        # every key set checked (ValidationError) before anything is written
        rows = [{"pid": pid, **_key_values(held)} for pid, held in keys.items()]
        ids = list(keys)
        try:
            with self._s.begin_nested():
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start:start + CHUNK]
                    cleared = cast(CursorResult[Any], self._s.execute(update(PROSPECTS).where(
                        PROSPECTS.c.id.in_(chunk)).values(NO_KEYS))).rowcount
                    if cleared != len(set(chunk)):
                        self._raise_missing(chunk)
                self._s.execute(HOLD_KEYS, rows)
        except IntegrityError:
            self._raise_batch_conflict(list(keys.items()))
            raise ConcurrencyError("identity keys changed meanwhile") from None

    def _raise_missing(self, ids: Sequence[str]) -> None:
        """Some of ``ids`` matched no row: NotFound naming one that is not stored."""
        stored = set(self._s.scalars(select(ProspectRow.id).where(ProspectRow.id.in_(ids))))
        missing = sorted(set(ids) - stored)
        if not missing:  # every one is stored: the count fell short for another reason
            raise ConcurrencyError("prospects changed meanwhile")
        raise NotFound("prospect", missing[0])

    def replace_keys(self, keys: Mapping[ProspectId, frozenset[IdentityKey]]) -> None:
        if keys:
            self._hold(keys)

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
