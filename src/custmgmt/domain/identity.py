"""Identity keys: the one place that decides when two records are the same party.

A prospect (and a customer) is known by its phone, e-mail, organization name and
credit code. Each is *normalized* so that different ways of writing one identity
give one key (``+86 (0)10 6552 9988`` and ``010-65529988``; ``ACME Co., Ltd.`` and
``acme``), then *sealed*: the key a storage keeps and compares is a keyed hash
(HMAC-SHA256 with ``Settings.key_pepper``), never the clear phone or e-mail.
Matching stays exact: equal normalized keys give equal sealed keys.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import phonenumbers
from attrs import field, frozen

from custmgmt.domain.enums import Choice
from custmgmt.errors import ValidationError

DEFAULT_PEPPER = b"custmgmt identity keys: set Settings.key_pepper to your own secret"
"""Used when no ``key_pepper`` is configured: keys are still not clear text, but
anyone with custmgmt can test a guessed phone against them. Configure your own."""

DEFAULT_REGION = "CN"


class KeyKind(Choice):
    """Which identity of a prospect a key stands for."""

    PHONE = "phone"
    EMAIL = "email"
    ORGANIZATION = "organization"
    CREDIT_CODE = "credit_code"


@frozen(cache_hash=True)
class IdentityKey:
    """One sealed identity of a party; two active parties may never share one."""

    kind: KeyKind
    value: str

    def __repr__(self) -> str:
        return f"IdentityKey({self.kind.value}, {self.value[:12]!r}...)"


def one_of_each_kind(keys: Iterable[IdentityKey]) -> None:
    """A party holds at most one key of each kind (its one phone, e-mail, organization
    and credit code): ValidationError naming ``keys`` otherwise."""
    kinds: set[KeyKind] = set()
    for key in keys:
        if key.kind in kinds:
            raise ValidationError("keys", f"a party holds one {key.kind.value} key at most")
        kinds.add(key.kind)


def fold(value: str) -> str:
    """NFKC turns full-width letters, digits and punctuation into their ASCII forms."""
    return unicodedata.normalize("NFKC", value)


def phone_digits(raw: str) -> str:
    """The ASCII digits of ``raw`` (full-width digits folded)."""
    return "".join(ch for ch in fold(raw) if ch.isdigit() and ch.isascii())


CN_MOBILE = re.compile(r"1(?:[3-68-9][0-9]|7[0-8])[0-9]{8}")
"""Eleven ASCII digits of a mainland mobile number, written without spaces or prefix:
no international prefix or trunk code (``11``, ``12``, ``179``, ``0``) can start
it, so ``phonenumbers`` keeps every digit and adds +86 (tested on samples). Its
``fullmatch`` of a number is the fast path of ``normalize_phone`` in region CN."""


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 (``+8613800138000``) via the ``phonenumbers`` library: the country code,
    the trunk ``0`` (also written ``+86 (0)10 ...``), spaces and dashes all resolve, so
    ``010-6552 9988``, ``+86 10 65529988`` and ``1065529988`` are one number; a local
    number without its area code (``6552 9988``) is matched as written. ``region`` is
    where numbers without a country code are dialled (``Settings.phone_region``)."""
    if region == "CN" and CN_MOBILE.fullmatch(raw):  # the usual case, without parsing
        return "+86" + raw
    folded = fold(raw)
    digits = phone_digits(folded)
    # 15 digits at most (E.164), plus a written international prefix and trunk "(0)".
    most = 17 if folded.lstrip().startswith(("+", "00")) else 15
    if not 5 <= len(digits) <= most:
        raise ValidationError("phone", "must have 5 to 15 digits")
    try:
        number = phonenumbers.parse(folded, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None:
        e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        national = str(number.national_number)
        if len(national) >= 4 and len(e164) <= 16 and digits.endswith(national):
            return e164
    # Something phonenumbers cannot place (a short service number, an odd local form):
    # the digits as written, in this region, so that it still matches itself.
    if folded.lstrip().startswith("+"):
        return "+" + digits
    national = digits.lstrip("0")
    if len(national) < 4 or len(digits) > 15:
        raise ValidationError("phone", "is not a phone number")
    return f"+{phonenumbers.country_code_for_region(region)}{national}"


def _settled(step: Callable[[str], str], raw: str) -> str:
    """Apply ``step`` until it changes nothing, so that a key of a key is the key."""
    current = step(raw)
    for _ in range(8):
        following = step(current)
        if following == current:
            break
        current = following
    return current


def normalize_email(raw: str) -> str:
    if raw.isascii():  # NFKC leaves ASCII as it is: one strip and lower settle it
        return raw.strip().lower()
    return _settled(lambda s: fold(s).strip().lower(), raw)


_CHINESE_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司")
_LATIN_LEGAL_FORMS = (
    ("company", "limited"), ("co", "limited"), ("co", "ltd"), ("limited",), ("ltd",),
    ("inc",), ("incorporated",), ("corp",), ("corporation",), ("llc",), ("plc",), ("gmbh",),
    ("co",), ("company",),
)


def _strip_latin_legal_form(words: list[str]) -> list[str]:
    stripped = True
    while stripped:
        stripped = False
        for form in _LATIN_LEGAL_FORMS:
            if len(words) > len(form) and tuple(words[-len(form):]) == form:
                words, stripped = words[: -len(form)], True
                break
    return words


def normalize_organization(raw: str) -> str:
    """NFKC, case-folded, legal form dropped ("Co.", "Co., Ltd.", "有限公司" ...),
    spaces and punctuation removed."""
    folded = _settled(lambda s: fold(s).casefold(), raw)
    words = [w for w in re.split(r"[\W_]+", folded) if w]
    words = _strip_latin_legal_form(words)
    joined = "".join(words)
    stripped = True
    while stripped:
        stripped = False
        for form in _CHINESE_LEGAL_FORMS:
            if joined.endswith(form) and len(joined) > len(form):
                joined, stripped = joined[: -len(form)], True
                break
    return joined


class Contacts(Protocol):
    """What a party's keys are made from (a prospect's Profile, a customer's)."""

    @property
    def phone(self) -> Any: ...

    @property
    def email(self) -> Any: ...

    @property
    def organization(self) -> Any: ...

    @property
    def credit_code(self) -> Any: ...


def _pepper(value: object) -> bytes:
    if not isinstance(value, bytes) or not 16 <= len(value) <= 1024:
        raise ValidationError("key_pepper", "must be 16 to 1024 bytes")
    return value


def _region(value: object) -> str:
    if not isinstance(value, str) or value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError("phone_region", "must be a two-letter region code such as CN")
    return value


@frozen
class KeyRing:
    """Normalizes and seals identity keys with one pepper, for one default region."""

    pepper: bytes = field(default=DEFAULT_PEPPER, converter=_pepper, repr=False)
    region: str = field(default=DEFAULT_REGION, converter=_region)
    _pads: tuple[Any, Any] = field(init=False, repr=False, eq=False)

    @_pads.default
    def _padded(self) -> tuple[Any, Any]:
        """HMAC-SHA256's inner and outer hashes with the pepper already absorbed
        (RFC 2104), so that sealing a key costs two hash copies, not a key schedule:
        an import seals two keys per row."""
        key = self.pepper if len(self.pepper) <= 64 else hashlib.sha256(self.pepper).digest()
        key = key.ljust(64, b"\0")
        return (hashlib.sha256(bytes(b ^ 0x36 for b in key)),
                hashlib.sha256(bytes(b ^ 0x5C for b in key)))

    def seal(self, kind: KeyKind, normalized: str) -> IdentityKey:
        """HMAC-SHA256 of ``kind``, NUL, ``normalized`` under the pepper, in hex."""
        return IdentityKey(kind, self.sealed(kind, normalized))

    def sealed(self, kind: KeyKind, normalized: str) -> str:
        """The value of ``seal(kind, normalized)``, without the key object (an import
        keeps a batch's keys as columns of text)."""
        inner, outer = self._pads[0].copy(), self._pads[1].copy()
        inner.update(f"{kind._value_}\x00{normalized}".encode())  # value, not via the property
        outer.update(inner.digest())
        sealed: str = outer.hexdigest()
        return sealed

    def sealed_all(self, kind: KeyKind, normalized: Iterable[str]) -> list[str]:
        """``sealed(kind, value)`` of each value (plain ``str``, as the normalizers
        return) of ``normalized``, the kind's prefix absorbed once (an import seals a
        column of keys at a time: 1.1 us a key against 1.7 us one by one). A subclass
        that seals by its own ``sealed`` is asked for each value."""
        if type(self).sealed is not KeyRing.sealed:
            return [self.sealed(kind, value) for value in normalized]
        inner, outer = self._pads
        start = inner.copy()
        start.update(f"{kind._value_}\x00".encode())
        copy_start, copy_outer = start.copy, outer.copy
        sealed = []
        for value in normalized:
            mac = copy_start()
            mac.update(value.encode())
            done = copy_outer()
            done.update(mac.digest())
            sealed.append(done.hexdigest())
        return sealed

    def phone(self, raw: str) -> IdentityKey:
        return self.seal(KeyKind.PHONE, normalize_phone(raw, self.region))

    def keys_of(self, contacts: Contacts) -> frozenset[IdentityKey]:
        """Every sealed key of a party's contacts (phone, e-mail, organization, code)."""
        keys: set[IdentityKey] = set()
        if contacts.phone is not None:
            # A Phone normalized itself in the default region: reuse it (phonenumbers'
            # parse is the largest per-row cost of a bulk import).
            known = getattr(contacts.phone, "key", None)
            if self.region == DEFAULT_REGION and isinstance(known, str):
                keys.add(self.seal(KeyKind.PHONE, known))
            else:
                keys.add(self.phone(contacts.phone.value))
        if contacts.email is not None:
            keys.add(self.seal(KeyKind.EMAIL, contacts.email.key))
        if contacts.organization is not None:
            keys.add(self.seal(KeyKind.ORGANIZATION, contacts.organization.key))
        if contacts.credit_code is not None:
            keys.add(self.seal(KeyKind.CREDIT_CODE, contacts.credit_code.key))
        return frozenset(keys)


def keys_from_columns(
    ring: KeyRing, *, phone: str | None, email: str | None, organization: str | None,
    credit_code: str | None,
) -> frozenset[IdentityKey]:
    """The sealed keys of stored contact values (a migration re-keying old rows); a value
    that no longer normalizes gives no key rather than failing the whole migration."""
    makers: list[tuple[KeyKind, str | None, Callable[[str], str]]] = [
        (KeyKind.PHONE, phone, lambda raw: normalize_phone(raw, ring.region)),
        (KeyKind.EMAIL, email, normalize_email),
        (KeyKind.ORGANIZATION, organization, normalize_organization),
        (KeyKind.CREDIT_CODE, credit_code, lambda raw: fold(raw).strip().upper()),
    ]
    keys: set[IdentityKey] = set()
    for kind, raw, normalize in makers:
        if raw is None or not raw.strip():
            continue
        try:
            normalized = normalize(raw)
        except ValidationError:
            continue
        if normalized:
            keys.add(ring.seal(kind, normalized))
    return frozenset(keys)
