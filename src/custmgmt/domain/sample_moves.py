"""What may happen to a sample, step by step. Each move returns the changed sample and
the custody event that links it into the chain; an illegal move raises and changes
nothing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import attrs

from custmgmt.domain.samples import (
    NONE_GIVEN,
    ApplicationStatus,
    Chain,
    Changed,
    CustodyKind,
    Feedback,
    FeedbackStatus,
    Hazard,
    Sample,
    SampleInfo,
    SampleState,
    StorageCondition,
    UseApplication,
)
from custmgmt.domain.validation import require_text
from custmgmt.errors import FieldError, InvalidTransition, PermissionDenied, ValidationError


def receive(
    chain: Chain, *, sample_id: str, info: SampleInfo, hazard: Hazard | None, receiver: str,
    at: datetime,
) -> Changed:
    sample = Sample(id=sample_id, info=info, hazard=hazard, custodian=receiver,
                    received=info.quantity, in_storage=info.quantity)
    return chain.link(sample, sample, CustodyKind.RECEIVED, actor=receiver, at=at,
                      details={"hazardous": str(hazard is not None).lower(),
                               "quantity": f"{info.quantity} {info.unit}"})


def anomaly(chain: Chain, sample: Sample, *, note: str, by: str, at: datetime) -> Changed:
    """Something wrong at receipt (第十条): recorded on the chain."""
    return chain.link(sample, sample, CustodyKind.ANOMALY, actor=by, at=at,
                      details={"note": require_text("anomalies", note, 1000)})


def register(
    chain: Chain, sample: Sample, *, number: str, classification: str, location: str,
    storage: StorageCondition | None, single_use: bool, registrar: str, at: datetime,
) -> Changed:
    """Numbered, classified and stored (第十二、十三条); the registry takes custody."""
    if sample.state is not SampleState.RECEIVED:
        raise InvalidTransition(sample.state.value, SampleState.REGISTERED.value)
    if sample.is_hazardous and storage is None:
        raise ValidationError("storage", "a hazardous sample needs its own storage condition")
    after = attrs.evolve(
        sample, number=number, state=SampleState.REGISTERED, custodian=registrar,
        classification=require_text("classification", classification, 100),
        location=require_text("location", location, 200), storage=storage,
        single_use=single_use)
    details = {"number": number, "label": storage.label if storage else "none"}
    return chain.link(sample, after, CustodyKind.REGISTERED, actor=registrar, at=at,
                      details=details)


def _registered(sample: Sample, action: str) -> None:
    sample.ensure_live(action)
    if sample.state is not SampleState.REGISTERED:
        raise InvalidTransition(sample.state.value, action, "register the sample first")


def _one_custodian(sample: Sample, action: str) -> None:
    if sample.checked_out > 0:
        raise InvalidTransition(sample.state.value, action,
                                "the sample is checked out; one custodian at a time")


def approve_distribution(
    chain: Chain, sample: Sample, *, to: str, approver: str, at: datetime
) -> Changed:
    """A safety officer approves handing a hazardous sample to ``to`` (第九、十四条)."""
    _registered(sample, "approve_distribution")
    if not sample.is_hazardous:
        raise InvalidTransition("ordinary", "distribution_approved", "the sample is not hazardous")
    recipient = require_text("to", to, 200)
    after = attrs.evolve(sample, distribution_approval=(recipient, approver))
    return chain.link(sample, after, CustodyKind.DISTRIBUTION_APPROVED, actor=approver, at=at,
                      details={"to": recipient})


def distribute(
    chain: Chain, sample: Sample, *, to: str, location: str | None, by: str, at: datetime
) -> Changed:
    """Handed to a department or person (第十四条), who becomes its custodian. A hazardous
    sample needs a safety officer's approval for that recipient, given by someone else."""
    _registered(sample, "distribute")
    _one_custodian(sample, "distribute")
    recipient = require_text("to", to, 200)
    if sample.is_hazardous:
        approval = sample.distribution_approval
        if approval is None or approval[0] != recipient:
            raise InvalidTransition(sample.state.value, "distributed", "a hazardous sample "
                                    "needs the safety officer's approval for this recipient")
        if approval[1] == by:
            raise PermissionDenied(by, "sample.distribute", "whoever approves never hands out")
    place = sample.location if location is None else require_text("location", location, 200)
    after = attrs.evolve(sample, custodian=recipient, location=place,
                         distribution_approval=None)
    return chain.link(sample, after, CustodyKind.DISTRIBUTED, actor=by, at=at,
                      details={"to": after.custodian})


