"""The contract an Authorizer adapter must pass."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pytest

from custmgmt.errors import PermissionDenied
from custmgmt.ports.auth import Action, Authorizer, Principal, Resource, Scope


class AuthorizerContract(ABC):
    """Subclass and implement the factory and the two principals it should know."""

    @abstractmethod
    def make_authorizer(self) -> Authorizer: ...

    @abstractmethod
    def salesperson(self) -> Principal:
        """A principal who may read prospects they own, and no one else's."""

    def nobody(self) -> Principal:
        return Principal(id="u-nobody", roles=frozenset())

    def unknown_id(self) -> str:
        """An id neither custmgmt's storage nor the adapter's directory knows."""
        return "u-nobody-knows-this-id"

    def test_an_unknown_principal_resolves_to_none(self) -> None:
        assert self.make_authorizer().resolve(self.unknown_id(), None) is None

    def test_a_stored_principal_resolves_to_grants_with_its_own_id(self) -> None:
        me = self.salesperson()
        resolved = self.make_authorizer().resolve(me.id, me)
        assert resolved is not None and resolved.id == me.id and resolved.active

    def test_resolve_never_returns_someone_elses_grants(self) -> None:
        me = self.salesperson()
        resolved = self.make_authorizer().resolve(self.unknown_id(), me)
        assert resolved is None or resolved.id == self.unknown_id()

    def test_known_roles_are_names_and_include_the_salespersons(self) -> None:
        known = self.make_authorizer().known_roles()
        assert all(isinstance(r, str) and r.strip() for r in known)
        assert self.salesperson().roles <= known

    @pytest.mark.parametrize("action", list(Action))
    def test_a_role_name_it_does_not_know_grants_nothing(self, action: Action) -> None:
        authorizer = self.make_authorizer()
        stranger = "no-such-role-" + "x" * 20
        assert stranger not in authorizer.known_roles()
        forged = Principal(id="u-forger", roles=frozenset({stranger}))
        assert authorizer.reach(forged, action).scope is Scope.NONE

    def _resource(self, owner: str, team: str | None) -> Resource:
        return Resource(kind="prospect", id="p-1", owner_id=owner, team=team)

    def test_a_principal_without_roles_is_denied_with_permission_denied(self) -> None:
        with pytest.raises(PermissionDenied):
            self.make_authorizer().check(self.nobody(), Action.PROSPECT_READ,
                                         self._resource("u-x", None))

    def test_an_owner_may_read_their_own_prospect(self) -> None:
        me = self.salesperson()
        self.make_authorizer().check(me, Action.PROSPECT_READ, self._resource(me.id, me.team))

    def test_a_salesperson_may_not_read_someone_elses_prospect(self) -> None:
        me = self.salesperson()
        with pytest.raises(PermissionDenied):
            self.make_authorizer().check(me, Action.PROSPECT_READ,
                                         self._resource("u-someone-else", "other-team"))

    @pytest.mark.parametrize("action", list(Action))
    def test_reach_agrees_with_check(self, action: Action) -> None:
        authorizer = self.make_authorizer()
        me = self.salesperson()
        reach = authorizer.reach(me, action)
        for owner, team in [(me.id, me.team), ("u-other", me.team), ("u-other", "elsewhere")]:
            resource = self._resource(owner, team)
            try:
                authorizer.check(me, action, resource)
                allowed = True
            except PermissionDenied:
                allowed = False
            assert allowed == (reach.scope is not Scope.NONE and reach.covers(resource))
