"""What the sample registry (样品登记处) keeps beside each sample's chain: the
departments it distributes to, stocktakes and physical counts (盘点), and the
applications whose expected return has passed. Reached through ``app.samples``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from attrs import frozen

from custmgmt.domain.quantities import counted
from custmgmt.domain.samples import ApplicationStatus, Sample, SampleState
from custmgmt.domain.stock import CountLine, Department, StockCount, compare
from custmgmt.domain.validation import require_date, require_id, require_text
from custmgmt.errors import ConcurrencyError, InvalidTransition, ValidationError
from custmgmt.ports.auth import Action, Principal, Resource, Role, Scope
from custmgmt.ports.notification import Notification
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.context import Context, Described
from custmgmt.services.edge import guarded

QUALITY_ROLE_ADDRESS = f"role:{Role.QUALITY_MANAGER}"
"""Where escalations go when nobody holds the quality role yet."""


@frozen
class StockLine:
    """What the chain says should be on the shelf, for a stocktake (盘点)."""

    number: str
    sample_id: str
    location: str
    expected: Decimal
    unit: str
    custodian: str


@frozen
class OverdueReturn:
    """A checked-out quantity whose expected return date has passed."""

    sample_id: str
    number: str
    application_id: str
    applicant: str
    quantity: Decimal
    """Still out: taken and not yet used."""
    unit: str
    expected_return: date
    days_late: int


def _counted(value: object, field: str) -> Decimal:
    """A counted quantity: exact and not negative (nothing found is 0)."""
    return counted(value, field)


def sample_resource(sample: Sample) -> Resource:
    """The sample as the authorizer sees it: its current custodian holds it."""
    return Resource(kind="sample", id=sample.id, owner_id=sample.custodian)


@guarded
class SampleRegistry(Described):
    """The registry's side of ``app.samples``; SampleService builds on it."""

    def __init__(self, context: Context) -> None:
        self._ctx = context

    def _load(
        self, uow: UnitOfWork, actor: Principal, action: Action, sample_id: str
    ) -> tuple[Principal, Sample]:
        """The actor's stored grants and the sample, if they may do ``action`` to it
        (one answer whether or not it exists: no existence oracle)."""
        return self._ctx.load(uow, actor, action, "sample", sample_id, uow.samples.get,
                              sample_resource)

    def _note(self, recipient: str, kind: str, subject: str, body: str,
              dedupe_key: str | None = None) -> Notification:
        return Notification(id=self._ctx.ids.new_id("n"), recipient_id=recipient, kind=kind,
                            subject=subject, body=body, created_at=self._ctx.now(),
                            dedupe_key=dedupe_key)

    def _quality(self, uow: UnitOfWork) -> list[str]:
        """Who holds the quality role (质量管理部门, 第五条), or its address if nobody."""
        holders = [p.id for p in uow.principals.find(role=Role.QUALITY_MANAGER)]
        return holders or [QUALITY_ROLE_ADDRESS]

    def _known_recipient(self, uow: UnitOfWork, recipient: str) -> None:
        if self._ctx.known(uow, recipient) is None and uow.departments.get(recipient) is None:
            raise ValidationError("to", "must be a known principal or a registered department")

    def add_department(self, actor: Principal, department_id: str, *, name: str) -> Department:
        """Register a department the registry may distribute samples to."""
        did = require_id("department_id", department_id)
        title = require_text("name", name, 200)
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.SAMPLE_REGISTER)
            department = Department(id=did, name=title, registered_by=who.id,
                                    registered_at=self._ctx.now())
            if uow.principals.get(department.id) is not None:
                raise ValidationError("department_id", "is a principal's id")
            try:
                uow.departments.add(department)
                uow.commit()
            except ConcurrencyError:
                raise InvalidTransition("registered", "registered",
                                        f"department {department.id!r} exists") from None
        return department

    def departments(self, actor: Principal) -> tuple[Department, ...]:
        """The registered departments, by id."""
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.SAMPLE_READ)
            return tuple(uow.departments.all())

    def stocktake(self, actor: Principal, *, location: str | None = None) -> tuple[StockLine, ...]:
        """What should be where, by the chain, to compare with a physical count."""
        where = None if location is None else require_text("location", location, 200)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.SAMPLE_REGISTER)
            samples = uow.samples.find(location=where, state=SampleState.REGISTERED)
        return tuple(
            StockLine(number=s.number or "", sample_id=s.id, location=s.location or "",
                      expected=s.in_storage, unit=s.info.unit, custodian=s.custodian)
            for s in samples if s.in_storage > 0)

    def record_count(
        self, actor: Principal, location: str, counts: Mapping[str, object]
    ) -> tuple[CountLine, ...]:
        """Store a physical count of ``location`` (sample number -> quantity found) and
        return the discrepancies against what the chains say should be there: missing,
        short, surplus or unexpected samples. Discrepancies are escalated to the
        quality role through the outbox."""
        where = require_text("location", location, 200)
        if not isinstance(counts, Mapping):
            raise ValidationError("counts", "must map sample numbers to counted quantities")
        counted: dict[str, Decimal] = {}
        for number, value in counts.items():
            key = require_text("counts", number, 30)
            counted[key] = _counted(value, f"counts.{key}")
        now = self._ctx.now()
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.SAMPLE_REGISTER)
            expected = {s.number: (s.id, s.in_storage)
                        for s in uow.samples.find(location=where, state=SampleState.REGISTERED)
                        if s.number is not None and s.in_storage > 0}
            count = StockCount(id=self._ctx.ids.new_id("sc"), location=where,
                               counted_by=who.id, at=now, lines=compare(expected, counted))
            uow.stock_counts.add(count)
            if count.discrepancies:
                body = "; ".join(f"{line.number}: expected {line.expected}, counted "
                                 f"{line.counted}" for line in count.discrepancies)
                for recipient in self._quality(uow):
                    uow.outbox.add(self._note(
                        recipient, "sample.count_discrepancy",
                        f"Stock count of {where}: {len(count.discrepancies)} discrepancy(ies)",
                        body, dedupe_key=f"count:{count.id}:{recipient}"))
            self._ctx.audit(uow, who, kind="stock_count", resource_id=count.id,
                            action="record_count", at=now, before=None,
                            after={"location": where,
                                   "discrepancies": str(len(count.discrepancies))})
            uow.commit()
        return count.discrepancies

    def stock_counts(
        self, actor: Principal, *, location: str | None = None
    ) -> tuple[StockCount, ...]:
        """The physical counts recorded, oldest first."""
        where = None if location is None else require_text("location", location, 200)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            self._ctx.authorize(uow, actor, Action.SAMPLE_READ)
            return tuple(uow.stock_counts.find(where))

    def _overdue(
        self, uow: UnitOfWork, actor: Principal, day: date
    ) -> list[OverdueReturn]:
        """``actor``: grants already resolved by the caller."""
        reach = self._ctx.authorizer.reach(actor, Action.SAMPLE_REGISTER)
        everyone = reach.scope is not Scope.NONE
        found = []
        for sample in uow.samples.find(state=SampleState.REGISTERED):
            for app in sample.applications:
                back = app.expected_return
                if (app.status is ApplicationStatus.CHECKED_OUT and back is not None
                        and back < day and (everyone or app.applicant == actor.id)):
                    found.append(OverdueReturn(
                        sample_id=sample.id, number=sample.number or "", application_id=app.id,
                        applicant=app.applicant, quantity=app.taken - app.used,
                        unit=sample.info.unit, expected_return=back,
                        days_late=(day - back).days))
        return sorted(found, key=lambda o: (o.expected_return, o.number, o.application_id))

    def overdue_returns(
        self, actor: Principal, *, on: date | None = None
    ) -> tuple[OverdueReturn, ...]:
        """Checked-out quantities whose ``expected_return`` is before ``on`` (default:
        local today) and that are not back: every one for the registry, a user's own
        for a sample user."""
        day = self._ctx.today() if on is None else require_date("on", on)
        with self._ctx.storage.unit_of_work(read_only=True) as uow:
            who = self._ctx.authorize(uow, actor, Action.SAMPLE_READ)
            return tuple(self._overdue(uow, who, day))

    def send_return_reminders(self, actor: Principal, *, on: date | None = None) -> int:
        """Queue a reminder to the applicant of every overdue return (the registry), once
        per application and expected date. Returns how many were queued."""
        day = self._ctx.today() if on is None else require_date("on", on)
        queued = 0
        with self._ctx.storage.unit_of_work() as uow:
            who = self._ctx.authorize(uow, actor, Action.SAMPLE_REGISTER)
            for late in self._overdue(uow, who, day):
                queued += uow.outbox.add(self._note(
                    late.applicant, "sample.return_overdue",
                    f"Sample {late.number} was due back on {late.expected_return.isoformat()}",
                    f"{late.quantity} {late.unit} still out under application "
                    f"{late.application_id}, {late.days_late} day(s) late.",
                    dedupe_key=f"return-overdue:{late.application_id}:"
                               f"{late.expected_return.isoformat()}"))
            uow.commit()
        return queued


