"""Who is acting, what they want to do, and the Authorizer that says yes or no."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Protocol

from attrs import field, frozen

from custmgmt.domain.validation import a_date, optional, own_text, plain, text
from custmgmt.errors import ValidationError


class Role:
    """The built-in role names. Any other string is a role too, if the table grants it."""

    SALESPERSON = "salesperson"
    SALES_MANAGER = "sales_manager"
    PROSPECT_READER = "prospect_reader"
    ACCOUNT_MANAGER = "account_manager"
    """Looks after customers; creates existing clients directly."""
    CUSTOMER_READER = "customer_reader"
    SAMPLE_RECEIVER = "sample_receiver"
    """Also needs a valid ``sample_receiver`` certification (持证上岗)."""
    SAMPLE_REGISTRY = "sample_registry"
    SAMPLE_USER = "sample_user"
    SAFETY_OFFICER = "safety_officer"
    QUALITY_MANAGER = "quality_manager"
    AUDITOR = "auditor"
    """Verifies audit trails (``app.audit.verify``)."""
    DISPATCHER = "dispatcher"
    """Runs the notification worker: reads the outbox and delivers it."""
    RELATIONSHIP_MANAGER = "relationship_manager"
    """Drafts credit instruments for the customers they own, issues and services them."""
    CREDIT_APPROVER = "credit_approver"
    """Approves credit instruments (never their own), sets limits, revokes."""
    RISK_OFFICER = "risk_officer"
    """Reads every credit instrument and the exposure report."""
    CUSTOMER_RELATIONS = "customer_relations"
    """客户关系部门: opens and runs delisting cases, reviews customers periodically."""
    LEADERSHIP = "leadership"
    """公司领导层: the delisting panel (votes), may override open items at sealing."""
    FRONT_DESK = "front_desk"
    """Serves customers face to face: reads the brief, records visits, complaints and
    survey answers, keeps preferences up to date."""
    GUEST_RELATIONS = "guest_relations"
    """Customer care (客户关怀): handles complaints, runs membership, segments, care
    messages and the care reports."""
    DUTY_MANAGER = "duty_manager"
    """Told when a complaint passes a deadline; handles complaints, runs the sweep."""
    SERVICE_MANAGER = "service_manager"
    """Manages one service (their ``team``: room, restaurant ...): gets the follow-up
    tasks of low survey scores for it."""
    SEALED_READER = "sealed_reader"
    """May read a sealed customer's data, giving a reason each time (audited)."""
    PRIVACY_OFFICER = "privacy_officer"
    """个人信息保护负责人: receives and answers access, export and erasure requests."""
    MARKETER = "marketer"
    """Drafts campaigns (owns them), runs the approved ones, records outcomes."""
    COMPLIANCE_REVIEWER = "compliance_reviewer"
    """Reviews campaign material (advertising law), never material they wrote."""
    MARKETING_MANAGER = "marketing_manager"
    """Approves campaigns, keeps the product list with its risk levels."""
    ADMIN = "admin"


