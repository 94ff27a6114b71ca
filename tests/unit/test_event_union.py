"""Domain events travel as a tagged union built from the roster, through the converter."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain.common import DomainEvent
from custmgmt.domain.prospects import Grade, GradeChanged
from custmgmt.errors import ValidationError
from custmgmt.ports.roster import event_types
from custmgmt.serialization import event_from_dict, event_to_dict, make_converter

CONVERTER = make_converter()
AWARE = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.just(UTC))


@pytest.mark.parametrize("cls", event_types(), ids=lambda c: c.__name__)
@given(data=st.data())
def test_every_roster_event_round_trips_tagged_with_its_name(
    cls: type[DomainEvent], data: st.DataObject
) -> None:
    attrs.resolve_types(cls)
    actor = st.from_regex(r"u-[a-z]{1,8}", fullmatch=True)
    event = data.draw(st.builds(cls, actor_id=actor, occurred_at=AWARE))
    stored = event_to_dict(CONVERTER, event)
    assert stored["type"] == cls.__name__
    assert event_from_dict(CONVERTER, json.loads(json.dumps(stored))) == event


def test_the_stored_form_is_unchanged_by_the_union() -> None:
    """Events stored before the union existed ({"type": name, ...fields}) still read."""
    at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    stored: dict[str, Any] = {
        "type": "GradeChanged", "actor_id": "u-alice", "occurred_at": at.isoformat(),
        "prospect_id": "p-1", "before": "B", "after": "A", "reason": "r", "manual": True}
    event = GradeChanged(actor_id="u-alice", occurred_at=at, prospect_id="p-1",  # type: ignore[arg-type]
                         before=Grade.B, after=Grade.A, reason="r", manual=True)
    assert event_from_dict(CONVERTER, stored) == event
    assert event_to_dict(CONVERTER, event) == stored


def test_unknown_types_and_events_outside_the_roster_are_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        event_from_dict(CONVERTER, {"type": "Nope", "actor_id": "a"})
    assert raised.value.field == "type"

    @attrs.frozen(kw_only=True)
    class Stray(DomainEvent):
        pass

    with pytest.raises(ValidationError):
        event_to_dict(CONVERTER, Stray(actor_id="a", occurred_at=datetime.now(UTC)))
