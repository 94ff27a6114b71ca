"""Consent (个人信息处理同意): per person, purpose and channel, given or withdrawn.

Under the personal information protection law a person's data is used for
marketing, profiling, sharing with a third party or care messages only with
their consent, per purpose and per channel (SMS, phone, e-mail, post, WeChat).
Each consent or withdrawal is a ``ConsentRecord``: when, from what source (a
signed form, a call recording's reference ...) and which version of the
privacy notice the person saw. Sensitive personal information (financial
accounts) needs its own, separate consent: a record with ``sensitive=True``,
which an ordinary consent never stands in for.

The history is append-only; the current state is a view of it
(``current_state``): for each (purpose, channel, sensitive) the latest record
in force at a moment. A withdrawal takes effect at once: the notification
dispatcher asks ``consent_refusal`` at send time.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
from attrs import field, frozen

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.customers import Purpose
from custmgmt.domain.validation import aware, of_type, optional, text
from custmgmt.errors import ConsentRequired, ValidationError

__all__ = [
    "CONSENT_PURPOSES", "ConsentChanged", "ConsentKey", "ConsentRecord", "ConsentSource",
    "ContactChannel", "consent_purpose", "current_state", "in_force",
]

CONSENT_PURPOSES: frozenset[Purpose] = frozenset(
    {Purpose.MARKETING, Purpose.PROFILING, Purpose.SHARING, Purpose.CARE})
"""The purposes a person consents to (or not); the others (sales, credit ...) rest on
the business relationship itself."""


class ContactChannel(enum.Enum):
    """How a person may be reached; consent is given per channel. ``EMAIL`` and
    ``SMS`` are also the ``NotifyChannel`` values of the same name."""

    SMS = "sms"
    PHONE = "phone"
    EMAIL = "email"
    POST = "post"
    WECHAT = "wechat"


class ConsentSource(enum.Enum):
    """Where a consent or withdrawal came from (the evidence; its reference beside it)."""

    FORM = "form"
    """A signed paper or online form."""
    CALL_RECORDING = "call_recording"
    """Said on a recorded call: the recording's reference is kept."""
    ONLINE = "online"
    """Ticked in an app or on a website."""
    IN_PERSON = "in_person"
    """Said at the counter, noted by staff."""
    LETTER = "letter"
    """A letter or e-mail from the person."""
    UNSUBSCRIBE = "unsubscribe"
    """An unsubscribe link or reply (withdrawals)."""


ConsentKey = tuple[Purpose, ContactChannel, bool]
"""What one consent covers: purpose, channel, and whether it is the separate consent for
sensitive personal information."""


def consent_purpose(value: object) -> Purpose:
    """``value`` as one of the purposes a person consents to; ValidationError otherwise."""
    purpose: Purpose | None
    try:
        purpose = Purpose(value)
    except (ValueError, TypeError):
        purpose = None
    if purpose is None or purpose not in CONSENT_PURPOSES:
        allowed = ", ".join(sorted(p.value for p in CONSENT_PURPOSES))
        raise ValidationError("purpose", f"must be one of: {allowed}")
    return purpose


def _consent_purpose(_inst: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
    consent_purpose(value)


@frozen(kw_only=True)
class ConsentRecord:
    """One consent given or withdrawn: a line of the append-only history."""

    id: str = field(validator=text(100))
    customer_id: str = field(validator=text(100))
    purpose: Purpose = field(validator=_consent_purpose)
    channel: ContactChannel = field(validator=of_type(ContactChannel))
    sensitive: bool = field(default=False, validator=of_type(bool))
    """The separate consent for sensitive personal information (financial accounts)."""
    given: bool = field(validator=of_type(bool))
    """True: consent given; False: withdrawn."""
    at: datetime = field(validator=aware)
    """When the person gave or withdrew it (in force from then on)."""
    source: ConsentSource = field(validator=of_type(ConsentSource))
    reference: str | None = field(default=None, validator=optional(text(200)))
    """The evidence: form number, call recording's reference ..."""
    notice_version: str | None = field(default=None, validator=optional(text(50)))
    """The version of the privacy notice the person saw (required to give consent)."""
    recorded_by: str = field(validator=text(200))
    recorded_at: datetime = field(validator=aware)

    def __attrs_post_init__(self) -> None:
        if self.given and self.notice_version is None:
            raise ValidationError("notice_version",
                                  "consent is given on a notice: name its version")
        if self.at > self.recorded_at:
            raise ValidationError("at", "a consent cannot be recorded before it happens")

    @property
    def key(self) -> ConsentKey:
        return (self.purpose, self.channel, self.sensitive)


def in_force(records: Iterable[ConsentRecord], at: datetime) -> dict[ConsentKey, ConsentRecord]:
    """The latest record per key at ``at`` (records after ``at`` are not yet in force).
    ``records`` in history order (oldest first)."""
    latest: dict[ConsentKey, ConsentRecord] = {}
    for record in records:
        if record.at <= at:
            latest[record.key] = record
    return latest


def current_state(records: Iterable[ConsentRecord], at: datetime) -> tuple[ConsentRecord, ...]:
    """The view of the history at ``at``: the record in force for each purpose and channel,
    sorted by purpose, channel and sensitivity."""
    latest = in_force(records, at)
    return tuple(latest[k] for k in sorted(latest, key=lambda k: (k[0].value, k[1].value, k[2])))


def refusal(
    latest: ConsentRecord | None, customer_id: str, purpose: Purpose, channel: ContactChannel,
    *, sensitive: bool = False,
) -> ConsentRequired | None:
    """Why this may not go ahead without consent (None: the record in force allows it)."""
    what = "separate consent for sensitive data" if sensitive else "consent"
    if latest is None:
        return ConsentRequired(customer_id, purpose.value, channel.value,
                               f"no {what} recorded")
    if not latest.given:
        return ConsentRequired(customer_id, purpose.value, channel.value,
                               f"{what} withdrawn")
    return None


def check_order(previous: ConsentRecord | None, record: ConsentRecord) -> None:
    """History is appended in order: a record is never dated before the one in force."""
    if previous is not None and record.at < previous.at:
        raise ValidationError("at", "is before the latest record for this purpose and "
                              "channel: the history only grows forward")


@frozen(kw_only=True)
class ConsentChanged(DomainEvent):
    """A consent given or withdrawn (no personal data: ids and the key only)."""

    customer_id: str
    purpose: Purpose
    channel: ContactChannel
    sensitive: bool
    given: bool
    record_id: str

