"""Registration ids in memory: no two prospects registered under one id, as the SQL
storage's unique index has it. A bulk import names each row's registration after the
import and the row's line, so that a run again of an interrupted import meets a row it
stored even when the row holds no identity key.

A unit of work stages the registration id of each prospect it adds or re-registers,
with the inverse, over the committed index; at commit only those are checked and
applied, so a look-up or a commit costs the same whatever the store holds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

Mark = tuple[dict[str, str], dict[str, str]]


class RegistrationStage:
    """The registration id each prospect holds, as one unit of work stages them over
    the committed ``index`` (registration id -> prospect id) and ``of`` (its inverse)."""

    def __init__(self, index: dict[str, str], of: dict[str, str]) -> None:
        self.index = index
        self.of = of
        self.staged: dict[str, str] = {}
        """prospect id -> the registration id this unit gives it."""
        self._by_registration: dict[str, str] = {}
        """Inverse of ``staged``."""

    def registration_of(self, prospect_id: str) -> str | None:
        """The registration id the prospect holds, as this unit sees it."""
        staged = self.staged.get(prospect_id)
        return staged if staged is not None else self.of.get(prospect_id)

    def holder(self, registration_id: str) -> str | None:
        """The prospect registered under the id, as this unit sees it, or None."""
        holder = self._by_registration.get(registration_id)
        if holder is not None:
            return holder
        holder = self.index.get(registration_id)
        # a prospect this unit registered again holds only its new registration
        if holder is not None and self.staged.get(holder, registration_id) != registration_id:
            return None
        return holder

    def any_held(self, registration_ids: Collection[str]) -> bool:
        """Whether a prospect, as this unit sees it, holds one of the ids."""
        if self.index.keys().isdisjoint(registration_ids) \
                and self._by_registration.keys().isdisjoint(registration_ids):
            return False  # the usual case, told without a call an id
        holder = self.holder
        return any(holder(r) is not None for r in registration_ids)

    def stage(self, prospect_id: str, registration_id: str) -> None:
        before = self.staged.get(prospect_id)
        if before is not None:
            del self._by_registration[before]
        self.staged[prospect_id] = registration_id
        self._by_registration[registration_id] = prospect_id

    def stage_new(self, prospect_ids: Sequence[str], registration_ids: Sequence[str]) -> None:
        """``stage`` of new prospects (none staged before), each under its registration
        id, held by nobody (``any_held`` said so)."""
        self.staged.update(zip(prospect_ids, registration_ids, strict=True))
        self._by_registration.update(zip(registration_ids, prospect_ids, strict=True))

    def mark(self) -> Mark:
        """What is staged now, to go back to with ``restore`` (an all-or-nothing call)."""
        return dict(self.staged), dict(self._by_registration)

    def restore(self, mark: Mark) -> None:
        self.staged, self._by_registration = mark

    def clash(self) -> str | None:
        """Under the lock: a prospect committed since this unit looked that holds an id
        it staged (the prospect, else None)."""
        for prospect_id, registration_id in self.staged.items():
            other = self.index.get(registration_id)
            if other is not None and other != prospect_id \
                    and self.staged.get(other, registration_id) == registration_id:
                return other
        return None

    def apply(self) -> None:
        index, of = self.index, self.of
        if of.keys().isdisjoint(self.staged):  # new prospects only (an import's batch)
            of.update(self.staged)
            index.update(self._by_registration)
            return
        for prospect_id, registration_id in self.staged.items():
            before = of.get(prospect_id)
            if before == registration_id:
                continue
            if before is not None and index.get(before) == prospect_id:
                del index[before]
            index[registration_id] = prospect_id
            of[prospect_id] = registration_id
