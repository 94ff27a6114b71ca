"""The pluggy hook specifications: everything a plugin can add to custmgmt.

A plugin is any module or object with functions named like these and marked
with ``custmgmt.plugins.hookimpl``. It is found through the ``custmgmt``
entry-point group. The built-in adapters register through these same hooks.
Every hook is described, with an example, in docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pluggy
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.followups import CadencePolicy
from custmgmt.domain.prospects import GradingPolicy
from custmgmt.domain.validation import text
from custmgmt.ports.auth import Authorizer
from custmgmt.ports.notification import Notifier
from custmgmt.ports.sealing import Sealer
from custmgmt.ports.settings import Settings
from custmgmt.ports.storage import Storage

PROJECT_NAME = "custmgmt"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Mark a plugin's functions with this (also exported as ``custmgmt.plugins.hookimpl``)."""


def _schemes(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError("schemes must be a tuple of URL schemes")
    return tuple(value)


@frozen(kw_only=True)
class StorageBackend:
    """A storage back end a plugin offers.

    ``schemes``: the URL schemes it serves (``"sqlite"``, ``"postgresql+psycopg"``).
    ``open(url, migrate)``: returns the Storage for that URL; with ``migrate`` it
    brings the schema up to date first.
    """

    name: str = field(validator=text(100))
    schemes: tuple[str, ...] = field(converter=_schemes)
    open: Callable[[str, bool], Storage]


@frozen(kw_only=True)
class NotifierBackend:
    """A notifier a plugin offers, chosen by ``Settings.notifier == name``.

    ``create(settings)`` builds it; it reads its options with
    ``settings.options(name)`` and refuses bad ones with ``ValidationError``.
    """

    name: str = field(validator=text(100))
    create: Callable[[Settings], Notifier]


@frozen(kw_only=True)
class AuthorizerBackend:
    """An authorizer a plugin offers, chosen by ``Settings.authorizer == name``."""

    name: str = field(validator=text(100))
    create: Callable[[Settings], Authorizer]


@hookspec
def custmgmt_storage_backends() -> Sequence[StorageBackend]:  # type: ignore[empty-body]
    """Return the storage back ends this plugin offers (may be empty).

    Two plugins claiming one URL scheme is an error at ``open()``.
    """


@hookspec
def custmgmt_notifiers() -> Sequence[NotifierBackend]:  # type: ignore[empty-body]
    """Return the notifiers this plugin offers (may be empty)."""


@hookspec
def custmgmt_authorizers() -> Sequence[AuthorizerBackend]:  # type: ignore[empty-body]
    """Return the authorizers this plugin offers (may be empty)."""


@hookspec(firstresult=True)
def custmgmt_grading_policy(settings: Settings) -> GradingPolicy | None:
    """Return the grading policy to use, or None to leave the choice to others.

    One answer: the first plugin returning a policy wins; the built-in default
    policy is registered to answer last. The policy's ``grade(willingness,
    potential_value)`` must answer a ``Grade``; another answer, or an exception it
    raises (but a ``ValidationError``, passed on), is ``ValidationError`` (field
    ``grade``) for the call that asked (``import_many`` rejects the row).
    """


@hookspec(firstresult=True)
def custmgmt_cadence_policy(settings: Settings) -> CadencePolicy | None:
    """Return the follow-up cadence policy to use, or None to leave the choice to others.

    The policy's ``interval(grade, stage)`` gets the prospect's grade and pipeline stage
    (CONTRACT_SIGNED: a won prospect, a customer on maintenance). One answer: the first
    plugin returning a policy wins; the built-in default (``Settings.cadence_days``:
    A 7, B 14, C 30, D 90 days; ``Settings.maintenance_days``: 30) answers last. The
    answer must be a whole number of days from 1 to 3650; another answer, or an
    exception it raises (but a ``ValidationError``, passed on), is ``ValidationError``
    (field ``interval``) for the call that asked.
    """


@hookspec(firstresult=True)
def custmgmt_chain_sealer(settings: Settings) -> Sealer | None:
    """Return the sealer for chain heads (a KMS, an HSM, a notary), or None to leave the
    choice to others.

    One answer: the first plugin returning a sealer wins. The built-in answer,
    last, is an HMAC-SHA256 sealer keyed with ``Settings.chain_key`` when one is
    set, else None: chain heads are then recorded but not sealed.
    """


@hookspec
def custmgmt_on_event(event: DomainEvent) -> None:
    """Observe a domain event after the change that raised it was committed.

    Fed from the stored event log with a cursor per observer (stored under the
    plugin's name): every event, in order, at least once, also those committed
    while the observer was down. An observer's exception is logged, never
    propagated (the change is already saved), and the observer is handed that
    event again after ``Settings.notify_backoff_seconds``.
    """
