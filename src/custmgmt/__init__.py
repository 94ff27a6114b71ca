"""custmgmt: a company's customer-management policy as rules that code enforces.

    import custmgmt
    app = custmgmt.open("sqlite:///crm.db", migrate=True)
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    p = app.prospects.register(alice, name="Wang Wei", phone="138 0013 8000",
                               willingness="clear", potential_value=2_000_000)
"""

from custmgmt import errors
from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.app import CustomerManagement, open
from custmgmt.domain.common import Money
from custmgmt.domain.consent import ConsentRecord, ConsentSource, ContactChannel
from custmgmt.domain.credit import (
    Benchmark,
    Condition,
    Counterparty,
    CreditInstrument,
    CustomerConsent,
    InstrumentKind,
    InstrumentState,
    InterestRate,
)
from custmgmt.domain.customers import Purpose
from custmgmt.domain.followups import Channel
from custmgmt.domain.marketing import Campaign, CampaignState, Exclusion, OutcomeKind, RiskLevel
from custmgmt.domain.prospects import Grade, Stage, Willingness
from custmgmt.domain.samples import Light, StorageCondition
from custmgmt.ports.auth import Action, Certification, Principal, Role
from custmgmt.ports.notification import DeliveryStatus, Notification, NotificationPurpose
from custmgmt.ports.settings import Settings
from custmgmt.services.notifications import DispatchReport

__all__ = [
    "Action",
    "Benchmark",
    "Campaign",
    "CampaignState",
    "Certification",
    "Channel",
    "Condition",
    "ConsentRecord",
    "ConsentSource",
    "ContactChannel",
    "Counterparty",
    "CreditInstrument",
    "CustomerConsent",
    "CustomerManagement",
    "DeliveryStatus",
    "DispatchReport",
    "Exclusion",
    "FixedClock",
    "Grade",
    "InstrumentKind",
    "InstrumentState",
    "InterestRate",
    "Light",
    "Money",
    "Notification",
    "NotificationPurpose",
    "OutcomeKind",
    "Principal",
    "Purpose",
    "RiskLevel",
    "Role",
    "SequentialIds",
    "Settings",
    "Stage",
    "StorageCondition",
    "Willingness",
    "errors",
    "open",
]
__version__ = "0.1.0"
