"""The ``toml-roles`` authorizer: roles and grants from a TOML file.

    [roles.salesperson]                 # what a role may do, and how far
    "prospect.register" = "any"
    "prospect.read" = "own"             # none | own | team | any

    [principals.u-alice]                # who holds which roles, in which team
    roles = ["salesperson"]
    team = "east"

The file decides: custmgmt asks ``resolve`` for the grants of the acting id at
every call and gets the file's roles and team (a principal the file does not
list resolves to None: custmgmt refuses it). ``check`` and ``reach`` look the id
up in the file again, so the roles a ``Principal`` object carries are ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from attrs import frozen

from custmgmt.errors import PermissionDenied, ValidationError
from custmgmt.ports.auth import Action, Principal, Reach, Resource, Scope
from custmgmt.ports.settings import Settings

FIELD = "plugins.toml-roles.path"


@frozen
class Holder:
    roles: frozenset[str]
    team: str | None


class TomlRolesAuthorizer:
    def __init__(self, grants: Mapping[str, Mapping[Action, Scope]],
                 holders: Mapping[str, Holder]) -> None:
        self._grants = grants
        self._holders = holders

    @classmethod
    def from_file(cls, path: Path) -> TomlRolesAuthorizer:
        """Read and check the file; every problem is a ValidationError."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ValidationError(FIELD, f"cannot read {path}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ValidationError(FIELD, f"is not valid TOML: {error}") from None
        actions = {a.value: a for a in Action}
        grants: dict[str, dict[Action, Scope]] = {}
        for role, table in data.get("roles", {}).items():
            grants[role] = {}
            for action, scope in table.items():
                if action not in actions:
                    raise ValidationError(FIELD, f"role {role!r}: unknown action {action!r}")
                if not isinstance(scope, str) or scope.upper() not in Scope.__members__:
                    raise ValidationError(FIELD, f"role {role!r}: scope of {action!r} must be "
                                          "none, own, team or any")
                grants[role][actions[action]] = Scope[scope.upper()]
        holders: dict[str, Holder] = {}
        for principal_id, entry in data.get("principals", {}).items():
            roles = entry.get("roles", [])
            unknown = sorted(set(roles) - set(grants))
            if unknown:
                raise ValidationError(FIELD, f"principal {principal_id!r}: unknown role "
                                      f"{unknown[0]!r}")
            holders[principal_id] = Holder(frozenset(roles), entry.get("team"))
        return cls(grants, holders)

    def resolve(self, principal_id: str, stored: Principal | None) -> Principal | None:
        """The file's grants for ``principal_id`` (custmgmt's stored record, if any, only
        lends its supervisor), or None if the file does not list it."""
        holder = self._holders.get(principal_id)
        if holder is None:
            return None
        return Principal(id=principal_id, roles=holder.roles, team=holder.team,
                         supervisor_id=None if stored is None else stored.supervisor_id)

    def known_roles(self) -> frozenset[str]:
        """The roles the file defines: granting any other name in custmgmt is refused."""
        return frozenset(self._grants)

    def reach(self, principal: Principal, action: Action) -> Reach:
        holder = self._holders.get(principal.id, Holder(frozenset(), None))
        scope = max((self._grants[role].get(action, Scope.NONE) for role in holder.roles),
                    default=Scope.NONE)
        return Reach(scope=scope, principal_id=principal.id, team=holder.team)

    def check(self, principal: Principal, action: Action, resource: Resource | None) -> None:
        reach = self.reach(principal, action)
        if reach.scope is Scope.NONE:
            raise PermissionDenied(principal.id, action.value, "no role in the roles file")
        if resource is not None and not reach.covers(resource):
            raise PermissionDenied(principal.id, action.value,
                                   f"{resource.kind} {resource.id!r} is out of reach")


def create_authorizer(settings: Settings) -> TomlRolesAuthorizer:
    options = settings.options("toml-roles")
    path = options.path("path")
    options.finish()
    if path is None:
        raise ValidationError(FIELD, "is required")
    return TomlRolesAuthorizer.from_file(path)
