"""The bytes that chains hash are fixed by custmgmt.domain.integrity, not by a converter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain import integrity
from custmgmt.domain.audit import AuditEntry, chain_entry
from custmgmt.domain.samples import CustodyEvent, CustodyKind, event_hash
from custmgmt.serialization import configure_converter

AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def an_event(**changes: object) -> CustodyEvent:
    event = CustodyEvent(sample_id="s-1", sequence=0, kind=CustodyKind.RECEIVED, at=AT,
                         actor_id="u-rita", custodian="u-rita", location=None,
                         in_storage=Decimal("1E+1"), checked_out=Decimal(0),
                         consumed=Decimal("0.00"), disposed=Decimal(0),
                         details=(("quantity", "1E+1 kg"),), record="r" * 64)
    return attrs.evolve(event, **changes)  # type: ignore[arg-type]


def test_the_custody_event_bytes_are_pinned() -> None:
    assert integrity.canonical_bytes(integrity.CUSTODY_EVENT, an_event(),
                                     without=("hash",)) == (
        b'{"form":"custmgmt-canonical/1","record":{"actor_id":"u-rita",'
        b'"at":"2026-03-02T01:30:00.000000+00:00","checked_out":"0","consumed":"0",'
        b'"custodian":"u-rita","details":[["quantity","1E+1 kg"]],"disposed":"0",'
        b'"in_storage":"10","kind":"received","location":null,'
        b'"previous_hash":"' + b"0" * 64 + b'","record":"' + b"r" * 64 + b'",'
        b'"sample_id":"s-1","sequence":0},"tag":"custody-event"}')


def test_the_audit_entry_bytes_are_pinned() -> None:
    entry = chain_entry(None, resource_kind="prospect", resource_id="p-1", actor_id="u-a",
                        action="register", at=AT, after={"grade": "A"})
    assert integrity.canonical_bytes(integrity.AUDIT_ENTRY, entry, without=("hash",)) == (
        b'{"form":"custmgmt-canonical/1","record":{"action":"register","actor_id":"u-a",'
        b'"after":[["grade","A"]],"at":"2026-03-02T01:30:00.000000+00:00","before":[],'
        b'"previous_hash":"' + b"0" * 64 + b'","resource_id":"p-1",'
        b'"resource_kind":"prospect","sequence":0},"tag":"audit-entry"}')
    assert entry.hash == integrity.sha256_hex(integrity.canonical_bytes(
        integrity.AUDIT_ENTRY, entry, without=("hash",)))


def test_one_genesis_value() -> None:
    from custmgmt.domain import audit, samples
    assert audit.GENESIS is samples.GENESIS is integrity.GENESIS
    assert an_event().previous_hash == AuditEntry(
        resource_kind="k", resource_id="i", sequence=0, actor_id="a", action="x",
        at=AT).previous_hash == integrity.GENESIS


def test_a_converter_with_other_settings_changes_nothing() -> None:
    before = event_hash(an_event())
    odd = cattrs.Converter()
    configure_converter(odd)
    odd.register_unstructure_hook(Decimal, float)
    odd.register_unstructure_hook(datetime, lambda d: d.timestamp())
    assert event_hash(an_event()) == before


@pytest.mark.parametrize("form", ["1E+1", "10", "10.000", "1.0E+1", "0.00010E+5"])
def test_equal_quantities_hash_alike_whatever_their_form(form: str) -> None:
    assert event_hash(an_event(in_storage=Decimal(form))) == event_hash(an_event())


def test_an_instant_hashes_alike_in_any_zone() -> None:
    assert event_hash(an_event(at=AT.astimezone(UTC))) == event_hash(an_event())


def test_different_values_hash_differently() -> None:
    assert event_hash(an_event(in_storage=Decimal("10.5"))) != event_hash(an_event())
    assert event_hash(an_event(details=())) != event_hash(an_event())


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None),
       st.integers(min_value=0, max_value=30))
def test_decimal_text_is_the_value_in_plain_digits(number: Decimal, zeros: int) -> None:
    text = integrity.decimal_text(number)
    assert "E" not in text and Decimal(text) == number
    assert not ("." in text and text.endswith("0"))
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    padded = Decimal((sign, (*digits, *(0,) * zeros), exponent - zeros))  # same value
    assert integrity.decimal_text(padded) == text


def test_a_naive_instant_or_a_float_has_no_canonical_form() -> None:
    with pytest.raises(ValueError):
        integrity.plain(datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        integrity.plain(0.1)


_TEXT = st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and s.isprintable())
_PAIRS = st.lists(st.tuples(_TEXT, st.text(max_size=20)), max_size=4).map(tuple)


@given(kind=_TEXT, rid=_TEXT, sequence=st.integers(0, 10**6), actor=_TEXT, action=_TEXT,
       at=st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2998, 1, 1),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                                  timezone(timedelta(hours=-5, minutes=-30))])),
       before=_PAIRS, after=_PAIRS, previous=st.sampled_from([integrity.GENESIS, "a" * 64]))
def test_the_audit_entry_hash_is_the_generic_canonical_hash(
    kind: str, rid: str, sequence: int, actor: str, action: str, at: datetime,
    before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...], previous: str,
) -> None:
    """AuditEntry.computed_hash builds the canonical form for its own fields (an import
    hashes one entry per row): it is byte for byte the generic form of every record."""
    entry = AuditEntry(resource_kind=kind, resource_id=rid, sequence=sequence, actor_id=actor,
                       action=action, at=at, before=before, after=after,
                       previous_hash=previous)
    assert entry.computed_hash() == integrity.record_hash(integrity.AUDIT_ENTRY, entry)


class _Text(str):
    """A str subclass: the generic canonical form decides how it is written."""


@given(at=st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2998, 1, 1),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])),
       after=_PAIRS)
def test_unusual_field_types_and_a_shared_instant_hash_as_the_generic_form(
    at: datetime, after: tuple[tuple[str, str], ...],
) -> None:
    """The written-out form falls back to the generic one for a bool sequence, a str
    subclass or a list of pairs; entries sharing one instant (an import batch) each hash
    as the generic form says."""
    entries = [
        AuditEntry(resource_kind="prospect", resource_id="p-1", sequence=0, actor_id="u",
                   action="register", at=at, after=after),
        AuditEntry(resource_kind="prospect", resource_id="p-2", sequence=True, actor_id="u",
                   action="register", at=at, after=after),
        AuditEntry(resource_kind=_Text("prospect"), resource_id="p-3", sequence=2,
                   actor_id="u", action="register", at=at, after=after),
        AuditEntry(resource_kind="prospect", resource_id="p-4", sequence=3, actor_id="u",
                   action="register", at=at,
                   after=[list(pair) for pair in after]),  # type: ignore[arg-type]
        AuditEntry(resource_kind="prospect", resource_id="p-5", sequence=4, actor_id="u",
                   action="register", at=at.astimezone(UTC), after=after),
    ]
    for entry in entries:
        assert entry.computed_hash() == integrity.record_hash(integrity.AUDIT_ENTRY, entry)


def test_the_head_message_bytes_are_pinned() -> None:
    assert integrity.head_message("audit:prospect", "p-1", 0, "a" * 64) == (
        b'{"chain":"audit:prospect","form":"custmgmt-canonical/1","head":"' + b"a" * 64
        + b'","id":"p-1","length":0,"tag":"chain-head"}')


ANY_TEXT = st.text(st.characters(exclude_categories=()))  # lone surrogates, NUL, controls


@given(chain=ANY_TEXT, chain_id=ANY_TEXT, length=st.integers(), head_hash=ANY_TEXT)
def test_the_head_message_is_the_canonical_json_of_its_document(
    chain: str, chain_id: str, length: int, head_hash: str
) -> None:
    document = {"form": integrity.FORM, "tag": "chain-head", "chain": chain, "id": chain_id,
                "length": length, "head": head_hash}
    try:
        expected: bytes | type[Exception] = integrity.canonical_json(document).encode()
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8: refused either way
        expected = UnicodeEncodeError
    if expected is UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            integrity.head_message(chain, chain_id, length, head_hash)
    else:
        assert integrity.head_message(chain, chain_id, length, head_hash) == expected


def test_a_head_message_of_odd_types_keeps_the_canonical_form() -> None:
    assert integrity.head_message("c", "i", True, "h") == (  # type: ignore[arg-type]
        b'{"chain":"c","form":"custmgmt-canonical/1","head":"h","id":"i","length":true,'
        b'"tag":"chain-head"}')
