"""Prospects registered together: one owner, one instant, many rows (a bulk import).

A batch is held a column at a time, not as ``Prospect`` objects nor as a profile
object a row: an import writes thousands a batch, and building a profile, its value
objects, its sealed keys and then a prospect for each cost more than writing the rows.
Its columns are checked a column at a time (a few C calls each, see ``_columns_pass``)
by the validators' fast paths; a batch they do not clear is checked row by row by the
validating constructors, which name the first bad field. What each row becomes is still
the one rule of ``Prospect.register``: ``prospects()`` builds the same prospects, for a
storage that keeps objects, and the tests hold the two to each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from itertools import repeat
from operator import is_
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from attrs import field, frozen

from custmgmt.domain.common import (
    EMAIL_PATTERN,
    Address,
    CreditCode,
    Email,
    Money,
    OrganizationName,
    PersonName,
    Phone,
    ProspectId,
    RegistrationId,
)
from custmgmt.domain.grading import Grade, Willingness
from custmgmt.domain.identity import (
    CN_MOBILE,
    IdentityKey,
    KeyKind,
    KeyRing,
    normalize_email,
    normalize_phone,
)
from custmgmt.domain.integrity import (
    SEAL_LENGTH,
    ChainHead,
    audit_chain,
    head_problem,
    is_seal,
    is_sha256_hex,
)
from custmgmt.domain.prospect_events import ImportedProspect
from custmgmt.domain.prospects import (
    Profile,
    Prospect,
    ProspectKind,
    register_graded,
    registrable,
)
from custmgmt.domain.validation import (
    EARLIEST_DATE,
    LATEST_DATE,
    aware,
    optional,
    require_date,
    require_text,
    slot_setter,
    text,
    unchecked,
)
from custmgmt.errors import ValidationError


class Registered(NamedTuple):
    """One new prospect of a batch, graded by the policy, and the keys it will hold."""

    id: ProspectId
    registration_id: RegistrationId
    profile: Profile
    willingness: Willingness
    potential_value: Money
    grade: Grade
    keys: frozenset[IdentityKey]


class ProfileColumns(NamedTuple):
    """A batch's profiles a field at a time: one value a row in each, as text (what the
    profile's value objects hold), None where a row has none."""

    kind: tuple[ProspectKind, ...]
    name: tuple[str, ...]
    phone: tuple[str | None, ...]
    email: tuple[str | None, ...]
    address: tuple[str | None, ...]
    organization: tuple[str | None, ...]
    credit_code: tuple[str | None, ...]
    industry: tuple[str | None, ...]
    source_channel: tuple[str | None, ...]
    needs: tuple[str | None, ...]

    def __repr__(self) -> str:  # the columns hold personal data
        return f"ProfileColumns(<{len(self.name)} rows>)"

    @classmethod
    def of(cls, profiles: Sequence[Profile]) -> ProfileColumns:
        """The columns of ``profiles``, in order."""
        def texts(values: Iterable[Phone | Email | Address | OrganizationName | CreditCode
                                   | None]) -> tuple[str | None, ...]:
            return tuple(None if v is None else v.value for v in values)
        return cls(
            kind=tuple(p.kind for p in profiles),
            name=tuple(p.name.value for p in profiles),
            phone=texts(p.phone for p in profiles),
            email=texts(p.email for p in profiles),
            address=texts(p.address for p in profiles),
            organization=texts(p.organization for p in profiles),
            credit_code=texts(p.credit_code for p in profiles),
            industry=tuple(p.industry for p in profiles),
            source_channel=tuple(p.source_channel for p in profiles),
            needs=tuple(p.needs for p in profiles),
        )

    def profile(self, n: int) -> Profile:
        """Row ``n`` as a ``Profile``, by its validating constructors: ValidationError
        naming the field (``phone``, ``name``...) for a bad value."""
        def made(name: str, make: type[PersonName | Phone | Email | Address
                                      | OrganizationName | CreditCode], value: object
                 ) -> object:
            if value is None:
                return None
            if not isinstance(value, str):  # (a str subclass is text, as a row takes it)
                raise ValidationError(name, f"must be text, not {type(value).__name__}")
            try:
                return make(value)
            except ValidationError as error:  # a value object names its one field "value"
                raise ValidationError(name, error.message) from None
        return Profile(
            kind=self.kind[n],
            name=made("name", PersonName, self.name[n]),  # type: ignore[arg-type]
            phone=made("phone", Phone, self.phone[n]),  # type: ignore[arg-type]
            email=made("email", Email, self.email[n]),  # type: ignore[arg-type]
            address=made("address", Address, self.address[n]),  # type: ignore[arg-type]
            organization=made(  # type: ignore[arg-type]
                "organization", OrganizationName, self.organization[n]),
            credit_code=made(  # type: ignore[arg-type]
                "credit_code", CreditCode, self.credit_code[n]),
            industry=self.industry[n], source_channel=self.source_channel[n],
            needs=self.needs[n])

    def checked_profile(self, n: int) -> Profile:
        """Row ``n`` as a ``Profile`` of columns ``profiles_pass`` cleared: its value
        objects built without their validators, which would pass (a memory storage
        builds a batch's profiles; each key is the one its value object would make)."""
        phone, email, address = self.phone[n], self.email[n], self.address[n]
        return _new_profile(
            kind=self.kind[n], name=_new_name(value=self.name[n]),
            phone=None if phone is None else _keyed(Phone, phone, normalize_phone(phone)),
            email=None if email is None else _keyed(Email, email, normalize_email(email)),
            address=None if address is None else _new_address(value=address),
            industry=self.industry[n], source_channel=self.source_channel[n],
            needs=self.needs[n])


