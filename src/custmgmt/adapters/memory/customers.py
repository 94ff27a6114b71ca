"""The memory customer repository: versioned rows and a unique identity-key index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.customers import Customer
from custmgmt.domain.prospects import IdentityKey
from custmgmt.ports.storage import CustomerQuery

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


def _ordered(keys: Iterable[IdentityKey]) -> list[IdentityKey]:
    return sorted(keys, key=lambda k: (k.kind.value, k.value))


class MemoryCustomers:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.rows: VersionedStage[Customer] = VersionedStage("customer", uow.state.customers)

    def add(self, customer: Customer) -> Customer:
        self._refuse_held(customer)
        return self.rows.add(customer.id, customer)

    def get(self, customer_id: str) -> Customer:
        return self.rows.get(customer_id)

    def update(self, customer: Customer) -> Customer:
        self.rows.get(customer.id)
        self._refuse_held(customer)
        return self.rows.update(customer.id, customer)

    def _refuse_held(self, customer: Customer) -> None:
        for key in _ordered(customer.identity_keys):
            holder = self.holders_of([key]).get(key)
            if holder is not None and holder.id != customer.id:
                raise holder.key_conflict(key)

    def holders_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, Customer]:
        wanted = set(keys)
        found: dict[IdentityKey, Customer] = {}
        for customer in self.rows.written().values():
            for key in wanted & customer.identity_keys:
                found.setdefault(key, customer)
        for key in wanted - set(found):
            holder_id = self._state.customer_keys.get(key)
            holder = None if holder_id is None else self.rows.current(holder_id)
            if holder is not None and key in holder.identity_keys:
                found[key] = holder
        return found

    def find(self, query: CustomerQuery) -> Sequence[Customer]:
        rows = sorted((c for c in self.rows.merged().values() if query.matches(c)),
                      key=lambda c: (c.created_at, c.id))
        if query.after is not None:
            rows = [c for c in rows if (c.created_at, c.id) > query.after]
        return rows[: query.limit]

    def check(self) -> None:
        """Under the lock: versions, then the key index as it would be after commit."""
        self.rows.check()
        index = self._state.customer_keys
        freed = {key for cid in self.rows.staged
                 for key in (self._state.customers[cid].identity_keys
                             if cid in self._state.customers else ())}
        for cid, customer in self.rows.written().items():
            for key in _ordered(customer.identity_keys):
                holder_id = index.get(key)
                if holder_id is not None and holder_id != cid and key not in freed:
                    raise self._state.customers[holder_id].key_conflict(key)

    def apply(self) -> None:
        index = self._state.customer_keys
        for cid in self.rows.staged:
            old = self._state.customers.get(cid)
            for key in old.identity_keys if old is not None else ():
                index.pop(key, None)
        self.rows.apply()
        for cid, customer in self.rows.written().items():
            for key in customer.identity_keys:
                index[key] = cid
