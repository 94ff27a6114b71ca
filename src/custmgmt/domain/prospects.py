"""Prospects (意向客户): profile, A-D intent grade, the sales pipeline, ownership.

A ``Prospect`` is immutable. Every rule is a method that returns the changed
prospect together with the events saying what happened; nothing here reads a
clock, so time and actor are always arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs
from attrs import field, frozen

from custmgmt.domain.common import (
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
    non_negative_money,
)
from custmgmt.domain.enums import Choice
from custmgmt.domain.grading import (
    DefaultGradingPolicy,
    Grade,
    GradingPolicy,
    Willingness,
    asked_grade,
    policy_grade,
)
from custmgmt.domain.identity import IdentityKey, KeyKind, KeyRing
from custmgmt.domain.pipeline import PIPELINE, Stage
from custmgmt.domain.prospect_events import (
    GradeChanged,
    ImportedProspect,
    OwnerChanged,
    ProfileChanged,
    ProspectClaimed,
    ProspectCustomerNamed,
    ProspectRegistered,
    ProspectReleased,
    ProspectsImported,
    StageChanged,
)
from custmgmt.domain.validation import (
    aware,
    non_negative_int,
    of_type,
    optional,
    plain_text,
    text,
    unchecked,
    utc_instant,
)
from custmgmt.errors import ClaimConflict, InvalidTransition, ValidationError

# Re-exported: they belong to the prospect's vocabulary.
__all__ = [
    "PIPELINE", "ChangeKind", "DefaultGradingPolicy", "Grade", "GradeChanged", "GradingPolicy",
    "HistoryEntry", "IdentityKey", "ImportedProspect", "KeyKind", "OwnerChanged", "Profile",
    "ProfileChanged", "Prospect", "ProspectClaimed", "ProspectCustomerNamed", "ProspectKind",
    "ProspectRegistered", "ProspectReleased", "ProspectsImported", "Registration", "Stage",
    "StageChanged", "Willingness", "registration_entry", "with_registration",
]


class ProspectKind(Choice):
    INDIVIDUAL = "individual"
    ORGANIZATION = "organization"


@frozen(kw_only=True)
class Profile:
    """What was collected about a prospect (信息收集): who, how to reach them, what they need."""

    kind: ProspectKind = field(validator=of_type(ProspectKind))
    name: PersonName = field(validator=of_type(PersonName))
    phone: Phone | None = field(default=None, validator=optional(of_type(Phone)))
    email: Email | None = field(default=None, validator=optional(of_type(Email)))
    address: Address | None = field(default=None, validator=optional(of_type(Address)))
    organization: OrganizationName | None = field(
        default=None, validator=optional(of_type(OrganizationName))
    )
    credit_code: CreditCode | None = field(default=None, validator=optional(of_type(CreditCode)))
    industry: str | None = field(default=None, validator=optional(text(100)))
    source_channel: str | None = field(default=None, validator=optional(text(100)))
    needs: str | None = field(default=None, validator=optional(text(2000)),
                              repr=lambda value: "None" if value is None else "'***'")
    """Free text about the party: may be personal, so ``repr()`` hides it."""

    def __attrs_post_init__(self) -> None:
        if self.phone is None and self.email is None and self.address is None:
            raise ValidationError("contacts", "give at least one of phone, email, address")
        if self.kind is ProspectKind.ORGANIZATION and self.organization is None:
            raise ValidationError("organization", "an organization prospect needs its name")
        if self.credit_code is not None and self.organization is None:
            raise ValidationError("credit_code", "only an organization carries a credit code")


@frozen(kw_only=True)
class Registration:
    """Who registered (报备) the prospect first, and when. The first registration stands."""

    id: RegistrationId = field(validator=text(100))
    by: str = field(validator=text(200))
    at: datetime = field(validator=aware)
    from_pool: bool = False
    """Taken from the open pool rather than registered fresh."""


class ChangeKind(Choice):
    REGISTERED = "registered"
    GRADE = "grade"
    STAGE = "stage"
    OWNER = "owner"
    PROFILE = "profile"
    RELEASED = "released"
    CLAIMED = "claimed"
    CUSTOMER = "customer"


@frozen(kw_only=True)
class HistoryEntry:
    """One change in a prospect's life: who, when, what from, what to, why."""

    kind: ChangeKind
    by: str
    at: datetime = field(validator=aware)
    before: str | None
    after: str
    reason: str | None = None


