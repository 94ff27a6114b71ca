"""Prospect use cases, reached as ``app.prospects``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar, cast

import attrs
from attrs import frozen

from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.common import (
    CURRENCY_MINOR_UNITS,
    Address,
    CreditCode,
    DomainEvent,
    Email,
    Money,
    OrganizationName,
    PersonName,
    Phone,
    ProspectId,
    RegistrationId,
)
from custmgmt.domain.customers import Purpose
from custmgmt.domain.identity import IdentityKey, KeyKind, KeyRing
from custmgmt.domain.integrity import audit_chain
from custmgmt.domain.prospects import (
    Changed,
    Grade,
    GradingPolicy,
    HistoryEntry,
    Profile,
    Prospect,
    ProspectKind,
    Stage,
    Willingness,
    earliest_claim,
)
from custmgmt.domain.registrations import RegistrationBatch
from custmgmt.domain.validation import plain_text, require_enum, require_id, unchecked
from custmgmt.errors import InvalidTransition, ValidationError
from custmgmt.ports.auth import Action, Principal, Reach, Resource, Scope
from custmgmt.ports.storage import FollowUpQuery, Page, ProspectQuery, UnitOfWork
from custmgmt.services.batch_parse import WILLINGNESS, parse_batch, remembered_amount
from custmgmt.services.context import Context, Described, require_principal
from custmgmt.services.edge import guarded
from custmgmt.services.import_ahead import WriteAhead
from custmgmt.services.inputs import (
    Problems,
    build,
    build_optional,
    non_negative_value,
    optional_text,
    page_cursor,
    page_limit,
)
from custmgmt.services.prospect_import import (
    DEFAULT_BATCH_SIZE,
    IMPORT_ID,
    MAX_FIRST_LINE,
    ImportReport,
    Progress,
    ProspectImport,
)
from custmgmt.services.sealed import visible_prospects
from custmgmt.services.trails import ImportEntries

KIND = "prospect"
T = TypeVar("T")


class KeepPlans(Protocol):
    """Keeps the follow-up plans in step with the prospects (``PlanKeeper``). A keeper
    may also have ``first_plan(prospect)``: the plan of a prospect about to be
    registered, which storage then writes with its row instead of calling the keeper
    (None: the keeper is called; a keeper giving one is not called for a
    registration), and ``first_plans_of(grades)`` for an import batch."""

    def __call__(self, uow: UnitOfWork, prospects: Sequence[Prospect], new: bool) -> None:
        """Derive and store the plans of ``prospects`` (``new``: just registered)."""

    def plan_batch(self, uow: UnitOfWork, batch: RegistrationBatch) -> None:
        """Store the first plan of each prospect of a batch just registered (called only
        when the keeper has no ``first_plans_of(grades)``, or it gives None: a
        ``FirstPlans`` it gives is carried by the batch, for storage to write with its
        rows)."""


PlanProspects = Callable[[UnitOfWork, Sequence[Prospect], bool], None]
"""What ``keep_plans`` was before ``KeepPlans.plan_batch``: a function of prospects."""


class _Plans:
    """``KeepPlans`` from a plain function: a batch's prospects built and handed to it as
    stored (version 1)."""

    def __init__(self, keep: PlanProspects) -> None:
        self._keep = keep

    def __call__(self, uow: UnitOfWork, prospects: Sequence[Prospect], new: bool) -> None:
        self._keep(uow, prospects, new)

    def plan_batch(self, uow: UnitOfWork, batch: RegistrationBatch) -> None:
        self._keep(uow, [p.at_version(1) for p in batch.prospects()], True)


def _keeper(keep_plans: KeepPlans | PlanProspects | None) -> KeepPlans:
    if keep_plans is None:
        return _Plans(lambda uow, prospects, new: None)
    if callable(getattr(keep_plans, "plan_batch", None)):
        return cast(KeepPlans, keep_plans)
    return _Plans(keep_plans)


@frozen
class ProspectCounts:
    """How many prospects the caller may see, per grade and per stage."""

    by_grade: dict[Grade, int]
    by_stage: dict[Stage, int]
    total: int


def resource_of(prospect: Prospect) -> Resource:
    """The prospect as the authorizer sees it: kind, id, owner and team."""
    return Resource(kind=KIND, id=prospect.id, owner_id=prospect.owner_id,
                    team=prospect.owner_team)


def snapshot(prospect: Prospect) -> dict[str, str]:
    """The audit view of a prospect: business facts only, no personal data."""
    return {  # ``_value_``: the member's value, read without the ``value`` property
        "grade": prospect.grade._value_,
        "stage": prospect.stage._value_,
        "owner": prospect.owner_id,
        "willingness": prospect.willingness._value_,
        "version": str(prospect.version),
    }


def build_profile(
    *,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    address: str | None = None,
    organization: str | None = None,
    credit_code: str | None = None,
    industry: str | None = None,
    source_channel: str | None = None,
    needs: str | None = None,
) -> Profile:
    """A prospect's or customer's profile from loose arguments (one ValidationError
    naming every bad field); its identity keys are normalized the one way both share."""
    try:  # the usual case, a good profile, built straight (an import builds one per row)
        org = None if organization is None else build_optional(
            "organization", OrganizationName, organization)
        kind = ProspectKind.ORGANIZATION if org is not None else ProspectKind.INDIVIDUAL
        person = build("name", PersonName, name)
        ph = None if phone is None else build_optional("phone", Phone, phone)
        mail = None if email is None else build_optional("email", Email, email)
        place = None if address is None else build_optional("address", Address, address)
        code = None if credit_code is None else build_optional(
            "credit_code", CreditCode, credit_code)
        trade = None if industry is None else optional_text("industry", industry)
        source = None if source_channel is None else optional_text(
            "source_channel", source_channel)
        need = None if needs is None else optional_text("needs", needs)
        # Each value is of its field's type (built just above): only the free texts'
        # lengths are Profile's own checks. When they pass its validators' fast path,
        # it is built without running them again; else its validators say what is wrong.
        make = _new_profile if (trade is None or plain_text(trade, 100)) and (
            source is None or plain_text(source, 100)) and (
            need is None or plain_text(need, 2000)) else Profile
        return make(kind=kind, name=person, phone=ph, email=mail, address=place,
                    organization=org, credit_code=code, industry=trade,
                    source_channel=source, needs=need)
    except ValidationError as first:
        # again, field by field, only to name every bad one
        problems = Problems()
        problems.take(lambda: build_optional("organization", OrganizationName, organization))
        problems.take(lambda: build("name", PersonName, name))
        problems.take(lambda: build_optional("phone", Phone, phone))
        problems.take(lambda: build_optional("email", Email, email))
        problems.take(lambda: build_optional("address", Address, address))
        problems.take(lambda: build_optional("credit_code", CreditCode, credit_code))
        problems.take(lambda: optional_text("industry", industry))
        problems.take(lambda: optional_text("source_channel", source_channel))
        problems.take(lambda: optional_text("needs", needs))
        problems.check()
        raise first from None


_new_profile = unchecked(Profile)


def lookup_keys(
    ring: KeyRing, *, phone: object = None, email: object = None, organization: object = None,
    credit_code: object = None,
) -> frozenset[IdentityKey]:
    """The sealed identity keys to look up "who holds this?" by, normalized as at
    registration; at least one is required."""
    given = {"phone": phone, "email": email, "organization": organization,
             "credit_code": credit_code}
    if all(v is None for v in given.values()):
        raise ValidationError("phone", "give a phone, email, organization or credit_code")
    makers: dict[str, Callable[[str], Phone | Email | OrganizationName | CreditCode]] = {
        "phone": Phone, "email": Email, "organization": OrganizationName,
        "credit_code": CreditCode}
    keys = set()
    for name, raw in given.items():
        if raw is not None:
            value = build(name, makers[name], raw)
            keys.add(ring.phone(value.value) if isinstance(value, Phone)
                     else ring.seal(KeyKind(name), value.key))
    return frozenset(keys)


@frozen
class Match(Generic[T]):
    """Who holds an identity key. ``record`` only when the actor may read it; otherwise
    just the owner, as a refused registration would name them."""

    key: KeyKind
    holder_id: str | None
    owner_id: str
    record: T | None


WinCustomer = Callable[[UnitOfWork, Principal, Prospect, datetime],
                       tuple[str, tuple[DomainEvent, ...]]]
"""Called when a prospect is won, in its unit of work: the id of the customer it becomes
(created, or the one already holding its identity keys) and the events that says."""


@guarded
class ProspectService(Described):
    """Register, grade, move along the pipeline, transfer and list prospects."""

    def __init__(
        self, context: Context, policy: GradingPolicy,
        keep_plans: KeepPlans | PlanProspects | None = None,
        win_customer: WinCustomer | None = None,
    ) -> None:
        self._ctx = context
        self._policy = policy
        self._keep_plans = _keeper(keep_plans)
        self._win_customer = win_customer

    @property
    def grading_policy(self) -> GradingPolicy:
        """The grading policy in use (the default, or a plugin's)."""
        return self._policy

    def profile(
        self,
        *,
        name: str,
        phone: str | None = None,
        email: str | None = None,
        address: str | None = None,
        organization: str | None = None,
        credit_code: str | None = None,
        industry: str | None = None,
        source_channel: str | None = None,
        needs: str | None = None,
    ) -> Profile:
        """Check and assemble a profile; a ValidationError names every bad field."""
        return build_profile(
            name=name, phone=phone, email=email, address=address, organization=organization,
            credit_code=credit_code, industry=industry, source_channel=source_channel,
            needs=needs,
        )

    def register(
        self,
        actor: Principal,
        *,
        name: str,
        willingness: Willingness | str,
        potential_value: object,
        phone: str | None = None,
        email: str | None = None,
        address: str | None = None,
        organization: str | None = None,
        credit_code: str | None = None,
        industry: str | None = None,
        source_channel: str | None = None,
        needs: str | None = None,
        customer_id: str | None = None,
    ) -> Prospect:
        """Register (报备) a prospect; ``actor`` becomes its owner.

        Raises ClaimConflict naming the first registration if any identity key
        (phone, e-mail, organization name, credit code) is already held, and
        CustomerRefused if a customer holding one may not be sold to (e.g. sealed).
        ``customer_id`` names the existing customer the prospect is business with.
        """
        problems = Problems()
        # build_profile, not self.profile: the arguments were checked on the way in
        profile = problems.take(lambda: build_profile(
            name=name, phone=phone, email=email, address=address, organization=organization,
            credit_code=credit_code, industry=industry, source_channel=source_channel,
            needs=needs,
        ))
        will = problems.take(lambda: require_enum("willingness", Willingness, willingness))
        value = problems.take(lambda: non_negative_value(potential_value))
        named = problems.take(lambda: None if customer_id is None
                              else require_id("customer_id", customer_id))
        problems.check()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.PROSPECT_REGISTER)
            stored, events = self._register(uow, who, profile, will, value, named)
            self._ctx.finish(uow, events)
        return stored

    def _register(
        self, uow: UnitOfWork, actor: Principal, profile: Profile, will: Willingness,
        value: Money, customer_id: str | None = None,
    ) -> tuple[Prospect, tuple[DomainEvent, ...]]:
        now = self._ctx.now()
        keys = self._ctx.settings.key_ring.keys_of(profile)
        holders = uow.prospects.holders_of(keys)
        if self._release_lost(uow, actor, holders.values()):
            holders = uow.prospects.holders_of(keys)
        held = earliest_claim(holders)
        if held is not None:
            raise held[0].claim_conflict(held[1])
        self._ctx.guard.check_prospect(uow, keys, customer_id, Purpose.SALES,
                                       now)
        prospect_id = ProspectId(self._ctx.ids.new_id("p"))
        prospect, events = Prospect.register(
            id=prospect_id,
            registration_id=RegistrationId(self._ctx.ids.new_id("r")),
            profile=profile, willingness=will, potential_value=value, owner_id=actor.id,
            owner_team=actor.team, policy=self._policy, at=now,
        )
        if customer_id is not None:
            prospect, named = prospect.name_customer(customer_id, by=actor.id, at=now)
            events = (*events, *named)
        first = getattr(self._keep_plans, "first_plan", None)
        plan = None if first is None else first(prospect)
        # the trail's first entry names the prospect as stored (version 1); its head is
        # written with the prospect's row, as its first plan is
        entry, head = self._ctx.new_trail(
            actor, kind=KIND, resource_id=prospect.id, action="register", at=now,
            before=None, after=snapshot(prospect.at_version(1)))
        stored = uow.prospects.add(prospect, keys, plan, head)
        if plan is None:
            self._keep_plans(uow, [stored], True)
        uow.audit.append(entry)
        return stored, events

    def _release_lost(
        self, uow: UnitOfWork, actor: Principal, holders: Iterable[Prospect]
    ) -> bool:
        """Lost prospects whose release is due (``Settings.lost_release_days`` after they
        were lost) give their registration back to the open pool now."""
        days = self._ctx.settings.lost_release_days
        released = False
        for holder in {h.id: h for h in holders}.values():
            lost = holder.lost_at()
            if lost is None or not holder.registration_active:
                continue
            if lost.astimezone(self._ctx.settings.zone).date() + timedelta(days=days) > \
                    self._ctx.today():
                continue
            now = self._ctx.now()
            changed, _ = holder.release_lost(by=actor.id, at=now)
            stored = uow.prospects.update(changed, frozenset())
            self._keep_plans(uow, [stored], False)
            self._ctx.audit(uow, actor, kind=KIND, resource_id=stored.id, action="release",
                            at=now, before=snapshot(holder), after=snapshot(stored))
            released = True
        return released

    def import_many(
        self,
        actor: Principal,
        rows: Iterable[Mapping[str, object]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        first_line: int = 1,
        on_progress: Progress | None = None,
        import_id: str | None = None,
    ) -> ImportReport:
        """Register many prospects from any iterable of rows (a csv.DictReader, a generator).

        Columns: the keyword arguments of ``register`` plus an optional ``currency``
        (default CNY). Rows stream through in batches of ``batch_size``, one unit of
        work each; a rejected row (bad field, duplicate inside the input, someone
        else's registration) is reported with its line number (``first_line`` is
        the number of the first row: 2 for a CSV file with a header) and never
        costs the good rows. ``on_progress(imported, rejected)`` runs after each batch.

        ``import_id`` names the input (the command line uses a hash of the file): run
        again with the same id after an interruption, rows the first run stored are
        counted as ``already_imported``, not reported as conflicts. A row is known by
        the registration the run gave it (``<import id>:<line>``): a line a run of the
        same id stored is counted whatever its prospect holds now (edited, released),
        and even if the row holds no identity key. So give each input its own id,
        with the same ``first_line``. A prospect claimed again from the pool since has
        a new registration: its row is then imported again, or, if it holds a key the
        prospect still holds, reported as that prospect's.

        On a storage that writes in parallel (PostgreSQL) a batch is read and written
        while the one before it commits, and commits only after it (see the storage
        guide's *Bulk import*): the same rows stored, the same report.
        """
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.PROSPECT_REGISTER)
        if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
            raise ValidationError("rows", "must be an iterable of rows")
        if not 1 <= batch_size <= 100_000:
            raise ValidationError("batch_size", "must be from 1 to 100000")
        if not 1 <= first_line <= MAX_FIRST_LINE:
            raise ValidationError("first_line", "must be from 1 to 10^12")
        # plain text here: the edge passes a str subclass on as the text it holds
        if import_id is not None and not IMPORT_ID.fullmatch(import_id):
            raise ValidationError("import_id", "must be 1 to 64 letters, digits, '-' or '_'")

        values: dict[tuple[str, str], Money] = {}

        def parse(row: Mapping[str, object]) -> tuple[Profile, Willingness, Money]:
            try:  # a good row, built straight
                return _parse_good(row, values)
            except ValidationError:
                return _parse_naming_all(row)

        run = ProspectImport(self._ctx, self._policy, actor, parse, self._keep_plans.plan_batch,
                             self._release_lost, import_id,
                             parse_batch=lambda rows: parse_batch(rows, values),
                             first_plans=getattr(self._keep_plans, "first_plans_of", None))
        if getattr(self._ctx.storage, "writes_in_parallel", False) is True:
            return WriteAhead(run, on_progress).run(rows, batch_size, first_line)
        return run.run(rows, batch_size, first_line, on_progress)

    def get(self, actor: Principal, prospect_id: str) -> Prospect:
        """The prospect, if the actor may read it (PermissionDenied otherwise)."""
        pid = ProspectId(require_id("prospect_id", prospect_id))
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            prospect = self._load(uow, actor, Action.PROSPECT_READ, pid)[1]
            return visible_prospects(uow, [prospect])[0]

    def _load(
        self, uow: UnitOfWork, actor: Principal, action: Action, prospect_id: ProspectId
    ) -> tuple[Principal, Prospect]:
        return self._ctx.load(uow, actor, action, KIND, prospect_id,
                              lambda i: uow.prospects.get(ProspectId(i)), resource_of)

    def history(self, actor: Principal, prospect_id: str) -> tuple[HistoryEntry, ...]:
        """Every registration, grade, stage, owner and profile change: who, when, why."""
        return self.get(actor, prospect_id).history

    def audit_trail(self, actor: Principal, prospect_id: str) -> tuple[AuditEntry, ...]:
        """The prospect's hash-chained audit entries (business facts only, no PII).

        An imported prospect's trail begins with its import batch's entry (resource
        kind ``prospect_import``, by import id), which says who registered it and when;
        its own entries link to it. That entry is the stored record, hash and all, so it
        names the ids of every prospect of the batch (ids only: no personal data)."""
        pid = ProspectId(require_id("prospect_id", prospect_id))
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            prospect = self._load(uow, actor, Action.PROSPECT_READ, pid)[1]
            trail = tuple(uow.audit.trail(KIND, prospect.id))
            imported = ImportEntries().start_of(uow, prospect.id, trail,
                                                uow.heads.get(audit_chain(KIND), prospect.id))
            return trail if imported is None else (imported, *trail)

    def _change(
        self,
        actor: Principal,
        prospect_id: str,
        action: Action,
        audit_action: str,
        change: Callable[[UnitOfWork, Principal, Prospect, datetime], Changed],
        guard: Callable[[UnitOfWork, Prospect], None] | None = None,
        then: Callable[[UnitOfWork, Prospect, datetime], Changed] | None = None,
    ) -> Prospect:
        pid = ProspectId(require_id("prospect_id", prospect_id))
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, current = self._load(uow, actor, action, pid)
            changed, events = change(uow, who, current, now)
            if guard is not None:
                guard(uow, current)
            if then is not None and changed != current:
                changed, more = then(uow, changed, now)
                events = (*events, *more)
            if changed.stage is Stage.CONTRACT_SIGNED and current.stage is not changed.stage:
                changed, more = self._become_customer(uow, who, changed, now)
                events = (*events, *more)
            if changed == current:
                return current
            keys = (None if changed.profile == current.profile
                    and changed.registration_active is current.registration_active
                    else changed.held_keys(self._ctx.settings.key_ring))
            stored = uow.prospects.update(changed, keys)
            self._keep_plans(uow, [stored], False)
            self._ctx.audit(uow, who, kind=KIND, resource_id=stored.id, action=audit_action,
                            at=now, before=snapshot(current), after=snapshot(stored))
            self._ctx.finish(uow, events)
            return stored

    def reassess(
        self,
        actor: Principal,
        prospect_id: str,
        *,
        willingness: Willingness | str | None = None,
        potential_value: object = None,
    ) -> Prospect:
        """New willingness and/or potential value; the grading policy grades again."""
        will = None if willingness is None else require_enum("willingness", Willingness,
                                                             willingness)
        value = None if potential_value is None else non_negative_value(potential_value)
        return self._change(actor, prospect_id, Action.PROSPECT_UPDATE, "reassess",
                            lambda _, who, p, now: p.reassess(willingness=will,
                                                   potential_value=value,
                                                      policy=self._policy, by=who.id, at=now))

    def update_profile(self, actor: Principal, prospect_id: str, **fields: str | None) -> Prospect:
        """Replace profile fields (same names as ``register``); identity keys stay unique."""
        def change(_: UnitOfWork, who: Principal, p: Prospect, now: datetime) -> Changed:
            merged = {**_profile_fields(p.profile), **fields}
            return p.update_profile(self.profile(**merged), by=who.id, at=now)  # type: ignore[arg-type]

        unknown = set(fields) - set(_PROFILE_FIELDS)
        if unknown:
            raise ValidationError(sorted(unknown)[0], "is not a profile field")
        return self._change(actor, prospect_id, Action.PROSPECT_UPDATE, "update_profile", change)

    def override_grade(
        self, actor: Principal, prospect_id: str, grade: Grade | str, *, reason: str
    ) -> Prospect:
        """Set the grade by hand. ``reason`` is required and kept in history."""
        to = require_enum("grade", Grade, grade)
        return self._change(actor, prospect_id, Action.PROSPECT_OVERRIDE_GRADE, "override_grade",
                            lambda _, who, p, now: p.override_grade(to, reason=reason, by=who.id,
                                                   at=now))

    def _followed_up_in_stage(self, to: Stage) -> Callable[[UnitOfWork, Prospect], None]:
        """Leaving a stage needs a follow-up recorded in it ("确保每个环节的有效跟进")."""
        def guard(uow: UnitOfWork, prospect: Prospect) -> None:
            if not self._ctx.settings.require_follow_up_per_stage:
                return
            found = uow.follow_ups.find(FollowUpQuery(
                reach=Reach(scope=Scope.ANY, principal_id=prospect.owner_id),
                prospect_id=prospect.id, stage=prospect.stage,
                recorded_from=prospect.entered_stage_at()))
            if not found:
                stage = prospect.stage.value
                raise InvalidTransition(stage, to.value, f"no follow-up was recorded in stage "
                                        f"{stage}: record one before leaving it")
        return guard

    def advance(self, actor: Principal, prospect_id: str, *, to: Stage | str) -> Prospect:
        """Move forward one or more stages (CONTRACT_SIGNED means won). Unless
        ``Settings.require_follow_up_per_stage`` is off, a follow-up must have been
        recorded in the current stage (InvalidTransition naming the stage)."""
        stage = require_enum("to", Stage, to)
        return self._change(actor, prospect_id, Action.PROSPECT_UPDATE, "advance",
                            lambda _, who, p, now: p.advance(stage, by=who.id, at=now),
                            self._followed_up_in_stage(stage))

    def step_back(
        self, actor: Principal, prospect_id: str, *, to: Stage | str, reason: str
    ) -> Prospect:
        """Move back to an earlier open stage; ``reason`` is required."""
        stage = require_enum("to", Stage, to)
        return self._change(actor, prospect_id, Action.PROSPECT_UPDATE, "step_back",
                            lambda _, who, p, now: p.step_back(stage, reason=reason, by=who.id,
                                                   at=now))

    def mark_won(self, actor: Principal, prospect_id: str) -> Prospect:
        """The contract is signed: advance to CONTRACT_SIGNED (same rule as ``advance``).
        The prospect is now a customer: its plan goes on at the maintenance cadence.

        Reaching CONTRACT_SIGNED (here or by ``advance``) makes the prospect a customer:
        the one it names, else the customer already holding one of its identity keys
        (linked), else a new customer owned by the prospect's owner.
        """
        return self._change(actor, prospect_id, Action.PROSPECT_UPDATE, "mark_won",
                            lambda _, who, p, now: p.mark_won(by=who.id, at=now),
                            self._followed_up_in_stage(Stage.CONTRACT_SIGNED))

    def _become_customer(
        self, uow: UnitOfWork, actor: Principal, won: Prospect, now: datetime
    ) -> Changed:
        """A won prospect is a customer: the one it names, else the customer already
        holding one of its identity keys, else a new one owned by the prospect's owner."""
        if self._win_customer is None:
            return won, ()
        customer_id, events = self._win_customer(uow, actor, won, now)
        named, more = won.name_customer(customer_id, by=actor.id, at=now)
        return named, (*events, *more)

    def name_customer(self, actor: Principal, prospect_id: str, customer_id: str) -> Prospect:
        """Say which existing customer this prospect is business with (kept in history).
        NotFound if there is no such customer; CustomerRefused if it may not be sold to."""
        cid = require_id("customer_id", customer_id)

        def check(uow: UnitOfWork, named: Prospect, now: datetime) -> Changed:
            self._ctx.customer_for(uow, cid, Purpose.SALES)
            return named, ()

        return self._change(actor, prospect_id, Action.PROSPECT_UPDATE, "name_customer",
                            lambda _, who, p, now: p.name_customer(cid, by=who.id, at=now),
                            then=check)

    def find(
        self,
        actor: Principal,
        *,
        phone: str | None = None,
        email: str | None = None,
        organization: str | None = None,
        credit_code: str | None = None,
    ) -> tuple[Match[Prospect], ...]:
        """Who holds these identity keys? One match per key held, normalized as at
        registration. The prospect itself only if the actor may read it; otherwise
        just its owner, as a refused registration would name them."""
        keys = lookup_keys(self._ctx.settings.key_ring, phone=phone, email=email,
                           organization=organization, credit_code=credit_code)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            reach = self._ctx.reach(uow, actor, Action.PROSPECT_READ)[1]
            found = uow.prospects.holders_of(keys)
            shown = dict(zip(found, visible_prospects(uow, found.values()), strict=True))
            held = {key: shown[key] for key in found}
        return tuple(
            Match(key=key.kind, holder_id=p.id if reach.covers(resource_of(p)) else None,
                  owner_id=p.owner_id, record=p if reach.covers(resource_of(p)) else None)
            for key, p in sorted(held.items(), key=lambda pair: pair[0].kind.value))

    def mark_lost(self, actor: Principal, prospect_id: str, *, reason: str) -> Prospect:
        """Lost, from any open stage; ``reason`` is required; the follow-up plan ends.

        The registration goes to the open pool ``Settings.lost_release_days`` later
        (0, the default: at once); from then on anyone may register the prospect."""
        def change(_: UnitOfWork, who: Principal, p: Prospect, now: datetime) -> Changed:
            lost, events = p.mark_lost(reason=reason, by=who.id, at=now)
            if self._ctx.settings.lost_release_days > 0:
                return lost, events
            released, more = lost.release_lost(by=who.id, at=now)
            return released, (*events, *more)

        return self._change(actor, prospect_id, Action.PROSPECT_UPDATE, "mark_lost", change)

    def reopen(
        self,
        actor: Principal,
        prospect_id: str,
        *,
        reason: str,
        to: Stage | str = Stage.INITIAL_CONTACT,
    ) -> Prospect:
        """Reopen a won or lost prospect (sales managers, within their team)."""
        stage = require_enum("to", Stage, to)
        return self._change(actor, prospect_id, Action.PROSPECT_REOPEN, "reopen",
                            lambda _, who, p, now: p.reopen(stage, reason=reason, by=who.id,
                                                   at=now))

    def transfer(
        self, actor: Principal, prospect_id: str, *, to_owner: str, reason: str
    ) -> Prospect:
        """Hand a prospect to another principal who may own prospects (one who may
        register them), with a reason. Managers, within their team.

        The right to transfer this prospect is checked before ``to_owner`` is
        looked up: a caller without it learns nothing about who exists.
        """
        target = require_id("to_owner", to_owner)

        def change(uow: UnitOfWork, who: Principal, p: Prospect, now: datetime) -> Changed:
            new_owner = self._ctx.known(uow, target)
            if new_owner is None or not self._ctx.may(new_owner, Action.PROSPECT_REGISTER):
                raise ValidationError("to_owner", "is not a known principal who may own "
                                      "prospects")
            return p.transfer(new_owner.id, to_team=new_owner.team, reason=reason, by=who.id,
                              at=now)

        return self._change(actor, prospect_id, Action.PROSPECT_TRANSFER, "transfer", change)

    def _query(
        self, uow: UnitOfWork, actor: Principal, *, grade: object = None, stage: object = None,
        owner: str | None = None, team: str | None = None, limit: int = 50,
        after: tuple[datetime, str] | None = None,
    ) -> ProspectQuery:
        return ProspectQuery(
            reach=self._ctx.reach(uow, actor, Action.PROSPECT_READ)[1], owner=owner, team=team,
            grade=None if grade is None else require_enum("grade", Grade, grade),
            stage=None if stage is None else require_enum("stage", Stage, stage),
            limit=limit, after=after,
        )

    def list(
        self,
        actor: Principal,
        *,
        grade: Grade | str | None = None,
        stage: Stage | str | None = None,
        owner: str | None = None,
        team: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Prospect]:
        """Prospects the actor may read, oldest registration first, a page at a time.

        Pass the returned ``next_cursor`` back as ``cursor`` for the next page.
        """
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            query = self._query(uow, actor, grade=grade, stage=stage, owner=owner, team=team,
                                limit=page_limit(limit) + 1, after=page_cursor(cursor))
            rows = visible_prospects(uow, uow.prospects.find(query))
        page, more = rows[:limit], len(rows) > limit
        last = page[-1] if page else None
        next_cursor = f"{last.registration.at.isoformat()}|{last.id}" if more and last else None
        return Page(items=tuple(page), next_cursor=next_cursor)

    def mine(
        self, actor: Principal, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Prospect]:
        """The actor's own prospects."""
        return self.list(actor, owner=require_principal(actor).id, limit=limit, cursor=cursor)

    def counts(
        self, actor: Principal, *, owner: str | None = None, team: str | None = None
    ) -> ProspectCounts:
        """Counts per grade and per stage of the prospects the actor may read."""
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            query = self._query(uow, actor, owner=owner, team=team)
            cells = uow.prospects.count_by_grade_and_stage(query)
        by_grade = dict.fromkeys(Grade, 0)
        by_stage = dict.fromkeys(Stage, 0)
        for (grade, stage), n in cells.items():
            by_grade[grade] += n
            by_stage[stage] += n
        return ProspectCounts(by_grade=by_grade, by_stage=by_stage, total=sum(cells.values()))


