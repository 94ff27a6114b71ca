"""The facade and bootstrap: the one place that knows every adapter in use."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import attrs
from attrs import frozen

from custmgmt.adapters.system import SystemClock, UuidIds
from custmgmt.domain.common import DomainEvent, ProspectId
from custmgmt.domain.identity import IdentityKey
from custmgmt.domain.samples import Chain
from custmgmt.domain.validation import require_id
from custmgmt.errors import ValidationError
from custmgmt.plugins import Plugins
from custmgmt.ports.auth import Action, Certification, Principal, Reach, Scope
from custmgmt.ports.clock import CheckedIds, Clock, IdGenerator
from custmgmt.ports.notification import Notifier, OutboxItem
from custmgmt.ports.settings import Settings
from custmgmt.ports.storage import CustomerQuery, ProspectQuery, Storage
from custmgmt.services.audit import AuditService
from custmgmt.services.care import CareService
from custmgmt.services.consent import ConsentSendCheck, ConsentService
from custmgmt.services.context import CheckedAuthorizer, Context
from custmgmt.services.credit import CreditService
from custmgmt.services.customers import CustomerService, customer_for_won
from custmgmt.services.delisting import DelistingService
from custmgmt.services.followups import FollowUpService, PlanKeeper
from custmgmt.services.marketing import CampaignSendCheck, MarketingService, TouchRecorder
from custmgmt.services.notifications import DispatchReport, NotificationService
from custmgmt.services.observers import ObserverFeed
from custmgmt.services.pool import PoolService
from custmgmt.services.principals import PrincipalService, role_names
from custmgmt.services.privacy import PrivacyService
from custmgmt.services.prospects import ProspectService
from custmgmt.services.reports import ReportService
from custmgmt.services.samples import SampleService

__all__ = ["CustomerManagement", "DispatchReport", "open"]


def worker_name() -> str:
    """This process's name on the leases it takes: host, process id, a random part."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{secrets.token_hex(4)}"


@frozen
class RekeyReport:
    """What ``rekey_identity_keys`` sealed again: how many prospects and customers."""

    prospects: int
    customers: int


