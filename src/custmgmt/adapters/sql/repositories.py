"""SQL repositories for principals, the audit trail and chain heads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from operator import attrgetter
from typing import Any

import attrs
from sqlalchemy import (
    Date,
    Select,
    String,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.driver import (
    columns_of,
    driver_execute,
    driver_insert,
    driver_insert_columns,
    driver_rows,
    insert_rows,
    typed_rows,
)
from custmgmt.adapters.sql.tables import (
    AuditRow,
    CertificationRow,
    ChainHeadRow,
    CounterRow,
    GrantsGenerationRow,
    PrincipalRoleRow,
    PrincipalRow,
    table_of,
)
from custmgmt.adapters.sql.trails import ProspectTrails
from custmgmt.adapters.sql.translate import (
    audit_of,
    audit_values,
)
from custmgmt.adapters.sql.versioned import save_versioned
from custmgmt.domain.audit import IMPORT_KIND, AuditEntry
from custmgmt.domain.integrity import ChainHead, checked_head
from custmgmt.domain.registrations import PROSPECT_TRAILS
from custmgmt.errors import ConcurrencyError
from custmgmt.ports.auth import Certification, Principal

# Statements built once and reused (building DML per call was a hot spot).
INSERT_AUDIT = insert(table_of(AuditRow))
AUDIT = table_of(AuditRow)
HEADS = table_of(ChainHeadRow)
_PRINCIPALS, _ROLES, _CERTS = (table_of(PrincipalRow), table_of(PrincipalRoleRow),
                               table_of(CertificationRow))
_GENERATION = table_of(GrantsGenerationRow)
CURRENT_GENERATION = select(_GENERATION.c.generation).where(
    _GENERATION.c.id == literal_column("1")).scalar_subquery()
"""The grants generation, which the database counts up at every change of a principal,
its roles or certifications (migration 0020), as a value."""
# Read on every call (who is acting): one statement on the driver, the principal's
# row joined with its roles and certifications (a row per pair; people hold a few).
PRINCIPAL = select(
    _PRINCIPALS.c.team, _PRINCIPALS.c.supervisor_id, _PRINCIPALS.c.active,
    _PRINCIPALS.c.version, _ROLES.c.role, _CERTS.c.name, _CERTS.c.valid_until,
).select_from(
    _PRINCIPALS.outerjoin(_ROLES, _ROLES.c.principal_id == _PRINCIPALS.c.id)
    .outerjoin(_CERTS, _CERTS.c.principal_id == _PRINCIPALS.c.id)
).where(_PRINCIPALS.c.id == bindparam("id"))
def principal_row(dialect: str) -> Select[Any]:
    """The principal ``:actor`` as one row of four columns, to be read in the same
    statement as a due list (whose rows have the same four): a NULL prospect id, the
    principal as a JSON document (team, supervisor, active, version, roles,
    certifications and the grants generation: see :func:`principal_of`) and two
    NULLs. No row if there is no such principal. Built once per dialect."""
    found = _PRINCIPAL_ROWS.get(dialect)
    if found is None:
        found = _PRINCIPAL_ROWS[dialect] = _principal_row(dialect)
    return found


_PRINCIPAL_ROWS: dict[str, Select[Any]] = {}


def _document(dialect: str) -> Any:
    """The principal document expression (see :func:`principal_row`) over the
    principals table."""
    p: Any = _PRINCIPALS.c
    roles = _ROLES.c.principal_id == p.id
    certs = _CERTS.c.principal_id == p.id
    if dialect == "postgresql":
        empty: Any = literal_column("'[]'::json")
        return cast(func.json_build_object(*_keys(
            p, select(func.coalesce(func.json_agg(_ROLES.c.role), empty))
            .where(roles).scalar_subquery(),
            select(func.coalesce(func.json_agg(func.json_build_array(
                _CERTS.c.name, _CERTS.c.valid_until)), empty)).where(certs).scalar_subquery(),
        )), String)
    # json() marks an aggregate's text as JSON, so it nests as an array
    return func.json_object(*_keys(
        p, func.json(select(func.json_group_array(_ROLES.c.role))
                     .where(roles).scalar_subquery()),
        func.json(select(func.json_group_array(func.json_array(
            _CERTS.c.name, _CERTS.c.valid_until))).where(certs).scalar_subquery())))


def _principal_row(dialect: str) -> Select[Any]:
    document = _document(dialect)
    return select(cast(null(), String).label("prospect_id"), document.label("owner_id"),
                  cast(null(), String).label("grade"), cast(null(), Date).label("next_due")
                  ).where(_PRINCIPALS.c.id == bindparam("actor"))


def _keys(p: Any, roles: Any, certs: Any) -> list[Any]:
    pairs = {"team": p.team, "supervisor": p.supervisor_id, "active": p.active,
             "version": p.version, "roles": roles, "certs": certs,
             "generation": CURRENT_GENERATION}
    items: list[Any] = []
    for key, value in pairs.items():
        items += [literal_column(f"'{key}'"), value]
    return items


_SEEN: dict[tuple[str, str], Principal] = {}


def principal_of(principal_id: str, document: str) -> Principal:
    """The principal ``principal_row`` read as ``document``. The same document gives
    the same (immutable) Principal without parsing it again: any change to the
    principal's grants changes the document (its generation, at least)."""
    key = (principal_id, document)
    found = _SEEN.get(key)
    if found is None:
        values = json.loads(document)
        found = Principal(
            id=principal_id, roles=frozenset(values["roles"]), team=values["team"],
            supervisor_id=values["supervisor"], active=bool(values["active"]),
            version=values["version"],
            certifications=frozenset(
                Certification(name, None if until is None else date.fromisoformat(until))
                for name, until in values["certs"]))
        if len(_SEEN) >= SEEN_PRINCIPALS:
            _SEEN.clear()
            _GENERATIONS.clear()
        _SEEN[key] = found
        _GENERATIONS[id(found)] = (found, values["generation"])
    return found