_new_profile = unchecked(Profile)
_new_imported = unchecked(ImportedProspect)
_new_name = unchecked(PersonName)
_new_address = unchecked(Address)
_SETTERS = {cls: (slot_setter(cls, "value"), slot_setter(cls, "key")) for cls in (Phone, Email)}
T = TypeVar("T", Phone, Email)


def _keyed(cls: type[T], value: str, key: str) -> T:
    """A ``Phone`` or ``Email`` holding ``value`` and its ``key`` (the one field
    ``unchecked`` cannot set: it is made by a default of its own)."""
    made = object.__new__(cls)
    set_value, set_key = _SETTERS[cls]
    set_value(made, value)
    set_key(made, key)
    return made


_KINDS = tuple(KeyKind)


class KeyColumns(NamedTuple):
    """Each row's sealed identity key of each kind, None where it holds none."""

    phone: tuple[str | None, ...]
    email: tuple[str | None, ...]
    organization: tuple[str | None, ...]
    credit_code: tuple[str | None, ...]

    def __repr__(self) -> str:  # a seal stands for a person's phone or e-mail
        return f"KeyColumns(<{len(self.phone)} rows>)"

    @classmethod
    def of(cls, keys: Sequence[frozenset[IdentityKey]]) -> KeyColumns:
        """The columns of each row's keys (at most one of each kind: checked by
        ``RegistrationBatch.of_rows``)."""
        by_kind = [dict.fromkeys(_KINDS) for _ in keys]
        for found, held in zip(by_kind, keys, strict=True):
            for key in held:
                found[key.kind] = key.value
        return cls(*(tuple(found[kind] for found in by_kind) for kind in _KINDS))

    def row(self, n: int) -> frozenset[IdentityKey]:
        """The keys row ``n`` holds."""
        phone, email = self.phone[n], self.email[n]
        keys = [] if phone is None else [IdentityKey(KeyKind.PHONE, phone)]
        if email is not None:
            keys.append(IdentityKey(KeyKind.EMAIL, email))
        organization, code = self.organization[n], self.credit_code[n]
        if organization is not None:
            keys.append(IdentityKey(KeyKind.ORGANIZATION, organization))
        if code is not None:
            keys.append(IdentityKey(KeyKind.CREDIT_CODE, code))
        return frozenset(keys)


