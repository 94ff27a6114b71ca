"""The default authorizer: a table of role -> action -> scope, with owner/team scoping."""

from __future__ import annotations

from collections.abc import Mapping

from custmgmt.errors import PermissionDenied
from custmgmt.ports.auth import Action, Principal, Reach, Resource, Role, Scope

A = Action

DEFAULT_TABLE: Mapping[str, Mapping[Action, Scope]] = {
    Role.SALESPERSON: {
        A.PROSPECT_REGISTER: Scope.ANY,
        A.PROSPECT_READ: Scope.OWN,
        A.PROSPECT_UPDATE: Scope.OWN,
        A.PROSPECT_OVERRIDE_GRADE: Scope.OWN,
        A.FOLLOWUP_RECORD: Scope.OWN,
        A.FOLLOWUP_READ: Scope.OWN,
        A.REPORT_READ: Scope.OWN,
        A.POOL_CLAIM: Scope.ANY,
        A.CUSTOMER_READ: Scope.OWN,
        A.CUSTOMER_UPDATE: Scope.OWN,
    },
    Role.SALES_MANAGER: {
        A.PROSPECT_REGISTER: Scope.ANY,
        A.PROSPECT_READ: Scope.TEAM,
        A.PROSPECT_UPDATE: Scope.TEAM,
        A.PROSPECT_OVERRIDE_GRADE: Scope.TEAM,
        A.PROSPECT_TRANSFER: Scope.TEAM,
        A.PROSPECT_REOPEN: Scope.TEAM,
        A.FOLLOWUP_RECORD: Scope.TEAM,
        A.FOLLOWUP_READ: Scope.TEAM,
        A.FOLLOWUP_REMIND: Scope.TEAM,
        A.FOLLOWUP_OVERRIDE: Scope.TEAM,
        A.REPORT_READ: Scope.TEAM,
        A.REPORT_CLOSE: Scope.TEAM,
        A.POOL_RELEASE: Scope.TEAM,
        A.POOL_CLAIM: Scope.ANY,
        A.CUSTOMER_CREATE: Scope.ANY,
        A.CUSTOMER_READ: Scope.TEAM,
        A.CUSTOMER_UPDATE: Scope.TEAM,
        A.CUSTOMER_TRANSFER: Scope.TEAM,
        A.CUSTOMER_REVIEW: Scope.TEAM,
        A.CONSENT_RECORD: Scope.TEAM,
        A.CONSENT_READ: Scope.TEAM,
    },
    Role.ACCOUNT_MANAGER: {
        A.CUSTOMER_CREATE: Scope.ANY,
        A.CUSTOMER_READ: Scope.OWN,
        A.CUSTOMER_UPDATE: Scope.OWN,
        A.CONSENT_RECORD: Scope.OWN,
        A.CONSENT_READ: Scope.OWN,
        A.RISK_ASSESS: Scope.OWN,
        A.CARE_BRIEF: Scope.OWN,
    },
    Role.CUSTOMER_READER: {A.CUSTOMER_READ: Scope.ANY},
    Role.PROSPECT_READER: {A.PROSPECT_READ: Scope.ANY},
    Role.SAMPLE_RECEIVER: {A.SAMPLE_RECEIVE: Scope.ANY, A.SAMPLE_READ: Scope.ANY},
    Role.SAMPLE_REGISTRY: {A.SAMPLE_REGISTER: Scope.ANY, A.SAMPLE_READ: Scope.ANY},
    Role.SAMPLE_USER: {A.SAMPLE_APPLY: Scope.ANY, A.SAMPLE_READ: Scope.ANY},
    Role.SAFETY_OFFICER: {A.SAMPLE_HAZARD_APPROVE: Scope.ANY, A.SAMPLE_READ: Scope.ANY},
    Role.QUALITY_MANAGER: {A.SAMPLE_READ: Scope.ANY, A.AUDIT_VERIFY: Scope.ANY},
    Role.AUDITOR: {A.AUDIT_VERIFY: Scope.ANY, A.PI_READ: Scope.ANY},
    Role.DISPATCHER: {A.NOTIFICATION_DISPATCH: Scope.ANY, A.NOTIFICATION_READ: Scope.ANY,
                      A.COMPLAINT_ESCALATE: Scope.ANY},
    Role.RELATIONSHIP_MANAGER: {
        A.CUSTOMER_READ: Scope.OWN,
        A.CREDIT_DRAFT: Scope.OWN,
        A.CREDIT_READ: Scope.OWN,
        A.CREDIT_ISSUE: Scope.OWN,
        A.CREDIT_AWARD: Scope.OWN,
        A.CREDIT_DRAW: Scope.OWN,
        A.RISK_ASSESS: Scope.OWN,
    },
    Role.CREDIT_APPROVER: {
        A.CREDIT_READ: Scope.ANY,
        A.CREDIT_APPROVE: Scope.ANY,
        A.CREDIT_REVOKE: Scope.ANY,
        A.CREDIT_LIMIT: Scope.ANY,
        A.CREDIT_REPORT: Scope.ANY,
    },
    Role.RISK_OFFICER: {A.CREDIT_READ: Scope.ANY, A.CREDIT_REPORT: Scope.ANY},
    Role.CUSTOMER_RELATIONS: {
        A.DELISTING_OPEN: Scope.ANY,
        A.DELISTING_READ: Scope.ANY,
        A.DELISTING_MANAGE: Scope.ANY,
        A.CUSTOMER_READ: Scope.ANY,
        A.CONSENT_RECORD: Scope.ANY,
        A.CONSENT_READ: Scope.ANY,
    },
    Role.LEADERSHIP: {
        A.DELISTING_READ: Scope.ANY,
        A.DELISTING_VOTE: Scope.ANY,
        A.DELISTING_OVERRIDE: Scope.ANY,
    },
    Role.SEALED_READER: {A.SEALED_READ: Scope.ANY},
    Role.PRIVACY_OFFICER: {
        A.PI_RECEIVE: Scope.ANY,
        A.PI_READ: Scope.ANY,
        A.PI_ACCESS: Scope.ANY,
        A.PI_EXPORT: Scope.ANY,
        A.PI_ERASE: Scope.ANY,
    },
    Role.MARKETER: {
        A.MARKETING_DRAFT: Scope.OWN,
        A.MARKETING_RUN: Scope.OWN,
        A.MARKETING_EVALUATE: Scope.OWN,
        A.MARKETING_READ: Scope.ANY,
        A.CONSENT_READ: Scope.ANY,
    },
    Role.COMPLIANCE_REVIEWER: {A.MARKETING_REVIEW: Scope.ANY, A.MARKETING_READ: Scope.ANY},
    Role.MARKETING_MANAGER: {
        A.MARKETING_PRODUCT: Scope.ANY,
        A.MARKETING_DRAFT: Scope.ANY,
        A.MARKETING_APPROVE: Scope.ANY,
        A.MARKETING_RUN: Scope.ANY,
        A.MARKETING_EVALUATE: Scope.ANY,
        A.MARKETING_READ: Scope.ANY,
        A.CONSENT_READ: Scope.ANY,
    },
    Role.FRONT_DESK: {
        A.CARE_BRIEF: Scope.ANY,
        A.CARE_FILE: Scope.ANY,
        A.CARE_VISIT: Scope.ANY,
        A.COMPLAINT_RECEIVE: Scope.ANY,
        A.SURVEY_RECORD: Scope.ANY,
    },
    Role.GUEST_RELATIONS: {
        A.CARE_BRIEF: Scope.ANY,
        A.CARE_FILE: Scope.ANY,
        A.CARE_VISIT: Scope.ANY,
        A.COMPLAINT_RECEIVE: Scope.ANY,
        A.COMPLAINT_HANDLE: Scope.ANY,
        A.COMPLAINT_READ: Scope.ANY,
        A.SURVEY_RECORD: Scope.ANY,
        A.CARE_TASK: Scope.ANY,
        A.CARE_REPORT: Scope.ANY,
        A.MEMBERSHIP_EVALUATE: Scope.ANY,
        A.CARE_SEGMENT: Scope.ANY,
        A.CARE_MESSAGE: Scope.ANY,
    },
    Role.DUTY_MANAGER: {
        A.CARE_BRIEF: Scope.ANY,
        A.COMPLAINT_RECEIVE: Scope.ANY,
        A.COMPLAINT_HANDLE: Scope.ANY,
        A.COMPLAINT_READ: Scope.ANY,
        A.COMPLAINT_ESCALATE: Scope.ANY,
        A.CARE_TASK: Scope.ANY,
        A.CARE_REPORT: Scope.ANY,
    },
    Role.SERVICE_MANAGER: {
        A.CARE_BRIEF: Scope.ANY,
        A.COMPLAINT_READ: Scope.ANY,
        A.CARE_TASK: Scope.ANY,
        A.CARE_REPORT: Scope.ANY,
    },
    Role.ADMIN: {action: Scope.ANY for action in Action},
}