def generation_of(principal: Principal) -> int | None:
    """The grants generation (``GrantsGenerationRow``) read with ``principal`` when
    :func:`principal_of` made it (that very object), or None if it did not make it, no
    longer remembers it, or read no generation."""
    found = _GENERATIONS.get(id(principal))
    return found[1] if found is not None and found[0] is principal else None


_GENERATIONS: dict[int, tuple[Principal, int | None]] = {}
"""By the id of each Principal in ``_SEEN`` (held there, so the id is not reused)."""


SEEN_PRINCIPALS = 1024
"""How many principal documents ``principal_of`` remembers (then it starts over)."""


ENTRY = select(*(AUDIT.c[name] for name in (
    "resource_kind", "resource_id", "sequence", "actor_id", "action", "at", "before",
    "after", "previous_hash", "hash")))
TRAIL = ENTRY.where(
    AUDIT.c.resource_kind == bindparam("kind"), AUDIT.c.resource_id == bindparam("id"),
).order_by(AUDIT.c.sequence)
IMPORT_ENTRY = ENTRY.where(  # the kind written out: any plan can use the partial index
    AUDIT.c.resource_kind == literal_column(f"'{IMPORT_KIND}'"),
    AUDIT.c.hash == bindparam("hash"))  # (a hash names one entry: no LIMIT to bind)
HEAD_COLUMNS = {name: attrgetter(name)
                for name in ("chain", "chain_id", "length", "head_hash", "seal")}
"""A chain head's columns, each read from the ``ChainHead`` of the same name."""
READ_HEAD = select(HEADS.c.length, HEADS.c.head_hash, HEADS.c.seal).where(
    HEADS.c.chain == bindparam("chain_"), HEADS.c.chain_id == bindparam("chain_id_"))
MOVE_HEAD = update(HEADS).where(
    HEADS.c.chain == bindparam("chain_"), HEADS.c.chain_id == bindparam("chain_id_"),
).values(length=bindparam("length_"), head_hash=bindparam("head_hash_"),
         seal=bindparam("seal_"))


def _principal(
    row: PrincipalRow, roles: Iterable[str], certifications: Iterable[Certification]
) -> Principal:
    return Principal(id=row.id, roles=frozenset(roles), team=row.team,
                     supervisor_id=row.supervisor_id, certifications=frozenset(certifications),
                     active=bool(row.active), version=row.version)