def _reason(value: str | None, field_name: str = "reason") -> str:
    if value is None or not isinstance(value, str) or not value.strip():
        raise ValidationError(field_name, "a reason is required")
    if len(value) > 2000:
        raise ValidationError(field_name, "must be at most 2000 characters")
    return value.strip()



Changed = tuple["Prospect", tuple[DomainEvent, ...]]


@frozen(kw_only=True)
class Prospect:
    """A prospective customer and everything the policy tracks about them."""

    id: ProspectId = field(validator=text(100))
    profile: Profile = field(validator=of_type(Profile))
    willingness: Willingness = field(validator=of_type(Willingness))
    potential_value: Money = field(validator=non_negative_money)
    grade: Grade = field(validator=of_type(Grade))
    grade_is_manual: bool = False
    stage: Stage = Stage.INITIAL_CONTACT
    owner_id: str = field(validator=text(200))
    owner_team: str | None = None
    registration: Registration
    registration_active: bool = True
    history: tuple[HistoryEntry, ...] = ()
    version: int = field(default=0, validator=non_negative_int)
    customer_id: str | None = field(default=None, validator=optional(text(100)))
    """The customer this prospect belongs to (named, or linked when it was won)."""

    def at_version(self, version: int) -> Prospect:
        """This prospect as a storage keeps it at ``version`` (a new prospect is stored at
        1). Only the version changes, so the copy is made without validating every field
        again: a bulk import stores a thousand prospects per batch."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ValidationError("version", "must be a non-negative integer")
        copy = object.__new__(Prospect)
        for name in _PROSPECT_FIELDS:
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "version", version)
        return copy

    def claim_conflict(self, key: IdentityKey | None = None) -> ClaimConflict:
        """The error for someone trying to register what this prospect holds."""
        reg = self.registration
        return ClaimConflict(self.owner_id, reg.id, reg.at, "" if key is None else key.kind.value)

    def held_keys(self, ring: KeyRing) -> frozenset[IdentityKey]:
        """The sealed keys that block anyone else from registering the same prospect:
        its profile's keys while its registration is active, none once released."""
        return ring.keys_of(self.profile) if self.registration_active else frozenset()

    @classmethod
    def register(
        cls,
        *,
        id: ProspectId,
        registration_id: RegistrationId,
        profile: Profile,
        willingness: Willingness,
        potential_value: Money,
        owner_id: str,
        owner_team: str | None,
        policy: GradingPolicy,
        at: datetime,
    ) -> Changed:
        return register_graded(
            id=id, registration_id=registration_id, profile=profile, willingness=willingness,
            potential_value=potential_value,
            grade=asked_grade(policy, willingness, potential_value),
            owner_id=owner_id, owner_team=owner_team, at=at, cls=cls)

    def _regrade(
        self, grade: Grade, *, by: str, at: datetime, reason: str, manual: bool
    ) -> Changed:
        if grade is self.grade:
            return attrs.evolve(self, grade_is_manual=manual), ()
        entry = HistoryEntry(
            kind=ChangeKind.GRADE, by=by, at=at, before=self.grade.value, after=grade.value,
            reason=reason,
        )
        changed = attrs.evolve(
            self, grade=grade, grade_is_manual=manual, history=(*self.history, entry)
        )
        event = GradeChanged(
            actor_id=by, occurred_at=at, prospect_id=self.id, before=self.grade, after=grade,
            reason=reason, manual=manual,
        )
        return changed, (event,)

    def reassess(
        self,
        *,
        willingness: Willingness | None,
        potential_value: Money | None,
        policy: GradingPolicy,
        by: str,
        at: datetime,
    ) -> Changed:
        """New willingness or value: the policy grades again (a manual grade gives way)."""
        will = self.willingness if willingness is None else willingness
        value = self.potential_value if potential_value is None else potential_value
        moved = attrs.evolve(self, willingness=will, potential_value=value)
        what = []
        if will is not self.willingness:
            what.append(f"willingness {self.willingness.value} -> {will.value}")
        if value != self.potential_value:
            what.append("potential value changed")
        if not what:
            return self, ()
        return moved._regrade(
            asked_grade(policy, will, value), by=by, at=at, reason="; ".join(what),
            manual=False)

    def override_grade(self, grade: Grade, *, reason: str | None, by: str, at: datetime) -> Changed:
        """A person sets the grade by hand; the policy cannot know everything, but say why."""
        return self._regrade(grade, by=by, at=at, reason=_reason(reason), manual=True)

    def update_profile(self, profile: Profile, *, by: str, at: datetime) -> Changed:
        if profile == self.profile:
            return self, ()
        names = tuple(
            a.name for a in attrs.fields(Profile)
            if getattr(profile, a.name) != getattr(self.profile, a.name)
        )
        entry = HistoryEntry(
            kind=ChangeKind.PROFILE, by=by, at=at, before=None, after=",".join(names)
        )
        event = ProfileChanged(actor_id=by, occurred_at=at, prospect_id=self.id, fields=names)
        return attrs.evolve(self, profile=profile, history=(*self.history, entry)), (event,)

    def _move(self, to: Stage, *, by: str, at: datetime, reason: str | None) -> Changed:
        entry = HistoryEntry(
            kind=ChangeKind.STAGE, by=by, at=at, before=self.stage.value, after=to.value,
            reason=reason,
        )
        event = StageChanged(
            actor_id=by, occurred_at=at, prospect_id=self.id, before=self.stage, after=to,
            reason=reason,
        )
        return attrs.evolve(self, stage=to, history=(*self.history, entry)), (event,)

    def advance(self, to: Stage, *, by: str, at: datetime) -> Changed:
        """One or more steps forward along the pipeline; CONTRACT_SIGNED means won."""
        if not self.stage.is_open or to is Stage.LOST or to.rank <= self.stage.rank:
            raise InvalidTransition(self.stage.value, to.value, "advance moves forward only")
        return self._move(to, by=by, at=at, reason=None)

    def step_back(self, to: Stage, *, reason: str | None, by: str, at: datetime) -> Changed:
        if not self.stage.is_open or not to.is_open or to.rank >= self.stage.rank:
            raise InvalidTransition(self.stage.value, to.value, "step back to an earlier stage")
        return self._move(to, by=by, at=at, reason=_reason(reason))

    @property
    def furthest_stage(self) -> Stage:
        """The furthest pipeline stage the prospect ever reached: its current stage or
        one in its history (a lost prospect counts from initial contact)."""
        reached = [Stage(h.after) for h in self.history
                   if h.kind is ChangeKind.STAGE and Stage(h.after) in PIPELINE]
        reached.append(self.stage if self.stage in PIPELINE else Stage.INITIAL_CONTACT)
        return max(reached, key=lambda s: s.rank)

    def name_customer(self, customer_id: str, *, by: str, at: datetime) -> Changed:
        """This prospect is (business with) that customer; kept in history."""
        if customer_id == self.customer_id:
            return self, ()
        entry = HistoryEntry(kind=ChangeKind.CUSTOMER, by=by, at=at, before=self.customer_id,
                             after=customer_id)
        event = ProspectCustomerNamed(actor_id=by, occurred_at=at, prospect_id=self.id,
                                      customer_id=customer_id)
        changed = attrs.evolve(self, customer_id=customer_id, history=(*self.history, entry))
        return changed, (event,)

    def mark_won(self, *, by: str, at: datetime) -> Changed:
        return self.advance(Stage.CONTRACT_SIGNED, by=by, at=at)

    def mark_lost(self, *, reason: str | None, by: str, at: datetime) -> Changed:
        if not self.stage.is_open:
            raise InvalidTransition(self.stage.value, Stage.LOST.value, "already closed")
        return self._move(Stage.LOST, by=by, at=at, reason=_reason(reason))

    def reopen(self, to: Stage, *, reason: str | None, by: str, at: datetime) -> Changed:
        """Bring a won or lost prospect back to an open stage (a manager's decision)."""
        if self.stage.is_open or not to.is_open:
            raise InvalidTransition(self.stage.value, to.value, "reopen a closed prospect only")
        moved, events = self._move(to, by=by, at=at, reason=_reason(reason))
        if self.stage is Stage.LOST and not self.registration_active:
            # Its registration went to the pool when it was lost: the owner holds it
            # again (ClaimConflict on saving if someone registered it meanwhile).
            moved = attrs.evolve(moved, registration_active=True)
        return moved, events

    def transfer(
        self, to_owner: str, *, to_team: str | None, reason: str | None, by: str, at: datetime
    ) -> Changed:
        if to_owner == self.owner_id:
            raise ValidationError("to_owner", "is already the owner")
        why = _reason(reason)
        entry = HistoryEntry(
            kind=ChangeKind.OWNER, by=by, at=at, before=self.owner_id, after=to_owner, reason=why
        )
        event = OwnerChanged(
            actor_id=by, occurred_at=at, prospect_id=self.id, before=self.owner_id,
            after=to_owner, reason=why,
        )
        changed = attrs.evolve(
            self, owner_id=to_owner, owner_team=to_team, history=(*self.history, entry)
        )
        return changed, (event,)

    @property
    def in_pool(self) -> bool:
        return not self.registration_active and self.stage.is_open

    def release(self, *, reason: str, by: str, at: datetime) -> Changed:
        """Back to the open pool: keys freed, history keeps who had it and why."""
        if not self.registration_active:
            raise InvalidTransition("registered", "released", "already in the pool")
        entry = HistoryEntry(kind=ChangeKind.RELEASED, by=by, at=at, before=self.owner_id,
                             after="pool", reason=_reason(reason))
        event = ProspectReleased(actor_id=by, occurred_at=at, prospect_id=self.id,
                                 previous_owner=self.owner_id, reason=entry.reason or "")
        changed = attrs.evolve(self, registration_active=False, history=(*self.history, entry))
        return changed, (event,)

    def claim(
        self, *, owner: str, team: str | None, registration_id: RegistrationId, at: datetime
    ) -> Changed:
        """Taken from the pool: a new registration, the new owner's."""
        if not self.in_pool:
            raise InvalidTransition("registered", "claimed", "the prospect is not in the pool")
        entry = HistoryEntry(kind=ChangeKind.CLAIMED, by=owner, at=at, before=self.owner_id,
                             after=owner, reason="taken from the open pool")
        event = ProspectClaimed(actor_id=owner, occurred_at=at, prospect_id=self.id,
                                owner_id=owner, registration_id=registration_id)
        changed = attrs.evolve(
            self, owner_id=owner, owner_team=team, registration_active=True,
            registration=Registration(id=registration_id, by=owner, at=at, from_pool=True),
            history=(*self.history, entry),
        )
        return changed, (event,)

    @property
    def first_registered_at(self) -> datetime:
        """When the prospect was first registered (a later claim from the pool aside)."""
        registered = [h.at for h in self.history if h.kind is ChangeKind.REGISTERED]
        return registered[0] if registered else self.registration.at

    def entered_stage_at(self) -> datetime:
        """When the prospect last moved into its current stage (or was registered)."""
        moves = [h.at for h in self.history if h.kind is ChangeKind.STAGE]
        return moves[-1] if moves else self.first_registered_at

    def lost_at(self) -> datetime | None:
        """When the prospect was marked lost, if it is lost now."""
        if self.stage is not Stage.LOST:
            return None
        return self.entered_stage_at()

    def release_lost(self, *, by: str, at: datetime) -> Changed:
        """A lost prospect's registration goes to the open pool: anyone may register it."""
        if self.stage is not Stage.LOST:
            raise InvalidTransition(self.stage.value, "released", "only a lost prospect")
        return self.release(reason="lost: registration released", by=by, at=at)

    def released_at(self) -> datetime | None:
        """When the prospect last went to the pool, if it is there."""
        if not self.in_pool:
            return None
        released = [h.at for h in self.history if h.kind is ChangeKind.RELEASED]
        return released[-1] if released else None


