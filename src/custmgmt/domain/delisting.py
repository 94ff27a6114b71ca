"""Delisting (客户摘牌): a case with a fixed procedure, a vote, a notice and sealing.

The policy (客户摘牌管理制度): customer relations opens and runs the case (一、3);
a preliminary investigation with evidence comes first (三、1(1)(2)) and ends in a
written summary for the leadership (三、1(3)); delisting needs more than half of
the leadership (三、2(3)) -- here: more than half of the WHOLE panel snapshotted
when the vote opens, not of those who voted; the customer is told in writing,
with the reasons and the basis (三、3(1)); key data is sealed (三、4); an
objection is discussed and ends upheld, reversed or on the legal route (三、3(3)).

Everything here is pure: times come in as arguments, nothing is stored or sent.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.validation import (
    aware,
    non_negative_int,
    of_type,
    optional,
    require_text,
    text,
    tuple_of,
)
from custmgmt.errors import InvalidTransition, ValidationError

__all__ = [
    "NOTICE_TEMPLATES", "CaseOpened", "CaseState", "CaseStep", "CaseStepped", "DelistingCase",
    "Evidence", "EvidenceKind", "Ground", "Language", "Notice", "ObjectionOutcome",
    "OpenItem", "Review", "ReviewDue", "Step", "Trigger", "Vote", "VoteChoice", "VoteTally",
    "delisting_passes", "months_before", "render_notice",
]


_bounded = text


class Ground(enum.Enum):
    """Why a customer is delisted (二、1, "including but not limited to")."""

    CREDIT_DETERIORATION = "credit_deterioration"
    """资信状况恶化, seriously affecting the company."""
    UNAUTHORIZED_USE = "unauthorized_use"
    """Use of the company's name or brand without authorization."""
    MALICIOUS_ATTACK = "malicious_attack"
    """Malicious attacks or rumours against the company or its staff."""
    BREACH = "breach"
    """Breach of contract, or other serious misconduct."""
    OTHER = "other"
    """Anything else, described."""


class Trigger(enum.Enum):
    """What started the case: a complaint or feedback received (三、1(1)), or a review."""

    COMPLAINT = "complaint"
    FEEDBACK = "feedback"
    PERIODIC_REVIEW = "periodic_review"


class EvidenceKind(enum.Enum):
    DOCUMENT = "document"
    RECORD = "record"
    INTERVIEW = "interview"
    """A conversation with the customer (与客户交流)."""
    OTHER = "other"


class VoteChoice(enum.Enum):
    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class CaseState(enum.Enum):
    OPENED = "opened"
    INVESTIGATING = "investigating"
    VOTING = "voting"
    REJECTED = "rejected"
    """Decided: not delisted (not more than half of the whole panel voted for)."""
    DECIDED = "decided"
    """Decided: delist."""
    NOTIFIED = "notified"
    SEALED = "sealed"
    OBJECTION = "objection"
    UPHELD = "upheld"
    REVERSED = "reversed"
    LEGAL = "legal"
    """Referred to the legal route."""


class ObjectionOutcome(enum.Enum):
    UPHELD = "upheld"
    REVERSED = "reversed"
    LEGAL = "legal"


class Step(enum.Enum):
    """Every kind of step a case records in its history."""

    OPENED = "opened"
    EVIDENCE = "evidence"
    SUMMARY = "summary"
    VOTE_OPENED = "vote_opened"
    VOTED = "voted"
    DECIDED = "decided"
    NOTIFIED = "notified"
    OVERRIDE = "override"
    SEALED = "sealed"
    OBJECTION = "objection"
    RESOLVED = "resolved"


class Language(enum.Enum):
    ZH = "zh"
    EN = "en"


_NEXT: Mapping[CaseState, frozenset[CaseState]] = {
    CaseState.OPENED: frozenset({CaseState.INVESTIGATING}),
    CaseState.INVESTIGATING: frozenset({CaseState.VOTING}),
    CaseState.VOTING: frozenset({CaseState.DECIDED, CaseState.REJECTED}),
    CaseState.DECIDED: frozenset({CaseState.NOTIFIED}),
    CaseState.NOTIFIED: frozenset({CaseState.SEALED, CaseState.OBJECTION}),
    CaseState.SEALED: frozenset({CaseState.OBJECTION}),
    CaseState.OBJECTION: frozenset({CaseState.UPHELD, CaseState.REVERSED, CaseState.LEGAL}),
    CaseState.UPHELD: frozenset({CaseState.SEALED}),
    CaseState.REJECTED: frozenset(),
    CaseState.REVERSED: frozenset(),
    CaseState.LEGAL: frozenset(),
}
"""The state machine; anything else raises InvalidTransition. An upheld objection that
came before sealing may still be sealed."""