def apply(
    chain: Chain, sample: Sample, *, application_id: str, applicant: str, purpose: str,
    quantity: Decimal, expected_return: date | None, at: datetime,
) -> Changed:
    """An application to use it (第十六条)."""
    _registered(sample, "apply")
    if quantity > sample.in_storage:
        raise ValidationError("quantity", f"only {sample.in_storage} {sample.info.unit} "
                              "in storage")
    application = UseApplication(
        id=application_id, applicant=applicant, purpose=require_text("purpose", purpose, 1000),
        quantity=quantity, expected_return=expected_return)
    after = attrs.evolve(sample, applications=(*sample.applications, application))
    return chain.link(sample, after, CustodyKind.APPLIED, actor=applicant, at=at,
                      details={"application": application_id, "quantity": str(quantity)})


def _four_eyes(app: UseApplication, approver: str, action: str) -> None:
    """Whoever asks never approves, and a hazardous sample's two approvals (the
    registry's and the safety officer's) are given by two different people."""
    if approver == app.applicant:
        raise PermissionDenied(approver, action, "whoever asks never approves")
    if approver in (app.approved_by, app.hazard_approved_by):
        raise PermissionDenied(approver, action, "the registry and hazard approvals need "
                               "two different people")


def approve(
    chain: Chain, sample: Sample, application_id: str, *, approver: str, at: datetime
) -> Changed:
    _registered(sample, "approve")
    app = sample.application(application_id)
    if app.status is not ApplicationStatus.PENDING or app.approved_by is not None:
        raise InvalidTransition(app.status.value, "approved")
    _four_eyes(app, approver, "sample.approve")
    after = sample.with_application(attrs.evolve(
        app, status=ApplicationStatus.APPROVED, approved_by=approver))
    return chain.link(sample, after, CustodyKind.APPROVED, actor=approver, at=at,
                      details={"application": application_id})


def approve_hazard(
    chain: Chain, sample: Sample, application_id: str, *, approver: str, at: datetime
) -> Changed:
    """The extra approval a hazardous sample needs before use."""
    _registered(sample, "approve_hazard")
    if not sample.is_hazardous:
        raise InvalidTransition("ordinary", "hazard_approved", "the sample is not hazardous")
    app = sample.application(application_id)
    if app.hazard_approved_by is not None or app.status not in (
            ApplicationStatus.PENDING, ApplicationStatus.APPROVED):
        raise InvalidTransition(app.status.value, "hazard_approved")
    _four_eyes(app, approver, "sample.hazard_approve")
    after = sample.with_application(attrs.evolve(app, hazard_approved_by=approver))
    return chain.link(sample, after, CustodyKind.HAZARD_APPROVED, actor=approver, at=at,
                      details={"application": application_id})


