"""Who may act and with which grants, reached as ``app.principals``.

Every call needs the principal-management right (``Action.PRINCIPAL_MANAGE``;
the ``admin`` role by default), checked against the caller's grants as stored.
Each change is kept in the principal's audit trail (kind ``"principal"``).
``app.principal(...)`` is the unauthorized bootstrap for a fresh store and for
tests: whoever holds the ``app`` object is trusted as the host application.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date

import attrs

from custmgmt.domain.validation import require_date, require_id, require_text
from custmgmt.errors import NotFound, ValidationError
from custmgmt.ports.auth import Action, Certification, Principal
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import optional_text

KIND = "principal"


def snapshot(principal: Principal) -> dict[str, str]:
    """The audit view of a principal's grants."""
    return {
        "roles": ",".join(sorted(principal.roles)),
        "team": principal.team or "",
        "supervisor": principal.supervisor_id or "",
        "certifications": ",".join(sorted(
            f"{c.name}:{c.valid_until.isoformat() if c.valid_until else '-'}"
            for c in principal.certifications)),
        "active": str(principal.active).lower(),
    }


def role_names(value: object, known: frozenset[str], field: str = "roles") -> frozenset[str]:
    """Check role names: a set of non-empty strings, each one the authorizer knows."""
    roles = frozenset(_texts(field, value))
    unknown = sorted(roles - known)
    if unknown:
        raise ValidationError(field, f"unknown role {unknown[0]!r}; known roles: "
                              + ", ".join(sorted(known)))
    return roles


@guarded
class PrincipalService(Described):
    """Grant and revoke roles, certify, deactivate and list principals."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def _change(
        self,
        actor: Principal,
        principal_id: str,
        audit_action: str,
        change: Callable[[Principal, Principal | None], Principal],
    ) -> Principal:
        pid = require_id("principal_id", principal_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.PRINCIPAL_MANAGE)
            current = uow.principals.get(pid)
            changed = change(who, current)
            if changed == current:
                return changed
            stored = uow.principals.save(changed)
            self._ctx.audit(uow, who, kind=KIND, resource_id=pid, action=audit_action, at=now,
                            before=None if current is None else snapshot(current),
                            after=snapshot(stored))
            uow.commit()
            return stored

    def _existing(self, principal_id: str, current: Principal | None) -> Principal:
        if current is None:
            raise NotFound("principal", principal_id)
        return current

    def grant(
        self,
        actor: Principal,
        principal_id: str,
        roles: Iterable[str],
        *,
        team: str | None = None,
        supervisor_id: str | None = None,
    ) -> Principal:
        """Add roles (names the authorizer knows; any other is refused) and return the
        principal as stored. An unknown id becomes a new principal. ``team`` and
        ``supervisor_id``, when given, are set too (``assign`` changes or clears them)."""
        wanted = role_names(roles, self._ctx.authorizer.known_roles())
        new_team = optional_text("team", team, 100)
        boss = None if supervisor_id is None else require_id("supervisor_id", supervisor_id)

        def change(_: Principal, current: Principal | None) -> Principal:
            base = current or Principal(id=require_id("principal_id", principal_id))
            return attrs.evolve(
                base, roles=base.roles | wanted,
                team=base.team if new_team is None else new_team,
                supervisor_id=base.supervisor_id if boss is None else boss)

        return self._change(actor, principal_id, "grant", change)

    def revoke(
        self,
        actor: Principal,
        principal_id: str,
        roles: Iterable[str] = (),
        *,
        certifications: Iterable[str] = (),
    ) -> Principal:
        """Take roles and/or certifications (by name) away. Takes effect at the
        principal's next call, in every process."""
        taken = frozenset(_texts("roles", roles))
        names = frozenset(_texts("certifications", certifications))

        def change(_: Principal, current: Principal | None) -> Principal:
            base = self._existing(principal_id, current)
            return attrs.evolve(
                base, roles=base.roles - taken,
                certifications=frozenset(c for c in base.certifications if c.name not in names))

        return self._change(actor, principal_id, "revoke", change)

    def assign(
        self, actor: Principal, principal_id: str, *, team: str | None,
        supervisor_id: str | None,
    ) -> Principal:
        """Set (or clear, with None) the principal's team and supervisor."""
        new_team = optional_text("team", team, 100)
        boss = None if supervisor_id is None else require_id("supervisor_id", supervisor_id)

        def change(_: Principal, current: Principal | None) -> Principal:
            return attrs.evolve(self._existing(principal_id, current), team=new_team,
                                supervisor_id=boss)

        return self._change(actor, principal_id, "assign", change)

    def certify(
        self, actor: Principal, principal_id: str, name: str, *,
        valid_until: date | None = None,
    ) -> Principal:
        """Record a certification (e.g. ``sample_receiver``, 持证上岗) valid until a
        date (None: no end), replacing one of the same name."""
        cert = Certification(require_text("name", name, 100),
                             None if valid_until is None
                             else require_date("valid_until", valid_until))

        def change(_: Principal, current: Principal | None) -> Principal:
            base = self._existing(principal_id, current)
            kept = frozenset(c for c in base.certifications if c.name != cert.name)
            return attrs.evolve(base, certifications=kept | {cert})

        return self._change(actor, principal_id, "certify", change)

    def deactivate(self, actor: Principal, principal_id: str) -> Principal:
        """Stop the principal acting at all (their grants stay on record). Nobody
        deactivates themselves."""
        def change(who: Principal, current: Principal | None) -> Principal:
            base = self._existing(principal_id, current)
            if base.id == who.id:
                raise ValidationError("principal_id", "you cannot deactivate yourself")
            return attrs.evolve(base, active=False)

        return self._change(actor, principal_id, "deactivate", change)

    def reactivate(self, actor: Principal, principal_id: str) -> Principal:
        """Let a deactivated principal act again, with the grants on record."""
        return self._change(actor, principal_id, "reactivate", lambda _, current: attrs.evolve(
            self._existing(principal_id, current), active=True))

    def get(self, actor: Principal, principal_id: str) -> Principal:
        """The principal's grants as stored (NotFound if there is no such principal)."""
        pid = require_id("principal_id", principal_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.PRINCIPAL_MANAGE)
            return self._existing(pid, uow.principals.get(pid))

    def list(
        self, actor: Principal, *, role: str | None = None, team: str | None = None,
    ) -> tuple[Principal, ...]:
        """Principals, by id, optionally only those holding ``role`` and/or in ``team``
        (deactivated ones included: see ``active``)."""
        wanted = optional_text("role", role, 100)
        in_team = optional_text("team", team, 100)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.PRINCIPAL_MANAGE)
            return tuple(uow.principals.find(role=wanted, team=in_team))


def _texts(field: str, values: object) -> list[str]:
    """A collection of names (not one string: that would be split into letters)."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise ValidationError(field, "must be a set of names, e.g. {\"salesperson\"}")
    names = list(values)
    if len(names) > 100:
        raise ValidationError(field, "at most 100 names at once")
    return [require_text(field, name, 100) for name in names]