def _parse_good(
    row: Mapping[str, object], values: dict[tuple[str, str], Money]
) -> tuple[Profile, Willingness, Money]:
    """A good row's profile, willingness and value (ValidationError at its first bad
    field). ``values``: the amounts read so far by their text and currency (an import's
    rows repeat a few; the same text in one currency is the same amount, which rows
    share as they may share any immutable value), bounded: cleared when full."""
    get = row.get
    raw_will = get("willingness")
    will = WILLINGNESS.get(raw_will) if type(raw_will) is str else None
    if will is None:
        will = require_enum("willingness", Willingness, raw_will)
    currency = get("currency") or "CNY"
    if not _known_currency(currency):
        raise ValidationError("currency", "must be a known ISO 4217 code")
    raw = get("potential_value")
    if type(raw) is str and type(currency) is str:
        value = remembered_amount(raw, currency, values)
    else:
        value = non_negative_value(raw, str(currency))
    name = get("name")
    if name is None:
        raise ValidationError("name", "is required")
    # every column of a row (``clean`` refused others) but the three above
    profile = build_profile(
        name=name, phone=get("phone"), email=get("email"),  # type: ignore[arg-type]
        address=get("address"), organization=get("organization"),  # type: ignore[arg-type]
        credit_code=get("credit_code"), industry=get("industry"),  # type: ignore[arg-type]
        source_channel=get("source_channel"), needs=get("needs"))  # type: ignore[arg-type]
    return profile, will, value


