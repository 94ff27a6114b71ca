"""The SQL delisting repository: cases, their evidence, panel, votes and history as child
rows, translated explicitly both ways; each customer's latest periodic review."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import attrs
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.tables import (
    CustomerRow,
    DelistingCaseRow,
    DelistingEvidenceRow,
    DelistingHistoryRow,
    DelistingPanelRow,
    DelistingReviewRow,
    DelistingVoteRow,
    table_of,
)
from custmgmt.adapters.sql.versioned import versioned_update
from custmgmt.domain.customers import CustomerStatus
from custmgmt.domain.delisting import (
    CaseState,
    CaseStep,
    DelistingCase,
    Evidence,
    EvidenceKind,
    Ground,
    Language,
    Notice,
    Review,
    ReviewDue,
    Step,
    Trigger,
    Vote,
    VoteChoice,
)
from custmgmt.errors import ConcurrencyError, NotFound

R = TypeVar("R", DelistingEvidenceRow, DelistingPanelRow, DelistingVoteRow,
            DelistingHistoryRow)

INSERT_CASE = insert(table_of(DelistingCaseRow))
INSERT_EVIDENCE = insert(table_of(DelistingEvidenceRow))
INSERT_PANEL = insert(table_of(DelistingPanelRow))
INSERT_VOTE = insert(table_of(DelistingVoteRow))
INSERT_HISTORY = insert(table_of(DelistingHistoryRow))
INSERT_REVIEW = insert(table_of(DelistingReviewRow))


def case_values(case: DelistingCase) -> dict[str, object]:
    """Column values of a case's main row (its notice included, not its children)."""
    notice = case.notice
    return {
        "id": case.id, "customer_id": case.customer_id,
        "grounds": ",".join(g.value for g in case.grounds),
        "other_ground": case.other_ground, "trigger": case.trigger.value,
        "trigger_note": case.trigger_note, "opened_by": case.opened_by,
        "opened_at": case.opened_at, "state": case.state.value, "summary": case.summary,
        "sealed": case.sealed,
        "notice_language": None if notice is None else notice.language.value,
        "notice_text": None if notice is None else notice.text,
        "notice_reasons": None if notice is None else notice.reasons,
        "notice_basis": None if notice is None else notice.basis,
        "notice_issued_by": None if notice is None else notice.issued_by,
        "notice_issued_at": None if notice is None else notice.issued_at,
        "notice_notification_id": None if notice is None else notice.notification_id,
        "version": case.version,
    }


def evidence_values(case_id: str, position: int, item: Evidence) -> dict[str, object]:
    return {"case_id": case_id, "position": position, "kind": item.kind.value,
            "description": item.description, "source": item.source,
            "received_at": item.received_at, "received_by": item.received_by}


def history_values(case_id: str, position: int, step: CaseStep) -> dict[str, object]:
    return {"case_id": case_id, "position": position, "step": step.step.value, "by": step.by,
            "at": step.at, "state": step.state.value, "note": step.note}


def _notice(row: DelistingCaseRow) -> Notice | None:
    if row.notice_text is None:
        return None
    assert row.notice_language is not None and row.notice_reasons is not None
    assert row.notice_basis is not None and row.notice_issued_by is not None
    assert row.notice_issued_at is not None and row.notice_notification_id is not None
    return Notice(language=Language(row.notice_language), text=row.notice_text,
                  reasons=row.notice_reasons, basis=row.notice_basis,
                  issued_by=row.notice_issued_by, issued_at=row.notice_issued_at,
                  notification_id=row.notice_notification_id)


def to_case(
    row: DelistingCaseRow, evidence: Sequence[DelistingEvidenceRow],
    panel: Sequence[DelistingPanelRow], votes: Sequence[DelistingVoteRow],
    history: Sequence[DelistingHistoryRow],
) -> DelistingCase:
    return DelistingCase(
        id=row.id, customer_id=row.customer_id,
        grounds=tuple(Ground(g) for g in row.grounds.split(",")),
        other_ground=row.other_ground, trigger=Trigger(row.trigger),
        trigger_note=row.trigger_note, opened_by=row.opened_by, opened_at=row.opened_at,
        state=CaseState(row.state),
        evidence=tuple(
            Evidence(kind=EvidenceKind(e.kind), description=e.description, source=e.source,
                     received_at=e.received_at, received_by=e.received_by)
            for e in sorted(evidence, key=lambda e: e.position)),
        summary=row.summary,
        panel=tuple(sorted(p.member_id for p in panel)),
        votes=tuple(Vote(member_id=v.member_id, choice=VoteChoice(v.choice), at=v.at)
                    for v in sorted(votes, key=lambda v: v.position)),
        notice=_notice(row), sealed=row.sealed,
        history=tuple(
            CaseStep(step=Step(h.step), by=h.by, at=h.at, state=CaseState(h.state),
                     note=h.note)
            for h in sorted(history, key=lambda h: h.position)),
        version=row.version,
    )


