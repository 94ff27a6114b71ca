"""SQL repositories for principals, the audit trail, the event log and the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs
import cattrs
from sqlalchemy import (
    Select,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.tables import (
    AuditRow,
    CertificationRow,
    ChainHeadRow,
    CounterRow,
    EventRow,
    OutboxRow,
    PrincipalRoleRow,
    PrincipalRow,
    table_of,
)
from custmgmt.adapters.sql.translate import (
    audit_values,
    outbox_values,
    to_audit,
    to_outbox_item,
)
from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.integrity import ChainHead
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.auth import Certification, Principal
from custmgmt.ports.notification import DeliveryStatus, Notification, OutboxItem
from custmgmt.serialization import event_from_dict, event_to_dict

# Statements built once and reused (building DML per call was a hot spot).
INSERT_AUDIT = insert(table_of(AuditRow))
INSERT_EVENT = insert(table_of(EventRow))
INSERT_OUTBOX = insert(table_of(OutboxRow))


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


class SqlEvents:
    def __init__(self, session: Session, converter: cattrs.Converter) -> None:
        self._s = session
        self._c = converter

    def _values(self, event: DomainEvent) -> dict[str, object]:
        return {"type": event.name, "occurred_at": event.occurred_at,
                "payload": json.dumps(event_to_dict(self._c, event), sort_keys=True)}

    def append(self, event: DomainEvent) -> None:
        self._s.execute(INSERT_EVENT, [self._values(event)])

    def append_many(self, events: Sequence[DomainEvent]) -> None:
        if events:
            self._s.execute(INSERT_EVENT, [self._values(e) for e in events])

    def all(self) -> Sequence[DomainEvent]:
        payloads = self._s.scalars(select(EventRow.payload).order_by(EventRow.position)).all()
        return [event_from_dict(self._c, json.loads(p)) for p in payloads]


class SqlOutbox:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _seen(self, key: str | None) -> bool:
        return key is not None and bool(self._s.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.dedupe_key == key)))

    def add(self, notification: Notification) -> bool:
        if self._seen(notification.dedupe_key):
            return False
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_OUTBOX, [outbox_values(notification)])
        except IntegrityError:
            if self._seen(notification.dedupe_key):  # queued by someone else meanwhile
                return False
            raise ConcurrencyError(f"notification {notification.id!r} already queued") from None
        return True

    def _select(self) -> list[OutboxItem]:
        rows = self._s.scalars(select(OutboxRow).order_by(OutboxRow.created_at, OutboxRow.id)
                               .execution_options(populate_existing=True)).all()
        return [to_outbox_item(r) for r in rows]

    def all(self) -> Sequence[OutboxItem]:
        return self._select()

    def pending(self, limit: int, max_attempts: int) -> Sequence[OutboxItem]:
        rows = self._s.scalars(
            select(OutboxRow)
            .where(OutboxRow.status != DeliveryStatus.SENT.value,
                   OutboxRow.attempts < max_attempts)
            .order_by(OutboxRow.created_at, OutboxRow.id)
            .limit(limit)
            .execution_options(populate_existing=True)
        ).all()
        return [to_outbox_item(r) for r in rows]

    def _mark(self, notification_id: str, **values: object) -> None:
        result = self._s.execute(
            update(OutboxRow).where(OutboxRow.id == notification_id)
            .values(attempts=OutboxRow.attempts + 1, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise NotFound("notification", notification_id)

    def mark_sent(self, notification_id: str, at: datetime) -> None:
        self._mark(notification_id, status=DeliveryStatus.SENT.value, sent_at=at)

    def mark_failed(self, notification_id: str, error: str, at: datetime) -> None:
        self._mark(notification_id, status=DeliveryStatus.FAILED.value, last_error=error[:500])


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
