"""Stays and visits, part of ``app.care``: what membership and segments are computed
from, and what survey responses and complaints are about."""

from __future__ import annotations

from datetime import date

from custmgmt.domain.care import VisitKind
from custmgmt.domain.common import Money
from custmgmt.domain.validation import require_date, require_enum, require_id
from custmgmt.domain.visits import Visit, VisitRecorded
from custmgmt.errors import ValidationError
from custmgmt.ports.auth import Action, Principal
from custmgmt.services.care_base import CareBase
from custmgmt.services.edge import guarded
from custmgmt.services.inputs import money, optional_text, page_limit


@guarded
class VisitCare(CareBase):
    """Record and read customers' stays and visits (消费行为)."""

    def record_visit(
        self,
        actor: Principal,
        customer_id: str,
        *,
        kind: VisitKind | str,
        started_on: date,
        ended_on: date | None = None,
        spend: Money | int | str = 0,
        service: str | None = None,
    ) -> Visit:
        """A stay (``started_on`` to ``ended_on``, local dates) or a visit (one day), and
        what the customer spent (``Money``, or an amount in CNY)."""
        cid = require_id("customer_id", customer_id)
        chosen = require_enum("kind", VisitKind, kind)
        start = require_date("started_on", started_on)
        end = start if ended_on is None else require_date("ended_on", ended_on)
        if isinstance(spend, float):
            raise ValidationError("spend", "must be Money, an integer or a decimal string")
        amount = money("spend", spend)
        if amount.is_negative:
            raise ValidationError("spend", "must not be negative")
        about = optional_text("service", service, 100)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.CARE_VISIT)
            customer = self._customer(uow, cid)
            visit = Visit(id=self._ctx.ids.new_id("v"), customer_id=customer.id, kind=chosen,
                          started_on=start, ended_on=end, spend=amount.rounded(),
                          service=about, recorded_by=who.id, recorded_at=now)
            uow.visits.add(visit)
            self._ctx.finish(uow, (VisitRecorded(actor_id=who.id, occurred_at=now,
                                                 visit_id=visit.id, customer_id=cid),))
        return visit

    def visits(self, actor: Principal, customer_id: str, *, limit: int = 50
               ) -> tuple[Visit, ...]:
        """The customer's latest stays and visits, newest first."""
        cid = require_id("customer_id", customer_id)
        size = page_limit(limit)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.CARE_BRIEF)
            self._customer(uow, cid)
            return tuple(uow.visits.find(cid, size))