class CustomerManagement:
    """Everything an application calls, grouped by area: ``app.prospects`` and so on.

    Build it with ``custmgmt.open(url)``. Use it as a context manager, or call
    ``close()``, to release the storage. One object serves every thread of a
    process (see the threads-and-processes guide); ``repr()`` names the storage
    and notifier in use, never a password.

    Whoever holds this object is trusted as the host application: ``principal()``
    and ``get_principal()`` bypass authorization (bootstrap and tests). Every
    service method takes the acting principal first and decides from that
    principal's grants as stored, read again at each call; the object passed in
    only says who is acting.
    """

    settings: Settings
    """The settings it was opened with."""
    plugins: Plugins
    """The plugin manager that supplied the adapters."""
    notifier: Notifier
    """The notifier that ``app.notifications`` delivers the outbox with."""
    prospects: ProspectService
    """Register, grade, advance, transfer and list prospects."""
    followups: FollowUpService
    """Follow-up plans, records, due lists and reminders."""
    pool: PoolService
    """The open pool of prospects whose protection lapsed (when enabled)."""
    reports: ReportService
    """Visit points, the funnel, on-time follow-ups."""
    samples: SampleService
    """Customer samples: receipt, registry, use, feedback, chain of custody."""
    customers: CustomerService
    """Customers: existing clients, won prospects, status, and the one customer guard."""
    credit: CreditService
    """Credit instruments: commitment letters, tender credit certificates and intents."""
    delisting: DelistingService
    """Delisting cases (客户摘牌): investigation, the panel's vote, notice, sealing, objection."""
    consent: ConsentService
    """Consent per person, purpose and channel: give, withdraw, history, ``allows``."""
    marketing: MarketingService
    """Marketing campaigns: products and suitability, review, approval, sends, touches,
    outcomes and the evaluation report."""
    audit: AuditService
    """Verify the audit trails and their sealed heads (tamper evidence)."""
    principals: PrincipalService
    """Who may act: grant, revoke and read principals' stored grants (authorized)."""
    privacy: PrivacyService
    """Personal-information rights: access, export and erasure requests about a person."""
    care: CareService
    """Customer care: the customer file and brief, complaints with deadlines and escalation,
    surveys, membership, segments, care messages (酒店客户管理)."""

    def __init__(
        self,
        *,
        storage: Storage,
        notifier: Notifier,
        plugins: Plugins,
        settings: Settings,
        clock: Clock,
        ids: IdGenerator,
        url: str | None = None,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self.notifier = notifier
        self._storage = storage
        worker = worker_name()
        where = safe_url(url) if url is not None else type(storage).__name__
        self._description = f"storage={where} notifier={settings.notifier}"
        self._context = Context(
            storage=storage, authorizer=CheckedAuthorizer(plugins.authorizer(settings)),
            clock=clock, ids=CheckedIds(ids),
            settings=settings, observe=self.feed_observers,
            sealer=plugins.chain_sealer(settings),
            description=self._description,
        )
        self._observers = ObserverFeed(self._context, plugins.observers(), worker=worker)
        self.notifications = NotificationService(
            self._context, notifier, worker=worker,
            checks=(ConsentSendCheck(self._context), CampaignSendCheck(self._context)),
            sent_hooks=(TouchRecorder(),))
        keeper = PlanKeeper(self._context, plugins.cadence_policy(settings))
        self.customers = CustomerService(self._context)
        self.prospects = ProspectService(self._context, plugins.grading_policy(settings), keeper,
                                         customer_for_won(self._context))
        self.followups = FollowUpService(self._context, keeper)
        self.pool = PoolService(self._context, keeper)
        self.reports = ReportService(self._context)
        self.credit = CreditService(self._context)
        self.audit = AuditService(self._context)
        self.delisting = DelistingService(self._context)
        self.consent = ConsentService(self._context)
        self.marketing = MarketingService(self._context)
        self.principals = PrincipalService(self._context)
        self.privacy = PrivacyService(self._context)
        self.care = CareService(self._context)
        self.samples = SampleService(
            self._context, Chain())
        self._observers.start()

    def principal(
        self,
        principal_id: str,
        *,
        roles: Iterable[str] = (),
        team: str | None = None,
        supervisor_id: str | None = None,
        certifications: Iterable[Certification] = (),
    ) -> Principal:
        """Bootstrap: create or replace a principal's grants without authorization.

        For a fresh store (the first admin) and for tests. Whoever holds ``app`` is
        trusted as the host application; grants made on behalf of a user go
        through ``app.principals``, which checks the principal-management right.
        Unknown role names are refused. Returns the principal as stored (active).
        """
        principal = Principal(
            id=principal_id, roles=roles,  # the converters check both
            team=team, supervisor_id=supervisor_id,
            certifications=certifications,
        )
        role_names(principal.roles, self._context.authorizer.known_roles())
        with self._storage.unit_of_work() as uow:
            current = uow.principals.get(principal.id)
            stored = uow.principals.save(attrs.evolve(
                principal, version=0 if current is None else current.version))
            uow.commit()
        return stored

    def get_principal(self, principal_id: str) -> Principal | None:
        """The principal with this id as stored, or None (host application only: see
        ``app.principals.get`` for the authorized call)."""
        pid = require_id("principal_id", principal_id)
        with self._storage.unit_of_work(read_only=True) as uow:
            return uow.principals.get(pid)

    def events(self, actor: Principal) -> tuple[DomainEvent, ...]:
        """Every domain event recorded so far, oldest first (needs ``event.read``)."""
        with self._storage.unit_of_work(read_only=True) as uow:
            self._context.authorize(uow, actor, Action.EVENT_READ)
            return tuple(uow.events.all())

    def outbox(self, actor: Principal) -> tuple[OutboxItem, ...]:
        """Every queued notification and its delivery status, oldest first (needs
        ``notification.read``)."""
        with self._storage.unit_of_work(read_only=True) as uow:
            self._context.authorize(uow, actor, Action.NOTIFICATION_READ)
            return tuple(uow.outbox.all())

    def feed_observers(self) -> int:
        """Hand every event observer the stored events past its cursor (done after each
        change and by ``custmgmt notify run``); return how many events were handed."""
        return self._observers.feed()

    def rekey_identity_keys(self) -> RekeyReport:
        """Seal every held identity key again with the current ``settings.key_pepper``
        and ``phone_region``: the keys of every active prospect registration and of
        every customer, in one unit of work (all or nothing).

        Run it once after setting or changing the pepper (``custmgmt db rekey``):
        until then, registrations would not see the keys sealed with the old one.
        Like ``migrate``, it is the host application's call (no acting principal).
        ClaimConflict if the new normalization makes two holders of one key."""
        ring = self.settings.key_ring
        everyone = Reach(scope=Scope.ANY, principal_id="custmgmt")
        prospects: dict[ProspectId, frozenset[IdentityKey]] = {}
        customers: dict[str, frozenset[IdentityKey]] = {}
        with self._storage.unit_of_work() as uow:
            after: tuple[datetime, str] | None = None
            while page := uow.prospects.find(ProspectQuery(
                    reach=everyone, registration_active=True, limit=500, after=after)):
                prospects.update({p.id: p.held_keys(ring) for p in page})
                after = (page[-1].registration.at, page[-1].id)
            after = None
            while found := uow.customers.find(CustomerQuery(reach=everyone, limit=500,
                                                            after=after)):
                customers.update({c.id: c.held_keys(ring) for c in found})
                after = (found[-1].created_at, found[-1].id)
            uow.prospects.replace_keys(prospects)
            uow.customers.replace_keys(customers)
            uow.commit()
        return RekeyReport(prospects=len(prospects), customers=len(customers))

    def migrate(self) -> None:
        """Bring the storage schema up to date."""
        self._storage.migrate()

    def close(self) -> None:
        """Release the storage (connections, pools). Also done by leaving a ``with`` block."""
        self._storage.close()

    def __repr__(self) -> str:
        return f"<CustomerManagement {self._description}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def safe_url(url: str) -> str:
    """``url`` as it may be shown: no password, no query string (it may hold one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return f"{url.split(':', 1)[0]}://..."
    user = "" if parts.username is None else parts.username
    if parts.password is not None:
        user += ":***"
    netloc = f"{user}@{host}{port}" if user else f"{host}{port}"
    return f"{parts.scheme}://{netloc}{parts.path}{'?...' if parts.query else ''}"


def scheme_of(url: object) -> str:
    if not isinstance(url, str) or "://" not in url:
        raise ValidationError("url", "must look like 'scheme://...', e.g. 'sqlite:///crm.db'")
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        raise ValidationError("url", "does not parse as a URL") from None
    if not scheme:
        raise ValidationError("url", "has no scheme")
    return scheme


def open(
    url: str,
    *,
    settings: Settings | None = None,
    plugins: Iterable[object] = (),
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    migrate: bool = False,
) -> CustomerManagement:
    """Open custmgmt on the storage that ``url`` names.

    ``"memory://"`` keeps everything in this process; ``"sqlite:///crm.db"``
    uses an embedded file; ``"postgresql+psycopg://..."`` a server. Adapters
    come from installed plugins (and ``plugins`` given here); ``migrate=True``
    creates or upgrades the schema first.
    """
    settings = Settings() if settings is None else settings
    if not isinstance(settings, Settings):
        raise ValidationError("settings", "must be a custmgmt Settings")
    if isinstance(plugins, str | bytes) or not isinstance(plugins, Iterable):
        raise ValidationError("plugins", "must be a list of plugin objects or modules")
    for name, port, method in (("clock", clock, "now"), ("ids", ids, "new_id")):
        if port is not None and not callable(getattr(port, method, None)):
            raise ValidationError(name, f"must have a {method}() method")
    manager = Plugins(plugins)
    backend = manager.storage_backend(scheme_of(url))
    notifier = manager.notifier(settings)
    storage = backend.open(url, migrate)
    try:
        return CustomerManagement(
            storage=storage, notifier=notifier, plugins=manager, settings=settings,
            clock=SystemClock() if clock is None else clock,
            ids=UuidIds() if ids is None else ids, url=url,
        )
    except BaseException:
        storage.close()
        raise