def check_out(
    chain: Chain, sample: Sample, application_id: str, *, by: str, at: datetime
) -> Changed:
    _registered(sample, "check_out")
    app = sample.application(application_id)
    if by == app.applicant:
        raise PermissionDenied(by, "sample.check_out", "an applicant never hands out their "
                               "own application")
    if app.status is not ApplicationStatus.APPROVED:
        raise InvalidTransition(app.status.value, "checked_out", "the application is not approved")
    if sample.is_hazardous and app.hazard_approved_by is None:
        raise InvalidTransition(app.status.value, "checked_out",
                                "a hazardous sample needs the hazard approval too")
    _one_custodian(sample, "check_out")
    if app.quantity > sample.in_storage:
        raise InvalidTransition(app.status.value, "checked_out", "not enough in storage")
    after = sample.with_application(attrs.evolve(
        app, status=ApplicationStatus.CHECKED_OUT, taken=app.quantity, issued_by=by))
    after = attrs.evolve(after, custodian=app.applicant,
                         in_storage=sample.in_storage - app.quantity,
                         checked_out=sample.checked_out + app.quantity)
    return chain.link(sample, after, CustodyKind.CHECKED_OUT, actor=by, at=at,
                      details={"application": application_id, "to": app.applicant})


def _checked_out(sample: Sample, application_id: str, action: str) -> UseApplication:
    sample.ensure_live(action)
    app = sample.application(application_id)
    if app.status is not ApplicationStatus.CHECKED_OUT:
        raise InvalidTransition(app.status.value, action, "the sample is not checked out")
    return app


def record_use(
    chain: Chain, sample: Sample, application_id: str, *, used: Decimal, note: str, by: str,
    at: datetime,
) -> Changed:
    """A usage record (第十八条): ``used`` of what was taken is consumed."""
    app = _checked_out(sample, application_id, "use")
    if by != app.applicant:
        raise PermissionDenied(by, "sample.use", "only the custodian records its use")
    if used > app.taken - app.used:
        raise InvalidTransition(app.status.value, "used", "more than was taken")
    remaining = app.taken - app.used - used
    done = remaining == 0
    status = ApplicationStatus.CONSUMED if done else app.status
    after = sample.with_application(attrs.evolve(app, used=app.used + used, status=status))
    out = sample.checked_out - used
    # All taken was used: what is left on the shelf is the registry's again.
    custodian = sample.custodian if out > 0 else (app.issued_by or app.approved_by
                                                  or sample.custodian)
    after = attrs.evolve(after, checked_out=out, consumed=sample.consumed + used,
                         custodian=custodian)
    return chain.link(sample, after, CustodyKind.USED, actor=by, at=at,
                      details={"application": application_id, "used": str(used),
                               "note": require_text("note", note, 1000)})


def give_back(
    chain: Chain, sample: Sample, application_id: str, *, quantity: Decimal, to: str,
    at: datetime,
) -> Changed:
    """The remaining quantity comes back (第十九条) into ``to``'s custody; ``to`` acts.
    A single-use sample never goes back into stock (第二十条): dispose of the rest."""
    app = _checked_out(sample, application_id, "return")
    if sample.single_use:
        raise InvalidTransition(app.status.value, "returned", "a single-use sample does not "
                                "go back into stock: dispose of what is left")
    remaining = app.taken - app.used
    if quantity > remaining:
        raise InvalidTransition(app.status.value, "returned", "more than was taken")
    if quantity < remaining:
        raise ValidationError("quantity", f"{remaining} {sample.info.unit} are out; record "
                              "the use of the rest before returning")
    after = sample.with_application(attrs.evolve(app, status=ApplicationStatus.RETURNED))
    after = attrs.evolve(after, custodian=to, in_storage=sample.in_storage + quantity,
                         checked_out=sample.checked_out - quantity)
    return chain.link(sample, after, CustodyKind.RETURNED, actor=to, at=at,
                      details={"application": application_id, "quantity": str(quantity)})


def dispose(
    chain: Chain, sample: Sample, *, method: str, witness: str, by: str, at: datetime
) -> Changed:
    """Disposal with a record (第二十条): what is left is destroyed, before a witness."""
    if require_text("witness", witness, 200) == by:
        raise ValidationError("witness", "must be someone other than who disposes")
    how = require_text("method", method, 500)
    sample.ensure_live("dispose")
    _one_custodian(sample, "dispose")
    after = attrs.evolve(sample, state=SampleState.DISPOSED,
                         disposed=sample.disposed + sample.in_storage, in_storage=Decimal(0),
                         custodian=by)
    return chain.link(sample, after, CustodyKind.DISPOSED, actor=by, at=at,
                      details={"method": how, "witness": witness})


