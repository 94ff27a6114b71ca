"""What the parts of ``app.care`` share: the context, the guard for ``Purpose.CARE``,
who the duty manager is, and the audit view of care records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from custmgmt.domain.customers import Customer, Purpose
from custmgmt.ports.auth import Principal, Role
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.context import Context, Described

DUTY_MANAGERS = "role:duty_manager"
"""Where a notification for the duty manager goes when nobody holds that role: the
role's address, for a notifier that routes by role."""


class CareBase(Described):
    """The context and the helpers every part of the care service uses."""

    _ctx: Context

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def _customer(self, uow: UnitOfWork, customer_id: str) -> Customer:
        """The customer, if it may be cared for (NotFound; CustomerRefused if sealed)."""
        return self._ctx.customer_for(uow, customer_id, Purpose.CARE)

    def _audit(self, uow: UnitOfWork, actor: Principal, *, kind: str, resource_id: str,
               action: str, at: datetime, before: dict[str, str] | None,
               after: dict[str, str]) -> None:
        self._ctx.audit(uow, actor, kind=kind, resource_id=resource_id, action=action, at=at,
                        before=before, after=after)

    def _holders(self, uow: UnitOfWork, role: str, team: str | None = None) -> Sequence[str]:
        """The active principals holding ``role`` (in ``team``), by id."""
        return [p.id for p in uow.principals.find(role=role, team=team) if p.active]

    def _tier_of(self, uow: UnitOfWork, customer_id: str) -> tuple[str | None, tuple[str, ...]]:
        """The customer's membership tier and its benefits (the membership part says)."""
        del uow, customer_id
        return None, ()

    def _duty_managers(self, uow: UnitOfWork) -> Sequence[str]:
        """Every active duty manager, or the role's address if there is none."""
        return self._holders(uow, Role.DUTY_MANAGER) or [DUTY_MANAGERS]
