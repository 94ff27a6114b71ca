"""The default role table names each role once: a repeated key in the dict display
silently drops the earlier grants (as a merge once did to the auditor's pi.read)."""

from __future__ import annotations

import ast
import inspect

from custmgmt.adapters import rbac


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
