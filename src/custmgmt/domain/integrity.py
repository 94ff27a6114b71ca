"""The one canonical form that custody chains and audit trails hash, and their seals.

Every hash-chained record (a sample's custody event, an audit entry) is hashed
over bytes that this module alone defines: a tagged, sorted, compact JSON
document built field by field from the attrs record, with

- a Decimal as its plain numeric text with no exponent and no trailing zeros
  (``Decimal("1E+1")``, ``Decimal("10")`` and ``Decimal("10.00")`` all give
  ``"10"``), so a value that a database hands back in another but equal form
  hashes the same;
- an aware datetime in UTC with microseconds, a date in ISO form, an enum by
  its value, tuples and lists as lists, mappings with sorted keys.

Nothing here depends on a cattrs converter or its settings. A chain starts from
``GENESIS``. A chain's head (its length and last hash) can be sealed with a
keyed MAC: ``head_message`` is what gets sealed.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Context, Decimal
from typing import Any

import attrs
from attrs import frozen

from custmgmt.domain.validation import storable_text
from custmgmt.errors import IntegrityError, ValidationError

GENESIS = "0" * 64
"""The ``previous_hash`` of the first record of every chain and trail."""

FORM = "custmgmt-canonical/1"
"""Names this canonical form inside the hashed bytes; a new form gets a new name."""

# normalize() rounds to its context's precision: use one wider than any quantity allowed.
_WIDE = Context(prec=1000, Emax=999_999, Emin=-999_999)


def decimal_text(value: Decimal) -> str:
    """The numeric value as plain text: no exponent, no trailing zeros, ``"0"`` for zero."""
    if not value.is_finite():
        raise ValueError("only finite numbers have a canonical form")
    if value.is_zero():
        return "0"
    sign, digits, exponent = value.normalize(_WIDE).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    if exponent >= 0:
        text += "0" * exponent
    elif -exponent >= len(text):
        text = "0." + "0" * (-exponent - len(text)) + text
    else:
        text = f"{text[:exponent]}.{text[exponent:]}"
    return ("-" if sign else "") + text


_FIELDS: dict[type, tuple[str, ...]] = {}


def plain(value: object) -> Any:
    """``value`` as JSON-ready data in the canonical form (see the module docstring)."""
    cls = type(value)
    if cls is str or cls is int or value is None:  # the common cases first
        return value
    if cls is tuple:
        return [plain(item) for item in value]  # type: ignore[attr-defined]
    names = _FIELDS.get(cls)
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    return _plain_other(value)


def _plain_other(value: object) -> Any:
    cls = type(value)
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a naive datetime has no canonical form")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if attrs.has(cls):
        names = _FIELDS[cls] = tuple(a.name for a in attrs.fields(cls))
        return {name: plain(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(item) for item in value), key=canonical_json)
    if hasattr(value, "value") and isinstance(value.value, str):  # text value objects
        return value.value
    raise TypeError(f"{type(value).__name__} has no canonical form")


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                              allow_nan=False)
_json_text: Callable[[str], str] = json.encoder.encode_basestring
"""A ``str`` as canonical JSON writes it (``ensure_ascii=False``), quotes included."""
_FORM_TEXT = _json_text(FORM)


def canonical_json(data: Any) -> str:
    """JSON-ready ``data`` (see ``plain``) as canonical text: sorted keys, compact."""
    return _CANONICAL.encode(data)



def canonical_bytes(tag: str, record: object, *, without: tuple[str, ...] = ()) -> bytes:
    """The bytes hashed for ``record`` (an attrs instance), leaving out ``without``."""
    body = plain(record)
    for name in without:
        body.pop(name, None)
    return canonical_json({"form": FORM, "tag": tag, "record": body}).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CUSTODY_EVENT = "custody-event"
AUDIT_ENTRY = "audit-entry"
SAMPLE_RECORD = "sample-record"


def record_hash(tag: str, record: object) -> str:
    """The hash of a chained record: every field but its own ``hash``."""
    return sha256_hex(canonical_bytes(tag, record, without=("hash",)))


def head_message(chain: str, chain_id: str, length: int, head_hash: str) -> bytes:
    """What a seal covers: which chain, how long it is, and the hash it ends with."""
    if type(chain) is str and type(chain_id) is str and type(length) is int \
            and type(head_hash) is str:
        # The canonical JSON of the document below, written out in its sorted key order
        # (an import seals a head for each prospect; the encoder took 3 us a head).
        return (f'{{"chain":{_json_text(chain)},"form":{_FORM_TEXT},'
                f'"head":{_json_text(head_hash)},"id":{_json_text(chain_id)},'
                f'"length":{int.__repr__(length)},"tag":"chain-head"}}').encode()
    return canonical_json({"form": FORM, "tag": "chain-head", "chain": chain, "id": chain_id,
                           "length": length, "head": head_hash}).encode("utf-8")


CUSTODY_CHAIN = "custody"
"""The chain name of a sample's custody events (its id is the sample id)."""


