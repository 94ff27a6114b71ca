"""Settings an application passes to ``custmgmt.open(..., settings=...)``."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from attrs import field, frozen

from custmgmt.domain.common import FrozenMap, Money
from custmgmt.domain.complaints import DEFAULT_ACKNOWLEDGE, DEFAULT_RESOLVE, Severity, Within
from custmgmt.domain.complaints import deadlines as _deadlines
from custmgmt.domain.followups import DEFAULT_CADENCE, DEFAULT_MAINTENANCE_DAYS, MAX_DAYS
from custmgmt.domain.followups import cadence_days as _cadence
from custmgmt.domain.followups import ordered_cadence_days as _ordered_cadence
from custmgmt.domain.identity import DEFAULT_PEPPER, DEFAULT_REGION, KeyRing
from custmgmt.domain.membership import DEFAULT_TIERS, Tier
from custmgmt.domain.membership import tiers as _tiers
from custmgmt.domain.prospects import Grade
from custmgmt.domain.segments import SegmentCuts
from custmgmt.domain.validation import of_type, text
from custmgmt.errors import ValidationError
from custmgmt.ports.options import OptionValue, PluginOptions, option_values


def _zone(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    text(64)(_inst, attribute, value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(attribute.name, "is not an IANA time zone") from None


def _protection_days(value: object) -> FrozenMap[Grade, int]:
    return _cadence(value, "protection_days")


def _weekdays(value: object) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise ValidationError("working_weekdays", "must be a set of weekday numbers 0..6")
    days = tuple(sorted(set(value)))
    if not days or not all(type(d) is int and 0 <= d <= 6 for d in days):
        raise ValidationError("working_weekdays",
                              "must be weekday numbers 0 (Monday) .. 6 (Sunday), at least one")
    return days


MAX_COUNT = 1_000_000
"""No count setting (visits, attempts, daily takes) is larger than this."""


def _whole(low: int, high: int) -> Any:
    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(attribute.name, f"must be a whole number from {low} to {high}")

    check.__doc__ = f"attrs validator: a whole number from {low} to {high}, else " \
                    "ValidationError naming the setting."
    return check


positive = _whole(1, MAX_COUNT)
"""attrs validator: a count from 1 to ``MAX_COUNT``."""
not_negative = _whole(0, MAX_COUNT)
"""attrs validator: a count from 0 to ``MAX_COUNT``."""
days = _whole(0, MAX_DAYS)
"""attrs validator: 0 to ``MAX_DAYS`` days (more would overflow date arithmetic)."""


def _money(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    of_type(Money)(_inst, attribute, value)
    if value.is_negative:
        raise ValidationError(attribute.name, "must not be negative")


PluginOptionMap = FrozenMap[str, FrozenMap[str, OptionValue]]


def _plugin_options(value: object) -> PluginOptionMap:
    if not isinstance(value, Mapping):
        raise ValidationError("plugins", "must map adapter names to their options, e.g. "
                              "{'smtp': {'host': 'mail.example.com'}}")
    options: dict[str, FrozenMap[str, OptionValue]] = {}
    for name, values in value.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ValidationError("plugins", "adapter names must be non-empty text "
                                  "(at most 100 characters)")
        options[name] = FrozenMap(option_values(values, f"plugins.{name}"))
    return FrozenMap(options)


def _option_names(value: PluginOptionMap) -> str:
    """Adapter and option names only: values may be passwords or signing secrets."""
    return repr({name: sorted(values) for name, values in value.items()})


def _chain_key(value: object) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes):
        raise ValidationError("chain_key", "must be bytes (or text), at least 16 bytes long")
    if len(value) < MIN_CHAIN_KEY:
        raise ValidationError("chain_key", f"must be at least {MIN_CHAIN_KEY} bytes long "
                              "(32 random bytes recommended)")
    return value


MIN_CHAIN_KEY = 16


def _pepper(value: object) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("key_pepper", "must be bytes or text") from None
    return KeyRing(value).pepper  # KeyRing says what is wrong with it


def _phone_region(_inst: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
    KeyRing(DEFAULT_PEPPER, value)


def _acknowledge(value: object) -> FrozenMap[Severity, Within]:
    return _deadlines(value, "complaint_acknowledge")


def _resolve(value: object) -> FrozenMap[Severity, Within]:
    return _deadlines(value, "complaint_resolve")


@functools.lru_cache(maxsize=16)
def _key_ring(pepper: bytes, region: str) -> KeyRing:
    """One key ring per pepper and region (it prepares its HMAC once)."""
    return KeyRing(pepper, region)


@frozen(kw_only=True)
class Settings:
    """Everything configurable, with the policy's defaults.

    ``grading_large`` / ``grading_medium``: value thresholds of the default grading
    policy (at or above large: A, at or above medium: B, below: C).
    ``timezone``: the IANA zone for local dates (due dates, months).
    ``notifier`` / ``authorizer``: names of the adapters to use, as plugins offer them.
    ``plugins``: options per adapter name, read by the plugin (``options(name)``).
    """

    grading_large: Money = field(default=Money("1000000", "CNY"), validator=_money)
    grading_medium: Money = field(default=Money("100000", "CNY"), validator=_money)
    timezone: str = field(default="Asia/Shanghai", validator=_zone)
    notifier: str = field(default="logging", validator=text(100))
    """The notifier that delivers: ``logging`` (the default: one log line per
    notification on the ``custmgmt.notifications`` logger), ``smtp``, ``webhook``,
    ``memory`` (keeps them in the process, for tests) or a plugin's."""
    authorizer: str = field(default="rbac", validator=text(100))
    plugins: PluginOptionMap = field(factory=FrozenMap, converter=_plugin_options,
                                     repr=_option_names)
    """Options per adapter name: ``{"smtp": {"host": "mail.example.com", "port": 587}}``
    (immutable once given; ``repr`` shows the option names, never their values)."""
    notify_max_attempts: int = field(default=5, validator=positive)
    """Attempts per notification before it becomes a dead letter."""
    notify_backoff_seconds: int = field(default=30, validator=positive)
    """Wait after the first failed attempt; doubled after each further failure."""
    notify_backoff_max_seconds: int = field(default=3600, validator=positive)
    """The longest wait between two attempts."""
    notify_lease_seconds: int = field(default=300, validator=positive)
    """How long a worker holds the notifications it claimed; after that another
    worker may take them (the first one is presumed dead)."""
    cadence_days: FrozenMap[Grade, int] = field(factory=lambda: FrozenMap(DEFAULT_CADENCE),
                                                converter=_ordered_cadence)
    """Days between follow-ups per grade, for the default cadence policy. A higher grade
    may not be followed up less often than a lower one."""
    maintenance_days: int = field(default=DEFAULT_MAINTENANCE_DAYS, validator=_whole(1, MAX_DAYS))
    """Days between follow-ups of a won prospect (a customer), for the default policy."""
    record_window_days: int = field(default=2, validator=days)
    """How many days back a follow-up may be dated; older ones need a sales manager
    and a reason (the record keeps it)."""
    require_follow_up_per_stage: bool = field(default=True, validator=of_type(bool))
    """Leaving a pipeline stage (advance, win) needs a follow-up recorded in it."""
    lost_release_days: int = field(default=0, validator=days)
    """Days after a prospect is marked lost until its registration is released to the
    open pool (0: at once), so anyone may register it again."""
    working_weekdays: tuple[int, ...] = field(default=(0, 1, 2, 3, 4), converter=_weekdays)
    """The weekdays (0 Monday .. 6 Sunday) the visit-points report expects a visit on."""
    visit_minimum: int = field(default=30, validator=positive)
    """Visit points (VISIT follow-ups) a salesperson must earn each month."""
    visit_flag_shortfall: int = field(default=3, validator=positive)
    """Flag a salesperson this many points or more short of the minimum."""
    manager_reminder_grace_days: int = field(default=3, validator=days)
    """Days overdue before the owner's supervisor is reminded too."""
    ownership_lapse: bool = field(default=False, validator=of_type(bool))
    """Release prospects nobody followed up within their protection window to the pool."""
    protection_days: FrozenMap[Grade, int] = field(
        factory=lambda: FrozenMap({Grade.A: 30, Grade.B: 45, Grade.C: 60, Grade.D: 90}),
        converter=_protection_days)
    lapse_warning_days: int = field(default=3, validator=days)
    """Warn the owner this many days before a prospect lapses."""
    pool_cooldown_days: int = field(default=30, validator=days)
    """Days before a previous owner may take back a prospect they let lapse."""
    pool_daily_cap: int = field(default=5, validator=positive)
    """How many prospects one salesperson may take from the pool per local day."""
    commitment_min_term_months: int = field(default=12, validator=_whole(1, 1200))
    """A loan commitment letter's term must be MORE than this many months: it serves
    medium- and long-term loans only (承诺类、意向类金融产品管理办法 第三条)."""
    delisting_review_months: int = field(default=12, validator=_whole(1, 120))
    """Customers not reviewed for this many months are due for a periodic review
    (客户关系部门定期进行检查和评估): ``app.delisting.review_due``. 1 to 120."""
    pi_request_days: int = field(default=15, validator=_whole(1, 365))
    """Calendar days within which a personal-information request (access, export,
    erasure) must be answered, counted from the local day it came in (个人信息保护法
    第五十条 asks for a timely answer; 15 days is common practice):
    ``app.privacy.overdue`` lists the open ones past it. 1 to 365."""
    chain_key: bytes | None = field(default=None, converter=_chain_key, repr=False)
    """The secret that seals the heads of custody chains and audit trails (HMAC-SHA256).
    Keep it outside the database; see docs/integrity.md for what it adds."""
    key_pepper: bytes | None = field(default=None, converter=_pepper, repr=False)
    """The secret (bytes or text, 16 to 1024 bytes) identity keys are sealed with
    (HMAC-SHA256), so the database holds no clear phone or e-mail key. Keep it out of
    the database; changing it needs ``custmgmt db rekey``. Unset: a built-in pepper
    (keys are not clear text, but anyone with custmgmt can test a guess against them)."""
    phone_region: str = field(default=DEFAULT_REGION, validator=_phone_region)
    """Where phone numbers written without a country code are dialled (ISO 3166 code)."""

    # -- customer care (酒店客户管理) --------------------------------------------------
    complaint_acknowledge: FrozenMap[Severity, Within] = field(
        factory=lambda: FrozenMap(DEFAULT_ACKNOWLEDGE),
        converter=_acknowledge)
    """How long staff have to acknowledge a complaint, per severity (``Within(hours=4)``,
    ``Within(days=1)``: local days in ``timezone``). Late: escalated to the duty manager."""
    complaint_resolve: FrozenMap[Severity, Within] = field(
        factory=lambda: FrozenMap(DEFAULT_RESOLVE),
        converter=_resolve)
    """How long staff have to resolve a complaint, from receipt (or from a reopening),
    per severity. Late: escalated to the duty manager."""
    survey_follow_up_score: int = field(default=2, validator=_whole(1, 4))
    """A survey answer scored at or below this (1 to 4; default 2) opens a follow-up task
    for the manager of its service."""
    membership_tiers: tuple[Tier, ...] = field(default=DEFAULT_TIERS, converter=_tiers)
    """The membership tiers, lowest first: the first is the base tier (no rule), every
    other is entered by stays or spend in a rolling 12 months."""
    segment_cuts: SegmentCuts = field(factory=SegmentCuts, validator=of_type(SegmentCuts))
    """The cut points of recency, frequency and monetary value that place customers in
    segments."""

    @property
    def key_ring(self) -> KeyRing:
        """Seals identity keys with ``key_pepper`` for ``phone_region``."""
        return _key_ring(self.key_pepper or DEFAULT_PEPPER, self.phone_region)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def options(self, name: str) -> PluginOptions:
        """The options given for adapter ``name`` (empty if none), to read and check."""
        return PluginOptions(name, self.plugins.get(name, {}))
