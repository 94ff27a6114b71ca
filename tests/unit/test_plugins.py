"""The plugin manager: schemes, conflicts, typos, entry points, and the docs page."""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

import custmgmt
from custmgmt import Grade, Money, Willingness
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.errors import ValidationError
from custmgmt.plugins import PluginConflict, Plugins, hookimpl
from custmgmt.ports import hookspecs
from custmgmt.ports.hookspecs import StorageBackend

ROOT = Path(__file__).resolve().parents[2]


def test_an_unknown_scheme_lists_the_installed_ones() -> None:
    with pytest.raises(ValidationError) as raised:
        custmgmt.open("nosuchdb://x")
    assert raised.value.field == "url"
    assert "memory" in raised.value.message


@pytest.mark.parametrize("bad", ["", "crm.db", "://x", 42])
def test_a_url_without_a_scheme_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError) as raised:
        custmgmt.open(bad)  # type: ignore[arg-type]
    assert raised.value.field == "url"


class ClaimsMemory:
    @hookimpl
    def custmgmt_storage_backends(self) -> Sequence[StorageBackend]:
        return (StorageBackend(name="impostor", schemes=("memory",),
                               open=lambda url, migrate: MemoryStorage()),)


def test_two_plugins_claiming_one_scheme_is_an_error_not_a_pick() -> None:
    with pytest.raises(PluginConflict) as raised:
        custmgmt.open("memory://", plugins=[ClaimsMemory()])
    assert "impostor" in str(raised.value) and "memory" in str(raised.value)


class Misspelt:
    @hookimpl
    def custmgmt_storage_backend(self) -> Sequence[StorageBackend]:  # missing "s"
        return ()


def test_a_misspelt_hook_fails_loudly() -> None:
    with pytest.raises(ValidationError) as raised:
        Plugins([Misspelt()])
    assert "custmgmt_storage_backend" in str(raised.value)


class EverythingIsA:
    @hookimpl
    def custmgmt_grading_policy(self, settings: custmgmt.Settings) -> object:
        return self

    def grade(self, willingness: Willingness, potential_value: Money) -> Grade:
        return Grade.A


def test_a_plugin_can_replace_the_grading_policy() -> None:
    with custmgmt.open("memory://", plugins=[EverythingIsA()]) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        p = app.prospects.register(alice, name="X", phone="13800138000",
                                   willingness="none", potential_value=0)
    assert p.grade is Grade.A


@pytest.fixture
def throwaway_distribution(tmp_path: Path) -> Iterator[Path]:
    """A distribution that exists only as files on sys.path, like a pip-installed plugin."""
    (tmp_path / "custmgmt_fakedb.py").write_text(textwrap.dedent('''
        from custmgmt.adapters.memory.storage import MemoryStorage
        from custmgmt.plugins import hookimpl
        from custmgmt.ports.hookspecs import StorageBackend

        OPENED = []

        def _open(url, migrate):
            OPENED.append(url)
            return MemoryStorage()

        @hookimpl
        def custmgmt_storage_backends():
            return (StorageBackend(name="fakedb", schemes=("fakedb",), open=_open),)
    '''))
    info = tmp_path / "custmgmt_fakedb-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: custmgmt-fakedb\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[custmgmt]\nfakedb = custmgmt_fakedb\n")
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("custmgmt_fakedb", None)


def test_a_plugin_found_through_an_entry_point_supplies_storage(
    throwaway_distribution: Path,
) -> None:
    with custmgmt.open("fakedb://crm") as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        app.prospects.register(alice, name="X", phone="13800138000", willingness="clear",
                               potential_value=1)
    module = sys.modules["custmgmt_fakedb"]
    assert module.OPENED == ["fakedb://crm"]
    assert "fakedb" in Plugins().names()


def test_without_the_entry_point_the_scheme_is_unknown() -> None:
    with pytest.raises(ValidationError):
        custmgmt.open("fakedb://crm")


def hook_names() -> list[str]:
    return [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
            if name.startswith("custmgmt_")]


def test_every_hook_is_documented_on_the_plugins_page() -> None:
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert hook_names(), "no hooks found"
    missing = [name for name in hook_names() if f"### `{name}" not in page]
    assert missing == []


def test_every_hook_has_a_docstring_and_full_annotations() -> None:
    for name in hook_names():
        function = getattr(hookspecs, name)
        assert function.__doc__, name
        assert "return" in inspect.get_annotations(function), name


def test_every_field_of_every_type_a_plugin_touches_is_on_the_plugins_page() -> None:
    import attrs

    from custmgmt.ports.auth import Principal, Reach, Resource
    from custmgmt.ports.hookspecs import AuthorizerBackend, NotifierBackend
    from custmgmt.ports.notification import Notification, OutboxItem

    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    types = [Principal, Resource, Reach, Notification, OutboxItem, custmgmt.Settings,
             StorageBackend, NotifierBackend, AuthorizerBackend]
    missing = [f"{t.__name__}.{a.name}" for t in types for a in attrs.fields(t)
               if f"`{a.name}`" not in page]
    assert missing == []
    for enum in (custmgmt.Action, custmgmt.DeliveryStatus):
        assert f"`{enum.__name__}`" in page
    for scope in ("NONE", "OWN", "TEAM", "ANY"):
        assert f"`{scope}`" in page