class RoleBasedAuthorizer:
    """Grants by role. A principal gets the widest scope any of its roles grants.

    The grants are custmgmt's stored ones: ``resolve`` returns the stored
    principal as it is, and the role names it knows are the table's. The table is
    copied when the authorizer is made; what a set of roles grants is worked out
    once per set (every call asks it again).
    """

    def __init__(self, table: Mapping[str, Mapping[Action, Scope]] = DEFAULT_TABLE) -> None:
        self._table = {role: dict(grants) for role, grants in table.items()}
        self._merged: dict[frozenset[str], dict[Action, Scope]] = {}

    def resolve(self, principal_id: str, stored: Principal | None) -> Principal | None:
        return stored if stored is not None and stored.id == principal_id else None

    def known_roles(self) -> frozenset[str]:
        return frozenset(self._table)

    def _scope(self, principal: Principal, action: Action) -> Scope:
        roles = principal.roles
        grants = self._merged.get(roles)
        if grants is None:
            grants = {}
            for role in roles:
                for granted, scope in self._table.get(role, {}).items():
                    grants[granted] = max(scope, grants.get(granted, Scope.NONE))
            if len(self._merged) >= MERGED_ROLE_SETS:
                self._merged.clear()
            self._merged[roles] = grants
        return grants.get(action, Scope.NONE)

    def reach(self, principal: Principal, action: Action) -> Reach:
        return Reach(scope=self._scope(principal, action), principal_id=principal.id,
                     team=principal.team)

    def check(self, principal: Principal, action: Action, resource: Resource | None) -> None:
        scope = self._scope(principal, action)
        if scope is Scope.NONE:
            raise PermissionDenied(principal.id, action.value, "no role grants it")
        if resource is not None and not Reach(
                scope=scope, principal_id=principal.id, team=principal.team).covers(resource):
            raise PermissionDenied(principal.id, action.value, f"not within {scope.name} "
                                   f"scope for {resource.kind} {resource.id!r}")


MERGED_ROLE_SETS = 1024
"""How many distinct sets of roles ``RoleBasedAuthorizer`` remembers (then it starts over)."""