_S = TypeVar("_S")


class KeySet(AbstractSet[IdentityKey]):
    """The distinct keys a batch's rows give, held as a set of values per kind: what
    an import looks up a batch at a time, with no key object made for each of its
    thousands of keys (a storage that wants objects iterates it and gets them)."""

    __slots__ = ("by_kind", "repeated")

    def __init__(self, columns: KeyColumns) -> None:
        by_kind: dict[KeyKind, frozenset[str]] = {}
        repeated = False
        for kind, column in zip(_KINDS, columns, strict=True):
            given = [value for value in column if value is not None]
            values = frozenset(given)
            repeated = repeated or len(values) != len(given)
            if values:
                by_kind[kind] = values
        self.by_kind: Mapping[KeyKind, frozenset[str]] = MappingProxyType(by_kind)
        """The values given of each kind that any row gives."""
        self.repeated = repeated
        """Whether two rows give the same key."""

    @classmethod
    def _from_iterable(cls, keys: Iterable[_S]) -> AbstractSet[_S]:
        """What the set operators (``&``, ``|``, ``-``, ``^``) give: a frozenset."""
        return frozenset(keys)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, IdentityKey) and key.value in self.by_kind.get(key.kind, ())

    def __iter__(self) -> Iterator[IdentityKey]:
        for kind, values in self.by_kind.items():
            for value in values:
                yield IdentityKey(kind, value)

    def __len__(self) -> int:
        return sum(map(len, self.by_kind.values()))

    def __repr__(self) -> str:  # a seal stands for a person's phone or e-mail
        return f"KeySet(<{len(self)} keys>)"

    def isdisjoint(self, other: Iterable[Any]) -> bool:
        if not isinstance(other, KeySet):
            return super().isdisjoint(other)
        return all(values.isdisjoint(other.by_kind.get(kind, ()))
                   for kind, values in self.by_kind.items())


def _rows(rows: object) -> tuple[Registered, ...]:
    """``rows`` checked: each what ``Prospect.register`` accepts, with keys of its own
    kinds; a row that fails the validators' fast paths is checked by them in full, and
    the first field they refuse is named (``rows[2].id``)."""
    if type(rows) is not tuple:
        raise ValidationError("rows", "must be a tuple of Registered")
    for n, row in enumerate(rows):
        if not (type(row) is Registered and registrable(*row[:6]) and _keys(row.keys)):
            _check_row(n, row)
    return rows


def _keys(keys: object) -> bool:
    """Whether ``keys`` is a frozenset of sealed keys, at most one of each kind."""
    if type(keys) is not frozenset:
        return False
    kinds = set()
    for key in keys:
        if type(key) is not IdentityKey or type(key.kind) is not KeyKind \
                or type(key.value) is not str:
            return False
        kinds.add(key.kind)
    return len(kinds) == len(keys)


def _check_row(n: int, row: object) -> None:
    """Raise what ``Prospect.register`` raises for ``row`` (ValidationError naming
    ``rows[n].<field>``), or for keys that are not sealed keys of distinct kinds."""
    if not isinstance(row, Registered):
        raise ValidationError(f"rows[{n}]", "must be a Registered row")
    try:
        _register(row, "u-check", None, _CHECKED_AT)
    except ValidationError as error:
        raise ValidationError(f"rows[{n}].{error.field}", error.message) from None
    if not _keys(row.keys):
        raise ValidationError(f"rows[{n}].keys", "must be sealed identity keys, at most "
                              "one of each kind")


def _register(row: Registered, owner_id: str, owner_team: str | None, at: datetime
              ) -> Prospect:
    return register_graded(
        id=row.id, registration_id=row.registration_id, profile=row.profile,
        willingness=row.willingness, potential_value=row.potential_value, grade=row.grade,
        owner_id=owner_id, owner_team=owner_team, at=at)[0]


_CHECKED_AT = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
"""Any valid instant: a row is checked apart from its batch's owner and instant."""


