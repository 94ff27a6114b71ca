"""The built-in adapters, offered through the same hooks a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Sequence

from custmgmt.adapters.memory.notifier import RecordingNotifier
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.notify.logging import LoggingNotifier
from custmgmt.adapters.rbac import RoleBasedAuthorizer
from custmgmt.adapters.sealing import HmacSealer
from custmgmt.adapters.sql.backend import SQL_BACKENDS
from custmgmt.domain.followups import CadencePolicy, DefaultCadencePolicy
from custmgmt.domain.prospects import DefaultGradingPolicy, GradingPolicy
from custmgmt.ports.hookspecs import (
    AuthorizerBackend,
    NotifierBackend,
    StorageBackend,
    hookimpl,
)
from custmgmt.ports.sealing import Sealer
from custmgmt.ports.settings import Settings
from custmgmt.ports.storage import Storage


def _open_memory(url: str, migrate: bool) -> Storage:
    return MemoryStorage()


@hookimpl
def custmgmt_storage_backends() -> Sequence[StorageBackend]:
    return (StorageBackend(name="memory", schemes=("memory",), open=_open_memory), *SQL_BACKENDS)


@hookimpl
def custmgmt_notifiers() -> Sequence[NotifierBackend]:
    return (
        NotifierBackend(name="memory", create=lambda _settings: RecordingNotifier()),
        NotifierBackend(name="logging", create=lambda _settings: LoggingNotifier()),
    )


@hookimpl
def custmgmt_authorizers() -> Sequence[AuthorizerBackend]:
    return (AuthorizerBackend(name="rbac", create=lambda _settings: RoleBasedAuthorizer()),)


@hookimpl(trylast=True)
def custmgmt_grading_policy(settings: Settings) -> GradingPolicy | None:
    return DefaultGradingPolicy(large=settings.grading_large, medium=settings.grading_medium)


@hookimpl(trylast=True)
def custmgmt_cadence_policy(settings: Settings) -> CadencePolicy | None:
    return DefaultCadencePolicy(days=settings.cadence_days,
                                maintenance_days=settings.maintenance_days)


@hookimpl(trylast=True)
def custmgmt_chain_sealer(settings: Settings) -> Sealer | None:
    return None if settings.chain_key is None else HmacSealer(settings.chain_key)
