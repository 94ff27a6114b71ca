"""The one customer guard: may this customer be acted on for this purpose?

Every service that acts on a customer asks ``Context.customer_for(uow, id,
purpose)``, which asks the guard. The guard first asks the customer's status
(``domain.customers.refusal``, the status x purpose table), then each rule
plugged in, in order; the first refusal wins and becomes ``CustomerRefused``
naming the customer's status. Delisting, consent and later areas add a
``GuardRule`` here instead of copying a check into their services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from attrs import frozen

from custmgmt.domain.customers import Customer, Purpose
from custmgmt.domain.prospects import IdentityKey
from custmgmt.errors import CustomerRefused
from custmgmt.ports.storage import UnitOfWork

GuardRule = Callable[[UnitOfWork, Customer, Purpose, datetime], str | None]
"""A rule beside the status table: ``None`` if it has no objection, else the reason."""


@frozen
class CustomerGuard:
    """The one answer to "may this customer be acted on for this purpose?": the
    customer's own status, then every rule plugged in (delisting, consent ...)."""

    rules: tuple[GuardRule, ...] = ()

    def with_rules(self, *rules: GuardRule) -> CustomerGuard:
        """This guard with more rules after its own."""
        return CustomerGuard((*self.rules, *rules))

    def refusal(
        self, uow: UnitOfWork, customer: Customer, purpose: Purpose, at: datetime
    ) -> str | None:
        """Why ``customer`` may not be acted on for ``purpose`` now; None if it may."""
        reason = customer.refusal(purpose)
        for rule in self.rules:
            if reason is not None:
                break
            reason = rule(uow, customer, purpose, at)
        return reason

    def check(self, uow: UnitOfWork, customer: Customer, purpose: Purpose, at: datetime) -> None:
        """Raise CustomerRefused with the reason if ``customer`` may not be acted on."""
        reason = self.refusal(uow, customer, purpose, at)
        if reason is not None:
            raise CustomerRefused(customer.id, purpose.value, customer.status.value, reason)

    def require(
        self, uow: UnitOfWork, customer_id: str, purpose: Purpose, at: datetime
    ) -> Customer:
        """The customer (NotFound if none has that id), if it may be acted on for
        ``purpose``; CustomerRefused naming its status otherwise."""
        customer = uow.customers.get(customer_id)
        self.check(uow, customer, purpose, at)
        return customer

    def refused_holder(
        self, holders: Mapping[IdentityKey, Customer], keys: Iterable[IdentityKey],
        purpose: Purpose, uow: UnitOfWork, at: datetime,
    ) -> CustomerRefused | None:
        """The refusal of the first customer (by id) holding one of ``keys`` that may not
        be acted on for ``purpose``; None if every such customer may. ``holders`` is
        what ``uow.customers.holders_of`` answered for these keys (or more)."""
        customers = {holders[k].id: holders[k] for k in keys if k in holders}
        for customer_id in sorted(customers):
            customer = customers[customer_id]
            reason = self.refusal(uow, customer, purpose, at)
            if reason is not None:
                return CustomerRefused(customer.id, purpose.value, customer.status.value, reason)
        return None

    def check_prospect(
        self, uow: UnitOfWork, keys: Iterable[IdentityKey], customer_id: str | None,
        purpose: Purpose, at: datetime,
    ) -> None:
        """A prospect is one of the customer it names, and of every customer holding one
        of its identity keys: each of them must allow ``purpose``."""
        wanted = tuple(keys)
        refused = self.refused_holder(uow.customers.holders_of(wanted), wanted, purpose,
                                      uow, at)
        if refused is not None:
            raise refused
        if customer_id is not None:
            self.require(uow, customer_id, purpose, at)