class SqlDelisting:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _children(self, row: type[R], ids: list[str]) -> dict[str, list[R]]:
        found: dict[str, list[R]] = {i: [] for i in ids}
        column = getattr(row, "case_id")  # noqa: B009
        for child in self._s.scalars(select(row).where(column.in_(ids))
                                     .execution_options(populate_existing=True)):
            found[getattr(child, "case_id")].append(child)  # noqa: B009
        return found

    def _load(self, rows: Sequence[DelistingCaseRow]) -> list[DelistingCase]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        evidence = self._children(DelistingEvidenceRow, ids)
        panel = self._children(DelistingPanelRow, ids)
        votes = self._children(DelistingVoteRow, ids)
        history = self._children(DelistingHistoryRow, ids)
        return [to_case(r, evidence[r.id], panel[r.id], votes[r.id], history[r.id])
                for r in rows]

    def get(self, case_id: str) -> DelistingCase:
        row = self._s.scalars(select(DelistingCaseRow).where(DelistingCaseRow.id == case_id)
                              .execution_options(populate_existing=True)).one_or_none()
        if row is None:
            raise NotFound("delisting case", case_id)
        return self._load([row])[0]

    def add(self, case: DelistingCase) -> DelistingCase:
        stored = attrs.evolve(case, version=1)
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_CASE, [case_values(stored)])
        except IntegrityError:
            raise ConcurrencyError(f"delisting case {case.id!r} already exists") from None
        self._children_after(stored, 0, 0)
        return stored

    def update(self, case: DelistingCase) -> DelistingCase:
        stored = attrs.evolve(case, version=case.version + 1)
        versioned_update(self._s, DelistingCaseRow, {"id": case.id}, case.version,
                         case_values(stored), "delisting case")
        evidence = self._count(DelistingEvidenceRow, case.id)
        history = self._count(DelistingHistoryRow, case.id)
        self._s.execute(delete(DelistingPanelRow).where(DelistingPanelRow.case_id == case.id))
        self._s.execute(delete(DelistingVoteRow).where(DelistingVoteRow.case_id == case.id))
        self._children_after(stored, evidence, history)
        return stored

    def _count(self, row: type[DelistingEvidenceRow] | type[DelistingHistoryRow],
               case_id: str) -> int:
        return self._s.scalar(select(func.count()).select_from(row).where(
            row.case_id == case_id)) or 0

    def _children_after(self, case: DelistingCase, evidence: int, history: int) -> None:
        """Evidence and history are append-only (new positions only); the panel and the
        votes are written as they are now."""
        if case.evidence[evidence:]:
            self._s.execute(INSERT_EVIDENCE, [
                evidence_values(case.id, evidence + i, item)
                for i, item in enumerate(case.evidence[evidence:])])
        if case.history[history:]:
            self._s.execute(INSERT_HISTORY, [
                history_values(case.id, history + i, step)
                for i, step in enumerate(case.history[history:])])
        if case.panel:
            self._s.execute(INSERT_PANEL, [{"case_id": case.id, "member_id": m}
                                           for m in case.panel])
        if case.votes:
            self._s.execute(INSERT_VOTE, [
                {"case_id": case.id, "member_id": v.member_id, "position": i,
                 "choice": v.choice.value, "at": v.at} for i, v in enumerate(case.votes)])

    def for_customer(self, customer_id: str) -> Sequence[DelistingCase]:
        rows = self._s.scalars(
            select(DelistingCaseRow).where(DelistingCaseRow.customer_id == customer_id)
            .order_by(DelistingCaseRow.opened_at, DelistingCaseRow.id)
            .execution_options(populate_existing=True)).all()
        return self._load(rows)

    def record_review(self, review: Review) -> None:
        self._s.execute(delete(DelistingReviewRow).where(
            DelistingReviewRow.customer_id == review.customer_id))
        self._s.execute(INSERT_REVIEW, [{
            "customer_id": review.customer_id, "reviewed_by": review.reviewed_by,
            "reviewed_at": review.reviewed_at, "note": review.note}])

    def reviews_due(self, before: datetime, limit: int) -> Sequence[ReviewDue]:
        since = func.coalesce(DelistingReviewRow.reviewed_at, CustomerRow.created_at)
        rows = self._s.execute(
            select(CustomerRow.id, CustomerRow.created_at, DelistingReviewRow.reviewed_at)
            .outerjoin(DelistingReviewRow, DelistingReviewRow.customer_id == CustomerRow.id)
            .where(CustomerRow.status == CustomerStatus.ACTIVE.value, since < before)
            .order_by(since, CustomerRow.id).limit(limit)
        ).all()
        return [ReviewDue(customer_id=cid, since=reviewed if reviewed is not None else created,
                          last_reviewed_at=reviewed) for cid, created, reviewed in rows]
