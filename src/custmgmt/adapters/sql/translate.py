"""Row <-> domain translation, explicit both ways."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from custmgmt.adapters.sql.tables import (
    AuditRow,
    CustomerHistoryRow,
    CustomerRow,
    OutboxRow,
    ProspectHistoryRow,
    ProspectRow,
)
from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.common import (
    Address,
    CreditCode,
    Email,
    Money,
    OrganizationName,
    PersonName,
    Phone,
    ProspectId,
    RegistrationId,
)
from custmgmt.domain.customers import (
    Customer,
    CustomerChange,
    CustomerHistoryEntry,
    CustomerStatus,
)
from custmgmt.domain.prospects import (
    ChangeKind,
    Grade,
    HistoryEntry,
    Profile,
    Prospect,
    ProspectKind,
    Registration,
    Stage,
    Willingness,
    registration_entry,
)
from custmgmt.domain.registrations import RegistrationBatch
from custmgmt.errors import IntegrityError
from custmgmt.ports.notification import DeliveryStatus, Notification, OutboxItem


def _text(value: Phone | Email | Address | OrganizationName | CreditCode | None) -> str | None:
    return None if value is None else value.value


def _optional_text(field: str) -> Callable[[Any], str | None]:
    get = attrgetter(field)

    def read(owner: Any) -> str | None:
        return _text(get(owner))
    return read


# What each column holds, read from the domain object (enum members by ``_value_``, not
# the property: a bulk insert reads a batch's values a column at a time).
PROFILE_COLUMNS: dict[str, Callable[[Any], Any]] = {
    "kind": attrgetter("kind._value_"),
    "name": attrgetter("name.value"),
    **{field: _optional_text(field)
       for field in ("phone", "email", "address", "organization", "credit_code")},
    "industry": attrgetter("industry"),
    "source_channel": attrgetter("source_channel"),
    "needs": attrgetter("needs"),
}
PROSPECT_COLUMNS: dict[str, Callable[[Any], Any]] = {
    "id": attrgetter("id"),
    "willingness": attrgetter("willingness._value_"),
    "potential_amount": attrgetter("potential_value.amount"),
    "potential_currency": attrgetter("potential_value.currency"),
    "grade": attrgetter("grade._value_"),
    "grade_is_manual": attrgetter("grade_is_manual"),
    "stage": attrgetter("stage._value_"),
    "owner_id": attrgetter("owner_id"),
    "owner_team": attrgetter("owner_team"),
    "registration_id": attrgetter("registration.id"),
    "registered_by": attrgetter("registration.by"),
    "registered_at": attrgetter("registration.at"),
    "registration_active": attrgetter("registration_active"),
    "registration_from_pool": attrgetter("registration.from_pool"),
    "version": attrgetter("version"),
    "customer_id": attrgetter("customer_id"),
}


def profile_values(profile: Profile) -> dict[str, object]:
    """The profile's columns, shared by the prospect and customer rows."""
    return {column: read(profile) for column, read in PROFILE_COLUMNS.items()}


def to_profile(row: ProspectRow | CustomerRow) -> Profile:
    return Profile(
        kind=ProspectKind(row.kind),
        name=PersonName(row.name),
        phone=None if row.phone is None else Phone(row.phone),
        email=None if row.email is None else Email(row.email),
        address=None if row.address is None else Address(row.address),
        organization=None if row.organization is None else OrganizationName(row.organization),
        credit_code=None if row.credit_code is None else CreditCode(row.credit_code),
        industry=row.industry,
        source_channel=row.source_channel,
        needs=row.needs,
    )


def prospect_values(prospect: Prospect) -> dict[str, object]:
    """Column values of a prospect's main row (not its history or keys)."""
    return {**{column: read(prospect) for column, read in PROSPECT_COLUMNS.items()},
            **profile_values(prospect.profile)}


HISTORY_COLUMNS = tuple(c.name for c in ProspectHistoryRow.__table__.columns)