class SqlPrincipals:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, principal_id: str) -> Principal | None:
        found = typed_rows(self._s, PRINCIPAL, {"id": principal_id})
        if not found:
            return None
        team, supervisor, active, version = found[0][:4]
        return Principal(
            id=principal_id, roles=frozenset(row[4] for row in found if row[4] is not None),
            team=team, supervisor_id=supervisor, active=bool(active), version=version,
            certifications=frozenset(Certification(row[5], row[6]) for row in found
                                     if row[5] is not None))

    def _chosen(self, role: str | None, team: str | None) -> Select[str]:
        chosen = select(PrincipalRow.id)
        if team is not None:
            chosen = chosen.where(PrincipalRow.team == team)
        if role is not None:
            chosen = chosen.where(PrincipalRow.id.in_(
                select(PrincipalRoleRow.principal_id).where(PrincipalRoleRow.role == role)))
        return chosen

    def ids(self, *, role: str | None = None, team: str | None = None) -> Sequence[str]:
        return list(self._s.scalars(self._chosen(role, team).order_by(PrincipalRow.id)))

    def find(self, *, role: str | None = None, team: str | None = None) -> Sequence[Principal]:
        # Three statements whatever the number found: the rows, then their roles and
        # certifications through the same selection.
        ids = self._chosen(role, team)
        rows = self._s.scalars(select(PrincipalRow).where(PrincipalRow.id.in_(ids))
                               .order_by(PrincipalRow.id)
                               .execution_options(populate_existing=True)).all()
        roles: dict[str, set[str]] = {}
        for pid, name in self._s.execute(select(PrincipalRoleRow.principal_id,
                                                PrincipalRoleRow.role)
                                         .where(PrincipalRoleRow.principal_id.in_(ids))):
            roles.setdefault(pid, set()).add(name)
        certs: dict[str, set[Certification]] = {}
        for pid, name, until in self._s.execute(
                select(CertificationRow.principal_id, CertificationRow.name,
                       CertificationRow.valid_until)
                .where(CertificationRow.principal_id.in_(ids))):
            certs.setdefault(pid, set()).add(Certification(name, until))
        return [_principal(row, roles.get(row.id, ()), certs.get(row.id, ())) for row in rows]

    def save(self, principal: Principal) -> Principal:
        pid, version = principal.id, principal.version
        values = {"team": principal.team, "supervisor_id": principal.supervisor_id,
                  "active": principal.active, "version": version + 1}
        save_versioned(self._s, PrincipalRow, {"id": pid}, version, values, "principal")
        if version > 0:
            for table in (PrincipalRoleRow, CertificationRow):
                self._s.execute(delete(table).where(table.principal_id == pid))
        if principal.roles:
            self._s.execute(insert(PrincipalRoleRow), [
                {"principal_id": pid, "role": r} for r in sorted(principal.roles)])
        if principal.certifications:
            self._s.execute(insert(CertificationRow), [
                {"principal_id": pid, "name": c.name, "valid_until": c.valid_until}
                for c in principal.certifications])
        return attrs.evolve(principal, version=version + 1)


class SqlAudit:
    def __init__(self, session: Session) -> None:
        self._s = session

    def append(self, entry: AuditEntry) -> None:
        # a taken sequence number is skipped, not an error: no savepoint needed
        if not insert_rows(self._s, AUDIT, [audit_values(entry)], skip_conflicts=True):
            raise ConcurrencyError(
                f"audit sequence {entry.sequence} of {entry.resource_id!r} is taken")

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        try:
            with self._s.begin_nested():
                driver_insert(self._s, AUDIT, [audit_values(e) for e in entries])
        except IntegrityError:
            raise ConcurrencyError("an audit sequence number in the batch is taken") from None

    def trail(self, resource_kind: str, resource_id: str) -> Sequence[AuditEntry]:
        rows = typed_rows(self._s, TRAIL, {"kind": resource_kind, "id": resource_id})
        return [audit_of(*row) for row in rows]

    def trails(self) -> Sequence[tuple[str, str]]:
        rows = self._s.execute(
            select(AuditRow.resource_kind, AuditRow.resource_id).distinct()
            .order_by(AuditRow.resource_kind, AuditRow.resource_id)
        ).all()
        return [(kind, rid) for kind, rid in rows]

    def import_entry(self, entry_hash: str) -> AuditEntry | None:
        rows = typed_rows(self._s, IMPORT_ENTRY, {"hash": entry_hash})
        return audit_of(*rows[0]) if rows else None