def _plain(values: Sequence[Any], most: int) -> bool:
    """Whether every one of ``values`` is printable, non-blank ``str`` of at most
    ``most`` characters (``validation.plain_text`` of each), in a few C calls a column:
    the text of a column joined is printable only if each is (no separator is added,
    and a lone surrogate is not printable)."""
    return not values or (
        set(map(type, values)) == {str} and max(map(len, values)) <= most
        and "".join(values).isprintable()
        and all(map(str.strip, values)))


def _given(values: tuple[str | None, ...]) -> list[str]:
    return [v for v in values if v is not None]


def profiles_pass(profiles: ProfileColumns) -> bool:
    """Whether each row's profile passes ``Profile``'s validators by their fast paths
    (individuals only: an organization's name and code are checked row by row). An
    e-mail address is held to ``EMAIL_PATTERN`` as it is written: with no space in it,
    its key (stripped, lower-cased) passes the same pattern, as ``Email`` requires."""
    phones, emails, addresses = (
        _given(profiles.phone), _given(profiles.email), _given(profiles.address))
    return all(map(is_, profiles.kind, repeat(ProspectKind.INDIVIDUAL))) \
        and not _given(profiles.organization) and not _given(profiles.credit_code) \
        and _plain(profiles.name, 200) \
        and _plain(phones, 40) and all(map(CN_MOBILE.fullmatch, phones)) \
        and _plain(emails, 254) and "".join(emails).isascii() \
        and all(map(EMAIL_PATTERN.fullmatch, emails)) \
        and _plain(addresses, 500) \
        and _plain(_given(profiles.industry), 100) \
        and _plain(_given(profiles.source_channel), 100) \
        and _plain(_given(profiles.needs), 2000) \
        and all(map(any, zip(profiles.phone, profiles.email, profiles.address,
                             strict=True)))


def keys_pass(keys: KeyColumns) -> bool:
    """Whether every key of ``keys`` is None or printable, non-blank ``str`` of at most
    100 characters (what a sealed key is), a column at a time."""
    return all(set(map(type, column)) <= {str, type(None)} and _plain(_given(column), 100)
               for column in keys)


_T = TypeVar("_T")
_CHECKED = object()
"""What a cleared column set's own ``__dict__`` holds once ``__new__`` checked it: a
tuple made as one without ``__new__`` (``tuple.__new__``) lacks it, and a plain
``ProfileColumns`` cannot become one (``__class__``: the layouts differ)."""


def _mark(made: _T) -> _T:
    made.__dict__["checked"] = _CHECKED
    return made


def _cleared(columns: object, cls: type) -> bool:
    """Whether ``columns`` are of exactly ``cls`` and were checked when made."""
    return type(columns) is cls and vars(columns).get("checked") is _CHECKED


class ClearedProfiles(ProfileColumns):
    """``ProfileColumns`` that ``profiles_pass`` cleared when they were made (else
    ValidationError): a batch of them is not checked again (an import parses a batch's
    profiles a column at a time, then builds its batch)."""

    def __new__(cls, *columns: Any, **named: Any) -> ClearedProfiles:
        made = super().__new__(cls, *columns, **named)
        if not profiles_pass(made):
            raise ValidationError("profiles", "must pass the column checks")
        return _mark(made)

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> ClearedProfiles:  # type: ignore[override]
        # (mypy types a named tuple's _make as a generic its subclass cannot restate)
        return cls(*iterable)  # checked as when made (_replace too: it calls _make)


class ClearedKeys(KeyColumns):
    """``KeyColumns`` that ``keys_pass`` cleared when they were made (else
    ValidationError), as ``ClearedProfiles`` are: an import seals a batch's keys, then
    builds its batch."""

    def __new__(cls, *columns: Any, **named: Any) -> ClearedKeys:
        made = super().__new__(cls, *columns, **named)
        if not all(type(column) is tuple for column in made) or not keys_pass(made):
            raise ValidationError("keys", "must be sealed identity keys")
        return _mark(made)

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> ClearedKeys:  # type: ignore[override]
        return cls(*iterable)  # checked as when made, as ClearedProfiles are


