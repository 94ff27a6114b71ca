"""Every public domain type round-trips through JSON-safe data; unknown keys are refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt import Certification, Grade, Money, Principal, Stage, Willingness
from custmgmt.domain import sample_moves as moves
from custmgmt.domain.audit import AuditEntry, chain_entry
from custmgmt.domain.common import CURRENCY_MINOR_UNITS, DomainEvent
from custmgmt.domain.followups import Channel, DueItem, FollowUp, FollowUpPlan
from custmgmt.domain.prospects import (
    GradeChanged,
    OwnerChanged,
    ProfileChanged,
    Prospect,
    ProspectRegistered,
    StageChanged,
)
from custmgmt.domain.samples import (
    Chain,
    CustodyEvent,
    Hazard,
    Light,
    Sample,
    SampleInfo,
    StorageCondition,
    event_hash,
)
from custmgmt.errors import ValidationError
from custmgmt.ports.notification import Notification
from custmgmt.serialization import event_from_dict, event_to_dict, make_converter, structure
from custmgmt.testing import make_prospect

converter = make_converter()
CHAIN = Chain()

aware = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                                timezone(timedelta(hours=-5, minutes=-30))]))
moneys = st.builds(
    Money,
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0,
                max_value=10**12),
    st.sampled_from(sorted(CURRENCY_MINOR_UNITS)),
)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


def round_trip(value: Any, cls: type) -> Any:
    data = json.loads(json.dumps(converter.unstructure(value)))
    return structure(converter, data, cls)


@given(moneys)
def test_money_round_trips_with_its_amount_as_a_string(money: Money) -> None:
    data = converter.unstructure(money)
    assert isinstance(data["amount"], str)
    assert round_trip(money, Money) == money


@given(st.integers(1, 500), aware, st.sampled_from(list(Willingness)),
       st.sampled_from(list(Stage)))
def test_prospects_round_trip(n: int, at: datetime, willingness: Willingness,
                              stage: Stage) -> None:
    prospect = make_prospect(n, willingness=willingness, at=at,
                             organization="Acme Co., Ltd." if n % 2 else None)
    if stage is not Stage.INITIAL_CONTACT and stage.is_open:
        prospect, _ = prospect.advance(stage, by="u-a", at=at)
    assert round_trip(prospect, Prospect) == prospect


@given(ids, st.frozensets(ids, max_size=3), st.one_of(st.none(), ids),
       st.frozensets(st.builds(Certification, ids, st.one_of(
           st.none(), st.dates(date(1900, 1, 1), date(2999, 12, 31)))),
                     max_size=2))
def test_principals_round_trip(pid: str, roles: frozenset[str], team: str | None,
                               certs: frozenset[Certification]) -> None:
    principal = Principal(id=pid, roles=roles, team=team, certifications=certs)
    assert round_trip(principal, Principal) == principal


@given(aware, ids, st.dictionaries(ids, ids, max_size=3))
def test_audit_entries_round_trip(at: datetime, rid: str, after: dict[str, str]) -> None:
    entry = chain_entry(None, resource_kind="prospect", resource_id=rid, actor_id="u-a",
                        action="register", at=at, after=after)
    again = round_trip(entry, AuditEntry)
    assert again == entry and again.computed_hash() == entry.hash


@given(aware, ids, st.one_of(st.none(), ids))
def test_notifications_round_trip(at: datetime, nid: str, key: str | None) -> None:
    note = Notification(id=nid, recipient_id="u-a", kind="k", subject="s", body="b",
                        created_at=at, dedupe_key=key)
    assert round_trip(note, Notification) == note


@given(aware, st.sampled_from(list(Grade)), st.sampled_from(list(Grade)))
def test_events_round_trip_with_their_type(at: datetime, before: Grade, after: Grade) -> None:
    events: list[DomainEvent] = [
        GradeChanged(actor_id="u-a", occurred_at=at, prospect_id="p-1",  # type: ignore[arg-type]
                     before=before, after=after, reason="r", manual=True),
        ProspectRegistered(actor_id="u-a", occurred_at=at, prospect_id="p-1",  # type: ignore[arg-type]
                           owner_id="u-a", grade=after),
        StageChanged(actor_id="u-a", occurred_at=at, prospect_id="p-1",  # type: ignore[arg-type]
                     before=Stage.PROPOSAL, after=Stage.LOST, reason=None),
        OwnerChanged(actor_id="u-m", occurred_at=at, prospect_id="p-1",  # type: ignore[arg-type]
                     before="u-a", after="u-b", reason="r"),
        ProfileChanged(actor_id="u-m", occurred_at=at, prospect_id="p-1",  # type: ignore[arg-type]
                       fields=("phone", "email")),
    ]
    for event in events:
        data = json.loads(json.dumps(event_to_dict(converter, event)))
        assert data["type"] == type(event).__name__
        assert event_from_dict(converter, data) == event


def test_values_are_json_safe_strings() -> None:
    data = converter.unstructure(make_prospect(1))
    assert data["potential_value"] == {"amount": "200000", "currency": "CNY"}
    assert data["registration"]["at"] == "2026-01-05T02:01:00+00:00"
    assert data["grade"] == "B" and data["profile"]["phone"] == "13900000001"
    assert converter.unstructure(date(2026, 1, 2)) == "2026-01-02"
    assert converter.unstructure(Decimal("1.50")) == "1.50"


def test_unknown_keys_and_bad_values_are_validation_errors() -> None:
    data = converter.unstructure(Money("1"))
    with pytest.raises(ValidationError):
        structure(converter, {**data, "extra": 1}, Money)
    with pytest.raises(ValidationError):
        structure(converter, {"amount": 1.5, "currency": "CNY"}, Money)
    with pytest.raises(ValidationError):
        structure(converter, {"amount": "lots", "currency": "CNY"}, Money)
    with pytest.raises(ValidationError):
        structure(converter, "1,5", Decimal)
    prospect_data = converter.unstructure(make_prospect(1))
    prospect_data["registration"]["at"] = "2026-01-05T02:01:00"  # naive
    with pytest.raises(ValidationError):
        structure(converter, prospect_data, Prospect)
    with pytest.raises(ValidationError) as raised:
        event_from_dict(converter, {"type": "NoSuchEvent"})
    assert raised.value.field == "type"


def test_due_items_are_objects_by_field_name_and_round_trip() -> None:
    item = DueItem("p-1", "u-alice", Grade.A, date(2026, 1, 2), 3)
    data = converter.unstructure(item)
    assert data == {"prospect_id": "p-1", "owner_id": "u-alice", "grade": "A",
                    "next_due": "2026-01-02", "days_late": 3}
    assert json.loads(json.dumps(data)) == data
    assert structure(converter, data, DueItem) == item
    with pytest.raises(ValidationError):
        structure(converter, {**data, "extra": 1}, DueItem)


def test_the_global_converter_is_left_alone() -> None:
    import cattrs

    before = cattrs.global_converter.unstructure(Decimal("1.5"))
    make_converter()
    assert cattrs.global_converter.unstructure(Decimal("1.5")) == before


@given(aware, st.sampled_from(list(Channel)), st.booleans())
def test_follow_ups_and_plans_round_trip(at: datetime, channel: Channel, override: bool) -> None:
    day = at.date()
    plan = FollowUpPlan(prospect_id="p-1", owner_id="u-a", owner_team="east",  # type: ignore[arg-type]
                        grade=Grade.B, anchor=day, next_due=day,
                        override=day if override else None)
    record = FollowUp(id="f-1", prospect_id="p-1", owner_id="u-a", by="u-a",  # type: ignore[arg-type]
                      channel=channel, at=at, local_date=day, summary="s", needs=None,
                      next_due=day if override else None, due_on=day, recorded_at=at)
    assert round_trip(plan, FollowUpPlan) == plan
    assert round_trip(record, FollowUp) == record


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3), aware,
       st.booleans())
def test_samples_and_custody_events_round_trip(amount: Decimal, at: datetime,
                                               hazardous: bool) -> None:
    info = SampleInfo.checked(customer_id="p-1", sample_name="resin", quantity=amount,
                              unit="kg", description="d", requested_work="w")
    hazard = Hazard(hazard_class="3", handling_procedure="HSE-7") if hazardous else None
    sample, event = moves.receive(CHAIN, sample_id="s-1", info=info, hazard=hazard,
                                  receiver="u-r", at=at)
    storage = StorageCondition(min_celsius=Decimal("-20"), light=Light.DARK)
    sample, registered = moves.register(CHAIN, sample, number="S2026-000001",
                                        classification="c", location="l", storage=storage,
                                        single_use=True, registrar="u-reg", at=at)
    assert round_trip(sample, Sample) == sample
    for custody in (event, registered):
        again = round_trip(custody, CustodyEvent)
        assert again == custody and event_hash(again) == custody.hash
