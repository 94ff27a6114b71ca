"""The memory customer repository: versioned rows and a unique identity-key index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from custmgmt.adapters.memory.keys import KeyStage
from custmgmt.adapters.memory.versioned import VersionedStage
from custmgmt.domain.customers import Customer, earliest_customer
from custmgmt.domain.identity import IdentityKey
from custmgmt.ports.storage import CustomerQuery

if TYPE_CHECKING:
    from custmgmt.adapters.memory.storage import MemoryUnitOfWork


class MemoryCustomers:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._state = uow.state
        self.rows: VersionedStage[Customer] = VersionedStage("customer", uow.state.customers)
        self.keys = KeyStage(uow.state.customer_keys, uow.state.customer_keys_of,
                             uow.compact_keys)

    def _refuse_held(self, customer_id: str, keys: frozenset[IdentityKey]) -> None:
        held = earliest_customer({k: self.rows.get(h)
                                  for k, h in self.keys.others(customer_id, keys).items()})
        if held is not None:
            raise held[0].key_conflict(held[1])

    def add(self, customer: Customer, keys: frozenset[IdentityKey]) -> Customer:
        self._refuse_held(customer.id, keys)
        stored = self.rows.add(customer.id, customer)
        self.keys.stage(customer.id, keys)
        return stored

    def get(self, customer_id: str) -> Customer:
        return self.rows.get(customer_id)

    def update(
        self, customer: Customer, keys: frozenset[IdentityKey] | None = None
    ) -> Customer:
        self.rows.get(customer.id)
        if keys is not None:
            self._refuse_held(customer.id, keys)
        stored = self.rows.update(customer.id, customer)
        if keys is not None:
            self.keys.stage(customer.id, keys)
        return stored

    def replace_keys(self, keys: Mapping[str, frozenset[IdentityKey]]) -> None:
        for customer_id in keys:
            self.rows.get(customer_id)
        for customer_id, held in keys.items():
            self.keys.stage(customer_id, held)

    def holders_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, Customer]:
        return {key: self.rows.get(holder_id)
                for key, holder_id in self.keys.holder_ids(keys).items()}

    def find(self, query: CustomerQuery) -> Sequence[Customer]:
        rows = sorted((c for c in self.rows.merged().values() if query.matches(c)),
                      key=lambda c: (c.created_at, c.id))
        if query.after is not None:
            rows = [c for c in rows if (c.created_at, c.id) > query.after]
        return rows[: query.limit]

    def check(self) -> None:
        """Under the lock: versions, then the key index as it would be after commit."""
        self.rows.check()
        clashes = self.keys.check()
        if clashes:
            held = earliest_customer({k: self.rows.current(h) or self._state.customers[h]
                                      for k, h in clashes.items()})
            if held is not None:
                raise held[0].key_conflict(held[1])

    def apply(self) -> None:
        self.rows.apply()
        self.keys.apply()