def _columns_pass(batch: RegistrationBatch) -> bool:
    """Whether every row passes ``Prospect.register``'s validators by their fast paths,
    and holds sealed keys (text): what ``registrable`` checks of a row, a column at a
    time (profiles and keys cleared when made are not checked again)."""
    values = list({id(v): v for v in batch.potential_values}.values())
    return _plain(batch.ids, 100) and _plain(batch.registration_ids, 100) \
        and set(map(type, batch.willingness)) <= {Willingness} \
        and set(map(type, batch.grades)) <= {Grade} \
        and set(map(type, values)) <= {Money} \
        and not any(v.is_negative for v in values) \
        and (_cleared(batch.keys, ClearedKeys) or keys_pass(batch.keys)) \
        and (_cleared(batch.profiles, ClearedProfiles) or profiles_pass(batch.profiles))


def _check_columns(batch: RegistrationBatch) -> bool:
    """Raise ValidationError naming the first bad value; whether the column checks alone
    cleared the batch."""
    if type(batch.ids) is not tuple:
        raise ValidationError("ids", "must be a tuple of prospect ids, one a row")
    size = len(batch.ids)
    if type(batch.profiles) not in (ProfileColumns, ClearedProfiles):
        raise ValidationError("profiles", "must be ProfileColumns")
    if type(batch.keys) not in (KeyColumns, ClearedKeys):
        raise ValidationError("keys", "must be KeyColumns")
    for name, column in (("ids", batch.ids), ("registration_ids", batch.registration_ids),
                         ("willingness", batch.willingness),
                         ("potential_values", batch.potential_values),
                         ("grades", batch.grades),
                         *((f"profiles.{f}", c) for f, c in batch.profiles._asdict().items()),
                         *((f"keys.{f}", c) for f, c in batch.keys._asdict().items())):
        if type(column) is not tuple or len(column) != size:
            raise ValidationError(name, f"must be a tuple of {size} values, one a row")
    if _columns_pass(batch):
        return True
    for n in range(size):  # row by row, to name the first bad field
        try:
            profile = batch.profiles.profile(n)
        except ValidationError as error:
            raise ValidationError(f"rows[{n}].profile.{error.field}",
                                  error.message) from None
        row = Registered(batch.ids[n], batch.registration_ids[n], profile,
                         batch.willingness[n], batch.potential_values[n],
                         batch.grades[n], _row_keys(batch.keys, n))
        if not (registrable(*row[:6]) and _keys(row.keys)):
            _check_row(n, row)
    return False


def _row_keys(keys: KeyColumns, n: int) -> frozenset[IdentityKey]:
    if not all(column[n] is None or type(column[n]) is str for column in keys):
        raise ValidationError(f"rows[{n}].keys", "must be sealed identity keys")
    return keys.row(n)


def _due_dates(_inst: object, _attribute: object, value: Any) -> None:
    if type(value) is not tuple:
        raise ValidationError("plans.next_due", "must be a tuple of dates, one a row")
    if value and set(map(type, value)) == {date} and \
            min(value) >= EARLIEST_DATE and max(value) <= LATEST_DATE:
        return  # the usual case: plain dates in range, checked a column at a time
    for n, day in enumerate(value):
        require_date(f"plans.next_due[{n}]", day)


def _plan_anchor(_inst: object, _attribute: object, value: Any) -> None:
    require_date("plans.anchor", value)


@frozen
class FirstPlans:
    """The first follow-up plan of each prospect of a batch, written with it: anchored on
    ``anchor`` (the day of the registration, local), the row's due on ``next_due[n]``.
    The rest is the batch's: its owner and team, the row's grade, the first stage,
    active, no date set by hand."""

    anchor: date = field(validator=_plan_anchor)
    next_due: tuple[date, ...] = field(validator=_due_dates)

    def __repr__(self) -> str:
        return f"FirstPlans(anchor={self.anchor}, <{len(self.next_due)} rows>)"