def batch_columns(batch: RegistrationBatch) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The prospect and history columns of a batch's rows, a list per column. What a row
    has of its own is read from the batch's columns; the rest, shared by every row of a
    grade, from the prospect ``Prospect.register`` makes of the grade's first row (one
    rule for both). A new prospect's history is its registration alone, which its row
    keeps (:func:`stored_history`): the history columns are empty unless that rule
    changes."""
    made: dict[Grade, Prospect] = {}
    for n, grade in enumerate(batch.grades):
        if grade not in made:
            made[grade] = batch.prospect(batch.row(n)).at_version(1)
    grades = list(batch.grades)
    amounts = batch.potential_values
    prospects: dict[str, list[Any]] = {
        "id": list(batch.ids),
        "willingness": [w._value_ for w in batch.willingness],
        "potential_amount": [v.amount for v in amounts],
        "potential_currency": [v.currency for v in amounts],
        "grade": [g._value_ for g in grades],
        "registration_id": list(batch.registration_ids),
        "kind": [k._value_ for k in batch.profiles.kind],
        **{column: list(getattr(batch.profiles, column))
           for column in PROFILE_COLUMNS if column != "kind"},
    }
    for column, read in PROSPECT_COLUMNS.items():
        if column not in prospects:
            prospects[column] = _shared(grades, {g: read(p) for g, p in made.items()})
    history: dict[str, list[Any]] = {column: [] for column in HISTORY_COLUMNS}
    stored = {g: stored_history(p) for g, p in made.items()}
    for position in range(max(len(h) for h in stored.values())):
        entries = {g: history_values("", position, h[position])
                   for g, h in stored.items() if position < len(h)}
        having = [(pid, g) for pid, g in zip(batch.ids, grades, strict=True)
                  if g in entries]
        for column in HISTORY_COLUMNS:
            history[column] += [pid for pid, _ in having] if column == "prospect_id" else \
                _shared([g for _, g in having],
                        {g: values[column] for g, values in entries.items()})
    return prospects, history


def stored_history(prospect: Prospect) -> tuple[HistoryEntry, ...]:
    """The history entries of a new prospect to store as history rows: none if its history
    is only its registration, which its row keeps until its first change (an import
    writes no history row per prospect). ``update`` then stores the whole history."""
    history = prospect.history
    if history == (registration_entry(prospect.registration.by, prospect.registration.at,
                                      prospect.grade),):
        return ()
    return history


def _shared(grades: list[Grade], value: Mapping[Grade, Any]) -> list[Any]:
    """Each row's value by its grade: one value repeated when every grade has the same."""
    values = list(value.values())
    if all(v is values[0] or v == values[0] for v in values):
        return [values[0]] * len(grades)
    return [value[g] for g in grades]


def history_values(prospect_id: str, position: int, entry: HistoryEntry) -> dict[str, object]:
    return {
        "prospect_id": prospect_id, "position": position, "kind": entry.kind.value,
        "by": entry.by, "at": entry.at, "before": entry.before, "after": entry.after,
        "reason": entry.reason,
    }


def to_prospect(row: ProspectRow, history: Sequence[ProspectHistoryRow]) -> Prospect:
    grade = Grade(row.grade)
    return Prospect(
        id=ProspectId(row.id),
        profile=to_profile(row),
        willingness=Willingness(row.willingness),
        potential_value=Money(row.potential_amount, row.potential_currency),
        grade=grade,
        grade_is_manual=row.grade_is_manual,
        stage=Stage(row.stage),
        owner_id=row.owner_id,
        owner_team=row.owner_team,
        registration=Registration(id=RegistrationId(row.registration_id), by=row.registered_by,
                                  at=row.registered_at, from_pool=row.registration_from_pool),
        registration_active=row.registration_active,
        history=tuple(
            HistoryEntry(kind=ChangeKind(h.kind), by=h.by, at=h.at, before=h.before,
                         after=h.after, reason=h.reason)
            for h in sorted(history, key=lambda h: h.position)
        ) if history else (  # never changed: its registration, which the row keeps
            registration_entry(row.registered_by, row.registered_at, grade),),
        version=row.version,
        customer_id=row.customer_id,
    )


