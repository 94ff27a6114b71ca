"""Customer care (酒店客户管理, for any service business), reached as ``app.care``.

The customer file (preferences, usual periods) and the front-line brief live here;
complaints, surveys, membership, segments and care messages are the other parts
of the same service (one module each), so that ``app.care`` is one place to look.
Every call that acts on a customer asks the one guard for ``Purpose.CARE``: a
sealed (delisted) customer is refused everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from custmgmt.domain.care import Brief, CareFile, Preferences, StayPattern
from custmgmt.domain.common import mask, mask_phone
from custmgmt.domain.identity import phone_digits
from custmgmt.domain.validation import require_date, require_id
from custmgmt.errors import ValidationError
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.care import ComplaintQuery
from custmgmt.services.care_base import CareBase
from custmgmt.services.care_messages import MessageCare
from custmgmt.services.complaints import ComplaintCare
from custmgmt.services.customers import resource_of as customer_resource
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import optional_text
from custmgmt.services.membership import MembershipCare
from custmgmt.services.surveys import SurveyCare
from custmgmt.services.visits import VisitCare

KIND = "care_file"
OPEN_SHOWN = 100
"""The brief counts open complaints up to this many."""


def snapshot(care_file: CareFile) -> dict[str, str]:
    """The audit view of a care file: which preferences are set, not what they say."""
    p = care_file.preferences
    return {"set": ",".join(name for name, value in (
        ("room_type", p.room_type), ("floor", p.floor), ("diet", p.diet),
        ("language", p.language), ("tags", p.tags),
        ("usual_periods", care_file.usual_periods), ("birthday", care_file.birthday))
        if value),
        "version": str(care_file.version)}


@guarded
class CareFiles(CareBase):
    """The customer file (客户信息收集, 需求分析): preferences and usual periods, and the
    brief front-line staff read."""

    def _save(self, actor: Principal, customer_id: str, *,
              preferences: Preferences | None = None,
              usual_periods: tuple[StayPattern, ...] | None = None) -> CareFile:
        cid = require_id("customer_id", customer_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.CARE_FILE)
            self._customer(uow, cid)
            current = uow.care_files.get(cid) or CareFile(customer_id=cid)
            changed, events = current.changed(
                preferences=current.preferences if preferences is None else preferences,
                usual_periods=current.usual_periods if usual_periods is None
                else usual_periods, by=who.id, at=now)
            if not events:
                return current
            stored = uow.care_files.save(changed)
            self._audit(uow, who, kind=KIND, resource_id=cid, action="update", at=now,
                        before=None if current.version == 0 else snapshot(current),
                        after=snapshot(stored))
            self._ctx.finish(uow, events)
        return stored

    def record_preferences(
        self,
        actor: Principal,
        customer_id: str,
        *,
        room_type: str | None = None,
        floor: str | None = None,
        diet: str | None = None,
        language: str | None = None,
        tags: Iterable[str] = (),
    ) -> CareFile:
        """Set the customer's preferences (all of them: what is left out is cleared):
        room type, floor, diet, language, free-form tags."""
        preferences = Preferences(
            room_type=optional_text("room_type", room_type, 100),
            floor=optional_text("floor", floor, 50), diet=optional_text("diet", diet, 200),
            language=optional_text("language", language, 50), tags=tags)
        return self._save(actor, customer_id, preferences=preferences)

    def record_usual_periods(
        self, actor: Principal, customer_id: str, periods: Iterable[StayPattern]
    ) -> CareFile:
        """Set when the customer usually comes (常用住房时段): weekdays, months, a note."""
        given = tuple(periods)
        if not all(isinstance(p, StayPattern) for p in given):
            raise ValidationError("periods", "must be StayPattern values")
        if len(given) > 12:
            raise ValidationError("periods", "must hold at most 12 periods")
        return self._save(actor, customer_id, usual_periods=given)

    def record_birthday(
        self, actor: Principal, customer_id: str, birthday: date | None
    ) -> CareFile:
        """Set (or clear, with None) the customer's birthday, for birthday greetings."""
        cid = require_id("customer_id", customer_id)
        day = None if birthday is None else require_date("birthday", birthday)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.CARE_FILE)
            self._customer(uow, cid)
            current = uow.care_files.get(cid) or CareFile(customer_id=cid)
            changed, events = current.born(day, by=who.id, at=now)
            if not events:
                return current
            stored = uow.care_files.save(changed)
            self._audit(uow, who, kind=KIND, resource_id=cid, action="birthday", at=now,
                        before=None if current.version == 0 else snapshot(current),
                        after=snapshot(stored))
            self._ctx.finish(uow, events)
        return stored

    def file(self, actor: Principal, customer_id: str) -> CareFile:
        """The customer's care file (an empty one if nothing was recorded yet)."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.load(uow, actor, Action.CARE_BRIEF, "customer", cid, uow.customers.get,
                           customer_resource)
            self._customer(uow, cid)
            return uow.care_files.get(cid) or CareFile(customer_id=cid)

    def brief(self, actor: Principal, customer_id: str) -> Brief:
        """What front-line staff need to serve the customer, and nothing more: the name,
        contacts masked unless the actor's role may read the customer
        (``customer.read``), preferences, usual periods, membership tier and benefits,
        open complaints. A sealed customer is refused (CustomerRefused)."""
        cid = require_id("customer_id", customer_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            who, customer = self._ctx.load(uow, actor, Action.CARE_BRIEF, "customer", cid,
                                           uow.customers.get, customer_resource)
            self._customer(uow, cid)
            care_file = uow.care_files.get(cid) or CareFile(customer_id=cid)
            open_complaints = len(uow.complaints.find(ComplaintQuery(
                customer_id=cid, open_only=True, limit=OPEN_SHOWN)))
            tier, benefits = self._tier_of(uow, cid)
        reach = self._ctx.authorizer.reach(who, Action.CUSTOMER_READ)
        clear = reach.covers(customer_resource(customer))
        profile = customer.profile
        phone = None if profile.phone is None else (
            profile.phone.value if clear else mask_phone(phone_digits(profile.phone.value)))
        email = None
        if profile.email is not None:
            local, _, domain = profile.email.key.partition("@")
            email = profile.email.value if clear else f"{mask(local, 1)}@{domain}"
        return Brief(customer_id=cid, name=profile.name.value, phone=phone, email=email,
                     contacts_masked=not clear, preferences=care_file.preferences,
                     usual_periods=care_file.usual_periods, tier=tier, benefits=benefits,
                     open_complaints=open_complaints)



@guarded
class CareService(CareFiles, ComplaintCare, VisitCare, SurveyCare, MembershipCare,
                  MessageCare):
    """Customer care: the customer file and brief, complaints with deadlines and
    escalation, stays and visits, surveys and their follow-up tasks, membership tiers,
    segments, care messages (greetings and promotions, only where consent allows), and
    their reports."""
