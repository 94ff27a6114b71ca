"""The default role table names each role once: a repeated key in the dict display
silently drops the earlier grants (as a merge once did to the auditor's pi.read)."""

from __future__ import annotations

import ast
import inspect

import pytest

from custmgmt.adapters import rbac
from custmgmt.errors import PermissionDenied
from custmgmt.ports.auth import Action, Principal, Reach, Resource, Scope


def test_each_role_appears_once_in_the_default_table() -> None:
    tree = ast.parse(inspect.getsource(rbac))
    (table,) = [node.value for node in ast.walk(tree)
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and node.target.id == "DEFAULT_TABLE"]
    assert isinstance(table, ast.Dict)
    roles = [ast.unparse(key) for key in table.keys if key is not None]
    assert len(roles) == len(set(roles)), sorted(r for r in roles if roles.count(r) > 1)


def test_the_auditor_reads_requests_and_the_dispatcher_runs_the_escalation_sweep() -> None:
    auditor = rbac.DEFAULT_TABLE[rbac.Role.AUDITOR]
    dispatcher = rbac.DEFAULT_TABLE[rbac.Role.DISPATCHER]
    assert rbac.Action.PI_READ in auditor and rbac.Action.AUDIT_VERIFY in auditor
    assert rbac.Action.COMPLAINT_ESCALATE in dispatcher


def _principal(*roles: str, team: str | None = "east") -> Principal:
    return Principal(id="u-x", roles=frozenset(roles), team=team)


def test_a_principal_gets_the_widest_scope_any_of_its_roles_grants() -> None:
    """Worked out per set of roles once and remembered: asked again, and for other
    sets in between, every answer is the table's."""
    authorizer = rbac.RoleBasedAuthorizer()
    sets = [(), ("salesperson",), ("sales_manager",), ("salesperson", "sales_manager"),
            ("admin",), ("no_such_role",), ("salesperson", "no_such_role")]
    for _ in range(2):
        for roles in sets:
            principal = _principal(*roles)
            for action in Action:
                expected = max((rbac.DEFAULT_TABLE.get(r, {}).get(action, Scope.NONE)
                                for r in roles), default=Scope.NONE)
                reach = authorizer.reach(principal, action)
                assert reach == Reach(scope=expected, principal_id="u-x", team="east")
                if expected is Scope.NONE:
                    with pytest.raises(PermissionDenied):
                        authorizer.check(principal, action, None)
                else:
                    authorizer.check(principal, action, None)


def test_the_table_is_read_when_the_authorizer_is_made() -> None:
    table = {"clerk": {Action.PROSPECT_READ: Scope.OWN}}
    authorizer = rbac.RoleBasedAuthorizer(table)
    clerk = _principal("clerk")
    table["clerk"][Action.PROSPECT_READ] = Scope.ANY
    table["clerk"][Action.PROSPECT_UPDATE] = Scope.ANY
    assert authorizer.reach(clerk, Action.PROSPECT_READ).scope is Scope.OWN
    with pytest.raises(PermissionDenied):
        authorizer.check(clerk, Action.PROSPECT_UPDATE, None)
    own = Resource(kind="prospect", id="p-1", owner_id="u-x", team="east")
    other = Resource(kind="prospect", id="p-2", owner_id="u-y", team="east")
    authorizer.check(clerk, Action.PROSPECT_READ, own)
    with pytest.raises(PermissionDenied):
        authorizer.check(clerk, Action.PROSPECT_READ, other)
