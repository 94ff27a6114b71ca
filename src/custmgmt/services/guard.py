"""The one customer guard: may this customer be acted on for this purpose?

Every service that acts on a customer asks ``Context.customer_for(uow, id,
purpose)``, which asks the guard. The guard first asks the customer's status
(``domain.customers.refusal``, the status x purpose table), then each rule
plugged in, in order; the first refusal wins and becomes ``CustomerRefused``
naming the customer's status. Delisting, consent and later areas add a
``GuardRule`` here instead of copying a check into their services.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from attrs import frozen

from custmgmt.domain.customers import Customer, Purpose
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
