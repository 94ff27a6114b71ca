"""The pipeline as a table: every (from, to) pair either moves or raises InvalidTransition."""

from __future__ import annotations

import attrs
import pytest

from custmgmt import Stage
from custmgmt.domain.prospects import PIPELINE, ChangeKind, Prospect, StageChanged
from custmgmt.errors import InvalidTransition, ValidationError
from custmgmt.testing import make_prospect
from custmgmt.testing.builders import T0

OPEN = [s for s in Stage if s.is_open]


def at(stage: Stage) -> Prospect:
    return attrs.evolve(make_prospect(1), stage=stage)


@pytest.mark.parametrize("start", list(Stage))
@pytest.mark.parametrize("to", list(Stage))
def test_advance_goes_forward_only_from_an_open_stage(start: Stage, to: Stage) -> None:
    allowed = start.is_open and to in PIPELINE and PIPELINE.index(to) > PIPELINE.index(start)
    if allowed:
        moved, events = at(start).advance(to, by="u-a", at=T0)
        assert moved.stage is to
        assert events == (StageChanged(actor_id="u-a", occurred_at=T0,
                                       prospect_id=moved.id, before=start, after=to,
                                       reason=None),)
    else:
        with pytest.raises(InvalidTransition) as raised:
            at(start).advance(to, by="u-a", at=T0)
        assert (raised.value.current, raised.value.requested) == (start.value, to.value)
        assert start.value in str(raised.value) and to.value in str(raised.value)


@pytest.mark.parametrize("start", list(Stage))
@pytest.mark.parametrize("to", list(Stage))
def test_step_back_goes_to_an_earlier_open_stage_with_a_reason(start: Stage, to: Stage) -> None:
    allowed = start.is_open and to.is_open and PIPELINE.index(to) < PIPELINE.index(start)
    if allowed:
        moved, _ = at(start).step_back(to, reason="budget frozen", by="u-a", at=T0)
        assert moved.stage is to and moved.history[-1].reason == "budget frozen"
        with pytest.raises(ValidationError) as raised:
            at(start).step_back(to, reason="  ", by="u-a", at=T0)
        assert raised.value.field == "reason"
    else:
        with pytest.raises(InvalidTransition):
            at(start).step_back(to, reason="why not", by="u-a", at=T0)


@pytest.mark.parametrize("start", list(Stage))
def test_lost_from_any_open_stage_needs_a_reason(start: Stage) -> None:
    if start.is_open:
        with pytest.raises(ValidationError):
            at(start).mark_lost(reason="", by="u-a", at=T0)
        lost, _ = at(start).mark_lost(reason="chose a competitor", by="u-a", at=T0)
        assert lost.stage is Stage.LOST
    else:
        with pytest.raises(InvalidTransition):
            at(start).mark_lost(reason="again", by="u-a", at=T0)


@pytest.mark.parametrize("start", list(Stage))
@pytest.mark.parametrize("to", list(Stage))
def test_reopen_brings_a_closed_prospect_back_to_an_open_stage(start: Stage, to: Stage) -> None:
    if not start.is_open and to.is_open:
        reopened, _ = at(start).reopen(to, reason="new tender", by="u-mia", at=T0)
        assert reopened.stage is to
    else:
        with pytest.raises(InvalidTransition):
            at(start).reopen(to, reason="new tender", by="u-mia", at=T0)


def test_won_is_the_signed_contract_and_is_terminal() -> None:
    won, _ = at(Stage.PROPOSAL).mark_won(by="u-a", at=T0)
    assert won.stage is Stage.CONTRACT_SIGNED
    with pytest.raises(InvalidTransition):
        won.mark_won(by="u-a", at=T0)


def test_every_move_is_in_history_with_who_when_and_why() -> None:
    p = make_prospect(1)
    p, _ = p.advance(Stage.PROPOSAL, by="u-a", at=T0)
    p, _ = p.step_back(Stage.NEEDS_IDENTIFIED, reason="scope changed", by="u-b", at=T0)
    stage_moves = [(h.by, h.before, h.after, h.reason) for h in p.history
                   if h.kind is ChangeKind.STAGE]
    assert stage_moves == [
        ("u-a", "initial_contact", "proposal", None),
        ("u-b", "proposal", "needs_identified", "scope changed"),
    ]


def test_a_prospect_at_another_version_is_the_same_prospect_with_that_version() -> None:
    # what a storage hands back after a write, made without validating every field again
    prospect = at(OPEN[1])
    stored = prospect.at_version(3)
    assert stored == attrs.evolve(prospect, version=3) and stored is not prospect
    assert prospect.version == 0 and hash(stored) == hash(attrs.evolve(prospect, version=3))
    for bad in (-1, True, "1", 1.0):
        with pytest.raises(ValidationError) as raised:
            prospect.at_version(bad)  # type: ignore[arg-type]
        assert raised.value.field == "version"
