"""SQL repositories for principals and the audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    delete,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.tables import (
    AuditRow,
    CertificationRow,
    PrincipalRoleRow,
    PrincipalRow,
    table_of,
)
from custmgmt.adapters.sql.translate import (
    audit_values,
    to_audit,
)
from custmgmt.domain.audit import AuditEntry
from custmgmt.errors import ConcurrencyError
from custmgmt.ports.auth import Certification, Principal

# Statements built once and reused (building DML per call was a hot spot).
INSERT_AUDIT = insert(table_of(AuditRow))


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
        return Principal(
            id=row.id, roles=frozenset(roles), team=row.team, supervisor_id=row.supervisor_id,
            certifications=frozenset(Certification(n, until) for n, until in certs),
        )

    def find(self, *, role: str | None = None, team: str | None = None) -> Sequence[Principal]:
        statement = select(PrincipalRow.id).order_by(PrincipalRow.id)
        if team is not None:
            statement = statement.where(PrincipalRow.team == team)
        if role is not None:
            statement = statement.where(PrincipalRow.id.in_(
                select(PrincipalRoleRow.principal_id).where(PrincipalRoleRow.role == role)))
        found = (self.get(pid) for pid in self._s.scalars(statement).all())
        return [p for p in found if p is not None]

    def save(self, principal: Principal) -> None:
        pid = principal.id
        for table in (PrincipalRoleRow, CertificationRow):
            self._s.execute(delete(table).where(table.principal_id == pid))
        self._s.execute(delete(PrincipalRow).where(PrincipalRow.id == pid))
        self._s.execute(insert(PrincipalRow).values(
            id=pid, team=principal.team, supervisor_id=principal.supervisor_id))
        if principal.roles:
            self._s.execute(insert(PrincipalRoleRow), [
                {"principal_id": pid, "role": r} for r in sorted(principal.roles)])
        if principal.certifications:
            self._s.execute(insert(CertificationRow), [
                {"principal_id": pid, "name": c.name, "valid_until": c.valid_until}
                for c in principal.certifications])


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
                self._s.execute(INSERT_AUDIT, [audit_values(e) for e in entries])
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
