"""The SQL customer repository: rows, identity keys (unique by primary key), history."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from operator import attrgetter

import attrs
from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.driver import FEW_KEYS, driver_key_holders, key_holders
from custmgmt.adapters.sql.reach import reach_clause
from custmgmt.adapters.sql.tables import (
    CustomerHistoryRow,
    CustomerKeyRow,
    CustomerRow,
    table_of,
)
from custmgmt.adapters.sql.translate import (
    customer_history_values,
    customer_values,
    to_customer,
)
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.customers import Customer, earliest_customer
from custmgmt.domain.identity import IdentityKey, KeyKind
from custmgmt.domain.registrations import KeySet
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import CustomerQuery

_KIND, _VALUE = attrgetter("kind"), attrgetter("value")

INSERT_CUSTOMER = insert(table_of(CustomerRow))
INSERT_KEY = insert(table_of(CustomerKeyRow))
INSERT_HISTORY = insert(table_of(CustomerHistoryRow))


def _values_by_kind(keys: Sequence[IdentityKey] | KeySet) -> Mapping[KeyKind, Collection[str]]:
    """The distinct values of ``keys`` of each kind (a batch's ``KeySet`` holds them so)."""
    if isinstance(keys, KeySet):
        return keys.by_kind
    kinds, values = list(map(_KIND, keys)), list(map(_VALUE, keys))
    return {kind: {v for k, v in zip(kinds, values, strict=True) if k is kind}
            for kind in set(kinds)}


class SqlCustomers:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _load(self, rows: Sequence[CustomerRow]) -> list[Customer]:
        if not rows:
            return []
        history: dict[str, list[CustomerHistoryRow]] = {r.id: [] for r in rows}
        for h in self._s.scalars(
            select(CustomerHistoryRow).where(CustomerHistoryRow.customer_id.in_(list(history)))
            .execution_options(populate_existing=True)
        ):
            history[h.customer_id].append(h)
        return [to_customer(r, history[r.id]) for r in rows]

    def _row(self, customer_id: str) -> CustomerRow | None:
        return self._s.scalars(
            select(CustomerRow).where(CustomerRow.id == customer_id)
            .execution_options(populate_existing=True)
        ).one_or_none()

    def get(self, customer_id: str) -> Customer:
        row = self._row(customer_id)
        if row is None:
            raise NotFound("customer", customer_id)
        return self._load([row])[0]

    def add(self, customer: Customer, keys: frozenset[IdentityKey]) -> Customer:
        stored = attrs.evolve(customer, version=1)
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_CUSTOMER, [customer_values(stored)])
                self._insert_keys([(stored.id, keys)])
        except IntegrityError:
            self._raise_conflict(stored.id, keys)
            raise ConcurrencyError(f"customer {customer.id!r} already exists") from None
        self._append_history(stored, 0)
        return stored

    def update(
        self, customer: Customer, keys: frozenset[IdentityKey] | None = None
    ) -> Customer:
        stored = attrs.evolve(customer, version=customer.version + 1)
        versioned_update(self._s, CustomerRow, {"id": customer.id}, customer.version,
                         customer_values(stored), "customer")
        if keys is not None:
            self._s.execute(delete(CustomerKeyRow).where(
                CustomerKeyRow.customer_id == customer.id))
            try:
                with self._s.begin_nested():
                    self._insert_keys([(customer.id, keys)])
            except IntegrityError:
                self._raise_conflict(customer.id, keys)
                raise ConcurrencyError("identity keys changed meanwhile") from None
        known = self._s.scalar(select(func.count()).select_from(CustomerHistoryRow).where(
            CustomerHistoryRow.customer_id == customer.id)) or 0
        self._append_history(stored, known)
        return stored

    def replace_keys(self, keys: Mapping[str, frozenset[IdentityKey]]) -> None:
        ids = list(keys)
        for start in range(0, len(ids), 500):
            self._s.execute(delete(CustomerKeyRow).where(
                CustomerKeyRow.customer_id.in_(ids[start:start + 500])))
        try:
            with self._s.begin_nested():
                self._insert_keys(list(keys.items()))
        except IntegrityError:
            first_with: dict[IdentityKey, str] = {}
            for customer_id, held in keys.items():
                self._raise_conflict(customer_id, held)
                for key in held:
                    if key in first_with:
                        raise self.get(first_with[key]).key_conflict(key) from None
                    first_with[key] = customer_id
            raise ConcurrencyError("identity keys changed meanwhile") from None

    def _insert_keys(self, held: Sequence[tuple[str, frozenset[IdentityKey]]]) -> None:
        rows = [{"kind": k.kind.value, "value": k.value, "customer_id": customer_id}
                for customer_id, keys in held
                for k in sorted(keys, key=lambda k: (k.kind.value, k.value))]
        if rows:
            self._s.execute(INSERT_KEY, rows)

    def _raise_conflict(self, customer_id: str, keys: frozenset[IdentityKey]) -> None:
        others = {key: holder for key, holder in self.holders_of(keys).items()
                  if holder.id != customer_id}
        held = earliest_customer(others)
        if held is not None:
            raise held[0].key_conflict(held[1])

    def _append_history(self, customer: Customer, known: int) -> None:
        new = customer.history[known:]
        if new:
            self._s.execute(INSERT_HISTORY, [
                customer_history_values(customer.id, known + i, entry)
                for i, entry in enumerate(new)
            ])

    def holders_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, Customer]:
        keys = keys if isinstance(keys, list | tuple | KeySet) else list(keys)
        found: dict[IdentityKey, str] = {}
        if len(keys) <= FEW_KEYS:  # one statement on the driver
            wanted = set(keys)
            if wanted:
                found = {IdentityKey(KeyKind(kind), value): holder for kind, value, holder in
                         key_holders(self._s, table_of(CustomerKeyRow), "customer_id",
                                     [(k.kind.value, k.value) for k in wanted])}
            return self._holders(found)
        # An import's batch: its keys a set of values per kind (a set of key objects, or a
        # loop over them, cost more than the look-up); each kind's values in no order, as
        # both databases sort what an IN list or an array holds.
        for kind, of_kind in _values_by_kind(keys).items():
            for value, customer_id in driver_key_holders(
                    self._s, table_of(CustomerKeyRow), "customer_id", kind.value,
                    list(of_kind)):
                found[IdentityKey(kind, value)] = customer_id
        return self._holders(found)

    def _holders(self, found: Mapping[IdentityKey, str]) -> dict[IdentityKey, Customer]:
        if not found:
            return {}
        rows = self._s.scalars(select(CustomerRow).where(CustomerRow.id.in_(set(found.values())))
                               .execution_options(populate_existing=True)).all()
        by_id = {c.id: c for c in self._load(rows)}
        return {key: by_id[cid] for key, cid in found.items()}

    def find(self, query: CustomerQuery) -> Sequence[Customer]:
        clauses = reach_clause(query.reach, CustomerRow.owner_id, CustomerRow.owner_team)
        if query.owner is not None:
            clauses.append(CustomerRow.owner_id == query.owner)
        if query.team is not None:
            clauses.append(CustomerRow.owner_team == query.team)
        if query.status is not None:
            clauses.append(CustomerRow.status == query.status.value)
        if query.needs_review is not None:
            clauses.append(CustomerRow.needs_review.is_(query.needs_review))
        if query.after is not None:
            at, cid = query.after
            clauses.append(or_(CustomerRow.created_at > at,
                               and_(CustomerRow.created_at == at, CustomerRow.id > cid)))
        rows = self._s.scalars(
            select(CustomerRow).where(*clauses)
            .order_by(CustomerRow.created_at, CustomerRow.id).limit(query.limit)
            .execution_options(populate_existing=True)
        ).all()
        return self._load(rows)
