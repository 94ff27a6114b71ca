"""Care messages, part of ``app.care``: greetings (birthdays, holidays) and promotions
to customers, through the outbox.

Each message names its purpose and channel: a greeting is sent for ``Purpose.CARE``,
a promotion for ``Purpose.MARKETING``. Nothing is queued for a customer the guard
refuses (a sealed customer is never contacted) or who has no consent in force for
that purpose on that channel; and the notification dispatcher checks consent again
when it sends (``ConsentRequired``), so a withdrawal after queueing still stops it.
One greeting per occasion, customer and channel: sending again queues nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from attrs import frozen

from custmgmt.domain.care import birthdays_on
from custmgmt.domain.consent import ContactChannel
from custmgmt.domain.customers import Purpose
from custmgmt.domain.segments import Segment
from custmgmt.domain.validation import require_date, require_enum, require_id, require_text
from custmgmt.errors import NotFound, ValidationError
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.notification import Notification, NotificationPurpose
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.care_base import CareBase
from custmgmt.services.consent import consent_in_force
from custmgmt.services.edge import guarded
from custmgmt.services.membership import customer_values


@frozen(kw_only=True)
class MessageReport:
    """What a care-message call did, by customer id: queued, already queued before
    (same occasion and channel), left out for want of consent, refused by the guard
    (sealed), or unknown."""

    queued: tuple[str, ...] = ()
    already_queued: tuple[str, ...] = ()
    no_consent: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


@guarded
class MessageCare(CareBase):
    """Greetings and promotions (客户关怀与沟通) to customers who consented."""

    def _targets(self, uow: UnitOfWork, customer_ids: Iterable[str] | None,
                 segment: Segment | None, on: date) -> list[str]:
        if customer_ids is not None and segment is not None:
            raise ValidationError("segment", "give customer_ids or a segment, not both")
        if segment is not None:
            return [v.customer_id for v in customer_values(
                uow, on, self._ctx.settings.segment_cuts) if v.segment is segment]
        if customer_ids is None:
            raise ValidationError("customer_ids", "name the customers, or give a segment")
        # the facade's edge already bounds the collection (MAX_ITEMS); a segment is
        # how a message reaches more customers
        return list(dict.fromkeys(require_id("customer_ids", c) for c in customer_ids))

    def _send(
        self, actor: Principal, *, targets: Iterable[str] | None, segment: Segment | None,
        on: date, purpose: Purpose, kind: str, occasion: str, subject: str, body: str,
        channel: ContactChannel,
    ) -> MessageReport:
        now = self._ctx.now()
        queued: list[str] = []
        again: list[str] = []
        no_consent: list[str] = []
        refused: list[str] = []
        unknown: list[str] = []
        with self._ctx.storage.unit_of_work() as uow:
            self._ctx.authorize(uow, actor, Action.CARE_MESSAGE)
            for cid in self._targets(uow, targets, segment, on):
                try:
                    customer = uow.customers.get(cid)
                except NotFound:
                    unknown.append(cid)
                    continue
                if self._ctx.guard.refusal(uow, customer, purpose, now) is not None:
                    refused.append(cid)
                    continue
                if consent_in_force(uow, cid, purpose, channel, now) is None:
                    no_consent.append(cid)
                    continue
                added = uow.outbox.add(Notification(
                    id=self._ctx.ids.new_id("n"), recipient_id=cid, kind=kind,
                    subject=subject, body=body, created_at=now,
                    dedupe_key=f"{kind}:{occasion}:{cid}:{channel.value}",
                    purpose=(NotificationPurpose.CARE if purpose is Purpose.CARE
                             else NotificationPurpose.MARKETING),
                    channel=channel.value))
                (queued if added else again).append(cid)
            uow.commit()
        return MessageReport(queued=tuple(queued), already_queued=tuple(again),
                             no_consent=tuple(no_consent), refused=tuple(refused),
                             unknown=tuple(unknown))

    def send_greeting(
        self,
        actor: Principal,
        *,
        occasion: str,
        subject: str,
        body: str,
        channel: ContactChannel | str,
        customer_ids: Iterable[str] | None = None,
        segment: Segment | str | None = None,
        on: date | None = None,
    ) -> MessageReport:
        """Queue a greeting (问候祝福: a holiday, an anniversary) for ``Purpose.CARE`` on
        ``channel`` to the customers named, or to a segment on ``on``: only to those
        with consent in force, never to a sealed customer. ``occasion`` ("spring-2026")
        makes it once per customer and channel."""
        return self._send(
            actor, targets=customer_ids,
            segment=None if segment is None else require_enum("segment", Segment, segment),
            on=self._ctx.today() if on is None else require_date("on", on),
            purpose=Purpose.CARE, kind="care.greeting",
            occasion=require_text("occasion", occasion, 100),
            subject=require_text("subject", subject, 300), body=require_text("body", body),
            channel=require_enum("channel", ContactChannel, channel))

    def send_birthday_greetings(
        self, actor: Principal, *, subject: str, body: str, channel: ContactChannel | str,
        on: date | None = None,
    ) -> MessageReport:
        """Queue a birthday greeting to every customer whose birthday (care file) is
        ``on`` (default: today, local; 29 February is greeted on 28 February in other
        years), with consent for care on ``channel``. Once per customer and year."""
        day = self._ctx.today() if on is None else require_date("on", on)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_MESSAGE)
            born = list(uow.care_files.born_on(birthdays_on(day)))
        return self._send(
            actor, targets=born, segment=None, on=day, purpose=Purpose.CARE,
            kind="care.birthday", occasion=str(day.year),
            subject=require_text("subject", subject, 300), body=require_text("body", body),
            channel=require_enum("channel", ContactChannel, channel))

    def send_promotion(
        self,
        actor: Principal,
        *,
        campaign: str,
        subject: str,
        body: str,
        channel: ContactChannel | str,
        customer_ids: Iterable[str] | None = None,
        segment: Segment | str | None = None,
        on: date | None = None,
    ) -> MessageReport:
        """Queue a promotion (促销信息) for ``Purpose.MARKETING`` on ``channel`` to the
        customers named or to a segment: only to those with marketing consent in force,
        never to a sealed customer; once per ``campaign``, customer and channel."""
        return self._send(
            actor, targets=customer_ids,
            segment=None if segment is None else require_enum("segment", Segment, segment),
            on=self._ctx.today() if on is None else require_date("on", on),
            purpose=Purpose.MARKETING, kind="care.promotion",
            occasion=require_text("campaign", campaign, 100),
            subject=require_text("subject", subject, 300), body=require_text("body", body),
            channel=require_enum("channel", ContactChannel, channel))
