"""A registration batch's prospects packed as the memory storage keeps them, made
straight from the batch's columns.

An import's batch arrives as columns (``RegistrationBatch``). Building a
``Prospect`` of each row, stamping its version and then packing it at commit cost
a memory import about a third of its time; each packed record is a tuple of plain
values, so it can be made from the columns directly. ``packed_prospects`` makes,
for a batch whose columns ``RegistrationBatch.cleared``, exactly what ``pack``
makes of the prospect ``batch.prospect`` builds of each row, at version 1 (the
tests hold the two equal). Any other batch is built as objects. Its first plans
(``packed_plans``) are made the same way, as ``plans_of`` would make them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import repeat

from custmgmt.adapters.memory.packed import Packed, builder, pack
from custmgmt.domain.common import Address, Email, PersonName, Phone
from custmgmt.domain.followups import FIRST_STAGE, FollowUpPlan, followed_up
from custmgmt.domain.grading import Grade, Willingness
from custmgmt.domain.identity import normalize_email, normalize_phone
from custmgmt.domain.prospects import (
    Profile,
    Prospect,
    ProspectKind,
    Registration,
    registration_entry,
)
from custmgmt.domain.registrations import RegistrationBatch

_PROSPECT = builder(Prospect, ("id", "profile", "willingness", "potential_value", "grade",
                               "owner_id", "owner_team", "registration", "history"),
                    version=1)
_PROFILE = builder(Profile, ("kind", "name", "phone", "email", "address", "industry",
                             "source_channel", "needs"))
_NAME = builder(PersonName, ("value",))
_PHONE = builder(Phone, ("value", "key"))
_EMAIL = builder(Email, ("value", "key"))
_ADDRESS = builder(Address, ("value",))
_REGISTRATION = builder(Registration, ("id", "by", "at"))
_PLAN = builder(FollowUpPlan, ("prospect_id", "owner_id", "owner_team", "grade", "anchor",
                               "next_due"),
                stage=FIRST_STAGE, active=followed_up(FIRST_STAGE), override=None, version=1)

_MEMBERS: dict[object, Packed] = {
    member: pack(member) for kind in (Grade, ProspectKind, Willingness) for member in kind}
"""The packed form of each member of the enums a batch's columns hold."""


def packed_prospects(batch: RegistrationBatch) -> list[Packed] | None:
    """``pack`` of each prospect of ``batch`` at version 1, in order, made from its
    columns; None unless the column checks cleared the batch (individuals' profiles
    whose value objects would all pass their validators)."""
    if not batch.cleared:
        return None
    profiles = batch.profiles
    owner, team, at = batch.owner_id, batch.owner_team, batch.at
    histories = {grade: pack((registration_entry(owner, at, grade),))
                 for grade in set(batch.grades)}
    values = {id(v): pack(v) for v in batch.potential_values}  # (a few distinct ones)
    packed_profiles = map(
        _PROFILE, map(_MEMBERS.__getitem__, profiles.kind), map(_NAME, profiles.name),
        map(_keyed_or_none(_PHONE, normalize_phone), profiles.phone),
        map(_keyed_or_none(_EMAIL, normalize_email), profiles.email),
        map(_text_or_none(_ADDRESS), profiles.address),
        profiles.industry, profiles.source_channel, profiles.needs)
    registrations = map(_REGISTRATION, batch.registration_ids, repeat(owner), repeat(at))
    members = _MEMBERS
    return [_PROSPECT(pid, profile, members[willingness], values[id(value)], members[grade],
                      owner, team, registration, histories[grade])
            for pid, profile, willingness, value, grade, registration in zip(
                batch.ids, packed_profiles, batch.willingness, batch.potential_values,
                batch.grades, registrations, strict=True)]


def _keyed_or_none(build: Callable[..., Packed], key: Callable[[str], str]
                   ) -> Callable[[str | None], Packed]:
    """The packer of an optional value object holding its text and the key ``key``
    makes of it (``Phone``, ``Email``): None stays None."""
    def packed(value: str | None) -> Packed:
        return None if value is None else build(value, key(value))
    return packed


def _text_or_none(build: Callable[..., Packed]) -> Callable[[str | None], Packed]:
    """The packer of an optional value object holding its text alone (``Address``)."""
    def packed(value: str | None) -> Packed:
        return None if value is None else build(value)
    return packed


def packed_plans(batch: RegistrationBatch, day: Callable[[date], date]) -> list[Packed]:
    """``pack`` of each plan ``plans_of(batch)`` makes, at version 1 and with its dates
    the shared instances ``day`` gives (``pack_plan``), made from the batch's columns;
    none without ``batch.plans``."""
    if batch.plans is None:
        return []
    owner, team, anchor = batch.owner_id, batch.owner_team, day(batch.plans.anchor)
    return list(map(_PLAN, batch.ids, repeat(owner), repeat(team),
                    map(_MEMBERS.__getitem__, batch.grades),
                    repeat(anchor), map(day, batch.plans.next_due)))
