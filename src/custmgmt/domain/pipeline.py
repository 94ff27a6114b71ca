"""The sales pipeline (跟进流程): its stages and their order."""

from __future__ import annotations

from custmgmt.domain.enums import Choice


class Stage(Choice):
    INITIAL_CONTACT = "initial_contact"
    NEEDS_IDENTIFIED = "needs_identified"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    CONTRACT_SIGNED = "contract_signed"
    LOST = "lost"

    @property
    def is_open(self) -> bool:
        return self not in (Stage.CONTRACT_SIGNED, Stage.LOST)

    @property
    def rank(self) -> int:
        """Position along the pipeline; LOST stands outside it."""
        return _PIPELINE.index(self) if self in _PIPELINE else -1


_PIPELINE = (
    Stage.INITIAL_CONTACT,
    Stage.NEEDS_IDENTIFIED,
    Stage.PROPOSAL,
    Stage.NEGOTIATION,
    Stage.CONTRACT_SIGNED,
)
PIPELINE: tuple[Stage, ...] = _PIPELINE