def _known_currency(currency: object) -> bool:
    return isinstance(currency, str) and currency in CURRENCY_MINOR_UNITS


def _parse_naming_all(row: Mapping[str, object]) -> tuple[Profile, Willingness, Money]:
    """A row's profile, willingness and value; one ValidationError naming every bad field."""
    fields = dict(row)
    problems = Problems()
    will = problems.take(lambda: require_enum("willingness", Willingness,
                                              fields.pop("willingness", None)))
    currency = fields.pop("currency", None) or "CNY"
    raw_value = fields.pop("potential_value", None)
    if _known_currency(currency):
        value = problems.take(lambda: non_negative_value(raw_value, str(currency)))
    else:
        problems.take(lambda: _raise(ValidationError(
            "currency", "must be a known ISO 4217 code such as CNY")))
    # build_profile checks each field's type itself: no per-row edge check
    if fields.get("name") is None:
        problems.take(lambda: _raise(ValidationError("name", "is required")))
    else:
        profile = problems.take(
            lambda: build_profile(**fields))  # type: ignore[arg-type]
    problems.check()
    return profile, will, value


def _raise(error: ValidationError) -> None:
    raise error


# The profile's fields a caller sets; its kind follows from the organization.
_PROFILE_FIELDS = tuple(a.name for a in attrs.fields(Profile) if a.name != "kind")


def _profile_fields(profile: Profile) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _PROFILE_FIELDS:
        value = getattr(profile, name)
        out[name] = value if value is None or isinstance(value, str) else value.value
    return out