def customer_values(customer: Customer) -> dict[str, object]:
    """Column values of a customer's main row (not its history or keys)."""
    return {
        "id": customer.id,
        **profile_values(customer.profile),
        "owner_id": customer.owner_id,
        "owner_team": customer.owner_team,
        "status": customer.status.value,
        "created_at": customer.created_at,
        "needs_review": customer.needs_review,
        "review_note": customer.review_note,
        "version": customer.version,
    }


def customer_history_values(
    customer_id: str, position: int, entry: CustomerHistoryEntry
) -> dict[str, object]:
    return {
        "customer_id": customer_id, "position": position, "kind": entry.kind.value,
        "by": entry.by, "at": entry.at, "before": entry.before, "after": entry.after,
        "reason": entry.reason,
    }


def to_customer(row: CustomerRow, history: Sequence[CustomerHistoryRow]) -> Customer:
    return Customer(
        id=row.id, profile=to_profile(row), owner_id=row.owner_id, owner_team=row.owner_team,
        status=CustomerStatus(row.status), created_at=row.created_at,
        needs_review=row.needs_review, review_note=row.review_note,
        history=tuple(
            CustomerHistoryEntry(kind=CustomerChange(h.kind), by=h.by, at=h.at,
                                 before=h.before, after=h.after, reason=h.reason)
            for h in sorted(history, key=lambda h: h.position)
        ),
        version=row.version,
    )


def audit_values(entry: AuditEntry) -> dict[str, object]:
    return {
        "resource_kind": entry.resource_kind, "resource_id": entry.resource_id,
        "sequence": entry.sequence, "actor_id": entry.actor_id, "action": entry.action,
        "at": entry.at, "before": json.dumps(entry.before) if entry.before else "[]",
        "after": json.dumps(entry.after),
        "previous_hash": entry.previous_hash, "hash": entry.hash,
    }


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """An audit entry's ``before`` or ``after`` as written: a JSON list of pairs. Any
    other text was written behind custmgmt's back: IntegrityError, naming no value."""
    try:
        return tuple((str(k), str(v)) for k, v in json.loads(text))
    except (ValueError, TypeError) as error:  # (JSONDecodeError is a ValueError)
        raise IntegrityError(f"an audit entry's snapshot is not a list of pairs "
                             f"({type(error).__name__}): the row was edited") from None


def to_audit(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        resource_kind=row.resource_kind, resource_id=row.resource_id, sequence=row.sequence,
        actor_id=row.actor_id, action=row.action, at=row.at, before=_pairs(row.before),
        after=_pairs(row.after), previous_hash=row.previous_hash, hash=row.hash,
    )


def audit_of(
    resource_kind: str, resource_id: str, sequence: int, actor_id: str, action: str,
    at: datetime, before: str, after: str, previous_hash: str, hash: str,
) -> AuditEntry:
    """An audit entry from its columns, in the order of the table."""
    return AuditEntry(
        resource_kind=resource_kind, resource_id=resource_id, sequence=sequence,
        actor_id=actor_id, action=action, at=at, before=_pairs(before), after=_pairs(after),
        previous_hash=previous_hash, hash=hash,
    )


def outbox_values(notification: Notification) -> dict[str, object]:
    return {
        "id": notification.id, "recipient_id": notification.recipient_id,
        "kind": notification.kind, "subject": notification.subject, "body": notification.body,
        "created_at": notification.created_at, "dedupe_key": notification.dedupe_key,
        "purpose": notification.purpose, "channel": notification.channel,
        "status": DeliveryStatus.PENDING.value, "attempts": 0, "last_error": None,
        "sent_at": None, "next_attempt_at": None, "leased_by": None, "leased_until": None,
    }


def to_outbox_item(row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        notification=Notification(
            id=row.id, recipient_id=row.recipient_id, kind=row.kind, subject=row.subject,
            body=row.body, created_at=row.created_at, dedupe_key=row.dedupe_key,
            purpose=row.purpose, channel=row.channel,
        ),
        status=DeliveryStatus(row.status), attempts=row.attempts, last_error=row.last_error,
        sent_at=row.sent_at, next_attempt_at=row.next_attempt_at, leased_by=row.leased_by,
        leased_until=row.leased_until,
    )