class Action(enum.Enum):
    """Everything a principal may be allowed to do; the authorizer decides per action."""

    PROSPECT_REGISTER = "prospect.register"
    PROSPECT_READ = "prospect.read"
    PROSPECT_UPDATE = "prospect.update"
    PROSPECT_OVERRIDE_GRADE = "prospect.override_grade"
    PROSPECT_TRANSFER = "prospect.transfer"
    PROSPECT_REOPEN = "prospect.reopen"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_READ = "customer.read"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_TRANSFER = "customer.transfer"
    CUSTOMER_STATUS = "customer.status"
    CUSTOMER_REVIEW = "customer.review"
    FOLLOWUP_RECORD = "followup.record"
    FOLLOWUP_READ = "followup.read"
    FOLLOWUP_REMIND = "followup.remind"
    FOLLOWUP_OVERRIDE = "followup.override"
    """Record a follow-up late, or push the next one past the cadence (with a reason)."""
    REPORT_READ = "report.read"
    REPORT_CLOSE = "report.close"
    """Close a month's report: the month takes no more follow-up records."""
    POOL_RELEASE = "pool.release"
    POOL_CLAIM = "pool.claim"
    SAMPLE_RECEIVE = "sample.receive"
    SAMPLE_REGISTER = "sample.register"
    SAMPLE_APPLY = "sample.apply"
    SAMPLE_HAZARD_APPROVE = "sample.hazard_approve"
    SAMPLE_READ = "sample.read"
    PRINCIPAL_MANAGE = "principal.manage"
    NOTIFICATION_DISPATCH = "notification.dispatch"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_SEAL = "audit.seal"
    """Seal the heads of chains written before a chain key was configured."""
    NOTIFICATION_READ = "notification.read"
    EVENT_READ = "event.read"
    CREDIT_DRAFT = "credit.draft"
    """Draft (and submit) an instrument for a customer: checked against the customer."""
    CREDIT_READ = "credit.read"
    CREDIT_APPROVE = "credit.approve"
    CREDIT_ISSUE = "credit.issue"
    CREDIT_AWARD = "credit.award"
    """Record a credit certificate's tender result."""
    CREDIT_DRAW = "credit.draw"
    """Record a customer's drawdown."""
    CREDIT_REVOKE = "credit.revoke"
    CREDIT_LIMIT = "credit.limit"
    """Set a customer's approved credit limit."""
    CREDIT_REPORT = "credit.report"
    """Read exposure: per customer and the off-balance-sheet report."""
    DELISTING_OPEN = "delisting.open"
    DELISTING_READ = "delisting.read"
    DELISTING_MANAGE = "delisting.manage"
    """Run a case: evidence, summary, convene and close the vote, notice, sealing,
    objections, periodic reviews."""
    DELISTING_VOTE = "delisting.vote"
    DELISTING_OVERRIDE = "delisting.override"
    """Seal although items are still open for the customer (a leader, with a reason)."""
    SEALED_READ = "sealed.read"
    """Read a sealed customer's (and its prospects') data, with a reason, audited."""
    PI_RECEIVE = "pi.receive"
    """Log a person's access, export or erasure request (it is due in
    ``Settings.pi_request_days``)."""
    PI_READ = "pi.read"
    """List personal-information requests and the overdue ones (no personal data)."""
    PI_ACCESS = "pi.access"
    """Answer an access request: everything held about one person."""
    PI_EXPORT = "pi.export"
    """Answer an export request: everything held about one person, as JSON."""
    PI_ERASE = "pi.erase"
    """Answer an erasure request: pseudonymize the person (a legal hold defers it)."""
    CONSENT_RECORD = "consent.record"
    """Record a person's consent or its withdrawal: checked against the customer."""
    CONSENT_READ = "consent.read"
    """Read a person's consent history and current state."""
    RISK_ASSESS = "customer.risk_assess"
    """Record a customer's assessed risk tolerance: checked against the customer."""
    MARKETING_PRODUCT = "marketing.product"
    """Keep the products campaigns offer, with their risk levels."""
    MARKETING_DRAFT = "marketing.draft"
    """Draft a campaign (its owner), change and submit it for review."""
    MARKETING_REVIEW = "marketing.review"
    """Review a campaign's material for compliance (never one's own material)."""
    MARKETING_APPROVE = "marketing.approve"
    MARKETING_RUN = "marketing.run"
    """Start an approved campaign, send its messages, close it."""
    MARKETING_EVALUATE = "marketing.evaluate"
    """Record outcomes of touches and evaluate a closed campaign."""
    MARKETING_READ = "marketing.read"
    CARE_BRIEF = "care.brief"
    """Read what front-line staff need to serve a customer (contacts masked unless
    ``customer.read`` also covers the customer)."""
    CARE_FILE = "care.file"
    """Record a customer's preferences and usual periods."""
    CARE_VISIT = "care.visit"
    """Record a customer's stay or visit (and what was spent)."""
    COMPLAINT_RECEIVE = "complaint.receive"
    COMPLAINT_HANDLE = "complaint.handle"
    """Acknowledge, resolve, and record a customer's confirmation or reopening."""
    COMPLAINT_READ = "complaint.read"
    COMPLAINT_ESCALATE = "complaint.escalate"
    """Run the sweep that escalates overdue complaints to the duty manager."""
    SURVEY_RECORD = "survey.record"
    CARE_TASK = "care.task"
    """Read and close care follow-up tasks (a low survey score)."""
    CARE_REPORT = "care.report"
    """Complaint, survey and membership reports."""
    MEMBERSHIP_EVALUATE = "membership.evaluate"
    """Evaluate customers' membership tiers on a date."""
    CARE_SEGMENT = "care.segment"
    """Read customer segments (recency, frequency, monetary value)."""
    CARE_MESSAGE = "care.message"
    """Queue greetings and promotions to customers (consent decides at send time)."""


