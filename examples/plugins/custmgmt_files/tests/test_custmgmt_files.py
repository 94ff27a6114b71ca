"""The example plugin passes custmgmt's contract suites, and custmgmt finds it installed."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from custmgmt_files import JsonLinesNotifier, TomlRolesAuthorizer

import custmgmt
from custmgmt.errors import PermissionDenied, ValidationError
from custmgmt.ports.auth import Authorizer, Principal
from custmgmt.ports.notification import Notifier
from custmgmt.testing import (
    AuthorizerContract,
    Delivered,
    NotifierContract,
    sample_notification,
)

ROLES = textwrap.dedent("""
    [roles.salesperson]
    "prospect.register" = "any"
    "prospect.read" = "own"
    "prospect.update" = "own"
    "followup.record" = "own"

    [roles.ops]
    "notification.dispatch" = "any"

    [principals.u-alice]
    roles = ["salesperson"]
    team = "east"

    [principals.u-ops]
    roles = ["ops"]
""")


class TestJsonLinesNotifier(NotifierContract):
    honours_idempotency_key = True

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_notifier(self) -> Notifier:
        return JsonLinesNotifier(self.folder / "notifications.jsonl")

    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        assert isinstance(notifier, JsonLinesNotifier)
        return [Delivered(line["id"], line["idempotency_key"]) for line in notifier.lines()]


class TestTomlRolesAuthorizer(AuthorizerContract):
    @pytest.fixture(autouse=True)
    def _roles(self, tmp_path: Path) -> None:
        self.path = tmp_path / "roles.toml"
        self.path.write_text(ROLES, encoding="utf-8")

    def make_authorizer(self) -> Authorizer:
        return TomlRolesAuthorizer.from_file(self.path)

    def salesperson(self) -> Principal:
        return Principal(id="u-alice", roles=frozenset({"salesperson"}), team="east")

    def test_the_file_gives_the_grants_custmgmt_decides_with(self) -> None:
        authorizer = self.make_authorizer()
        resolved = authorizer.resolve("u-ops", None)
        assert resolved is not None and resolved.roles == {"ops"} and resolved.team is None
        assert authorizer.resolve("u-mallory", Principal(id="u-mallory")) is None
        assert authorizer.known_roles() == {"salesperson", "ops"}

    def test_the_file_decides_not_the_roles_a_principal_claims(self) -> None:
        claims_admin = Principal(id="u-mallory", roles=frozenset({"admin"}))
        with pytest.raises(PermissionDenied):
            self.make_authorizer().check(claims_admin, custmgmt.Action.PROSPECT_READ, None)


def test_custmgmt_finds_both_adapters_through_the_entry_point(tmp_path: Path) -> None:
    (tmp_path / "roles.toml").write_text(ROLES, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    settings = custmgmt.Settings(notifier="jsonl", authorizer="toml-roles", plugins={
        "jsonl": {"path": str(out)}, "toml-roles": {"path": str(tmp_path / "roles.toml")}})
    with custmgmt.open("memory://", settings=settings) as app:
        assert "files" in app.plugins.names()
        alice = app.principal("u-alice", team="east")
        ops = app.principal("u-ops")
        with app._storage.unit_of_work() as uow:
            uow.outbox.add(sample_notification(1))
            uow.commit()
        with pytest.raises(PermissionDenied):
            app.notifications.dispatch(alice)
        assert app.notifications.dispatch(ops).sent == 1
    assert [line["id"] for line in JsonLinesNotifier(out).lines()] == ["n-000001"]


@pytest.mark.parametrize(("plugins", "field"), [
    ({"jsonl": {}}, "plugins.jsonl.path"),
    ({"jsonl": {"path": "/no/such/folder/x.jsonl"}}, "plugins.jsonl.path"),
    ({"jsonl": {"path": "x.jsonl", "colour": "red"}}, "plugins.jsonl.colour"),
])
def test_bad_notifier_options_are_validation_errors(plugins: dict[str, dict[str, str]],
                                                    field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        custmgmt.open("memory://", settings=custmgmt.Settings(notifier="jsonl",
                                                              plugins=plugins))
    assert raised.value.field == field


@pytest.mark.parametrize("content", [
    "not toml [", '[roles.x]\n"no.such.action" = "any"\n', '[roles.x]\n"prospect.read" = "all"\n',
    '[principals.u-a]\nroles = ["ghost"]\n'])
def test_a_bad_roles_file_is_a_validation_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "roles.toml"
    path.write_text(content, encoding="utf-8")
    settings = custmgmt.Settings(authorizer="toml-roles",
                                 plugins={"toml-roles": {"path": str(path)}})
    with pytest.raises(ValidationError) as raised:
        custmgmt.open("memory://", settings=settings)
    assert raised.value.field == "plugins.toml-roles.path"
