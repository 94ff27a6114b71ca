"""SQL repositories for principals, the audit trail and chain heads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.driver import driver_insert
from custmgmt.adapters.sql.tables import (
    AuditRow,
    CertificationRow,
    ChainHeadRow,
    CounterRow,
    PrincipalRoleRow,
    PrincipalRow,
    table_of,
)
from custmgmt.adapters.sql.translate import (
    audit_values,
    to_audit,
)
from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.integrity import ChainHead
from custmgmt.errors import ConcurrencyError
from custmgmt.ports.auth import Certification, Principal

# Statements built once and reused (building DML per call was a hot spot).
AUDIT = table_of(AuditRow)
INSERT_AUDIT = insert(AUDIT)


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
        row = self._s.scalars(select(PrincipalRow).where(PrincipalRow.id == principal_id)
                              .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            return None
        roles = self._s.scalars(select(PrincipalRoleRow.role).where(
            PrincipalRoleRow.principal_id == principal_id)).all()
        certs = self._s.execute(select(CertificationRow.name, CertificationRow.valid_until).where(
            CertificationRow.principal_id == principal_id)).all()
        return _principal(row, roles, (Certification(n, until) for n, until in certs))

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
        stale = ConcurrencyError(f"principal {pid!r} changed since it was read")
        if version == 0:
            try:
                with self._s.begin_nested():
                    self._s.execute(insert(PrincipalRow).values(id=pid, **values))
            except IntegrityError:
                raise stale from None
        else:
            # Compare-and-set on the version: of two concurrent changes one fails.
            done = self._s.execute(update(PrincipalRow).where(
                PrincipalRow.id == pid, PrincipalRow.version == version).values(**values))
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise stale
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
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_AUDIT, [audit_values(entry)])
        except IntegrityError:
            raise ConcurrencyError(
                f"audit sequence {entry.sequence} of {entry.resource_id!r} is taken") from None

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        try:
            with self._s.begin_nested():
                driver_insert(self._s, AUDIT, [audit_values(e) for e in entries])
        except IntegrityError:
            raise ConcurrencyError("an audit sequence number in the batch is taken") from None

    def trail(self, resource_kind: str, resource_id: str) -> Sequence[AuditEntry]:
        rows = self._s.scalars(
            select(AuditRow)
            .where(AuditRow.resource_kind == resource_kind, AuditRow.resource_id == resource_id)
            .order_by(AuditRow.sequence)
            .execution_options(populate_existing=True)
        ).all()
        return [to_audit(r) for r in rows]

    def trails(self) -> Sequence[tuple[str, str]]:
        rows = self._s.execute(
            select(AuditRow.resource_kind, AuditRow.resource_id).distinct()
            .order_by(AuditRow.resource_kind, AuditRow.resource_id)
        ).all()
        return [(kind, rid) for kind, rid in rows]


class SqlHeads:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, chain: str, chain_id: str) -> ChainHead | None:
        row = self._s.scalars(
            select(ChainHeadRow).where(ChainHeadRow.chain == chain,
                                       ChainHeadRow.chain_id == chain_id)
            .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            return None
        return ChainHead(chain=row.chain, chain_id=row.chain_id, length=row.length,
                         head_hash=row.head_hash, seal=row.seal)

    def save(self, head: ChainHead) -> None:
        values = {"length": head.length, "head_hash": head.head_hash, "seal": head.seal}
        changed = self._s.execute(
            update(ChainHeadRow).where(ChainHeadRow.chain == head.chain,
                                       ChainHeadRow.chain_id == head.chain_id)
            .values(values).execution_options(synchronize_session=False))
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            try:
                with self._s.begin_nested():
                    self._s.execute(insert(ChainHeadRow).values(
                        chain=head.chain, chain_id=head.chain_id, **values))
            except IntegrityError:
                raise ConcurrencyError(f"the head of {head.chain} {head.chain_id!r} was "
                                       "written meanwhile") from None

    def add_many(self, heads: Sequence[ChainHead]) -> None:
        if not heads:
            return
        try:
            with self._s.begin_nested():
                driver_insert(self._s, table_of(ChainHeadRow), [
                    {"chain": h.chain, "chain_id": h.chain_id, "length": h.length,
                     "head_hash": h.head_hash, "seal": h.seal} for h in heads])
        except IntegrityError:
            raise ConcurrencyError("the head of a chain in the batch exists already") from None


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