_PROSPECT_FIELDS = tuple(a.name for a in attrs.fields(Prospect))

_new_prospect = unchecked(Prospect)
_new_registration = unchecked(Registration)
_new_registered = unchecked(ProspectRegistered)

_HISTORIES_KEPT = 1024
_registered_histories: dict[tuple[str, datetime, int, Grade], tuple[HistoryEntry]] = {}
"""The history of a new registration by (owner, instant, grade), kept to be shared: an
import registers a batch's rows with one owner and instant, in four grades (bounded:
cleared when full; the instants are in UTC, so equal ones are the same instant)."""


def _registered(
    id: ProspectId, registration_id: RegistrationId, profile: Profile,
    willingness: Willingness, potential_value: Money, grade: Grade, owner_id: str,
    owner_team: str | None, at: datetime,
) -> Changed:
    """``Prospect.register`` of inputs that pass every validator (checked by the caller),
    its records built without running them again (its history entry once an owner,
    instant and grade)."""
    key = (owner_id, at, at.fold, grade)
    history = _registered_histories.get(key)
    if history is None:
        if len(_registered_histories) >= _HISTORIES_KEPT:
            _registered_histories.clear()
        history = _registered_histories[key] = (registration_entry(owner_id, at, grade),)
    prospect = _new_prospect(
        id=id, profile=profile, willingness=willingness, potential_value=potential_value,
        grade=grade, owner_id=owner_id, owner_team=owner_team,
        registration=_new_registration(id=registration_id, by=owner_id, at=at),
        history=history)
    event = _new_registered(actor_id=owner_id, occurred_at=at, prospect_id=id,
                            owner_id=owner_id, grade=grade)
    return prospect, (event,)


