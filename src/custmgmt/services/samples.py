"""Sample use cases (客户来样), reached as ``app.samples``.

Every call appends to the sample's chain of custody in the same unit of work
as the change. Who may do what: a certified ``sample_receiver`` receives; the
``sample_registry`` registers, distributes, approves, checks out, takes back,
disposes and counts stock; a ``sample_user`` applies, records use and gives
feedback; a ``safety_officer`` gives a hazardous sample's extra approval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from custmgmt.domain import sample_moves as moves
from custmgmt.domain.customers import Purpose
from custmgmt.domain.integrity import CUSTODY_CHAIN, GENESIS
from custmgmt.domain.quantities import exact
from custmgmt.domain.quantities import quantity as as_quantity
from custmgmt.domain.samples import (
    Chain,
    Changed,
    CustodyEvent,
    Feedback,
    Hazard,
    Sample,
    SampleEvent,
    SampleInfo,
    StorageCondition,
    UseApplication,
)
from custmgmt.domain.validation import require_date, require_id, require_text
from custmgmt.errors import FieldError, PermissionDenied, ValidationError
from custmgmt.ports.auth import Action, Principal
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.context import Context
from custmgmt.services.edge import guarded
from custmgmt.services.sample_registry import OverdueReturn, SampleRegistry, StockLine

__all__ = ["RECEIVER_CERTIFICATE", "OverdueReturn", "SampleService", "StockLine"]

RECEIVER_CERTIFICATE = "sample_receiver"


def _hazard(hazardous: bool, hazard_class: str | None, procedure: str | None) -> Hazard | None:
    if not (hazardous or hazard_class or procedure):
        return None
    missing = [FieldError(name, "is required for a hazardous chemical")
               for name, value in (("hazard_class", hazard_class),
                                   ("handling_procedure", procedure))
               if not (isinstance(value, str) and value.strip())]
    if missing:
        raise ValidationError.of(missing)
    return Hazard(hazard_class=str(hazard_class).strip(),
                  handling_procedure=str(procedure).strip())


@guarded
class SampleService(SampleRegistry):
    """Customer samples from receipt to feedback, reached as ``app.samples``."""

    def __init__(self, context: Context, chain: Chain) -> None:
        super().__init__(context)
        self._chain = chain

    def _save(
        self, uow: UnitOfWork, actor: Principal, before: Sample | None, changes: list[Changed],
        notes: Iterable[Notification] = (),
    ) -> Sample:
        after = changes[-1][0]
        events = [event for _, event in changes]
        stored = (uow.samples.add(after, events) if before is None
                  else uow.samples.update(after, events))
        self._ctx.seal_head(uow, CUSTODY_CHAIN, stored.id, stored.chain_length,
                            stored.head_hash)
        for note in notes:
            uow.outbox.add(note)
        self._ctx.finish(uow, [SampleEvent(actor_id=actor.id, occurred_at=e.at,
                                           sample_id=e.sample_id, kind=e.kind) for e in events])
        return stored

    def _move(
        self, actor: Principal, sample_id: str, action: Action,
        move: Callable[[UnitOfWork, Principal, Sample, datetime], Changed],
        notes: Callable[[Sample], Iterable[Notification]] = lambda _: (),
    ) -> Sample:
        sid = require_id("sample_id", sample_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, sample = self._load(uow, actor, action, sid)
            with exact():
                changed = move(uow, who, sample, now)
            return self._save(uow, who, sample, [changed], notes(changed[0]))

    def receive(
        self,
        actor: Principal,
        *,
        customer_id: str,
        sample_name: str,
        quantity: object,
        unit: str,
        description: str,
        requested_work: str,
        hazardous: bool = False,
        hazard_class: str | None = None,
        handling_procedure: str | None = None,
        anomalies: Iterable[str] = (),
    ) -> Sample:
        """Receive a sample (接收). Only a receiver with a valid certification may; the
        information must be complete (every missing field is named); the customer
        must exist (NotFound) and be open for sample receipt (CustomerRefused); a
        hazardous chemical needs its class and handling procedure; anomalies are
        recorded on the chain and escalated to the receiver's supervisor."""
        info = SampleInfo.checked(customer_id=customer_id, sample_name=sample_name,
                                  quantity=quantity, unit=unit, description=description,
                                  requested_work=requested_work)
        hazard = _hazard(hazardous, hazard_class, handling_procedure)
        if isinstance(anomalies, str | bytes) or not isinstance(anomalies, Iterable):
            raise ValidationError("anomalies", "must be a list of notes")
        notes_about = [require_text("anomalies", a, 1000) for a in anomalies]
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            # Certification and supervisor as stored, never as the caller claims.
            who = self._ctx.authorize(uow, actor, Action.SAMPLE_RECEIVE)
            if not who.certified(RECEIVER_CERTIFICATE, self._ctx.today()):
                raise PermissionDenied(who.id, Action.SAMPLE_RECEIVE.value,
                                       "no valid sample-receiver certification")
            self._ctx.customer_for(uow, require_id("customer_id", info.customer_id),
                                   Purpose.SAMPLE_RECEIPT)
            changes = [moves.receive(self._chain, sample_id=self._ctx.ids.new_id("s"),
                                     info=info, hazard=hazard, receiver=who.id, at=now)]
            for note in notes_about:
                changes.append(moves.anomaly(self._chain, changes[-1][0], note=note, by=who.id,
                                             at=now))
            # To the receiver's supervisor (第十条); without one, to the quality role
            # that oversees sample management (第五条).
            recipients = ([who.supervisor_id] if who.supervisor_id
                          else self._quality(uow))
            escalations = [self._note(recipient, "sample.anomaly",
                                      f"Anomaly at receipt of sample {changes[0][0].id}", note)
                           for note in notes_about for recipient in recipients]
            return self._save(uow, who, None, changes, escalations)

    def register(
        self,
        actor: Principal,
        sample_id: str,
        *,
        classification: str,
        location: str,
        storage: StorageCondition | None = None,
        single_use: bool = False,
    ) -> Sample:
        """Register (登记): a gap-free number per year (``S2026-000123``), a class, a place,
        and the storage condition whose label goes on the sample."""
        if storage is not None and not isinstance(storage, StorageCondition):
            raise ValidationError("storage", "must be a StorageCondition")
        sid = require_id("sample_id", sample_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, sample = self._load(uow, actor, Action.SAMPLE_REGISTER, sid)
            year = self._ctx.today().year
            number = f"S{year}-{uow.samples.next_number(year):06d}"
            with exact():
                changed = moves.register(self._chain, sample, number=number,
                                         classification=classification, location=location,
                                         storage=storage, single_use=bool(single_use),
                                         registrar=who.id, at=now)
            return self._save(uow, who, sample, [changed])

    def distribute(
        self, actor: Principal, sample_id: str, *, to: str, location: str | None = None
    ) -> Sample:
        """Hand the sample to a known principal or a registered department (分发), who
        becomes its custodian. A hazardous sample needs ``approve_distribution`` by a
        safety officer for that recipient first."""
        recipient = require_id("to", to)
        sid = require_id("sample_id", sample_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, sample = self._load(uow, actor, Action.SAMPLE_REGISTER, sid)
            self._known_recipient(uow, recipient)
            with exact():
                changed = moves.distribute(self._chain, sample, to=recipient, location=location,
                                           by=who.id, at=now)
            return self._save(uow, who, sample, [changed])

    def approve_distribution(self, actor: Principal, sample_id: str, *, to: str) -> Sample:
        """A safety officer approves distributing a hazardous sample to ``to`` (a known
        principal or registered department); someone else then distributes it."""
        recipient = require_id("to", to)
        sid = require_id("sample_id", sample_id)
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, sample = self._load(uow, actor, Action.SAMPLE_HAZARD_APPROVE, sid)
            self._known_recipient(uow, recipient)
            with exact():
                changed = moves.approve_distribution(self._chain, sample, to=recipient,
                                                     approver=who.id, at=now)
            return self._save(uow, who, sample, [changed])

    def apply(
        self, actor: Principal, sample_id: str, *, purpose: str, quantity: object,
        expected_return: date | None = None,
    ) -> UseApplication:
        """Apply to use the sample (使用申请); returns the application to approve."""
        amount = as_quantity(quantity)
        back = None if expected_return is None else require_date("expected_return",
                                                                 expected_return)
        app_id = self._ctx.ids.new_id("a")
        sample = self._move(actor, sample_id, Action.SAMPLE_APPLY,
                            lambda _, who, s, now: moves.apply(
                                self._chain, s, application_id=app_id, applicant=who.id,
                                purpose=purpose, quantity=amount, expected_return=back,
                                at=now))
        return sample.application(app_id)

    def approve(self, actor: Principal, sample_id: str, application_id: str) -> Sample:
        """The registry approves an application; never the applicant's own."""
        return self._move(actor, sample_id, Action.SAMPLE_REGISTER,
                          lambda _, who, s, now: moves.approve(
                              self._chain, s, application_id, approver=who.id, at=now))

    def approve_hazard(self, actor: Principal, sample_id: str, application_id: str) -> Sample:
        """A safety officer's extra approval for a hazardous sample; never the applicant's."""
        return self._move(actor, sample_id, Action.SAMPLE_HAZARD_APPROVE,
                          lambda _, who, s, now: moves.approve_hazard(
                              self._chain, s, application_id, approver=who.id, at=now))

    def check_out(self, actor: Principal, sample_id: str, application_id: str) -> Sample:
        """The registry hands out an approved application's quantity to the applicant."""
        return self._move(actor, sample_id, Action.SAMPLE_REGISTER,
                          lambda _, who, s, now: moves.check_out(
                              self._chain, s, application_id, by=who.id, at=now))

    def record_use(
        self, actor: Principal, sample_id: str, application_id: str, *, used: object, note: str
    ) -> Sample:
        """The custodian records what was used (使用记录)."""
        amount = as_quantity(used, "used")
        return self._move(actor, sample_id, Action.SAMPLE_APPLY,
                          lambda _, who, s, now: moves.record_use(
                              self._chain, s, application_id, used=amount, note=note,
                              by=who.id, at=now))

    def take_back(
        self, actor: Principal, sample_id: str, application_id: str, *, quantity: object
    ) -> Sample:
        """The registry takes back the remaining quantity (归还) into its custody."""
        amount = as_quantity(quantity)
        return self._move(actor, sample_id, Action.SAMPLE_REGISTER,
                          lambda _, who, s, now: moves.give_back(
                              self._chain, s, application_id, quantity=amount, to=who.id,
                              at=now))

    def dispose(
        self, actor: Principal, sample_id: str, *, method: str, witness: str,
        application_id: str | None = None,
    ) -> Sample:
        """Dispose of what is left (处理), with the method and a witness on record.

        With ``application_id``: what is left of that checked-out quantity after use
        (the way a single-use sample ends; it never goes back into stock). Without:
        everything still in storage, and the sample is no longer in use.

        The witness is a known, active principal other than whoever disposes."""
        witness_id = require_id("witness", witness)
        app_id = None if application_id is None else require_id("application_id",
                                                                application_id)

        def dispose(uow: UnitOfWork, who: Principal, sample: Sample, now: datetime) -> Changed:
            if witness_id == who.id:
                raise ValidationError("witness", "must be someone other than who disposes")
            if self._ctx.known(uow, witness_id) is None:
                raise ValidationError("witness", "is not a known, active principal")
            if app_id is None:
                return moves.dispose(self._chain, sample, method=method, witness=witness_id,
                                     by=who.id, at=now)
            return moves.dispose_remainder(self._chain, sample, app_id, method=method,
                                           witness=witness_id, by=who.id, at=now)

        return self._move(actor, sample_id, Action.SAMPLE_REGISTER, dispose)

    def feedback(
        self, actor: Principal, sample_id: str, *, effect: str | None = None,
        problems: str | None = None, suggestions: str | None = None,
        on_behalf_of: str | None = None,
    ) -> Feedback:
        """Feedback after use (反馈) by who used the sample: the effect, problems and
        suggestions, each given or explicitly ``"none"``. The registry may file it
        ``on_behalf_of`` a user. Nothing goes to the customer until the registry
        archives it (``archive_feedback``)."""
        sid = require_id("sample_id", sample_id)
        behalf = None if on_behalf_of is None else require_id("on_behalf_of", on_behalf_of)
        action = Action.SAMPLE_APPLY if behalf is None else Action.SAMPLE_REGISTER
        feedback_id = self._ctx.ids.new_id("fb")
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who, sample = self._load(uow, actor, action, sid)
            user = who.id if behalf is None else behalf
            with exact():
                changed = moves.feedback(self._chain, sample, feedback_id=feedback_id, user=user,
                                         filed_by=who.id, effect=effect, problems=problems,
                                         suggestions=suggestions, at=now)
            stored = self._save(uow, who, sample, [changed])
        return stored.feedback_entry(feedback_id)

    def archive_feedback(
        self, actor: Principal, sample_id: str, feedback_id: str, *, note: str | None = None
    ) -> Sample:
        """The registry reviews and archives a feedback (整理、归档); only then is the report
        queued to the customer (及时向客户反馈)."""
        fid = require_id("feedback_id", feedback_id)
        review = None if note is None else require_text("note", note, 2000)

        def report(sample: Sample) -> list[Notification]:
            entry = sample.feedback_entry(fid)
            body = (f"Effect: {entry.effect}\nProblems: {entry.problems}\n"
                    f"Suggestions: {entry.suggestions}")
            return [self._note(f"customer:{sample.info.customer_id}", "sample.feedback",
                               f"Results for your sample {sample.number or sample.id}", body)]

        return self._move(actor, sample_id, Action.SAMPLE_REGISTER,
                          lambda _, who, s, now: moves.archive_feedback(
                              self._chain, s, fid, by=who.id, note=review, at=now), report)

    def get(self, actor: Principal, sample_id: str) -> Sample:
        """The sample as it stands, for anyone with the right to read samples."""
        sid = require_id("sample_id", sample_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            return self._load(uow, actor, Action.SAMPLE_READ, sid)[1]

    def chain(self, actor: Principal, sample_id: str) -> tuple[CustodyEvent, ...]:
        """The custody events as stored, in sequence order (not verified: see verify_chain)."""
        sid = require_id("sample_id", sample_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            sample = self._load(uow, actor, Action.SAMPLE_READ, sid)[1]
            return tuple(uow.samples.chain(sample.id))

    def verify_chain(self, actor: Principal, sample_id: str) -> int:
        """Recompute the chain and replay it; raise IntegrityError naming what does not
        hold: an event edited, deleted, inserted or reordered, a sample record that is
        not what its events give, or (with a chain key) a head whose seal fails.
        Returns the number of events. What is and is not detected: docs/integrity.md."""
        sid = require_id("sample_id", sample_id)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            sample = self._load(uow, actor, Action.SAMPLE_READ, sid)[1]
            events = list(uow.samples.chain(sample.id))
            with exact():
                self._chain.verify(sample, events)
            self._ctx.check_head(uow, CUSTODY_CHAIN, sample.id, length=len(events),
                                 head_hash=events[-1].hash if events else GENESIS,
                                 what=f"sample {sample.id}")
        return len(events)
