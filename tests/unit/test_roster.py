"""The roster is the one place the list of repositories lives: everything else follows it,
and a repository, port or event it does not name fails here."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from typing import Protocol

import custmgmt.adapters.memory
import custmgmt.adapters.sql
import custmgmt.domain
from custmgmt.adapters.memory import storage as memory
from custmgmt.adapters.sql import storage as sql
from custmgmt.domain.common import DomainEvent
from custmgmt.ports import care, notification, storage
from custmgmt.ports.roster import ROSTER, event_types, names
from custmgmt.testing import StorageContract

NOT_REPOSITORIES = {"MemoryState", "MemoryStorage", "MemoryUnitOfWork", "MemoryRepository",
                    "SqlStorage", "SqlUnitOfWork"}


def _modules(package: object) -> list[object]:
    path = getattr(package, "__path__", [])
    prefix = getattr(package, "__name__", "") + "."
    return [importlib.import_module(m.name) for m in pkgutil.walk_packages(path, prefix)
            if ".migrations" not in m.name]


def test_the_unit_of_work_port_offers_exactly_the_roster() -> None:
    hints = typing.get_type_hints(storage.UnitOfWork.__dict__["prospects"].fget)
    assert hints["return"] is storage.ProspectRepository
    offered = {name: typing.get_type_hints(member.fget)["return"]
               for name, member in vars(storage.UnitOfWork).items()
               if isinstance(member, property)}
    assert offered == {entry.name: entry.port for entry in ROSTER}


def test_every_repository_port_is_on_the_roster() -> None:
    ports = {cls for module in (storage, notification, care) for cls in vars(module).values()
             if inspect.isclass(cls) and issubclass(cls, Protocol)  # type: ignore[arg-type]
             and cls.__module__ == module.__name__
             and cls.__name__.endswith(("Repository", "Log", "Outbox"))}
    assert ports == {entry.port for entry in ROSTER}


def test_each_adapter_implements_the_roster_and_nothing_beside_it() -> None:
    assert tuple(memory.REPOSITORIES) == names()
    assert tuple(sql.REPOSITORIES) == names()
    for package, prefix in ((custmgmt.adapters.memory, "Memory"),
                            (custmgmt.adapters.sql, "Sql")):
        classes = {cls.__name__ for module in _modules(package)
                   for cls in vars(module).values()
                   if inspect.isclass(cls) and cls.__name__.startswith(prefix)
                   and cls.__module__ == module.__name__}  # type: ignore[attr-defined]
        registered = ({c.__name__ for c in memory.REPOSITORIES.values()}  # type: ignore[attr-defined]
                      if prefix == "Memory" else
                      {r.__class__.__name__ for r in _sql_repositories()})
        assert classes - NOT_REPOSITORIES == registered, prefix


def _sql_repositories() -> list[object]:
    return [make(None, None) for make in sql.REPOSITORIES.values()]  # type: ignore[arg-type]


def test_every_repository_implements_its_port() -> None:
    for entry, make in zip(ROSTER, _sql_repositories(), strict=True):
        wanted = {name for name in vars(entry.port) if not name.startswith("_")}
        assert wanted <= set(dir(make)), entry.name
    for entry in ROSTER:
        wanted = {name for name in vars(entry.port) if not name.startswith("_")}
        assert wanted <= set(dir(memory.REPOSITORIES[entry.name])), entry.name


def test_every_domain_event_is_named_by_the_roster() -> None:
    defined = {cls for module in _modules(custmgmt.domain) for cls in vars(module).values()
               if inspect.isclass(cls) and issubclass(cls, DomainEvent) and cls is not DomainEvent}
    assert defined == set(event_types())
    assert len({cls.__name__ for cls in event_types()}) == len(event_types())


def test_the_storage_contract_covers_the_roster() -> None:
    covered = {name for cls in StorageContract.__mro__
               for name in vars(cls).get("covers", ())}
    assert covered == set(names())
