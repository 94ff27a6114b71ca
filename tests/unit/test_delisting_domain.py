"""The delisting domain without storage: the vote rule, the calendar, the state machine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custmgmt.domain.delisting import (
    CaseState,
    DelistingCase,
    Ground,
    Language,
    Trigger,
    delisting_passes,
    months_before,
    render_notice,
)
from custmgmt.errors import InvalidTransition, ValidationError

T = datetime(2026, 3, 31, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("panel", "votes_for", "passes"), [
    (5, 3, True), (5, 2, False), (4, 2, False), (4, 3, True), (3, 2, True), (2, 1, False),
    (1, 1, True), (1, 0, False), (0, 0, False), (6, 3, False), (6, 4, True),
])
def test_more_than_half_of_the_whole_panel(panel: int, votes_for: int, passes: bool) -> None:
    assert delisting_passes(panel, votes_for) is passes


def test_months_before_clamps_to_the_months_end() -> None:
    assert months_before(T, 1) == datetime(2026, 2, 28, 8, 0, tzinfo=UTC)
    assert months_before(T, 12) == datetime(2025, 3, 31, 8, 0, tzinfo=UTC)
    assert months_before(T, 25) == datetime(2024, 2, 29, 8, 0, tzinfo=UTC)


def _case() -> DelistingCase:
    return DelistingCase.open(id="dl-1", customer_id="c-1", grounds=["credit_deterioration"],
                              other_ground=None, trigger=Trigger.FEEDBACK, trigger_note=None,
                              by="u-cr", at=T)[0]


def test_grounds_and_their_description() -> None:
    with pytest.raises(ValidationError) as raised:
        DelistingCase.open(id="dl-1", customer_id="c-1", grounds=[], other_ground=None,
                           trigger=Trigger.FEEDBACK, trigger_note=None, by="u", at=T)
    assert raised.value.field == "grounds"
    assert _case().grounds == (Ground.CREDIT_DETERIORATION,)


def test_illegal_moves_from_a_fresh_case() -> None:
    case = _case()
    assert case.state is CaseState.OPENED and not case.is_closed
    with pytest.raises(InvalidTransition):
        case.close_vote(by="u", at=T)
    with pytest.raises(InvalidTransition):
        case.objection("no", by="u", at=T)
    with pytest.raises(InvalidTransition):
        case.seal(open_items=(), override=None, by="u", at=T)


def test_the_notice_needs_reasons_and_basis_and_names_the_grounds() -> None:
    for reasons, basis, field in (("", "b", "reasons"), ("r", " ", "basis")):
        with pytest.raises(ValidationError) as raised:
            render_notice(_case(), customer="X", reasons=reasons, basis=basis,
                          language=Language.EN, on="2026-03-31")
        assert raised.value.field == field
    text, _, _ = render_notice(_case(), customer="X Ltd", reasons="r1", basis="b1",
                               language=Language.ZH, on="2026-03-31")
    assert "资信状况恶化" in text and "r1" in text and "b1" in text and "X Ltd" in text
