"""The plugin manager: finds plugins and asks them typed questions.

Plugins are found through the ``custmgmt`` entry-point group (the built-in
adapters are one such entry point). Each hook of ``ports.hookspecs`` is
reached through a typed method here, never through ``pm.hook`` directly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import pluggy

from custmgmt.adapters import builtin
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.followups import CadencePolicy
from custmgmt.domain.prospects import GradingPolicy
from custmgmt.errors import ValidationError
from custmgmt.ports import hookspecs
from custmgmt.ports.auth import Authorizer
from custmgmt.ports.hookspecs import PROJECT_NAME, StorageBackend, hookimpl
from custmgmt.ports.notification import Notifier
from custmgmt.ports.sealing import Sealer
from custmgmt.ports.settings import Settings

__all__ = ["ENTRY_POINT_GROUP", "PluginConflict", "Plugins", "hookimpl"]

ENTRY_POINT_GROUP = "custmgmt"
log = logging.getLogger(__name__)


class PluginConflict(ValidationError):
    """Two plugins offer the same thing (a URL scheme, a notifier name...)."""


class Plugins:
    """A pluggy PluginManager with one typed method per hook."""

    def __init__(self, plugins: Iterable[object] = (), *, entry_points: bool = True) -> None:
        self._pm = pluggy.PluginManager(PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        if entry_points:
            try:
                self._pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
                self._pm.check_pending()
            except pluggy.PluginValidationError as error:
                raise ValidationError("plugins", str(error)) from None
        if not self._pm.has_plugin("builtin"):
            # Running from a source tree that was never installed: no entry points.
            self._pm.register(builtin, name="builtin")
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: object, name: str | None = None) -> None:
        """Add a plugin; a hook implementation no spec knows (a typo) is refused."""
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as error:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            raise ValidationError("plugins", str(error)) from None

    def names(self) -> list[str]:
        return sorted(name for name, _ in self._pm.list_name_plugin())

    def storage_backends(self) -> dict[str, StorageBackend]:
        """Every offered backend by URL scheme; two offering one scheme is a conflict."""
        by_scheme: dict[str, StorageBackend] = {}
        for offered in self._pm.hook.custmgmt_storage_backends():
            for backend in offered:
                for scheme in backend.schemes:
                    if scheme in by_scheme and by_scheme[scheme] is not backend:
                        raise PluginConflict(
                            "url",
                            f"scheme {scheme!r} is claimed by both {by_scheme[scheme].name!r} "
                            f"and {backend.name!r}; uninstall or disable one",
                        )
                    by_scheme[scheme] = backend
        return by_scheme

    def storage_backend(self, scheme: str) -> StorageBackend:
        backends = self.storage_backends()
        if scheme not in backends:
            known = ", ".join(sorted(backends)) or "none"
            raise ValidationError("url", f"unknown scheme {scheme!r}; installed: {known}")
        return backends[scheme]

    def _offered(self, kind: str, offers: list[Sequence[Any]], wanted: str) -> Any:
        """The one backend named ``wanted`` among all plugins' offers of ``kind``."""
        offered: dict[str, Any] = {}
        for backends in offers:
            for backend in backends:
                if backend.name in offered:
                    raise PluginConflict(kind, f"{kind} {backend.name!r} is offered by two "
                                         "plugins")
                offered[backend.name] = backend
        if wanted not in offered:
            raise ValidationError(kind, f"unknown {kind} {wanted!r}; installed: "
                                  + ", ".join(sorted(offered)))
        return offered[wanted]

    def notifier(self, settings: Settings) -> Notifier:
        backend = self._offered("notifier", self._pm.hook.custmgmt_notifiers(),
                                settings.notifier)
        notifier: Notifier = backend.create(settings)
        return notifier

    def authorizer(self, settings: Settings) -> Authorizer:
        backend = self._offered("authorizer", self._pm.hook.custmgmt_authorizers(),
                                settings.authorizer)
        authorizer: Authorizer = backend.create(settings)
        return authorizer

    def grading_policy(self, settings: Settings) -> GradingPolicy:
        policy: GradingPolicy | None = self._pm.hook.custmgmt_grading_policy(settings=settings)
        if policy is None:
            raise ValidationError("grading_policy", "no plugin offers a grading policy")
        return policy

    def cadence_policy(self, settings: Settings) -> CadencePolicy:
        policy: CadencePolicy | None = self._pm.hook.custmgmt_cadence_policy(settings=settings)
        if policy is None:
            raise ValidationError("cadence_policy", "no plugin offers a cadence policy")
        return policy

    def chain_sealer(self, settings: Settings) -> Sealer | None:
        """The sealer for chain heads, or None when no key (and no plugin) offers one."""
        sealer: Sealer | None = self._pm.hook.custmgmt_chain_sealer(settings=settings)
        if sealer is not None and not all(callable(getattr(sealer, name, None))
                                          for name in ("seal", "verify")):
            raise ValidationError("chain_sealer", "must have seal() and verify() methods")
        return sealer

    def notify_event(self, event: DomainEvent) -> None:
        """Tell every observer; an observer's failure is logged, never raised."""
        for impl in reversed(self._pm.hook.custmgmt_on_event.get_hookimpls()):
            try:
                impl.function(event=event)
            except Exception:
                log.exception("observer %s failed on %s", impl.plugin_name, event.name)