def audit_chain(resource_kind: str) -> str:
    """The chain name of the audit trails of one kind of resource."""
    # one string per kind (a head per new trail names it: an import makes one per row)
    return sys.intern(f"audit:{resource_kind}")


@frozen(kw_only=True)
class ChainHead:
    """A chain's head as last written: how long it is, its last hash, and the seal.

    ``seal`` is a keyed MAC (or a notary's token) over ``message()``, made with a
    secret the database does not hold; ``None`` when no key is configured.
    """

    chain: str
    chain_id: str
    length: int
    head_hash: str
    seal: str | None = None

    def message(self) -> bytes:
        return head_message(self.chain, self.chain_id, self.length, self.head_hash)


SEAL_LENGTH = 200
"""The longest seal a storage keeps of a head (the SQL column's length)."""
MAX_CHAIN_LENGTH = 2**31 - 1
"""The most records a chain's head may count (a 32-bit SQL integer)."""
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def head_problem(head: object) -> str | None:
    """Why ``head`` cannot be kept as a chain's head, or None. A head names its chain
    (at most 60 characters) and chain id (at most 200) in storable text, counts from 0
    to ``MAX_CHAIN_LENGTH`` records, ends with a SHA-256 in lowercase hex and carries
    no seal or one of 1 to ``SEAL_LENGTH`` printable characters. Storage refuses any
    other (a sealer plugin's seal with a line break, a length no column holds)."""
    if not isinstance(head, ChainHead):
        return f"must be a ChainHead, not {type(head).__name__}"
    chain, chain_id, length, seal = head.chain, head.chain_id, head.length, head.seal
    if not storable_text(chain, 60) or not storable_text(chain_id, 200):
        return "must name its chain and chain id as text of at most 60 and 200 characters"
    if type(length) is not int or not 0 <= length <= MAX_CHAIN_LENGTH:
        return f"must count 0 to {MAX_CHAIN_LENGTH} records"
    if not is_sha256_hex(head.head_hash):
        return "must end with a SHA-256 in lowercase hex"
    if seal is not None and not is_seal(seal):
        return f"must carry no seal or one of 1 to {SEAL_LENGTH} printable characters"
    return None


def is_seal(value: object) -> bool:
    """Whether ``value`` is a seal a storage keeps: 1 to ``SEAL_LENGTH`` printable
    characters (a sealer plugin's ``str`` subclass is read through ``str``'s methods)."""
    return isinstance(value, str) and 0 < str.__len__(value) <= SEAL_LENGTH \
        and str.isprintable(value)


def is_sha256_hex(value: object) -> bool:
    """Whether ``value`` is a SHA-256 as chains keep one: 64 lowercase hex digits."""
    return type(value) is str and _SHA256_HEX.fullmatch(value) is not None


def checked_head(head: ChainHead) -> None:
    """ValidationError, field ``head``, unless a storage may keep ``head`` (see
    :func:`head_problem`)."""
    problem = head_problem(head)
    if problem is not None:
        raise ValidationError("head", problem)


Verify = Callable[[bytes, str], bool]


def check_head(
    head: ChainHead | None, *, length: int, head_hash: str, verify: Verify | None, what: str
) -> None:
    """Raise IntegrityError unless the stored chain (``length`` records ending with
    ``head_hash``) is the one its head records, and, with ``verify`` (a key is
    configured), unless that head carries a valid seal."""
    if verify is not None:
        if head is None or head.seal is None:
            raise IntegrityError(f"{what}: its head is not sealed")
        if not verify(head.message(), head.seal):
            raise IntegrityError(f"{what}: the seal on its head does not match; the head "
                                 "was rewritten")
    if head is not None and (head.length, head.head_hash) != (length, head_hash):
        raise IntegrityError(f"{what}: its head records {head.length} entries, "
                             f"{length} are stored")