def dispose_remainder(
    chain: Chain, sample: Sample, application_id: str, *, method: str, witness: str, by: str,
    at: datetime,
) -> Changed:
    """What is left of a checked-out quantity after use is destroyed (第二十条: 一次性使用的
    样品), before a witness; ``by`` (the registry) takes custody of what stays in stock."""
    if require_text("witness", witness, 200) == by:
        raise ValidationError("witness", "must be someone other than who disposes")
    how = require_text("method", method, 500)
    app = _checked_out(sample, application_id, "dispose")
    left = app.taken - app.used
    after = sample.with_application(attrs.evolve(app, status=ApplicationStatus.DISPOSED))
    out = sample.checked_out - left
    gone = out == 0 and sample.in_storage == 0
    after = attrs.evolve(after, checked_out=out, disposed=sample.disposed + left,
                         custodian=by if out == 0 else sample.custodian,
                         state=SampleState.DISPOSED if gone else sample.state)
    return chain.link(sample, after, CustodyKind.DISPOSED, actor=by, at=at,
                      details={"application": application_id, "quantity": str(left),
                               "method": how, "witness": witness})


def feedback_text(values: dict[str, object]) -> dict[str, str]:
    """Effect, problems and suggestions: each given, or explicitly "none" (also "无")."""
    out: dict[str, str] = {}
    errors: list[FieldError] = []
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            errors.append(FieldError(name, f'give it, or "{NONE_GIVEN}" if there is nothing'))
            continue
        text = value.strip()
        if text.casefold() in (NONE_GIVEN, "无"):
            out[name] = NONE_GIVEN
        elif len(text) > 4000:
            errors.append(FieldError(name, "must be at most 4000 characters"))
        else:
            out[name] = text
    if errors:
        raise ValidationError.of(errors)
    return out


def feedback(
    chain: Chain, sample: Sample, *, feedback_id: str, user: str, filed_by: str,
    effect: object, problems: object, suggestions: object, at: datetime,
) -> Changed:
    """Feedback after use (第二十一、二十二条) by ``user``, who used the sample; the
    registry may file it on the user's behalf (``filed_by``)."""
    texts = feedback_text({"effect": effect, "problems": problems,
                           "suggestions": suggestions})
    if not any(a.applicant == user and a.status.used for a in sample.applications):
        raise InvalidTransition(sample.state.value, "feedback",
                                f"{user} has not used the sample (yet)")
    entry = Feedback(id=feedback_id, user=user, filed_by=filed_by, submitted_at=at,
                     effect=texts["effect"], problems=texts["problems"],
                     suggestions=texts["suggestions"])
    after = attrs.evolve(sample, feedback=(*sample.feedback, entry))
    return chain.link(sample, after, CustodyKind.FEEDBACK, actor=filed_by, at=at,
                      details={"feedback": feedback_id, "user": user, **texts})


def archive_feedback(
    chain: Chain, sample: Sample, feedback_id: str, *, by: str, note: str | None,
    at: datetime,
) -> Changed:
    """The registry reviews, collates and archives the feedback (第二十三条)."""
    entry = sample.feedback_entry(feedback_id)
    if entry.status is not FeedbackStatus.SUBMITTED:
        raise InvalidTransition(entry.status.value, FeedbackStatus.ARCHIVED.value,
                                "the feedback is archived already")
    review = None if note is None else require_text("note", note, 2000)
    after = sample.with_feedback(attrs.evolve(
        entry, status=FeedbackStatus.ARCHIVED, archived_by=by, archived_at=at,
        review_note=review))
    return chain.link(sample, after, CustodyKind.FEEDBACK_ARCHIVED, actor=by, at=at,
                      details={"feedback": feedback_id})