def _seals(_inst: object, _attribute: object, value: Any) -> None:
    if type(value) is not tuple:
        raise ValidationError("trails.seals", "must be a tuple of seals, one a row")
    for n, seal in enumerate(value):
        if seal is not None and not is_seal(seal):
            raise ValidationError(f"trails.seals[{n}]", "must be None or 1 to "
                                  f"{SEAL_LENGTH} printable characters")


def _origin(_inst: object, _attribute: object, value: Any) -> None:
    require_text("trails.origin", value, 64)
    if not is_sha256_hex(value):  # the hash of the audit entry the trails start from
        raise ValidationError("trails.origin", "must be a SHA-256 in lowercase hex")


@frozen
class TrailStart:
    """Where the audit trail of each prospect of a batch starts, written with it: the
    entry ``origin`` (its hash) that names every prospect of the batch (the import's);
    ``seals[n]`` is the n-th prospect's sealed head (None without a chain key).
    Each head is that of a trail of length 0 continuing from ``origin``."""

    origin: str = field(validator=_origin)
    seals: tuple[str | None, ...] = field(validator=_seals)

    def __repr__(self) -> str:
        return f"TrailStart(origin={self.origin[:12]!r}..., <{len(self.seals)} rows>)"


PROSPECT_TRAILS = audit_chain("prospect")
"""The chain of the prospects' audit trails, whose heads ``TrailStart`` starts."""


def trail_of(prospect_id: str, head: ChainHead) -> ChainHead:
    """``head``, checked to be the head of the audit trail of prospect ``prospect_id``
    as a storage keeps one (``integrity.head_problem``: a length, a SHA-256 in hex, a
    seal of at most ``SEAL_LENGTH`` printable characters or None); ValidationError,
    field ``trail``, if it is not: what a registration stores with its prospect."""
    if not isinstance(head, ChainHead) or head.chain != PROSPECT_TRAILS \
            or head.chain_id != prospect_id:
        raise ValidationError("trail", "must be the head of this prospect's audit trail")
    if head_problem(head) is not None:
        raise ValidationError("trail", "must hold a length, a SHA-256 in hex and a seal "
                                       f"of at most {SEAL_LENGTH} printable characters")
    return head