def months_before(at: datetime, months: int) -> datetime:
    """The same wall-clock instant ``months`` calendar months earlier (the day clamped to
    the month's end: 31 March minus one month is 28 or 29 February)."""
    total = at.year * 12 + at.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return at.replace(year=year, month=month, day=min(at.day, last))


def delisting_passes(panel_size: int, votes_for: int) -> bool:
    """More than half of the WHOLE panel voted for: 3 of 5 passes, 2 of 4 fails, a tie
    fails; abstentions, votes against and members who did not vote all count against."""
    return panel_size > 0 and 2 * votes_for > panel_size


@frozen(kw_only=True)
class Evidence:
    """One item of the investigation (查阅资料、收集证据、与客户交流)."""

    kind: EvidenceKind = field(validator=of_type(EvidenceKind))
    description: str = field(validator=text(2000))
    source: str = field(validator=text(300))
    received_at: datetime = field(validator=aware)
    received_by: str = field(validator=text(200))


@frozen(kw_only=True)
class Vote:
    """A panel member's current vote; a changed vote replaces the earlier one."""

    member_id: str = field(validator=text(200))
    choice: VoteChoice = field(validator=of_type(VoteChoice))
    at: datetime = field(validator=aware)


@frozen(kw_only=True)
class VoteTally:
    """The count of a vote against the whole panel."""

    panel_size: int
    votes_for: int
    against: int
    abstain: int
    not_voted: int

    @property
    def passes(self) -> bool:
        return delisting_passes(self.panel_size, self.votes_for)


@frozen(kw_only=True)
class Notice:
    """The written notice as sent: its exact text is kept with the case."""

    language: Language = field(validator=of_type(Language))
    text: str = field(validator=_bounded(20000))
    reasons: str = field(validator=_bounded(4000))
    basis: str = field(validator=_bounded(4000))
    issued_by: str = field(validator=_bounded(200))
    issued_at: datetime = field(validator=aware)
    notification_id: str = field(validator=_bounded(100))


@frozen(kw_only=True)
class OpenItem:
    """Something still open for the customer that should be closed before sealing."""

    kind: str = field(validator=text(100))
    """e.g. ``sample``, ``followup_plan``, ``credit_instrument``."""
    id: str = field(validator=text(200))
    description: str = field(validator=text(500))


@frozen(kw_only=True)
class Review:
    """A periodic review of a customer (定期进行检查和评估): who looked, when, what they found."""

    customer_id: str = field(validator=text(100))
    reviewed_by: str = field(validator=text(200))
    reviewed_at: datetime = field(validator=aware)
    note: str = field(validator=text(2000))


@frozen(kw_only=True)
class ReviewDue:
    """A customer due for review: its last review (None: never reviewed, counted from when
    it became a customer)."""

    customer_id: str
    since: datetime
    last_reviewed_at: datetime | None


@frozen(kw_only=True)
class CaseStep:
    """One step in a case's life: what, who, when, the state after, and a note."""

    step: Step = field(validator=of_type(Step))
    by: str = field(validator=text(200))
    at: datetime = field(validator=aware)
    state: CaseState = field(validator=of_type(CaseState))
    note: str | None = field(default=None, validator=optional(text(4000)))


@frozen(kw_only=True)
class CaseOpened(DomainEvent):
    case_id: str
    customer_id: str
    grounds: tuple[Ground, ...]


@frozen(kw_only=True)
class CaseStepped(DomainEvent):
    """A case took a step (evidence, vote, decision, notice, sealing, objection...)."""

    case_id: str
    customer_id: str
    step: Step
    state: CaseState


def _grounds(value: object) -> tuple[Ground, ...]:
    if isinstance(value, str | bytes | Ground) or not isinstance(value, Iterable):
        value = (value,)
    out: list[Ground] = []
    for item in value:
        try:
            ground = item if isinstance(item, Ground) else Ground(item)
        except (ValueError, TypeError):
            allowed = ", ".join(g.value for g in Ground)
            raise ValidationError("grounds", f"each must be one of: {allowed}") from None
        if ground not in out:
            out.append(ground)
    if not out:
        raise ValidationError("grounds", "give at least one ground")
    return tuple(out)