class Scope(enum.IntEnum):
    """How far a grant reaches, narrowest first."""

    NONE = 0
    OWN = 1
    TEAM = 2
    ANY = 3


@frozen
class Certification:
    """A qualification a principal holds (e.g. ``sample_receiver``) and until when."""

    name: str = field(validator=text(100))
    valid_until: date | None = field(default=None, validator=optional(a_date))

    def valid_on(self, day: date) -> bool:
        return self.valid_until is None or day <= self.valid_until


def _roles(value: object) -> frozenset[str]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError("roles", "must be a set of role names")
    roles = tuple(value)
    if not all(isinstance(r, str) for r in roles):
        raise ValidationError("roles", "every role must be a non-empty string")
    texts = tuple(own_text("roles", r) for r in roles)  # before hashing them
    if not all(r.strip() for r in texts):
        raise ValidationError("roles", "every role must be a non-empty string")
    return frozenset(texts)


def _certifications(value: object) -> frozenset[Certification]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError("certifications", "must be a set of Certification")
    value = tuple(value)
    if not all(isinstance(c, Certification) for c in value):
        raise ValidationError("certifications", "every item must be a Certification")
    return frozenset(value)


def _active(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("active", "must be True or False")
    return value


def _version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("version", "must be a non-negative integer")
    return value


@frozen(kw_only=True)
class Principal:
    """Someone acting through custmgmt, with the grants on record: roles, a team, a
    supervisor and certifications; ``active`` is False once deactivated.

    When a caller hands a principal to a service, only its ``id`` counts: the
    grants are read again from storage (or the auth adapter) at every call.
    ``version`` counts stored changes (0: never stored).
    """

    id: str = field(converter=plain, validator=text(200))
    roles: frozenset[str] = field(default=frozenset(), converter=_roles)
    team: str | None = field(default=None, converter=plain,
                             validator=optional(text(100)))
    supervisor_id: str | None = field(default=None, converter=plain,
                                      validator=optional(text(200)))
    certifications: frozenset[Certification] = field(
        default=frozenset(), converter=_certifications
    )
    active: bool = field(default=True, converter=_active)
    version: int = field(default=0, converter=_version)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def certified(self, name: str, on: date) -> bool:
        return any(c.name == name and c.valid_on(on) for c in self.certifications)


@frozen(kw_only=True)
class Resource:
    """What an action touches, as far as access rules care: its owner and team."""

    kind: str
    id: str
    owner_id: str | None = None
    team: str | None = None


@frozen(kw_only=True)
class Reach:
    """Which records of a kind a principal may see: used to filter lists and reports."""

    scope: Scope
    principal_id: str
    team: str | None = None

    def covers(self, resource: Resource) -> bool:
        if self.scope is Scope.ANY:
            return True
        if self.scope is Scope.TEAM and self.team is not None and resource.team == self.team:
            return True
        return self.scope >= Scope.OWN and resource.owner_id == self.principal_id


class Authorizer(Protocol):
    """Decides whether a principal may act. Raises PermissionDenied, returns None.

    The services never trust the ``Principal`` a caller hands in: at each call,
    inside its unit of work, they ask ``resolve`` for the grants of that id and
    pass what it returns to ``check`` and ``reach``.
    """

    def resolve(self, principal_id: str, stored: Principal | None) -> Principal | None:
        """The grants to decide with for ``principal_id``, or None if it is unknown.

        ``stored`` is the principal as custmgmt's storage has it right now (None if
        it has no record; a deactivated one never gets here). The default adapter
        returns it unchanged; an SSO or directory adapter may look the id up in
        its own directory instead. Never build grants from what a caller claims.
        """
        ...

    def known_roles(self) -> frozenset[str]:
        """Every role name this authorizer gives a meaning to. Granting any other
        name is refused: a typo must not be stored silently."""
        ...

    def check(self, principal: Principal, action: Action, resource: Resource | None) -> None:
        """Raise ``PermissionDenied`` unless ``principal`` may do ``action`` to ``resource``."""
        ...

    def reach(self, principal: Principal, action: Action) -> Reach:
        """How far ``principal``'s right to ``action`` reaches, for filtering lists."""
        ...
