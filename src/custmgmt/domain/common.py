"""The kernel every area shares: ids, money, contacts and identity keys, events.

Personal data (names, phones, e-mails, addresses) masks itself in ``repr`` and
``str``; the clear value is only ever read through ``.value``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Generic, NewType, TypeVar

import attrs
from attrs import field, frozen

from custmgmt.domain.identity import (
    fold,
    normalize_email,
    normalize_organization,
    normalize_phone,
    phone_digits,
)
from custmgmt.domain.validation import aware, exact_decimal, text
from custmgmt.errors import ValidationError

PrincipalId = NewType("PrincipalId", str)
ProspectId = NewType("ProspectId", str)
RegistrationId = NewType("RegistrationId", str)
EventId = NewType("EventId", str)

# ISO 4217 codes custmgmt knows, with their minor units (digits after the point).
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "CNY": 2, "HKD": 2, "MOP": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2,
    "AUD": 2, "CAD": 2, "SGD": 2, "NZD": 2, "SEK": 2, "NOK": 2, "DKK": 2, "RUB": 2,
    "INR": 2, "THB": 2, "MYR": 2, "JPY": 0, "KRW": 0, "VND": 0, "KWD": 3, "BHD": 3,
}


__all__ = [
    "CURRENCY_MINOR_UNITS", "Address", "CreditCode", "DomainEvent", "Email", "EventId",
    "FrozenMap", "Money", "OrganizationName", "PersonName", "Phone", "PrincipalId", "ProspectId",
    "RegistrationId", "mask", "mask_phone", "non_negative_money", "normalize_email",
    "normalize_organization", "normalize_phone",
]

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping (settings hold these, so settings hash too)."""

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._items: dict[K, V] = dict(items or {})
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


def mask(value: str, keep_start: int = 1, keep_end: int = 0) -> str:
    """``"13812345678"`` -> ``"138****5678"`` style masking for logs and reprs."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * min(hidden, 4) + (value[-keep_end:] if keep_end else "")


MAX_SHOWN_DIGITS = 4


def mask_phone(digits: str) -> str:
    """At most the last ``MAX_SHOWN_DIGITS`` digits (fewer of a short number), never more:
    ``"13812345678"`` -> ``"*******5678"``."""
    shown = min(MAX_SHOWN_DIGITS, max(0, len(digits) - 6))
    return "*" * (len(digits) - shown) + (digits[-shown:] if shown else "")


def _to_decimal(value: Any) -> Decimal:
    return exact_decimal("amount", value)


def _currency(_inst: Any, _attr: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or value not in CURRENCY_MINOR_UNITS:
        raise ValidationError("currency", "must be a known ISO 4217 code such as CNY")


@frozen(order=False)
class Money:
    """An exact amount in one currency. ``Money("12.50", "CNY")``; floats are refused."""

    amount: Decimal = field(converter=_to_decimal)
    currency: str = field(default="CNY", validator=_currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise ValidationError("amount", f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValidationError(
                "currency", f"cannot combine {self.currency} with {other.currency}"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def rounded(self) -> Money:
        """Rounded half-up to the currency's minor unit (fen for CNY)."""
        exponent = Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[self.currency])
        return Money(self.amount.quantize(exponent, rounding=ROUND_HALF_UP), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def non_negative_money(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: a Money that is not below zero."""
    if not isinstance(value, Money):
        raise ValidationError(attribute.name, f"must be Money, not {type(value).__name__}")
    if value.is_negative:
        raise ValidationError(attribute.name, "must not be negative")


@frozen(repr=False)
class Phone:
    """A phone number. ``key`` is its identity key; repr and str are masked."""

    value: str = field(validator=text(40))
    key: str = field(init=False)

    @key.default
    def _key(self) -> str:
        """E.164 in the default region (identity keys use ``Settings.phone_region``)."""
        return normalize_phone(self.value)

    def __repr__(self) -> str:
        return f"Phone({mask_phone(phone_digits(self.value))!r})"

    __str__ = __repr__


EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
"""What an e-mail address's key must be, whole (``fullmatch``): no space or second @."""


@frozen(repr=False)
class Email:
    value: str = field(validator=text(254))
    key: str = field(init=False)

    @key.default
    def _key(self) -> str:
        key = normalize_email(self.value)
        if not EMAIL_PATTERN.fullmatch(key):
            raise ValidationError("email", "is not an e-mail address")
        return key

    def __repr__(self) -> str:
        local, _, domain = self.key.partition("@")
        return f"Email({mask(local, 1) + '@' + domain!r})"

    __str__ = __repr__


@frozen(repr=False)
class PersonName:
    value: str = field(validator=text(200))

    def __repr__(self) -> str:
        return f"PersonName({mask(self.value.strip(), 1)!r})"

    __str__ = __repr__


@frozen(repr=False)
class Address:
    value: str = field(validator=text(500))

    def __repr__(self) -> str:
        return "Address('***')"

    __str__ = __repr__


@frozen
class OrganizationName:
    """A company's name. Not personal data, but its ``key`` ignores how it is written."""

    value: str = field(validator=text(300))
    key: str = field(init=False)

    @key.default
    def _key(self) -> str:
        key = normalize_organization(self.value)
        if not key:
            raise ValidationError("organization", "has no letters or digits")
        return key


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_character(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015)."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _fold_code(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("credit_code", "must be text")
    return fold(value).strip().upper()


@frozen
class CreditCode:
    """统一社会信用代码: 18 characters, the last one a check character."""

    value: str = field(converter=_fold_code)

    @value.validator
    def _check(self, _attr: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or len(value) != 18:
            raise ValidationError("credit_code", "must be 18 characters")
        if any(c not in _USCC_ALPHABET for c in value):
            raise ValidationError("credit_code", "has a character outside the code alphabet")
        if credit_code_check_character(value[:17]) != value[17]:
            raise ValidationError("credit_code", "check character does not match")

    @property
    def key(self) -> str:
        return self.value


@frozen(kw_only=True)
class DomainEvent:
    """Something that happened. Subclasses add what; every event says who and when."""

    actor_id: str = field(validator=text(200))
    occurred_at: datetime = field(validator=aware)

    @property
    def name(self) -> str:
        return type(self).__name__