Changed = tuple["DelistingCase", tuple[DomainEvent, ...]]


@frozen(kw_only=True)
class DelistingCase:
    """A delisting case for one customer; versioned like every aggregate."""

    id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    grounds: tuple[Ground, ...] = field(validator=tuple_of(Ground))
    other_ground: str | None = field(default=None, validator=optional(text(2000)))
    """What ``Ground.OTHER`` means here (required with it)."""
    trigger: Trigger = field(validator=of_type(Trigger))
    trigger_note: str | None = field(default=None, validator=optional(text(2000)))
    opened_by: str = field(validator=text(200))
    opened_at: datetime = field(validator=aware)
    state: CaseState = field(default=CaseState.OPENED, validator=of_type(CaseState))
    evidence: tuple[Evidence, ...] = field(default=(), validator=tuple_of(Evidence))
    summary: str | None = field(default=None, validator=optional(text(20000)))
    panel: tuple[str, ...] = field(default=(), validator=tuple_of(str))
    """The leadership panel as it was when the vote opened (sorted ids)."""
    votes: tuple[Vote, ...] = field(default=(), validator=tuple_of(Vote))
    notice: Notice | None = field(default=None, validator=optional(of_type(Notice)))
    sealed: bool = False
    """Whether this case sealed the customer (and has not unsealed it)."""
    history: tuple[CaseStep, ...] = field(default=(), validator=tuple_of(CaseStep))
    version: int = field(default=0, validator=non_negative_int)

    def __attrs_post_init__(self) -> None:
        if not self.grounds:
            raise ValidationError("grounds", "give at least one ground")
        if Ground.OTHER in self.grounds and self.other_ground is None:
            raise ValidationError("other_ground", "describe the other ground")

    @property
    def is_closed(self) -> bool:
        return not _NEXT[self.state]

    # -- transitions -------------------------------------------------------------------

    def _move(self, to: CaseState, why: str = "") -> None:
        if to not in _NEXT[self.state]:
            raise InvalidTransition(self.state.value, to.value, why or "not allowed")

    def _step(
        self, step: Step, *, by: str, at: datetime, state: CaseState | None = None,
        note: str | None = None, **changes: object,
    ) -> Changed:
        after = self.state if state is None else state
        entry = CaseStep(step=step, by=by, at=at, state=after, note=note)
        changed = attrs.evolve(self, state=after, history=(*self.history, entry),
                               **changes)  # type: ignore[arg-type]
        event = CaseStepped(actor_id=by, occurred_at=at, case_id=self.id,
                            customer_id=self.customer_id, step=step, state=after)
        return changed, (event,)

    @classmethod
    def open(
        cls, *, id: str, customer_id: str, grounds: object, other_ground: str | None,
        trigger: Trigger, trigger_note: str | None, by: str, at: datetime,
    ) -> Changed:
        chosen = _grounds(grounds)
        other = None if other_ground is None else require_text("other_ground", other_ground)
        note = None if trigger_note is None else require_text("trigger_note", trigger_note)
        entry = CaseStep(step=Step.OPENED, by=by, at=at, state=CaseState.OPENED,
                         note=", ".join(g.value for g in chosen))
        case = cls(id=id, customer_id=customer_id, grounds=chosen, other_ground=other,
                   trigger=trigger, trigger_note=note, opened_by=by, opened_at=at,
                   history=(entry,))
        event = CaseOpened(actor_id=by, occurred_at=at, case_id=id, customer_id=customer_id,
                           grounds=chosen)
        return case, (event,)

    def add_evidence(self, evidence: Evidence, *, by: str, at: datetime) -> Changed:
        """Evidence is collected while the case is opened or under investigation."""
        if self.state not in (CaseState.OPENED, CaseState.INVESTIGATING):
            raise InvalidTransition(self.state.value, "evidence", "the investigation is over")
        return self._step(Step.EVIDENCE, by=by, at=at, state=CaseState.INVESTIGATING,
                          note=evidence.kind.value, evidence=(*self.evidence, evidence))

    def summarize(self, summary: object, *, by: str, at: datetime) -> Changed:
        """The written summary of the investigation for the leadership (三、1(3))."""
        written = require_text("summary", summary, 20000)
        if self.state not in (CaseState.OPENED, CaseState.INVESTIGATING):
            raise InvalidTransition(self.state.value, "summary", "the investigation is over")
        return self._step(Step.SUMMARY, by=by, at=at, state=CaseState.INVESTIGATING,
                          summary=written)

    def open_vote(self, panel: Iterable[str], *, by: str, at: datetime) -> Changed:
        """Convene the panel: who holds the leadership role now is the whole panel."""
        if self.state is not CaseState.INVESTIGATING:
            self._move(CaseState.VOTING, "the investigation has not started")
        if not self.evidence:
            raise InvalidTransition(self.state.value, CaseState.VOTING.value,
                                    "no evidence collected")
        if self.summary is None:
            raise InvalidTransition(self.state.value, CaseState.VOTING.value,
                                    "no written investigation summary")
        members = tuple(sorted(set(panel)))
        if not members:
            raise InvalidTransition(self.state.value, CaseState.VOTING.value,
                                    "nobody holds the leadership role")
        return self._step(Step.VOTE_OPENED, by=by, at=at, state=CaseState.VOTING,
                          note=f"panel of {len(members)}", panel=members, votes=())

    def vote(self, member_id: str, choice: VoteChoice, *, at: datetime) -> Changed:
        """A member of the panel votes, or changes their vote, while the vote is open."""
        if self.state is not CaseState.VOTING:
            raise InvalidTransition(self.state.value, "vote", "no vote is open")
        if member_id not in self.panel:
            raise InvalidTransition(self.state.value, "vote",
                                    "not on the panel snapshotted when the vote opened")
        kept = tuple(v for v in self.votes if v.member_id != member_id)
        cast = Vote(member_id=member_id, choice=choice, at=at)
        return self._step(Step.VOTED, by=member_id, at=at, note=choice.value,
                          votes=(*kept, cast))

    def tally(self) -> VoteTally:
        counts = dict.fromkeys(VoteChoice, 0)
        for vote in self.votes:
            counts[vote.choice] += 1
        return VoteTally(panel_size=len(self.panel), votes_for=counts[VoteChoice.FOR],
                         against=counts[VoteChoice.AGAINST], abstain=counts[VoteChoice.ABSTAIN],
                         not_voted=len(self.panel) - len(self.votes))

    def close_vote(self, *, by: str, at: datetime) -> Changed:
        """Close the vote: DECIDED if more than half of the whole panel voted for, else
        REJECTED."""
        if self.state is not CaseState.VOTING:
            raise InvalidTransition(self.state.value, "decided", "no vote is open")
        tally = self.tally()
        to = CaseState.DECIDED if tally.passes else CaseState.REJECTED
        note = (f"{tally.votes_for} for, {tally.against} against, {tally.abstain} abstain, "
                f"{tally.not_voted} not voted, of a panel of {tally.panel_size}")
        return self._step(Step.DECIDED, by=by, at=at, state=to, note=note)

    def notified(self, notice: Notice) -> Changed:
        self._move(CaseState.NOTIFIED, "only a decided case is notified")
        return self._step(Step.NOTIFIED, by=notice.issued_by, at=notice.issued_at,
                          state=CaseState.NOTIFIED, note=notice.notification_id, notice=notice)

    def seal(
        self, *, open_items: tuple[OpenItem, ...], override: object, by: str, at: datetime
    ) -> Changed:
        """Seal after notice (or after an objection upheld before sealing). Refused while
        anything is open for the customer, unless a leader overrides with a reason."""
        if self.sealed:
            raise InvalidTransition(self.state.value, CaseState.SEALED.value, "already sealed")
        self._move(CaseState.SEALED, "only a notified case is sealed")
        if open_items and override is None:
            listed = ", ".join(f"{i.kind} {i.id}" for i in open_items)
            raise InvalidTransition(self.state.value, CaseState.SEALED.value,
                                    f"still open: {listed}")
        case: DelistingCase = self
        events: tuple[DomainEvent, ...] = ()
        if open_items:
            why = require_text("override", override, 4000)
            listed = ", ".join(f"{i.kind} {i.id}" for i in open_items)
            case, events = self._step(Step.OVERRIDE, by=by, at=at,
                                      note=f"{why} (open: {listed})")
        sealed, more = case._step(Step.SEALED, by=by, at=at, state=CaseState.SEALED,
                                  sealed=True)
        return sealed, (*events, *more)

    def objection(self, statement: object, *, by: str, at: datetime) -> Changed:
        """The customer objects: the case reopens for discussion (三、3(3))."""
        said = require_text("statement", statement, 4000)
        self._move(CaseState.OBJECTION, "only a notified or sealed case takes an objection")
        return self._step(Step.OBJECTION, by=by, at=at, state=CaseState.OBJECTION, note=said)

    def resolve(self, outcome: ObjectionOutcome, note: object, *, by: str, at: datetime
                ) -> Changed:
        """The discussion's outcome: upheld, reversed (unsealed) or the legal route."""
        said = require_text("note", note, 4000)
        to = CaseState(outcome.value)
        self._move(to, "no objection is under discussion")
        sealed = self.sealed and outcome is not ObjectionOutcome.REVERSED
        return self._step(Step.RESOLVED, by=by, at=at, state=to,
                          note=f"{outcome.value}: {said}", sealed=sealed)