@frozen(kw_only=True)
class RegistrationBatch:
    """New prospects registered by ``owner_id`` (of ``owner_team``) at ``at``: each at
    the first stage, its registration active, its grade the policy's. Row ``n`` is the
    ``n``-th value of every column; ``of_rows`` builds a batch from ``Registered`` rows."""

    owner_id: str = field(validator=text(200))
    owner_team: str | None = field(validator=optional(text(100)))
    at: datetime = field(validator=aware)
    ids: tuple[ProspectId, ...]
    registration_ids: tuple[RegistrationId, ...]
    profiles: ProfileColumns
    willingness: tuple[Willingness, ...]
    potential_values: tuple[Money, ...]
    grades: tuple[Grade, ...]
    keys: KeyColumns
    plans: FirstPlans | None = None
    """The rows' first follow-up plans, to write with them (None: the plan keeper
    writes them after, or there are none)."""
    trails: TrailStart | None = None
    """Where the rows' audit trails start, to write their heads with them (None: written
    after, or none)."""

    _cleared: bool = field(init=False, default=False, repr=False, eq=False)
    """Whether the column checks cleared every row (then ``rows`` builds its profiles
    without running the validators again)."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_cleared", _check_columns(self))
        size = len(self.ids)
        if self.plans is not None and (type(self.plans) is not FirstPlans
                                       or len(self.plans.next_due) != size):
            raise ValidationError("plans", f"must be FirstPlans of {size} rows")
        if self.trails is not None and (type(self.trails) is not TrailStart
                                        or len(self.trails.seals) != size):
            raise ValidationError("trails", f"must be a TrailStart of {size} rows")

    @property
    def cleared(self) -> bool:
        """Whether the column checks alone cleared every row: each profile an
        individual's whose value objects would pass their validators (``rows`` then
        builds them without running those again)."""
        return self._cleared

    def trail_heads(self) -> list[ChainHead]:
        """The heads ``trails`` starts, as objects (a storage that keeps heads as such);
        none without ``trails``."""
        if self.trails is None:
            return []
        origin = self.trails.origin
        return [ChainHead(chain=PROSPECT_TRAILS, chain_id=pid, length=0, head_hash=origin,
                          seal=seal)
                for pid, seal in zip(self.ids, self.trails.seals, strict=True)]

    @classmethod
    def of_rows(cls, *, owner_id: str, owner_team: str | None, at: datetime,
                rows: tuple[Registered, ...]) -> RegistrationBatch:
        """The batch of ``rows`` (ValidationError naming ``rows[n].<field>`` of the first
        row ``Prospect.register`` refuses)."""
        checked = _rows(rows)
        return cls(
            owner_id=owner_id, owner_team=owner_team, at=at,
            ids=tuple(r.id for r in checked),
            registration_ids=tuple(r.registration_id for r in checked),
            profiles=ProfileColumns.of([r.profile for r in checked]),
            willingness=tuple(r.willingness for r in checked),
            potential_values=tuple(r.potential_value for r in checked),
            grades=tuple(r.grade for r in checked),
            keys=KeyColumns.of([r.keys for r in checked]))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def rows(self) -> tuple[Registered, ...]:
        """Each row with its profile and keys as objects (built on each call)."""
        return tuple(map(self.row, range(len(self))))

    def row(self, n: int) -> Registered:
        """Row ``n`` with its profile and keys as objects (built on each call)."""
        profile = self.profiles.checked_profile(n) if self._cleared \
            else self.profiles.profile(n)
        return Registered(self.ids[n], self.registration_ids[n], profile,
                          self.willingness[n], self.potential_values[n], self.grades[n],
                          self.keys.row(n))

    def prospects(self) -> list[Prospect]:
        """The batch as ``Prospect.register`` makes each of its rows (not yet stored:
        version 0), for a storage that keeps prospects as objects."""
        return [self.prospect(row) for row in self.rows]

    def prospect(self, row: Registered) -> Prospect:
        """What ``Prospect.register`` makes of one row of the batch (version 0)."""
        return _register(row, self.owner_id, self.owner_team, self.at)

    def imported(self) -> tuple[ImportedProspect, ...]:
        """Each prospect's id and grade, as ``ProspectsImported`` names them."""
        return tuple(_new_imported(prospect_id=i, grade=g)  # (checked: the batch's)
                     for i, g in zip(self.ids, self.grades, strict=True))


def individual_keys(ring: KeyRing, profiles: ProfileColumns) -> KeyColumns:
    """The sealed keys of profiles that pass ``profiles_pass`` (individuals: a phone, an
    e-mail), what ``ring.keys_of`` gives each profile."""
    region = ring.region
    phones = _sealed(ring, KeyKind.PHONE, [
        None if p is None else normalize_phone(p, region) for p in profiles.phone])
    emails = _sealed(ring, KeyKind.EMAIL, [
        None if e is None else normalize_email(e) for e in profiles.email])
    none = (None,) * len(phones)
    if type(ring) is KeyRing:  # its seals are SHA-256 hex digests: what keys_pass clears
        return _mark(tuple.__new__(ClearedKeys, (phones, emails, none, none)))
    return KeyColumns(phones, emails, none, none)  # another ring's: the batch checks them


def _sealed(ring: KeyRing, kind: KeyKind, normalized: list[str | None]
            ) -> tuple[str | None, ...]:
    """The seal of each value of ``normalized`` (None kept), a column at a time."""
    given = [value for value in normalized if value is not None]
    sealed = ring.sealed_all(kind, given)
    if len(given) == len(normalized):
        return tuple(sealed)
    each = iter(sealed)
    return tuple(None if value is None else next(each) for value in normalized)
