"""repr() of the facade and its services names the storage and notifier, never a secret;
``custmgmt --version`` prints the installed version."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence

import pytest

import custmgmt
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.cli import main
from custmgmt.errors import ValidationError
from custmgmt.plugins import hookimpl
from custmgmt.ports.hookspecs import StorageBackend
from custmgmt.ports.storage import Storage

SECRET = "hunter2-s3cret"


class VaultDb:
    """A storage plugin whose URLs carry a password, as a PostgreSQL URL does."""

    @hookimpl
    def custmgmt_storage_backends(self) -> Sequence[StorageBackend]:
        def open_storage(url: str, migrate: bool) -> Storage:
            return MemoryStorage()
        return (StorageBackend(name="vault", schemes=("vaultdb",), open=open_storage),)


def services(app: custmgmt.CustomerManagement) -> dict[str, object]:
    return {name: value for name, value in vars(app).items()
            if not name.startswith("_") and type(value).__module__.startswith("custmgmt.services.")}


def test_repr_names_the_storage_and_notifier_of_the_facade_and_every_service() -> None:
    with custmgmt.open("memory://", settings=custmgmt.Settings(notifier="logging")) as app:
        assert repr(app) == "<CustomerManagement storage=memory:// notifier=logging>"
        found = services(app)
        assert {"prospects", "followups", "pool", "reports", "samples"} <= found.keys()
        for name, service in found.items():
            assert repr(service) == (f"<{type(service).__name__} storage=memory:// "
                                     "notifier=logging>"), (
                f"app.{name}: derive its class from custmgmt.services.context.Described")


@pytest.mark.parametrize("url", [
    f"vaultdb://crm:{SECRET}@db.internal:5432/crm",
    f"vaultdb://crm@db.internal/crm?sslmode=require&password={SECRET}",
])
def test_repr_never_shows_a_password(url: str) -> None:
    with custmgmt.open(url, plugins=[VaultDb()]) as app:
        shown = [repr(app), *(repr(s) for s in services(app).values())]
    for text in shown:
        assert SECRET not in text
        assert "vaultdb://" in text and "notifier=memory" in text


def test_a_url_that_does_not_parse_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        custmgmt.open(f"vaultdb://crm:{SECRET}@[::1/crm", plugins=[VaultDb()])
    assert refused.value.field == "url"
    assert SECRET not in str(refused.value) and SECRET not in repr(refused.value)


def test_repr_keeps_user_host_port_and_database() -> None:
    with custmgmt.open(f"vaultdb://crm:{SECRET}@db.internal:5432/crm?x=1",
                       plugins=[VaultDb()]) as app:
        assert repr(app) == ("<CustomerManagement storage=vaultdb://crm:***@db.internal:5432"
                             "/crm?... notifier=memory>")


def test_version_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    version = importlib.metadata.version("custmgmt")
    assert capsys.readouterr().out.strip() == f"custmgmt {version}"
    assert custmgmt.__version__ == version
