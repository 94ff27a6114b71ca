"""The roster: every repository a unit of work holds, declared once.

Each entry names the unit-of-work attribute, the repository port adapters
implement, what it stores, whether that is a versioned aggregate, and the
domain events its area records. The memory and SQL units of work build their
repositories from it, the storage contract checks every adapter against it,
serialization builds the tagged union of events from it, and the reference
page lists it; a test fails if a repository exists that it does not name.

Adding an aggregate is: a domain module, a service module, an entry here (and
its property on ``UnitOfWork``, for type checkers), a migration, a contract
test class, a docs page -- see docs/plugins.md, "Adding an aggregate".
"""

from __future__ import annotations

from attrs import frozen

from custmgmt.domain import (
    care,
    complaints,
    consent,
    credit,
    customers,
    delisting,
    marketing,
    membership,
    privacy,
    prospect_events,
    surveys,
    visits,
)
from custmgmt.domain.audit import AuditEntry
from custmgmt.domain.care import CareFile
from custmgmt.domain.common import DomainEvent
from custmgmt.domain.complaints import Complaint
from custmgmt.domain.consent import ConsentRecord
from custmgmt.domain.credit import CreditInstrument, CreditLimit
from custmgmt.domain.customers import Customer
from custmgmt.domain.delisting import DelistingCase
from custmgmt.domain.followups import ClosedMonth, FollowUp, FollowUpPlan, FollowUpRecorded
from custmgmt.domain.integrity import ChainHead
from custmgmt.domain.marketing import Campaign, Touch
from custmgmt.domain.membership import Membership
from custmgmt.domain.privacy import PiRequest
from custmgmt.domain.prospects import Prospect
from custmgmt.domain.samples import Sample, SampleEvent
from custmgmt.domain.stock import Department, StockCount
from custmgmt.domain.surveys import CareTask, SurveyResponse
from custmgmt.domain.visits import Visit
from custmgmt.ports import care as care_ports
from custmgmt.ports import storage as ports
from custmgmt.ports.auth import Principal
from custmgmt.ports.notification import Outbox, OutboxItem

__all__ = ["ROSTER", "Entry", "event_types", "names"]


@frozen
class Entry:
    """One aggregate on the roster: its unit-of-work attribute and repository port."""

    name: str
    """The unit-of-work attribute: ``uow.<name>``."""
    port: type
    """The repository protocol every storage adapter implements."""
    stores: type
    """What it keeps: the aggregate, or the record type of a log."""
    versioned: bool = False
    """An aggregate with a ``version``: a stale write raises ConcurrencyError."""
    events: tuple[type[DomainEvent], ...] = ()
    """The domain events its area records in the event log."""


def _events_of(module: object) -> tuple[type[DomainEvent], ...]:
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, DomainEvent) and v is not DomainEvent
             and v.__module__ == getattr(module, "__name__", None)]
    return tuple(sorted(found, key=lambda cls: cls.__name__))


ROSTER: tuple[Entry, ...] = (
    Entry("prospects", ports.ProspectRepository, Prospect, versioned=True,
          events=_events_of(prospect_events)),
    Entry("customers", ports.CustomerRepository, Customer, versioned=True,
          events=_events_of(customers)),
    Entry("credit", ports.CreditRepository, CreditInstrument, versioned=True,
          events=_events_of(credit)),
    Entry("credit_limits", ports.CreditLimitRepository, CreditLimit, versioned=True),
    Entry("delisting", ports.DelistingRepository, DelistingCase, versioned=True,
          events=_events_of(delisting)),
    Entry("consents", ports.ConsentRepository, ConsentRecord, events=_events_of(consent)),
    Entry("campaigns", ports.CampaignRepository, Campaign, versioned=True,
          events=_events_of(marketing)),
    Entry("marketing", ports.MarketingRepository, Touch),
    Entry("principals", ports.PrincipalRepository, Principal),
    Entry("plans", ports.FollowUpPlanRepository, FollowUpPlan, versioned=True),
    Entry("follow_ups", ports.FollowUpRepository, FollowUp, events=(FollowUpRecorded,)),
    Entry("closed_months", ports.ClosedMonthRepository, ClosedMonth),
    Entry("samples", ports.SampleRepository, Sample, versioned=True, events=(SampleEvent,)),
    Entry("departments", ports.DepartmentRepository, Department),
    Entry("stock_counts", ports.StockCountRepository, StockCount),
    Entry("counters", ports.CounterRepository, int),
    Entry("audit", ports.AuditLog, AuditEntry),
    Entry("heads", ports.ChainHeadRepository, ChainHead),
    Entry("events", ports.EventLog, DomainEvent),
    Entry("outbox", Outbox, OutboxItem),
    Entry("observer_cursors", ports.ObserverCursorRepository, int),
    # ^ the last event position each observer has seen, with its lease
    Entry("pi_requests", ports.PiRequestRepository, PiRequest, versioned=True,
          events=_events_of(privacy)),
    Entry("care_files", care_ports.CareFileRepository, CareFile, versioned=True,
          events=_events_of(care)),
    Entry("complaints", care_ports.ComplaintRepository, Complaint, versioned=True,
          events=_events_of(complaints)),
    Entry("visits", care_ports.VisitRepository, Visit, events=_events_of(visits)),
    Entry("surveys", care_ports.SurveyRepository, SurveyResponse, events=_events_of(surveys)),
    Entry("care_tasks", care_ports.CareTaskRepository, CareTask, versioned=True),
    Entry("memberships", care_ports.MembershipRepository, Membership, versioned=True,
          events=_events_of(membership)),
)
"""In the order units of work check and apply them at commit."""


def names() -> tuple[str, ...]:
    """The unit-of-work attribute of every repository on the roster, in roster order."""
    return tuple(entry.name for entry in ROSTER)


def event_types() -> tuple[type[DomainEvent], ...]:
    """Every domain event the areas record, each named once."""
    return tuple(cls for entry in ROSTER for cls in entry.events)