_REGISTRATION_ARGUMENTS = {"id": "registration_id", "by": "owner_id"}
"""``Registration``'s fields by the names ``register`` takes them under."""


def registrable(
    id: object, registration_id: object, profile: object, willingness: object,
    potential_value: object, grade: object,
) -> bool:
    """Whether a prospect's own inputs pass ``Prospect.register``'s validators by their
    fast paths (``register_graded``'s and a registration batch's check of each row)."""
    return plain_text(id, 100) and plain_text(registration_id, 100) \
        and type(profile) is Profile and type(willingness) is Willingness \
        and type(potential_value) is Money and not potential_value.is_negative \
        and type(grade) is Grade


def register_graded(
    *, id: ProspectId, registration_id: RegistrationId, profile: Profile,
    willingness: Willingness, potential_value: Money, grade: Grade, owner_id: str,
    owner_team: str | None, at: datetime, cls: type[Prospect] = Prospect,
) -> Changed:
    """What ``Prospect.register`` makes of a prospect ``grade`` was given (a batch's
    prospects come graded: ``registrations.RegistrationBatch``)."""
    if cls is Prospect and plain_text(owner_id, 200) and utc_instant(at) and registrable(
            id, registration_id, profile, willingness, potential_value, grade):
        # The usual case: every validator below would pass (these are their own fast
        # paths), so each input is checked once here rather than in every record
        # built from it (an import registers a thousand per batch).
        return _registered(id, registration_id, profile, willingness, potential_value,
                           grade, owner_id, owner_team, at)
    policy_grade(grade)  # a grading plugin's answer
    try:
        registration = Registration(id=registration_id, by=owner_id, at=at)
    except ValidationError as error:  # named as the caller named them
        raise ValidationError(_REGISTRATION_ARGUMENTS.get(error.field, error.field),
                              error.message) from None
    entry = registration_entry(owner_id, at, grade)
    prospect = cls(
        id=id, profile=profile, willingness=willingness, potential_value=potential_value,
        grade=grade, owner_id=owner_id, owner_team=owner_team,
        registration=registration, history=(entry,),
    )
    event = ProspectRegistered(
        actor_id=owner_id, occurred_at=at, prospect_id=id, owner_id=owner_id, grade=grade
    )
    return prospect, (event,)


def registration_entry(by: str, at: datetime, grade: Grade) -> HistoryEntry:
    """The entry ``Prospect.register`` begins a prospect's history with: registered by
    ``by`` at ``at``, at ``grade``. A storage may keep it as the prospect's registration
    and grade, and write it only once the prospect changes."""
    return HistoryEntry(kind=ChangeKind.REGISTERED, by=by, at=at, before=None,
                        after=grade._value_,  # (``value`` without the property)
                        reason="registered")


def with_registration(prospect: Prospect) -> Prospect:
    """``prospect`` as a storage keeps it: with no history given, its history is its
    registration (``registration_entry`` of its registration and grade), as every
    prospect ``Prospect.register`` makes begins."""
    if prospect.history:
        return prospect
    return attrs.evolve(prospect, history=(registration_entry(
        prospect.registration.by, prospect.registration.at, prospect.grade),))


def earliest_claim(
    holders: Mapping[IdentityKey, Prospect],
) -> tuple[Prospect, IdentityKey] | None:
    """Of the prospects holding some keys, the first registered (and the key it holds)."""
    if not holders:
        return None
    key, holder = min(holders.items(), key=lambda pair: (
        pair[1].registration.at, pair[1].id, pair[0].kind.value, pair[0].value))
    return holder, key