# -- the written notice ----------------------------------------------------------------

_GROUND_TEXT: Mapping[Language, Mapping[Ground, str]] = {
    Language.ZH: {
        Ground.CREDIT_DETERIORATION: "客户资信状况恶化,对公司经营发展造成严重影响",
        Ground.UNAUTHORIZED_USE: "客户在未经授权的情况下使用公司名称、品牌等",
        Ground.MALICIOUS_ATTACK: "客户对公司或公司员工进行恶意攻击或造谣",
        Ground.BREACH: "客户在合作中违反合同约定,或有其他严重不良行为",
        Ground.OTHER: "其他情形",
    },
    Language.EN: {
        Ground.CREDIT_DETERIORATION:
            "your credit standing deteriorated, seriously affecting the company",
        Ground.UNAUTHORIZED_USE: "use of the company's name or brand without authorization",
        Ground.MALICIOUS_ATTACK:
            "malicious attacks or rumours against the company or its staff",
        Ground.BREACH: "breach of contract, or other serious misconduct",
        Ground.OTHER: "other grounds",
    },
}

NOTICE_TEMPLATES: Mapping[Language, str] = {
    Language.ZH: (
        "客户摘牌通知书\n\n"
        "致:{customer}\n\n"
        "经公司客户关系部门调查核实并经公司领导层讨论决定,公司决定对贵方予以摘牌。\n\n"
        "摘牌情形:\n{grounds}\n\n"
        "理由:\n{reasons}\n\n"
        "依据:\n{basis}\n\n"
        "如对本决定有异议,请与公司客户关系部门联系,进一步沟通解决。\n\n"
        "案件编号:{case_id}\n"
        "日期:{date}\n"
    ),
    Language.EN: (
        "Notice of delisting\n\n"
        "To: {customer}\n\n"
        "After an investigation by the company's customer relations department and a "
        "decision of the company's leadership, the company has decided to delist you.\n\n"
        "Grounds:\n{grounds}\n\n"
        "Reasons:\n{reasons}\n\n"
        "Basis:\n{basis}\n\n"
        "If you object to this decision, please contact the company's customer relations "
        "department so that it can be discussed further.\n\n"
        "Case: {case_id}\n"
        "Date: {date}\n"
    ),
}
"""The notice templates; ``{grounds}``, ``{reasons}`` and ``{basis}`` are always filled."""


def render_notice(
    case: DelistingCase, *, customer: str, reasons: object, basis: object,
    language: Language, on: str,
) -> tuple[str, str, str]:
    """The notice text for ``case`` and the checked reasons and basis: no notice goes
    out without both (三、3(1) 告知摘牌的理由和依据)."""
    why = require_text("reasons", reasons, 4000)
    law = require_text("basis", basis, 4000)
    names = _GROUND_TEXT[language]
    lines = []
    for n, ground in enumerate(case.grounds, 1):
        said = names[ground]
        if ground is Ground.OTHER and case.other_ground is not None:
            said = f"{said}: {case.other_ground}"
        lines.append(f"{n}. {said}")
    body = NOTICE_TEMPLATES[language].format(
        customer=customer, grounds="\n".join(lines), reasons=why, basis=law,
        case_id=case.id, date=on)
    return body, why, law
