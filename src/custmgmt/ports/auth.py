"""Who is acting, what they want to do, and the Authorizer that says yes or no."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Protocol

from attrs import field, frozen

from custmgmt.domain.validation import a_date, optional, text
from custmgmt.errors import ValidationError


class Role:
    """The built-in role names. Any other string is a role too, if the table grants it."""

    SALESPERSON = "salesperson"
    SALES_MANAGER = "sales_manager"
    PROSPECT_READER = "prospect_reader"
    ACCOUNT_MANAGER = "account_manager"
    """Looks after customers; creates existing clients directly."""
    CUSTOMER_READER = "customer_reader"
    SAMPLE_RECEIVER = "sample_receiver"
    """Also needs a valid ``sample_receiver`` certification (持证上岗)."""
    SAMPLE_REGISTRY = "sample_registry"
    SAMPLE_USER = "sample_user"
    SAFETY_OFFICER = "safety_officer"
    QUALITY_MANAGER = "quality_manager"
    ADMIN = "admin"


class Action(enum.Enum):
    """Everything a principal may be allowed to do; the authorizer decides per action."""

    PROSPECT_REGISTER = "prospect.register"
    PROSPECT_READ = "prospect.read"
    PROSPECT_UPDATE = "prospect.update"
    PROSPECT_OVERRIDE_GRADE = "prospect.override_grade"
    PROSPECT_TRANSFER = "prospect.transfer"
    PROSPECT_REOPEN = "prospect.reopen"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_READ = "customer.read"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_TRANSFER = "customer.transfer"
    CUSTOMER_STATUS = "customer.status"
    CUSTOMER_REVIEW = "customer.review"
    FOLLOWUP_RECORD = "followup.record"
    FOLLOWUP_READ = "followup.read"
    FOLLOWUP_REMIND = "followup.remind"
    FOLLOWUP_OVERRIDE = "followup.override"
    """Record a follow-up late, or push the next one past the cadence (with a reason)."""
    REPORT_READ = "report.read"
    REPORT_CLOSE = "report.close"
    """Close a month's report: the month takes no more follow-up records."""
    POOL_RELEASE = "pool.release"
    POOL_CLAIM = "pool.claim"
    SAMPLE_RECEIVE = "sample.receive"
    SAMPLE_REGISTER = "sample.register"
    SAMPLE_APPLY = "sample.apply"
    SAMPLE_HAZARD_APPROVE = "sample.hazard_approve"
    SAMPLE_READ = "sample.read"
    PRINCIPAL_MANAGE = "principal.manage"
    NOTIFICATION_DISPATCH = "notification.dispatch"


class Scope(enum.IntEnum):
    """How far a grant reaches, narrowest first."""

    NONE = 0
    OWN = 1
    TEAM = 2
    ANY = 3


@frozen
class Certification:
    """A qualification a principal holds (e.g. ``sample_receiver``) and until when."""

    name: str = field(validator=text(100))
    valid_until: date | None = field(default=None, validator=optional(a_date))

    def valid_on(self, day: date) -> bool:
        return self.valid_until is None or day <= self.valid_until


def _roles(value: object) -> frozenset[str]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError("roles", "must be a set of role names")
    roles = frozenset(value)
    if not all(isinstance(r, str) and r.strip() for r in roles):
        raise ValidationError("roles", "every role must be a non-empty string")
    return roles


def _certifications(value: object) -> frozenset[Certification]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError("certifications", "must be a set of Certification")
    value = tuple(value)
    if not all(isinstance(c, Certification) for c in value):
        raise ValidationError("certifications", "every item must be a Certification")
    return frozenset(value)


@frozen(kw_only=True)
class Principal:
    """Someone acting through custmgmt: an id, roles, a team, and a supervisor."""

    id: str = field(validator=text(200))
    roles: frozenset[str] = field(default=frozenset(), converter=_roles)
    team: str | None = field(default=None, validator=optional(text(100)))
    supervisor_id: str | None = field(default=None, validator=optional(text(200)))
    certifications: frozenset[Certification] = field(
        default=frozenset(), converter=_certifications
    )

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def certified(self, name: str, on: date) -> bool:
        return any(c.name == name and c.valid_on(on) for c in self.certifications)


@frozen(kw_only=True)
class Resource:
    """What an action touches, as far as access rules care: its owner and team."""

    kind: str
    id: str
    owner_id: str | None = None
    team: str | None = None


@frozen(kw_only=True)
class Reach:
    """Which records of a kind a principal may see: used to filter lists and reports."""

    scope: Scope
    principal_id: str
    team: str | None = None

    def covers(self, resource: Resource) -> bool:
        if self.scope is Scope.ANY:
            return True
        if self.scope is Scope.TEAM and self.team is not None and resource.team == self.team:
            return True
        return self.scope >= Scope.OWN and resource.owner_id == self.principal_id


class Authorizer(Protocol):
    """Decides whether a principal may act. Raises PermissionDenied, returns None."""

    def check(self, principal: Principal, action: Action, resource: Resource | None) -> None:
        """Raise ``PermissionDenied`` unless ``principal`` may do ``action`` to ``resource``."""
        ...

    def reach(self, principal: Principal, action: Action) -> Reach:
        """How far ``principal``'s right to ``action`` reaches, for filtering lists."""
        ...
