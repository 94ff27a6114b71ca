"""Settings an application passes to ``custmgmt.open(..., settings=...)``."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from attrs import field, frozen

from custmgmt.domain.common import Money
from custmgmt.domain.validation import of_type, text
from custmgmt.errors import ValidationError


def _zone(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    text(64)(_inst, attribute, value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(attribute.name, "is not an IANA time zone") from None


@frozen(kw_only=True)
class Settings:
    """Everything configurable, with the policy's defaults.

    ``grading_large`` / ``grading_medium``: value thresholds of the default grading
    policy (at or above large: A, at or above medium: B, below: C).
    ``timezone``: the IANA zone for local dates (due dates, months).
    ``notifier`` / ``authorizer``: names of the adapters to use, as plugins offer them.
    """

    grading_large: Money = field(default=Money("1000000", "CNY"), validator=of_type(Money))
    grading_medium: Money = field(default=Money("100000", "CNY"), validator=of_type(Money))
    timezone: str = field(default="Asia/Shanghai", validator=_zone)
    notifier: str = field(default="memory", validator=text(100))
    authorizer: str = field(default="rbac", validator=text(100))
    max_delivery_attempts: int = field(default=5, validator=of_type(int))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