class SqlHeads:
    """Heads in the heads table, but for the prospects' audit trails', which are in the
    prospects' rows (``ProspectTrails``)."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._trails = ProspectTrails(session)

    def get(self, chain: str, chain_id: str) -> ChainHead | None:
        if chain == PROSPECT_TRAILS:
            return self._trails.get(chain_id)
        # on the driver: through the ORM, an import's batch made a Session for this read
        # alone and closed it again (2% of a SQLite import's time, py-spy)
        rows = driver_rows(self._s, READ_HEAD, {"chain_": chain, "chain_id_": chain_id})
        if not rows:
            return None
        length, head_hash, seal = rows[0]
        return ChainHead(chain=chain, chain_id=chain_id, length=length, head_hash=head_hash,
                         seal=seal)

    def save(self, head: ChainHead) -> None:
        checked_head(head)
        if head.chain == PROSPECT_TRAILS:
            self._trails.save(head)
            return
        values = {"length": head.length, "head_hash": head.head_hash, "seal": head.seal}
        if driver_execute(self._s, MOVE_HEAD, {
                "chain_": head.chain, "chain_id_": head.chain_id, "length_": head.length,
                "head_hash_": head.head_hash, "seal_": head.seal}):
            return
        # a new chain; one created meanwhile is skipped, not an error (no savepoint)
        if not insert_rows(self._s, HEADS, [{"chain": head.chain, "chain_id": head.chain_id,
                                                **values}], skip_conflicts=True):
            raise ConcurrencyError(f"the head of {head.chain} {head.chain_id!r} was "
                                   "written meanwhile")

    def add_many(self, heads: Sequence[ChainHead]) -> None:
        if not heads:
            return
        for head in heads:
            checked_head(head)
        trails = [head for head in heads if head.chain == PROSPECT_TRAILS]
        others = [head for head in heads if head.chain != PROSPECT_TRAILS]
        if len(heads) == 1:  # one new trail (a single call): no savepoint, one statement
            if trails:
                self._trails.start(trails)
            elif not insert_rows(self._s, HEADS, [_head_row(others[0])],
                                 skip_conflicts=True):
                raise ConcurrencyError("the head of a chain in the batch exists already")
            return
        try:
            with self._s.begin_nested():
                self._s.connection()  # the SAVEPOINT, before statements on the driver
                self._trails.start(trails)
                if others:
                    driver_insert_columns(self._s, HEADS, columns_of(others, HEAD_COLUMNS))
        except IntegrityError:
            raise ConcurrencyError("the head of a chain in the batch exists already") from None

    def ids(self, chain: str) -> Sequence[str]:
        if chain == PROSPECT_TRAILS:
            return self._trails.ids()
        return list(self._s.scalars(select(ChainHeadRow.chain_id).where(
            ChainHeadRow.chain == chain).order_by(ChainHeadRow.chain_id)))


def _head_row(head: ChainHead) -> dict[str, Any]:
    return {name: read(head) for name, read in HEAD_COLUMNS.items()}


class SqlCounters:
    def __init__(self, session: Session) -> None:
        self._s = session

    def take(self, name: str, limit: int) -> bool:
        dialect = self._s.get_bind().dialect.name
        make = postgresql_insert if dialect == "postgresql" else sqlite_insert
        self._s.execute(make(CounterRow).values(name=name, value=0)
                        .on_conflict_do_nothing(index_elements=["name"]))
        # One conditional statement, not a read then a versioned write: the row lock
        # makes concurrent takers queue, and (READ COMMITTED) each re-reads the value it
        # must stay below once the one before it has committed.
        result = self._s.execute(
            update(CounterRow).where(CounterRow.name == name, CounterRow.value < limit)
            .values(value=CounterRow.value + 1).execution_options(synchronize_session=False))
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
